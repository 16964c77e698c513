import { randomUUID } from 'node:crypto';
import type { KeyStats, KeyStatus } from '@keyway/contracts';
import { nextHealth } from '@keyway/core';
import type { HealthPolicy, KeyHealth } from '@keyway/core';
import type { Redis } from 'ioredis';
import { groupIdOfKey, redisKeyNames, type RedisKeyNames } from './keys';
import { MemoryKeyPool } from './memory-key-pool';
import type {
  KeyChangeCause,
  KeyPool,
  KeyStateChange,
  PickResult,
  PoolKeyRecord,
  ReportedOutcome,
} from './port';
import { RedisKeyEventFeed, type KeyEvent, type KeyEventFeed } from './redis-key-event-feed';
import { CAS_HEALTH, UPSERT_KEY } from './redis-scripts';

/** Keys per pipeline when loading or reading a group: big enough to amortise round trips, small enough not to stall Redis. */
export const REDIS_BATCH = 1000;

/** Options of `RedisKeyPool.create`. */
export interface RedisKeyPoolOptions {
  /** Client for commands; the pool never quits it (the caller owns it). */
  redis: Redis;
  /** Prefix of every Redis key (default `kw:`); tests use a random one. */
  prefix?: string;
  /** Name of this replica in events, so it ignores its own (default: a random UUID). */
  origin?: string;
  /** Change feed between replicas (default: the Redis Stream `{prefix}keys:events`). */
  feed?: KeyEventFeed;
  /** Groups to mirror from Redis before `create` returns: `'all'` (default) scans every group set. */
  sync?: 'all' | readonly number[];
  /** Background write or feed failures (writes are retried; the hot path never sees them). */
  onError?: (error: unknown) => void;
  /**
   * How key values are stored in Redis: a KeyCipher built from ENCRYPTION_KEY keeps them sealed there, so a
   * Redis dump holds no plaintext key; the mirror holds them opened. Default: stored as given.
   */
  codec?: ValueCodec;
}

/** Seals key values on their way into Redis and opens them on the way out (a KeyCipher fits). */
export interface ValueCodec {
  seal(plain: string): string;
  open(stored: string): string;
}

const identity: ValueCodec = { seal: (v) => v, open: (v) => v };

/** A local change not yet confirmed by Redis, kept so it can be replayed on a newer Redis state. */
interface PendingOp {
  apply: (h: KeyHealth) => KeyHealth;
  cause: KeyChangeCause;
}

/** What the pool knows about a key besides its mirrored health. */
interface KnownKey {
  groupId: number;
  value: string;
  /** Version of the Redis hash the mirror's state derives from. */
  version: number;
}

/** Result of the compare-and-set script. */
type CasResult =
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
] as const;

/** Retry delay of background writes after a Redis error. */
const RETRY_MS = 500;
/** Compare-and-set attempts before a contended key is left for the next flush. */
const MAX_CAS_ATTEMPTS = 8;

/**
 * The distributed key pool. Redis holds the live health shared by every gateway replica; each process picks
 * from a local `MemoryKeyPool` mirror, so `pick`/`report`/`hasUsable`/`keyCount` never wait on Redis. Local
 * changes are written back in the background by a compare-and-set Lua script (on conflict the local outcomes
 * are replayed on the newer Redis state), then published on the change feed, from which the other replicas
 * update their mirrors.
 */
export class RedisKeyPool implements KeyPool {
  private readonly mirror = new MemoryKeyPool();
  private readonly listeners = new Set<(c: KeyStateChange) => void>();
  private readonly known = new Map<number, KnownKey>();
  private readonly pending = new Map<number, PendingOp[]>();
  private readonly dirty = new Set<number>();
  /** Groups whose membership this replica mirrors; feed events for other groups are ignored. */
  private readonly groups = new Set<number>();
  private readonly names: RedisKeyNames;
  private readonly shas = new Map<string, string>();
  /** The outcome being applied by `report`/`setStatus`, read by the mirror's change listener. */
  private current: PendingOp | undefined;
  private flushing: Promise<void> | undefined;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private closed = false;

  private constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    readonly origin: string,
    private readonly feed: KeyEventFeed,
    private readonly allGroups: boolean,
    private readonly onError: (error: unknown) => void,
    private readonly codec: ValueCodec,
  ) {
    this.names = redisKeyNames(prefix);
    this.mirror.onChange((c) => this.onLocalChange(c));
  }

  /** Connects a pool: loads the mirror from Redis, then follows the change feed from before the load. */
  static async create(options: RedisKeyPoolOptions): Promise<RedisKeyPool> {
    const prefix = options.prefix ?? 'kw:';
    const sync = options.sync ?? 'all';
    const pool = new RedisKeyPool(
      options.redis,
      prefix,
      options.origin ?? randomUUID(),
      options.feed ?? new RedisKeyEventFeed({ redis: options.redis, prefix }),
      sync === 'all',
      options.onError ?? (() => undefined),
      options.codec ?? identity,
    );
    // Read the feed position before the snapshot: events in between are replayed, and versions drop stale ones.
    const from = await pool.feed.position();
    if (sync === 'all') await pool.loadAll();
    else await pool.syncFromRedis(sync);
    pool.feed.subscribe(
      from,
      (e) => pool.onRemoteEvent(e),
      (error) => pool.onError(error),
    );
    return pool;
  }

  /** Mirrors every group found in Redis (SCAN over the group sets). */
  async loadAll(): Promise<void> {
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
    await this.syncFromRedis(ids);
  }

  /** Replaces the mirror of these groups with their state in Redis (cold start, or recovery after a feed gap). */
  async syncFromRedis(groupIds: readonly number[]): Promise<void> {
    for (const groupId of groupIds) {
      const records: PoolKeyRecord[] = [];
      const versions = new Map<number, number>();
      let cursor = '0';
      do {
        const [next, members] = await this.redis.sscan(
          this.names.group(groupId),
          cursor,
          'COUNT',
          REDIS_BATCH,
        );
        cursor = next;
        const read = await this.readKeys(members.map(Number));
        for (const r of read) {
          records.push(r.record);
          versions.set(r.record.id, r.version);
        }
      } while (cursor !== '0');
      this.forgetGroup(groupId);
      this.groups.add(groupId);
      for (const r of records)
        this.known.set(r.id, { groupId, value: r.value, version: versions.get(r.id) ?? 0 });
      await this.mirror.load(groupId, records);
    }
  }

  async load(groupId: number, keys: readonly PoolKeyRecord[]): Promise<void> {
    const keep = new Set(keys.map((k) => k.id));
    const stale: number[] = [];
    let cursor = '0';
    do {
      const [next, members] = await this.redis.sscan(this.names.group(groupId), cursor, 'COUNT', REDIS_BATCH);
      cursor = next;
      for (const m of members) if (!keep.has(Number(m))) stale.push(Number(m));
    } while (cursor !== '0');
    for (const id of this.known.keys())
      if (this.known.get(id)?.groupId === groupId && !keep.has(id)) stale.push(id);
    await this.removeFromRedis(groupId, [...new Set(stale)]);
    this.forgetGroup(groupId);
    await this.upsert(groupId, keys);
    // The mirror switches in one step at the end, so picks during a long load see the old keys, not half.
    await this.mirror.load(groupId, keys);
  }

  async add(groupId: number, keys: readonly PoolKeyRecord[]): Promise<void> {
    await this.upsert(groupId, keys);
    await this.mirror.add(groupId, keys);
  }

  /** Writes keys to Redis in pipelined batches and records their versions; the caller updates the mirror. */
  private async upsert(groupId: number, keys: readonly PoolKeyRecord[]): Promise<void> {
    this.groups.add(groupId);
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
        );
      }
      const results = await execAll(pipe);
      batch.forEach((k, j) => {
        // A key moving here from another group leaves that group's mirror too.
        const before = this.known.get(k.id);
        if (before && before.groupId !== groupId) void this.mirror.remove(before.groupId, [k.id]);
        this.pending.delete(k.id);
        this.dirty.delete(k.id);
        this.known.set(k.id, { groupId, value: k.value, version: Number(results[j]) });
      });
      await this.publish([
        { type: 'upsert', origin: this.origin, groupId, keyIds: batch.map((k) => k.id), at: Date.now() },
      ]);
    }
  }

  async remove(groupId: number, keyIds: readonly number[]): Promise<void> {
    await this.removeFromRedis(groupId, keyIds);
    for (const id of keyIds) this.forgetKey(id);
    await this.mirror.remove(groupId, keyIds);
  }

  async dropGroup(groupId: number): Promise<void> {
    const set = this.names.group(groupId);
    let cursor = '0';
    do {
      const [next, members] = await this.redis.sscan(set, cursor, 'COUNT', REDIS_BATCH);
      cursor = next;
      if (members.length > 0) await this.redis.del(...members.map((m) => this.names.key(Number(m))));
    } while (cursor !== '0');
    await this.redis.del(set);
    this.forgetGroup(groupId);
    this.groups.delete(groupId);
    await this.mirror.dropGroup(groupId);
    await this.publish([{ type: 'drop', origin: this.origin, groupId, at: Date.now() }]);
  }

  pick(groupId: number, avoid?: ReadonlySet<number>, now?: number): PickResult {
    return this.mirror.pick(groupId, avoid, now);
  }

  keyCount(groupId: number): number {
    return this.mirror.keyCount(groupId);
  }

  hasUsable(groupId: number, now?: number): boolean {
    return this.mirror.hasUsable(groupId, now);
  }

  report(
    groupId: number,
    keyId: number,
    outcome: ReportedOutcome,
    policy: HealthPolicy,
    now = Date.now(),
  ): KeyStateChange | null {
    const info = {
      ...(outcome.retryAfterMs === undefined ? {} : { retryAfterMs: outcome.retryAfterMs }),
      ...(outcome.reason === undefined ? {} : { reason: outcome.reason }),
    };
    this.current = { apply: (h) => nextHealth(h, outcome.class, policy, now, info), cause: outcome.class };
    try {
      return this.mirror.report(groupId, keyId, outcome, policy, now);
    } finally {
      this.current = undefined;
    }
  }

  setStatus(
    groupId: number,
    keyId: number,
    status: 'active' | 'disabled' | 'invalid',
    cause: KeyChangeCause = 'manual',
    lastError: string | null = null,
  ): KeyStateChange | null {
    this.current = { apply: (h) => withStatus(h, status, lastError), cause };
    try {
      return this.mirror.setStatus(groupId, keyId, status, cause, lastError);
    } finally {
      this.current = undefined;
    }
  }

  health(groupId: number, keyId: number, now?: number): KeyHealth | undefined {
    return this.mirror.health(groupId, keyId, now);
  }

  stats(groupId: number, now?: number): KeyStats {
    return this.mirror.stats(groupId, now);
  }

  onChange(listener: (change: KeyStateChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Resolves once every local change made so far is in Redis (or found obsolete). */
  async flush(): Promise<void> {
    while (this.dirty.size > 0 || this.flushing) {
      if (!this.flushing) this.scheduleFlush(true);
      await this.flushing;
      if (this.dirty.size > 0 && this.retryTimer) {
        // Redis failed; wait for the retry rather than spinning.
        await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
      }
      if (this.closed && this.dirty.size > 0) return;
    }
  }

  /** Writes pending changes (bounded wait), stops the feed and forgets the mirror; the Redis client stays open. */
  async close(): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    // Bounded: with Redis down, unwritten changes are lost here, but Redis keeps its last state for the others.
    await Promise.race([this.flush(), new Promise((resolve) => (timer = setTimeout(resolve, 5000)))]);
    clearTimeout(timer);
    this.closed = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    await this.feed.close();
    await this.mirror.close();
    this.listeners.clear();
    this.known.clear();
    this.pending.clear();
    this.dirty.clear();
  }

  // ---- local changes → Redis ----

  /** Every mirror change is local (remote ones go through `mirror.add`, which is silent): queue it for Redis. */
  private onLocalChange(c: KeyStateChange): void {
    // No current outcome means the mirror let a cooled key back into rotation by itself.
    const op = this.current ?? recoveredOp(c.at);
    // One report/setStatus emits one change; a listener that picks must not inherit this outcome.
    this.current = undefined;
    const ops = this.pending.get(c.keyId);
    if (ops) ops.push(op);
    else this.pending.set(c.keyId, [op]);
    this.dirty.add(c.keyId);
    this.scheduleFlush(false);
    this.emit(c);
  }

  private scheduleFlush(now: boolean): void {
    if (this.flushing || this.closed) return;
    if (this.retryTimer && !now) return;
    if (this.retryTimer) {
      clearTimeout(this.retryTimer);
      this.retryTimer = undefined;
    }
    // setImmediate batches the changes of one tick into one round of writes.
    this.flushing = new Promise<void>((resolve) => setImmediate(resolve))
      .then(() => this.flushRound())
      .finally(() => {
        this.flushing = undefined;
        if (this.dirty.size > 0 && !this.retryTimer && !this.closed) this.scheduleFlush(false);
      });
  }

  private async flushRound(): Promise<void> {
    const ids = [...this.dirty];
    this.dirty.clear();
    const failed: number[] = [];
    const events: KeyEvent[] = [];
    await Promise.all(
      ids.map(async (id) => {
        try {
          const e = await this.writeKey(id);
          if (e) events.push(e);
        } catch (error) {
          failed.push(id);
          this.onError(error);
        }
      }),
    );
    if (failed.length > 0) {
      for (const id of failed) if (this.pending.has(id)) this.dirty.add(id);
      this.retryTimer = setTimeout(() => {
        this.retryTimer = undefined;
        this.scheduleFlush(false);
      }, RETRY_MS);
    }
    try {
      await this.publish(events);
    } catch (error) {
      // Redis already holds the state; replicas that miss the event catch up on their next resync.
      this.onError(error);
    }
  }

  /** Writes one key's mirrored health to Redis by compare-and-set, merging with a concurrent remote change. */
  private async writeKey(keyId: number): Promise<KeyEvent | undefined> {
    const ops = this.pending.get(keyId);
    const known = this.known.get(keyId);
    if (!ops || !known) {
      this.pending.delete(keyId);
      return undefined;
    }
    const local = this.mirror.health(known.groupId, keyId);
    if (!local) {
      this.pending.delete(keyId);
      return undefined;
    }
    // Counted after `health`, which may itself have queued a recovery that `local` already includes.
    const sent = ops.length;
    const cause = ops[sent - 1]?.cause ?? 'manual';
    let target = local;
    let version = known.version;
    for (let attempt = 0; attempt < MAX_CAS_ATTEMPTS; attempt++) {
      const r = await this.cas(keyId, version, target);
      if (this.known.get(keyId) !== known) return undefined; // removed or replaced meanwhile
      if (r.kind === 'gone') {
        // Removed from Redis by another replica: its `remove` event takes the key out of the mirror.
        this.pending.delete(keyId);
        return undefined;
      }
      if (r.kind === 'ok') {
        known.version = r.version;
        const now = this.pending.get(keyId) ?? [];
        const arrived = now.slice(sent);
        if (target !== local) {
          // Merged with a remote change: the mirror gets the merged state plus what arrived during the write.
          this.mergeIntoMirror(
            known,
            keyId,
            local,
            arrived.reduce((h, op) => op.apply(h), target),
            cause,
          );
        }
        if (arrived.length > 0) {
          this.pending.set(keyId, arrived);
          this.dirty.add(keyId);
        } else this.pending.delete(keyId);
        return this.stateEvent(known, keyId, r.version, target, cause);
      }
      // Another replica wrote first: replay our outcomes on its state, as if they had happened after it.
      version = r.version;
      target = ops.slice(0, sent).reduce((h, op) => op.apply(h), r.health);
      if (sameHealth(target, r.health)) {
        known.version = r.version;
        const rest = (this.pending.get(keyId) ?? []).slice(sent);
        this.mergeIntoMirror(
          known,
          keyId,
          local,
          rest.reduce((h, op) => op.apply(h), target),
          cause,
        );
        if (rest.length > 0) {
          this.pending.set(keyId, rest);
          this.dirty.add(keyId);
        } else this.pending.delete(keyId);
        return undefined;
      }
    }
    // Heavily contended: try again in the next round.
    this.dirty.add(keyId);
    return undefined;
  }

  private async cas(keyId: number, version: number, h: KeyHealth): Promise<CasResult> {
    const args = [
      String(version),
      h.status,
      h.failureCount,
      h.cooldownUntil ?? '',
      h.rateStrikes,
      h.lastError === null ? '0' : '1',
      h.lastError ?? '',
    ];
    const reply = (await this.evalScript(CAS_HEALTH, [this.names.key(keyId)], args)) as (
      string | number | null
    )[];
    const [code, v, status, failureCount, cooldownUntil, rateStrikes, lastError] = reply;
    if (code === -1) return { kind: 'gone' };
    if (code === 1) return { kind: 'ok', version: Number(v) };
    return {
      kind: 'conflict',
      version: Number(v),
      health: parseHealth({ status, failureCount, cooldownUntil, rateStrikes, lastError }),
    };
  }

  // ---- remote changes → mirror ----

  private onRemoteEvent(e: KeyEvent): void {
    if (this.closed || e.origin === this.origin) return;
    switch (e.type) {
      case 'state':
        this.applyRemoteState(e);
        return;
      case 'remove':
        for (const id of e.keyIds) if (this.known.get(id)?.groupId === e.groupId) this.forgetKey(id);
        void this.mirror.remove(e.groupId, e.keyIds);
        return;
      case 'drop':
        this.forgetGroup(e.groupId);
        this.groups.delete(e.groupId);
        void this.mirror.dropGroup(e.groupId);
        return;
      case 'upsert':
        if (!this.allGroups && !this.groups.has(e.groupId)) return;
        this.readKeys(e.keyIds).then(
          (read) => this.applyRemoteUpserts(e.groupId, read),
          (error: unknown) => this.onError(error),
        );
        return;
    }
  }

  private applyRemoteState(e: Extract<KeyEvent, { type: 'state' }>): void {
    const known = this.known.get(e.keyId);
    // Keys with local changes in flight are settled by the compare-and-set, which sees this version.
    if (!known || known.groupId !== e.groupId || known.version >= e.version || this.pending.has(e.keyId))
      return;
    known.version = e.version;
    this.emit({ ...this.setMirror(known, e.keyId, { ...e.state }, e.cause, e.at), remote: true });
  }

  private applyRemoteUpserts(groupId: number, read: { record: PoolKeyRecord; version: number }[]): void {
    if (this.closed) return;
    this.groups.add(groupId);
    const fresh: PoolKeyRecord[] = [];
    for (const { record, version } of read) {
      if (record.groupId !== groupId) continue;
      const known = this.known.get(record.id);
      if (known && known.version >= version) continue;
      if (known && known.groupId !== groupId) void this.mirror.remove(known.groupId, [record.id]);
      this.pending.delete(record.id);
      this.known.set(record.id, { groupId, value: record.value, version });
      fresh.push(record);
    }
    void this.mirror.add(groupId, fresh);
  }

  /** Sets a merged state in the mirror and tells listeners, unless it is what the mirror already showed. */
  private mergeIntoMirror(
    known: KnownKey,
    keyId: number,
    shown: KeyHealth,
    merged: KeyHealth,
    cause: KeyChangeCause,
  ): void {
    const change = this.setMirror(known, keyId, merged, cause);
    if (!sameHealth(shown, merged)) this.emit(change);
  }

  /** Puts a state into the mirror without going through the local-change path; returns the change to emit. */
  private setMirror(
    known: KnownKey,
    keyId: number,
    h: KeyHealth,
    cause: KeyChangeCause,
    at = Date.now(),
  ): KeyStateChange {
    // `add` replaces one entry in O(1) and emits nothing, so the change is not written back to Redis.
    void this.mirror.add(known.groupId, [
      {
        id: keyId,
        groupId: known.groupId,
        value: known.value,
        status: h.status,
        failureCount: h.failureCount,
        cooldownUntil: h.cooldownUntil,
        lastError: h.lastError,
      },
    ]);
    return {
      keyId,
      groupId: known.groupId,
      status: h.status,
      failureCount: h.failureCount,
      cooldownUntil: h.cooldownUntil,
      lastError: h.lastError,
      cause,
      at,
    };
  }

  // ---- helpers ----

  private emit(c: KeyStateChange): void {
    for (const l of this.listeners) {
      try {
        l(c);
      } catch (error) {
        // A failing listener must not break the hot path or the other listeners.
        this.onError(error);
      }
    }
  }

  private stateEvent(
    known: KnownKey,
    keyId: number,
    version: number,
    h: KeyHealth,
    cause: KeyChangeCause,
  ): KeyEvent {
    return {
      type: 'state',
      origin: this.origin,
      groupId: known.groupId,
      keyId,
      version,
      state: {
        status: h.status,
        failureCount: h.failureCount,
        cooldownUntil: h.cooldownUntil,
        rateStrikes: h.rateStrikes,
        lastError: h.lastError,
      },
      cause,
      at: Date.now(),
    };
  }

  private async publish(events: KeyEvent[]): Promise<void> {
    if (events.length > 0) await this.feed.publish(events);
  }

  private async removeFromRedis(groupId: number, keyIds: readonly number[]): Promise<void> {
    for (let i = 0; i < keyIds.length; i += REDIS_BATCH) {
      const batch = keyIds.slice(i, i + REDIS_BATCH);
      const pipe = this.redis.pipeline();
      pipe.del(...batch.map((id) => this.names.key(id)));
      pipe.srem(this.names.group(groupId), ...batch);
      await execAll(pipe);
      await this.publish([{ type: 'remove', origin: this.origin, groupId, keyIds: batch, at: Date.now() }]);
    }
  }

  /** Reads key hashes in pipelined batches; keys that vanished are skipped. */
  private async readKeys(keyIds: readonly number[]): Promise<{ record: PoolKeyRecord; version: number }[]> {
    const out: { record: PoolKeyRecord; version: number }[] = [];
    for (let i = 0; i < keyIds.length; i += REDIS_BATCH) {
      const batch = keyIds.slice(i, i + REDIS_BATCH);
      const pipe = this.redis.pipeline();
      for (const id of batch) pipe.hmget(this.names.key(id), ...HASH_FIELDS);
      const rows = (await execAll(pipe)) as (string | null)[][];
      batch.forEach((id, j) => {
        const [groupId, value, status, failureCount, cooldownUntil, rateStrikes, lastError, version] =
          rows[j] ?? [];
        if (groupId == null || value == null || version == null) return;
        let plain: string;
        try {
          plain = this.codec.open(value);
        } catch (error) {
          // Sealed with another ENCRYPTION_KEY (or altered): leave the key out rather than send garbage upstream.
          this.onError(error);
          return;
        }
        const h = parseHealth({ status, failureCount, cooldownUntil, rateStrikes, lastError });
        out.push({
          record: {
            id,
            groupId: Number(groupId),
            value: plain,
            status: h.status,
            failureCount: h.failureCount,
            cooldownUntil: h.cooldownUntil,
            lastError: h.lastError,
          },
          version: Number(version),
        });
      });
    }
    return out;
  }

  private forgetKey(keyId: number): void {
    this.known.delete(keyId);
    this.pending.delete(keyId);
    this.dirty.delete(keyId);
  }

  private forgetGroup(groupId: number): void {
    for (const [id, k] of this.known) if (k.groupId === groupId) this.forgetKey(id);
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

/** The same transition as `MemoryKeyPool.setStatus`, replayable on another state. */
function withStatus(
  h: KeyHealth,
  status: 'active' | 'disabled' | 'invalid',
  lastError: string | null,
): KeyHealth {
  return status === 'active'
    ? { status, failureCount: 0, cooldownUntil: null, rateStrikes: 0, lastError }
    : { ...h, status, cooldownUntil: null, lastError: lastError ?? h.lastError };
}

/** The mirror's own recovery of a cooled key, replayable on another state. */
function recoveredOp(at: number): PendingOp {
  return {
    apply: (h) =>
      h.status === 'cooling' && (h.cooldownUntil ?? 0) <= at
        ? { ...h, status: 'active', cooldownUntil: null }
        : h,
    cause: 'recovered',
  };
}

function sameHealth(a: KeyHealth, b: KeyHealth): boolean {
  return (
    a.status === b.status &&
    a.failureCount === b.failureCount &&
    a.cooldownUntil === b.cooldownUntil &&
    a.rateStrikes === b.rateStrikes &&
    a.lastError === b.lastError
  );
}

const STATUSES = new Set<string>(['active', 'cooling', 'invalid', 'disabled']);

/** Health from Redis hash fields (absent fields are null). */
function parseHealth(f: {
  status: string | number | null | undefined;
  failureCount: string | number | null | undefined;
  cooldownUntil: string | number | null | undefined;
  rateStrikes: string | number | null | undefined;
  lastError: string | number | null | undefined;
}): KeyHealth {
  const status = String(f.status ?? 'active');
  return {
    status: (STATUSES.has(status) ? status : 'disabled') as KeyStatus,
    failureCount: Number(f.failureCount ?? 0),
    cooldownUntil: f.cooldownUntil == null || f.cooldownUntil === '' ? null : Number(f.cooldownUntil),
    rateStrikes: Number(f.rateStrikes ?? 0),
    lastError: f.lastError == null ? null : String(f.lastError),
  };
}
