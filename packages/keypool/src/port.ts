import type { FailureClass, KeyStats, KeyStatus } from '@keyway/contracts';
import type { HealthPolicy, KeyHealth } from '@keyway/core';

/** A key as loaded into the pool (plaintext value: pools live in process memory only). */
export interface PoolKeyRecord {
  id: number;
  groupId: number;
  value: string;
  status: KeyStatus;
  failureCount: number;
  cooldownUntil: number | null;
  lastError: string | null;
}

/** The key handed to one attempt. */
export interface PickedKey {
  id: number;
  value: string;
}

/** Result of `pick`: a key, or why there is none (a returned value, not an exception: it is on the hot path). */
export type PickResult =
  | { ok: true; key: PickedKey; probe: boolean }
  | { ok: false; reason: 'empty' | 'cooling'; retryAfterMs?: number };

/** Why a key's health changed. */
export type KeyChangeCause = FailureClass | 'manual' | 'recovered' | 'validation';

/** One key state change: emitted for logs, persistence and (distributed) other replicas. */
export interface KeyStateChange {
  keyId: number;
  groupId: number;
  status: KeyStatus;
  failureCount: number;
  cooldownUntil: number | null;
  lastError: string | null;
  cause: KeyChangeCause;
  at: number;
  /**
   * Set when another replica made the change and this one only mirrors it (distributed pool): whoever made a
   * change persists it, so listeners that write changes somewhere skip remote ones.
   */
  remote?: true;
}

/** What `report` needs to know about an attempt's outcome. */
export interface ReportedOutcome {
  class: FailureClass;
  retryAfterMs?: number;
  reason?: string;
}

/**
 * The key pool port. `pick` and `report` are synchronous and O(1): they run on the gateway's hot path against
 * local state; adapters persist or broadcast changes in the background.
 */
export interface KeyPool {
  /** Replaces every key of a group. */
  load(groupId: number, keys: readonly PoolKeyRecord[]): Promise<void>;
  /** Adds (or replaces) keys in a group. */
  add(groupId: number, keys: readonly PoolKeyRecord[]): Promise<void>;
  /** Removes keys from a group. */
  remove(groupId: number, keyIds: readonly number[]): Promise<void>;
  /** Forgets a group and its keys. */
  dropGroup(groupId: number): Promise<void>;
  /** Next usable key of a group by round robin, preferring keys not in `avoid`. */
  pick(groupId: number, avoid?: ReadonlySet<number>, now?: number): PickResult;
  /** How many keys a group has, in any state (O(1)). */
  keyCount(groupId: number): number;
  /** Whether `pick` would find a key in rotation now (O(1); probes excluded). */
  hasUsable(groupId: number, now?: number): boolean;
  /** Applies an attempt's outcome to a key's health. */
  report(
    groupId: number,
    keyId: number,
    outcome: ReportedOutcome,
    policy: HealthPolicy,
    now?: number,
  ): KeyStateChange | null;
  /** Operator or validator sets a key's state: `active` restores (clears failures and cooldown), `disabled` parks it. */
  setStatus(
    groupId: number,
    keyId: number,
    status: 'active' | 'disabled' | 'invalid',
    cause?: KeyChangeCause,
    lastError?: string | null,
  ): KeyStateChange | null;
  /** Current health of a key, if known. */
  health(groupId: number, keyId: number, now?: number): KeyHealth | undefined;
  /** Counts by state. */
  stats(groupId: number, now?: number): KeyStats;
  /** Subscribes to state changes; returns the unsubscribe function. */
  onChange(listener: (change: KeyStateChange) => void): () => void;
  close(): Promise<void>;
}
