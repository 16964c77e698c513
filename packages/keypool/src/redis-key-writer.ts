import type { KeyHealth } from '@keyway/core';
import { sameModelCooling } from './model-cooling';
import { causeOf, healthAfter } from './pool-ops';
import type { HealthOp } from './pool-ops';
import type { KeyChangeCause } from './port';
import type { KeyEvent } from './redis-key-event-feed';
import type { CasResult } from './redis-key-store';
import type { KnownKey, MirrorState } from './redis-mirror-state';

/** Retry delay of background writes after a Redis error. */
const RETRY_MS = 500;
/** Compare-and-set attempts before a contended key is left for the next flush. */
const MAX_CAS_ATTEMPTS = 8;

/** What the writer needs from Redis. */
export interface KeyWriterIo {
  /** Compare-and-set of one key's health (RedisKeyStore.cas). */
  cas(keyId: number, version: number, h: KeyHealth): Promise<CasResult>;
  /** Tells the other replicas (the change feed). */
  publish(events: KeyEvent[]): Promise<void>;
}

/**
 * Writes a distributed pool's local health changes to Redis in the background. Changes of one tick go out in one
 * round; each key is written by compare-and-set, and when another replica wrote first the local ops are replayed
 * on its state, so concurrent outcomes add up instead of the last writer winning. Failed rounds are retried.
 */
export class KeyWriter {
  private flushing: Promise<void> | undefined;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly state: MirrorState,
    private readonly io: KeyWriterIo,
    private readonly origin: string,
  ) {}

  /** Queues a health op the mirror has already applied, to be written to Redis. */
  queue(op: HealthOp): void {
    const ops = this.state.pending.get(op.keyId);
    if (ops) ops.push(op);
    else this.state.pending.set(op.keyId, [op]);
    this.state.dirty.add(op.keyId);
    this.scheduleFlush(false);
  }

  /** Resolves once every local change made so far is in Redis (or found obsolete). */
  async flush(): Promise<void> {
    const { state } = this;
    while (state.dirty.size > 0 || this.flushing) {
      if (!this.flushing) this.scheduleFlush(true);
      await this.flushing;
      if (state.dirty.size > 0 && this.retryTimer) {
        // Redis failed; wait for the retry rather than spinning.
        await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
      }
      if (state.closed && state.dirty.size > 0) return;
    }
  }

  /** Cancels a pending retry (the state is closed: nothing more is written). */
  stop(): void {
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
  }

  private scheduleFlush(now: boolean): void {
    if (this.flushing || this.state.closed) return;
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
        if (this.state.dirty.size > 0 && !this.retryTimer && !this.state.closed) this.scheduleFlush(false);
      });
  }

  private async flushRound(): Promise<void> {
    const { state } = this;
    const ids = [...state.dirty];
    state.dirty.clear();
    const failed: number[] = [];
    const events: KeyEvent[] = [];
    await Promise.all(
      ids.map(async (id) => {
        try {
          const e = await this.writeKey(id);
          if (e) events.push(e);
        } catch (error) {
          failed.push(id);
          state.onError(error);
        }
      }),
    );
    if (failed.length > 0) {
      for (const id of failed) if (state.pending.has(id)) state.dirty.add(id);
      this.retryTimer = setTimeout(() => {
        this.retryTimer = undefined;
        this.scheduleFlush(false);
      }, RETRY_MS);
    }
    try {
      if (events.length > 0) await this.io.publish(events);
    } catch (error) {
      // Redis already holds the state; replicas that miss the event catch up on their next resync.
      state.onError(error);
    }
  }

  /** Writes one key's mirrored health to Redis by compare-and-set, merging with a concurrent remote change. */
  private async writeKey(keyId: number): Promise<KeyEvent | undefined> {
    const { state } = this;
    const ops = state.pending.get(keyId);
    const known = state.known.get(keyId);
    if (!ops || !known) {
      state.pending.delete(keyId);
      return undefined;
    }
    const local = state.mirror.health(known.groupId, keyId);
    if (!local) {
      state.pending.delete(keyId);
      return undefined;
    }
    // Counted after `health`, which may itself have queued a recovery that `local` already includes.
    const sent = ops.length;
    const last = ops[sent - 1];
    const cause = last ? causeOf(last) : 'manual';
    let target = local;
    let version = known.version;
    for (let attempt = 0; attempt < MAX_CAS_ATTEMPTS; attempt++) {
      const r = await this.io.cas(keyId, version, target);
      if (state.known.get(keyId) !== known) return undefined; // removed or replaced meanwhile
      if (r.kind === 'gone') {
        // Removed from Redis by another replica: its `remove` event takes the key out of the mirror.
        state.pending.delete(keyId);
        return undefined;
      }
      if (r.kind === 'ok') {
        known.version = r.version;
        // Merged with a remote change: the mirror gets the merged state plus what arrived during the write.
        this.settle(known, keyId, sent, local, target, cause, target !== local);
        return this.stateEvent(known, keyId, r.version, target, cause);
      }
      // Another replica wrote first: replay our outcomes on its state, as if they had happened after it.
      version = r.version;
      target = replay(ops.slice(0, sent), r.health);
      if (sameHealth(target, r.health)) {
        // Our ops change nothing on its state: nothing to write, the mirror takes that state.
        known.version = r.version;
        this.settle(known, keyId, sent, local, target, cause, true);
        return undefined;
      }
    }
    // Heavily contended: try again in the next round.
    state.dirty.add(keyId);
    return undefined;
  }

  /**
   * After a write (or a write found unnecessary): ops that arrived meanwhile stay pending for the next round,
   * and with `merged` the mirror takes `target` plus those ops, telling listeners if that is not what it showed.
   */
  private settle(
    known: KnownKey,
    keyId: number,
    sent: number,
    shown: KeyHealth,
    target: KeyHealth,
    cause: KeyChangeCause,
    merged: boolean,
  ): void {
    const { state } = this;
    const arrived = (state.pending.get(keyId) ?? []).slice(sent);
    if (merged) {
      const health = replay(arrived, target);
      const change = state.setHealth(known, keyId, health, cause);
      if (change && !sameHealth(shown, health)) state.emit(change);
    }
    if (arrived.length > 0) {
      state.pending.set(keyId, arrived);
      state.dirty.add(keyId);
    } else state.pending.delete(keyId);
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
        modelCooling: h.modelCooling ?? null,
      },
      cause,
      at: Date.now(),
    };
  }
}

/** Applies ops in order to a state. */
function replay(ops: readonly HealthOp[], h: KeyHealth): KeyHealth {
  return ops.reduce(healthAfter, h);
}

/** Whether two health states are equal field by field. */
function sameHealth(a: KeyHealth, b: KeyHealth): boolean {
  return (
    a.status === b.status &&
    a.failureCount === b.failureCount &&
    a.cooldownUntil === b.cooldownUntil &&
    a.rateStrikes === b.rateStrikes &&
    a.lastError === b.lastError &&
    sameModelCooling(a.modelCooling, b.modelCooling)
  );
}
