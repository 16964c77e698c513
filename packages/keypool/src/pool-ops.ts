import { absolvedHealth, nextHealth } from '@keyway/core';
import type { HealthPolicy, KeyHealth, StormClass } from '@keyway/core';
import type { KeyChangeCause, PoolKeyRecord, ReportedOutcome } from './port';

/**
 * A transition of one key's health that can be replayed on another state: the distributed pool writes it to
 * Redis by compare-and-set and, when another replica wrote first, replays it on the newer state.
 */
export type HealthOp =
  /** An attempt's outcome (`report`). */
  | {
      kind: 'outcome';
      groupId: number;
      keyId: number;
      outcome: ReportedOutcome;
      policy: HealthPolicy;
      at: number;
    }
  /** An operator or validator sets the state (`setStatus`). */
  | {
      kind: 'status';
      groupId: number;
      keyId: number;
      status: 'active' | 'disabled' | 'invalid';
      cause: KeyChangeCause;
      lastError: string | null;
      at: number;
    }
  /** A cooled key whose cooldown ended at `at` comes back into rotation by itself. */
  | { kind: 'recover'; groupId: number; keyId: number; at: number }
  /** The storm guard takes back the `cls` failures charged to a key while a storm was building (`absolve`). */
  | {
      kind: 'absolve';
      groupId: number;
      keyId: number;
      cls: StormClass;
      policy: HealthPolicy;
      at: number;
    };

/**
 * Everything that changes a pool's state. Only `HealthOp`s tell the pool's listeners; the others are silent:
 * membership changes are not health changes, and `set` mirrors a state decided elsewhere (another replica, or
 * Redis after a merge), whose caller decides whom to tell.
 */
export type PoolOp =
  | HealthOp
  | { kind: 'set'; groupId: number; keyId: number; health: KeyHealth; cause: KeyChangeCause; at: number }
  /** Replaces every key of a group. */
  | { kind: 'load'; groupId: number; keys: readonly PoolKeyRecord[] }
  /** Adds (or replaces) keys in a group. */
  | { kind: 'add'; groupId: number; keys: readonly PoolKeyRecord[] }
  | { kind: 'remove'; groupId: number; keyIds: readonly number[] }
  | { kind: 'drop'; groupId: number };

/** The ops that change one existing key's health. */
export type KeyOp = Extract<PoolOp, { keyId: number }>;

/**
 * A key's health after `op`. Returns `h` itself when nothing changes (an outcome that leaves the key as it was,
 * a recovery of a key that is not due), so callers can skip the change by identity.
 */
export function healthAfter(h: KeyHealth, op: KeyOp): KeyHealth {
  switch (op.kind) {
    case 'outcome':
      // A ReportedOutcome carries retryAfterMs and reason the way nextHealth wants them: no copy per report.
      return nextHealth(h, op.outcome.class, op.policy, op.at, op.outcome);
    case 'status':
      return op.status === 'active'
        ? { status: 'active', failureCount: 0, cooldownUntil: null, rateStrikes: 0, lastError: op.lastError }
        : { ...h, status: op.status, cooldownUntil: null, lastError: op.lastError ?? h.lastError };
    case 'recover':
      return h.status === 'cooling' && (h.cooldownUntil ?? 0) <= op.at
        ? { ...h, status: 'active', cooldownUntil: null }
        : h;
    case 'absolve':
      return absolvedHealth(h, op.cls, op.policy);
    case 'set':
      return op.health;
  }
}

/** Why a health op changed a key, as listeners see it. */
export function causeOf(op: HealthOp): KeyChangeCause {
  switch (op.kind) {
    case 'outcome':
      return op.outcome.class;
    case 'status':
      return op.cause;
    case 'recover':
    case 'absolve':
      return 'recovered';
  }
}
