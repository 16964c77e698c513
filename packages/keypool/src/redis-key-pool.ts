import { randomUUID } from 'node:crypto';
import type { KeyStats } from '@keyway/contracts';
import type { HealthPolicy, KeyHealth, StormClass } from '@keyway/core';
import type { Redis } from 'ioredis';
import type {
  KeyChangeCause,
  KeyPool,
  KeyStateChange,
  PickResult,
  PickWant,
  PoolKeyRecord,
  ReportedOutcome,
} from './port';
import { RedisKeyEventFeed, type KeyEvent, type KeyEventFeed } from './redis-key-event-feed';
import { KeyFeedApplier } from './redis-key-feed-applier';
import { RedisKeyStore, type ValueCodec } from './redis-key-store';
import { KeyWriter } from './redis-key-writer';
import { MirrorState } from './redis-mirror-state';

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

/**
 * The distributed key pool. Redis holds the live health shared by every gateway replica; each process picks
 * from a local `MemoryKeyPool` mirror, so `pick`/`report`/`hasUsable`/`keyCount` never wait on Redis. Local
 * changes are written back in the background (`KeyWriter`) and published on the change feed, from which the
 * other replicas update their mirrors (`KeyFeedApplier`). This class handles membership: loading, adding and
 * removing keys and groups, in Redis first, then in the mirror.
 */
export class RedisKeyPool implements KeyPool {
  private readonly state: MirrorState;
  private readonly store: RedisKeyStore;
  private readonly writer: KeyWriter;
  private readonly applier: KeyFeedApplier;

  private constructor(
    redis: Redis,
    prefix: string,
    readonly origin: string,
    private readonly feed: KeyEventFeed,
    allGroups: boolean,
    onError: (error: unknown) => void,
    codec: ValueCodec | undefined,
  ) {
    this.state = new MirrorState(onError);
    this.store = new RedisKeyStore(redis, prefix, codec, onError);
    this.writer = new KeyWriter(
      this.state,
      { cas: (id, version, h) => this.store.cas(id, version, h), publish: (e) => this.publish(e) },
      origin,
    );
    this.applier = new KeyFeedApplier(this.state, {
      origin,
      allGroups,
      readKeys: (ids) => this.store.readKeys(ids),
    });
    // Every change the mirror announces is a local health op (mirrored states are set silently): write it back.
    this.state.mirror.onChange((c, op) => {
      this.writer.queue(op);
      this.state.emit(c);
    });
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
      options.codec,
    );
    // Read the feed position before the snapshot: events in between are replayed, and versions drop stale ones.
    const from = await pool.feed.position();
    if (sync === 'all') await pool.loadAll();
    else await pool.syncFromRedis(sync);
    pool.feed.subscribe(
      from,
      (raw) => pool.applier.handle(raw),
      (error) => pool.state.onError(error),
    );
    return pool;
  }

  /** Feed entries this replica skipped because they were not key events it understands. */
  get malformedEvents(): number {
    return this.applier.malformed;
  }

  /** Mirrors every group found in Redis (SCAN over the group sets). */
  async loadAll(): Promise<void> {
    await this.syncFromRedis(await this.store.groupIds());
  }

  /** Replaces the mirror of these groups with their state in Redis (cold start, or recovery after a feed gap). */
  async syncFromRedis(groupIds: readonly number[]): Promise<void> {
    const { state } = this;
    for (const groupId of groupIds) {
      const read = await this.store.readGroup(groupId);
      state.forgetGroup(groupId);
      state.groups.add(groupId);
      for (const { record, version } of read)
        state.known.set(record.id, { groupId, value: record.value, version });
      state.mirror.apply({ kind: 'load', groupId, keys: read.map((r) => r.record) });
    }
  }

  async load(groupId: number, keys: readonly PoolKeyRecord[]): Promise<void> {
    const keep = new Set(keys.map((k) => k.id));
    const stale: number[] = [];
    await this.store.forEachMemberBatch(groupId, (ids) => {
      for (const id of ids) if (!keep.has(id)) stale.push(id);
    });
    for (const [id, k] of this.state.known) if (k.groupId === groupId && !keep.has(id)) stale.push(id);
    await this.removeFromRedis(groupId, [...new Set(stale)]);
    this.state.forgetGroup(groupId);
    await this.upsert(groupId, keys);
    // The mirror switches in one step at the end, so picks during a long load see the old keys, not half.
    this.state.mirror.apply({ kind: 'load', groupId, keys });
  }

  async add(groupId: number, keys: readonly PoolKeyRecord[]): Promise<void> {
    await this.upsert(groupId, keys);
    this.state.mirror.apply({ kind: 'add', groupId, keys });
  }

  async remove(groupId: number, keyIds: readonly number[]): Promise<void> {
    await this.removeFromRedis(groupId, keyIds);
    for (const id of keyIds) this.state.forgetKey(id);
    this.state.mirror.apply({ kind: 'remove', groupId, keyIds });
  }

  async dropGroup(groupId: number): Promise<void> {
    const { state } = this;
    await this.store.dropGroup(groupId);
    state.forgetGroup(groupId);
    state.groups.delete(groupId);
    state.mirror.apply({ kind: 'drop', groupId });
    await this.publish([{ type: 'drop', origin: this.origin, groupId, at: Date.now() }]);
  }

  pick(groupId: number, avoid?: ReadonlySet<number>, now?: number, want?: PickWant): PickResult {
    return this.state.mirror.pick(groupId, avoid, now, want);
  }

  /** Local to this replica, like every pacing block (see the port): nothing goes to Redis or the feed. */
  pace(groupId: number, keyId: number, model: string | null, until: number): void {
    this.state.mirror.pace(groupId, keyId, model, until);
  }

  keyCount(groupId: number): number {
    return this.state.mirror.keyCount(groupId);
  }

  hasUsable(groupId: number, now?: number): boolean {
    return this.state.mirror.hasUsable(groupId, now);
  }

  report(
    groupId: number,
    keyId: number,
    outcome: ReportedOutcome,
    policy: HealthPolicy,
    now?: number,
  ): KeyStateChange | null {
    return this.state.mirror.report(groupId, keyId, outcome, policy, now);
  }

  absolve(
    groupId: number,
    keyId: number,
    cls: StormClass,
    policy: HealthPolicy,
    now?: number,
  ): KeyStateChange | null {
    return this.state.mirror.absolve(groupId, keyId, cls, policy, now);
  }

  setStatus(
    groupId: number,
    keyId: number,
    status: 'active' | 'disabled' | 'invalid',
    cause?: KeyChangeCause,
    lastError?: string | null,
  ): KeyStateChange | null {
    return this.state.mirror.setStatus(groupId, keyId, status, cause, lastError);
  }

  health(groupId: number, keyId: number, now?: number): KeyHealth | undefined {
    return this.state.mirror.health(groupId, keyId, now);
  }

  stats(groupId: number, now?: number): KeyStats {
    return this.state.mirror.stats(groupId, now);
  }

  onChange(listener: (change: KeyStateChange) => void): () => void {
    return this.state.onChange(listener);
  }

  /** Resolves once every local change made so far is in Redis (or found obsolete). */
  flush(): Promise<void> {
    return this.writer.flush();
  }

  /** Writes pending changes (bounded wait), stops the feed and forgets the mirror; the Redis client stays open. */
  async close(): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    // Bounded: with Redis down, unwritten changes are lost here, but Redis keeps its last state for the others.
    await Promise.race([this.flush(), new Promise((resolve) => (timer = setTimeout(resolve, 5000)))]);
    clearTimeout(timer);
    this.state.closed = true;
    this.writer.stop();
    await this.feed.close();
    await this.state.close();
  }

  /** Writes keys to Redis in pipelined batches and records their versions; the caller updates the mirror. */
  private async upsert(groupId: number, keys: readonly PoolKeyRecord[]): Promise<void> {
    const { state } = this;
    state.groups.add(groupId);
    await this.store.upsert(groupId, keys, async (batch, versions) => {
      batch.forEach((k, j) => {
        // A key moving here from another group leaves that group's mirror too.
        const before = state.known.get(k.id);
        if (before && before.groupId !== groupId)
          state.mirror.apply({ kind: 'remove', groupId: before.groupId, keyIds: [k.id] });
        state.pending.delete(k.id);
        state.dirty.delete(k.id);
        state.known.set(k.id, { groupId, value: k.value, version: versions[j] ?? 0 });
      });
      const keyIds = batch.map((k) => k.id);
      await this.publish([{ type: 'upsert', origin: this.origin, groupId, keyIds, at: Date.now() }]);
    });
  }

  private async removeFromRedis(groupId: number, keyIds: readonly number[]): Promise<void> {
    await this.store.remove(groupId, keyIds, (batch) =>
      this.publish([{ type: 'remove', origin: this.origin, groupId, keyIds: batch, at: Date.now() }]),
    );
  }

  private async publish(events: KeyEvent[]): Promise<void> {
    if (events.length > 0) await this.feed.publish(events);
  }
}
