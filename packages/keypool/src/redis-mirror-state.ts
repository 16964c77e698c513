import type { KeyHealth } from '@keyway/core';
import { MemoryKeyPool } from './memory-key-pool';
import type { HealthOp } from './pool-ops';
import type { KeyChangeCause, KeyStateChange } from './port';

/** What a replica knows about a mirrored key besides its health. */
export interface KnownKey {
  groupId: number;
  value: string;
  /** Version of the Redis hash the mirror's state derives from. */
  version: number;
}

/**
 * The local state of a distributed pool, shared by its parts: the pool (membership), the writer (local changes
 * to Redis) and the feed applier (other replicas' changes to the mirror).
 */
export class MirrorState {
  /** The in-memory pool `pick` and `report` run against. */
  readonly mirror = new MemoryKeyPool();
  readonly known = new Map<number, KnownKey>();
  /** Groups whose membership this replica mirrors; feed events for other groups are ignored. */
  readonly groups = new Set<number>();
  /** Local health ops not yet confirmed by Redis, oldest first: replayed on a newer Redis state on conflict. */
  readonly pending = new Map<number, HealthOp[]>();
  /** Keys with pending ops the writer has yet to send. */
  readonly dirty = new Set<number>();
  closed = false;
  private readonly listeners = new Set<(c: KeyStateChange) => void>();

  constructor(
    /** Background write or feed failures (the hot path never sees them). */
    readonly onError: (error: unknown) => void,
  ) {}

  /** Tells the pool's listeners about a change. */
  emit(c: KeyStateChange): void {
    for (const l of this.listeners) {
      try {
        l(c);
      } catch (error) {
        // A failing listener must not break the hot path or the other listeners.
        this.onError(error);
      }
    }
  }

  onChange(listener: (change: KeyStateChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Puts a state decided elsewhere into the mirror (silently: not written back); returns the change, if any. */
  setHealth(
    known: KnownKey,
    keyId: number,
    health: KeyHealth,
    cause: KeyChangeCause,
    at = Date.now(),
  ): KeyStateChange | null {
    return this.mirror.apply({ kind: 'set', groupId: known.groupId, keyId, health, cause, at });
  }

  forgetKey(keyId: number): void {
    this.known.delete(keyId);
    this.pending.delete(keyId);
    this.dirty.delete(keyId);
  }

  forgetGroup(groupId: number): void {
    for (const [id, k] of this.known) if (k.groupId === groupId) this.forgetKey(id);
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.mirror.close();
    this.listeners.clear();
    this.known.clear();
    this.pending.clear();
    this.dirty.clear();
  }
}
