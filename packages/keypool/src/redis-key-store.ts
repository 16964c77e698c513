import type { KeyStatus } from '@keyway/contracts';
import { sharedHealth } from '@keyway/core';
import type { KeyHealth } from '@keyway/core';
import type { Redis } from 'ioredis';
import { groupIdOfKey, redisKeyNames, type RedisKeyNames } from './keys';
import { modelCoolingJson, parseModelCoolingJson } from './model-cooling';
import type { PoolKeyRecord } from './port';
import { CAS_HEALTH, UPSERT_KEY } from './redis-scripts';

/** Keys per pipeline when loading or reading a group: big enough to amortise round trips, small enough not to stall Redis. */
export const REDIS_BATCH = 1000;

/** Seals key values on their way into Redis and opens them on the way out (a KeyCipher fits). */
export interface ValueCodec {
  seal(plain: string): string;
  open(stored: string): string;
}

const identity: ValueCodec = { seal: (v) => v, open: (v) => v };

/** A key as read from Redis, with the version of its hash. */
export interface StoredKey {
  record: PoolKeyRecord;
  version: number;
}

/** Result of the compare-and-set script. */
export type CasResult =
  | { kind: 'ok'; version: number }
  | { kind: 'gone' }
  | { kind: 'conflict'; version: number; health: KeyHealth };

const HASH_FIELDS = [
  'groupId',
  'value',
  'status',
  'failureCount',
  'cooldownUntil',
  'rateStrikes',
  'lastError',
  'version',
  'modelCooling',
] as const;

/**
 * The key hashes and group sets of the distributed pool in Redis: reads them (opening values), writes them
 * (sealing values) in pipelined batches, and runs the compare-and-set of one key's health.
 */
export class RedisKeyStore {
  readonly names: RedisKeyNames;
  private readonly shas = new Map<string, string>();

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly codec: ValueCodec = identity,
    /** Told about keys left out because their value cannot be opened. */
    private readonly onError: (error: unknown) => void = () => undefined,
  ) {
    this.names = redisKeyNames(prefix);
  }

  /** Every group that has a set in Redis (SCAN). */
  async groupIds(): Promise<number[]> {
    const ids: number[] = [];
    let cursor = '0';
    do {
      const [next, names] = await this.redis.scan(
        cursor,
        'MATCH',
        this.names.groupPattern,
        'COUNT',
        REDIS_BATCH,
      );
      cursor = next;
      for (const name of names) {
        const id = groupIdOfKey(this.prefix, name);
        if (id !== undefined) ids.push(id);
      }
    } while (cursor !== '0');
    return ids;
  }

  /** Calls `each` with the member ids of a group's set, one SSCAN batch at a time. */
  async forEachMemberBatch(groupId: number, each: (ids: number[]) => Promise<void> | void): Promise<void> {
    let cursor = '0';
    do {
      const [next, members] = await this.redis.sscan(this.names.group(groupId), cursor, 'COUNT', REDIS_BATCH);
      cursor = next;
      await each(members.map(Number));
    } while (cursor !== '0');
  }

  /** Every key of a group with its version. */
  async readGroup(groupId: number): Promise<StoredKey[]> {
    const out: StoredKey[] = [];
    await this.forEachMemberBatch(groupId, async (ids) => {
      for (const k of await this.readKeys(ids)) out.push(k);
    });
    return out;
  }

  /** Reads key hashes in pipelined batches; keys that vanished are skipped. */
  async readKeys(keyIds: readonly number[]): Promise<StoredKey[]> {
    const out: StoredKey[] = [];
    for (let i = 0; i < keyIds.length; i += REDIS_BATCH) {
      const batch = keyIds.slice(i, i + REDIS_BATCH);
      const pipe = this.redis.pipeline();
      for (const id of batch) pipe.hmget(this.names.key(id), ...HASH_FIELDS);
      const rows = (await execAll(pipe)) as (string | null)[][];
      batch.forEach((id, j) => {
        const k = this.parseRow(id, rows[j] ?? []);
        if (k) out.push(k);
      });
    }
    return out;
  }

  /**
   * Writes (or replaces) keys in pipelined batches of REDIS_BATCH; after each batch, `each` gets the batch and
   * the new versions of its keys, in order.
   */
  async upsert(
    groupId: number,
    keys: readonly PoolKeyRecord[],
    each: (batch: readonly PoolKeyRecord[], versions: number[]) => Promise<void>,
  ): Promise<void> {
    // Loaded per call, not cached: a pipelined EVALSHA cannot recover from NOSCRIPT after a Redis restart.
    const sha = String(await this.redis.script('LOAD', UPSERT_KEY));
    const groupSetPrefix = this.names.group(0).slice(0, -1);
    for (let i = 0; i < keys.length; i += REDIS_BATCH) {
      const batch = keys.slice(i, i + REDIS_BATCH);
      const pipe = this.redis.pipeline();
      for (const k of batch) {
        pipe.evalsha(
          sha,
          2,
          this.names.key(k.id),
          this.names.group(groupId),
          groupId,
          k.id,
          this.codec.seal(k.value),
          k.status,
          k.failureCount,
          k.cooldownUntil ?? '',
          k.lastError === null ? '0' : '1',
          k.lastError ?? '',
          groupSetPrefix,
          modelCoolingJson(k.modelCooling),
        );
      }
      await each(batch, (await execAll(pipe)).map(Number));
    }
  }

  /** Deletes keys and takes them out of their group's set in batches of REDIS_BATCH; `each` follows each batch. */
  async remove(
    groupId: number,
    keyIds: readonly number[],
    each: (batch: number[]) => Promise<void>,
  ): Promise<void> {
    for (let i = 0; i < keyIds.length; i += REDIS_BATCH) {
      const batch = keyIds.slice(i, i + REDIS_BATCH);
      const pipe = this.redis.pipeline();
      pipe.del(...batch.map((id) => this.names.key(id)));
      pipe.srem(this.names.group(groupId), ...batch);
      await execAll(pipe);
      await each(batch);
    }
  }

  /** Deletes a group's keys and its set. */
  async dropGroup(groupId: number): Promise<void> {
    await this.forEachMemberBatch(groupId, async (ids) => {
      if (ids.length > 0) await this.redis.del(...ids.map((id) => this.names.key(id)));
    });
    await this.redis.del(this.names.group(groupId));
  }

  /** Writes a key's health if its hash is still at `version` (see CAS_HEALTH). */
  async cas(keyId: number, version: number, h: KeyHealth): Promise<CasResult> {
    const args = [
      String(version),
      h.status,
      h.failureCount,
      h.cooldownUntil ?? '',
      h.rateStrikes,
      h.lastError === null ? '0' : '1',
      h.lastError ?? '',
      modelCoolingJson(h.modelCooling),
    ];
    const reply = (await this.evalScript(CAS_HEALTH, [this.names.key(keyId)], args)) as (
      string | number | null
    )[];
    const [code, v, status, failureCount, cooldownUntil, rateStrikes, lastError, modelCooling] = reply;
    if (code === -1) return { kind: 'gone' };
    if (code === 1) return { kind: 'ok', version: Number(v) };
    return {
      kind: 'conflict',
      version: Number(v),
      health: parseHealth({ status, failureCount, cooldownUntil, rateStrikes, lastError, modelCooling }),
    };
  }

  private parseRow(id: number, row: (string | null)[]): StoredKey | undefined {
    const [
      groupId,
      value,
      status,
      failureCount,
      cooldownUntil,
      rateStrikes,
      lastError,
      version,
      modelCooling,
    ] = row;
    if (groupId == null || value == null || version == null) return undefined;
    let plain: string;
    try {
      plain = this.codec.open(value);
    } catch (error) {
      // Sealed with another ENCRYPTION_KEY (or altered): leave the key out rather than send garbage upstream.
      this.onError(error);
      return undefined;
    }
    const h = parseHealth({ status, failureCount, cooldownUntil, rateStrikes, lastError, modelCooling });
    return {
      record: {
        id,
        groupId: Number(groupId),
        value: plain,
        status: h.status,
        failureCount: h.failureCount,
        cooldownUntil: h.cooldownUntil,
        lastError: h.lastError,
        modelCooling: h.modelCooling ?? null,
      },
      version: Number(version),
    };
  }

  private async scriptSha(script: string): Promise<string> {
    let sha = this.shas.get(script);
    if (!sha) {
      sha = String(await this.redis.script('LOAD', script));
      this.shas.set(script, sha);
    }
    return sha;
  }

  /** EVALSHA, reloading the script once if Redis lost it (restart, SCRIPT FLUSH). */
  private async evalScript(script: string, keys: string[], args: (string | number)[]): Promise<unknown> {
    const sha = await this.scriptSha(script);
    try {
      return await this.redis.evalsha(sha, keys.length, ...keys, ...args);
    } catch (error) {
      if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
      this.shas.delete(script);
      return this.redis.eval(script, keys.length, ...keys, ...args);
    }
  }
}

/** Runs a pipeline and returns its replies, throwing the first command error. */
async function execAll(pipe: ReturnType<Redis['pipeline']>): Promise<unknown[]> {
  const results = (await pipe.exec()) ?? [];
  return results.map(([error, reply]) => {
    if (error) throw error;
    return reply;
  });
}

const STATUSES = new Set<string>(['active', 'cooling', 'invalid', 'disabled']);

type HashField = string | number | null | undefined;

/**
 * Health from Redis hash fields (absent fields are null). `modelCooling` is JSON; absent (a hash written before
 * model coolings existed) or unreadable means none.
 */
export function parseHealth(f: {
  status: HashField;
  failureCount: HashField;
  cooldownUntil: HashField;
  rateStrikes: HashField;
  lastError: HashField;
  modelCooling?: HashField;
}): KeyHealth {
  const status = String(f.status ?? 'active');
  const h: KeyHealth = {
    status: (STATUSES.has(status) ? status : 'disabled') as KeyStatus,
    failureCount: Number(f.failureCount ?? 0),
    cooldownUntil: f.cooldownUntil == null || f.cooldownUntil === '' ? null : Number(f.cooldownUntil),
    rateStrikes: Number(f.rateStrikes ?? 0),
    lastError: f.lastError == null ? null : String(f.lastError),
  };
  const modelCooling = parseModelCoolingJson(f.modelCooling);
  if (modelCooling) h.modelCooling = modelCooling;
  return sharedHealth(h);
}
