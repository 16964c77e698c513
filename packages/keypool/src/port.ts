import type { FailureClass, KeyStats, KeyStatus } from '@keyway/contracts';
import type { HealthPolicy, KeyHealth, ModelCoolingEntry, StormClass } from '@keyway/core';

/** A key as loaded into the pool (plaintext value: pools live in process memory only). */
export interface PoolKeyRecord {
  id: number;
  groupId: number;
  value: string;
  status: KeyStatus;
  failureCount: number;
  cooldownUntil: number | null;
  lastError: string | null;
  /** Model-scoped coolings (by the model sent upstream); absent or null = none. */
  modelCooling?: Readonly<Record<string, ModelCoolingEntry>> | null;
}

/** The key handed to one attempt. */
export interface PickedKey {
  id: number;
  value: string;
}

/** Result of `pick`: a key, or why there is none (a returned value, not an exception: it is on the hot path). */
export type PickResult =
  | { ok: true; key: PickedKey; probe: boolean }
  /**
   * `cooling`: every key that could serve is cooling (for the whole key, or for this model); `paced`: every key
   * is at its pacing limit (or a provider-stated allowance) for this model. `retryAfterMs` = when the first one
   * becomes usable again.
   */
  | { ok: false; reason: 'empty' | 'cooling' | 'paced'; retryAfterMs?: number };

/** What a pick is for, beyond the group. */
export interface PickWant {
  /** The model sent upstream: keys cooling or paced for it are skipped. null/absent = the request names none. */
  model?: string | null;
  /** A key to hand out first when it is usable for the model (session affinity). */
  prefer?: number;
}

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
  /** Model-scoped coolings after the change (null = none). */
  modelCooling: Readonly<Record<string, ModelCoolingEntry>> | null;
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
  /** The model a quota or rate error was scoped to: the key cools for that model only. */
  model?: string;
  /**
   * The key was handed out as a probe of a pool with no usable key (`pick` said `probe: true`): only a probe's
   * success restores a blacklisted or cooling key (any other success on one was sent before it failed).
   */
  probe?: boolean;
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
  /**
   * Next usable key of a group by round robin, preferring keys not in `avoid`; with `want.model`, skipping keys
   * cooling or paced for that model; with `want.prefer`, that key first when it is usable (and not avoided).
   */
  pick(groupId: number, avoid?: ReadonlySet<number>, now?: number, want?: PickWant): PickResult;
  /**
   * Parks a key in this process only (never persisted nor broadcast: every replica paces from its own view of
   * the shared counters) until `until`, for `model` or, with null, for every model: upstream-key pacing.
   */
  pace(groupId: number, keyId: number, model: string | null, until: number): void;
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
  /**
   * Takes back the `cls` failures charged to a key while a storm was building (the storm guard found they were
   * the upstream's): their strikes, cooldown, failure count or blacklisting, and nothing else the key went through.
   */
  absolve(
    groupId: number,
    keyId: number,
    cls: StormClass,
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
