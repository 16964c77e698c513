/** Redis key names of the distributed counters; built here only, so adapters and tools never drift. */

/** Default prefix of every counter key (tests pass a random one). */
export const DEFAULT_COUNTER_PREFIX = 'kw:lim:';

export interface CounterKeyNames {
  /**
   * A minute window: hash of per-second buckets, field = the second (epoch s) at which the bucket leaves the
   * window, value = its amount: `{prefix}{id}:{rule}:m`.
   */
  minute(id: string, rule: string): string;
  /** A day/month/total period's figure (string, INCRBYFLOAT): `{prefix}{id}:{rule}:p{periodStartMs}`. */
  period(id: string, rule: string, periodStart: number): string;
  /** Sorted set of the replicas that claimed slices of a counter lately (score = ms): `{prefix}{id}:{rule}:who`. */
  claimants(id: string, rule: string): string;
  /** Set once per Redis lifetime; a different value means Redis lost its data: `{prefix}epoch`. */
  epoch: string;
}

/** The counter key names under `prefix`. */
export function counterKeyNames(prefix = DEFAULT_COUNTER_PREFIX): CounterKeyNames {
  return {
    minute: (id, rule) => `${prefix}${id}:${rule}:m`,
    period: (id, rule, periodStart) => `${prefix}${id}:${rule}:p${periodStart}`,
    claimants: (id, rule) => `${prefix}${id}:${rule}:who`,
    epoch: `${prefix}epoch`,
  };
}
