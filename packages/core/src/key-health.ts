import type { FailureClass, KeyStatus } from '@keyway/contracts';

/** The health fields of one key. */
export interface KeyHealth {
  status: KeyStatus;
  failureCount: number;
  /** Epoch ms until which a cooling key rests; null otherwise. */
  cooldownUntil: number | null;
  /** Consecutive rate-limit cooldowns, for the exponential backoff. */
  rateStrikes: number;
  lastError: string | null;
  /**
   * Models this key is cooling for (a quota or rate error the provider scoped to one model), by the model sent
   * upstream: the key keeps serving every other model. Absent or empty = none. Ended entries are dropped lazily.
   */
  modelCooling?: Readonly<Record<string, ModelCoolingEntry>>;
}

/** One model-scoped cooling of a key. */
export interface ModelCoolingEntry {
  /** Epoch ms the key may serve the model again. */
  until: number;
  reason: string;
}

/**
 * The health of a key in rotation with nothing against it, as one shared frozen object: a pool of 100,000 keys
 * loaded fresh held 100,000 equal copies (~6 MB of heap). Health is never changed in place (every change below
 * makes a new object), so sharing it is safe, and freezing it makes a change in place fail loudly.
 */
export const HEALTHY: KeyHealth = Object.freeze({
  status: 'active',
  failureCount: 0,
  cooldownUntil: null,
  rateStrikes: 0,
  lastError: null,
});

/** `h`, or {@link HEALTHY} when `h` is that same state (for health built per key when a pool loads). */
export function sharedHealth(h: KeyHealth): KeyHealth {
  return h.status === 'active' &&
    h.failureCount === 0 &&
    h.cooldownUntil === null &&
    h.rateStrikes === 0 &&
    h.lastError === null &&
    h.modelCooling === undefined
    ? HEALTHY
    : h;
}

/** The settings the policy reads. */
export interface HealthPolicy {
  blacklistThreshold: number;
  rateLimitCooldownSeconds: number;
  rateLimitMaxCooldownSeconds: number;
  quotaCooldownMinutes: number;
}

/** Applies one classified outcome to a key's health; returns the new health (same object when unchanged). */
export function nextHealth(
  h: KeyHealth,
  cls: FailureClass,
  policy: HealthPolicy,
  now: number,
  info: { retryAfterMs?: number; reason?: string; model?: string; probe?: boolean } = {},
): KeyHealth {
  if (h.status === 'disabled') return h;
  // A failure of a key already blacklisted is not counted (GPT-Load's rule): it was sent before the key was found
  // invalid, or it is a probe that failed. A late 429 must not turn it into a cooling key, which comes back by itself.
  if (h.status === 'invalid' && cls !== 'ok') return h;
  const reason = info.reason ?? cls;
  if (info.model !== undefined && (cls === 'quota' || cls === 'rate'))
    return coolModel(h, cls, policy, now, info.model, info.retryAfterMs, reason);
  switch (cls) {
    case 'ok':
      if (h.status === 'active' && h.failureCount === 0 && h.rateStrikes === 0) return h;
      // A success restores a blacklisted key, or ends a cooldown early, only when the key was sent as a probe (the
      // pool handing out an unusable key now and then). Any other success on such a key was sent before it failed,
      // or by a replica that had not heard yet: older news than the failure, which must not undo it (a revoked key
      // brought back by a stream that began before its 401; a cooldown ended by requests in flight at the 429).
      if (!info.probe && (h.status === 'invalid' || coolingUntil(h, now) > 0)) return h;
      return {
        ...h,
        status: 'active',
        failureCount: 0,
        cooldownUntil: null,
        rateStrikes: 0,
      };
    case 'client':
    case 'aborted':
    case 'overloaded':
    case 'empty':
    case 'proxy':
      return h;
    case 'slow':
      // A slow first token is the upstream's, not the key's, unless it repeats: then it counts as a failure.
      return h.failureCount > 0 ? nextHealth(h, 'upstream', policy, now, info) : { ...h, failureCount: 1 };
    case 'auth':
      return { ...h, status: 'invalid', cooldownUntil: null, lastError: reason };
    case 'quota': {
      const ms = info.retryAfterMs ?? policy.quotaCooldownMinutes * 60_000;
      // Never shortened: a quota's hour is not cut to a later 429's seconds.
      const until = Math.max(now + Math.max(1000, ms), coolingUntil(h, now));
      return { ...h, status: 'cooling', cooldownUntil: until, lastError: reason };
    }
    case 'rate': {
      const current = coolingUntil(h, now);
      if (current > 0 && !info.probe) {
        // The key is cooling, so this request was sent before it began to (the same burst of 429s, answered
        // late): no further strike, or a dozen requests in flight would take the backoff to its cap at once. A
        // longer stated Retry-After still extends the cooldown.
        if (info.retryAfterMs === undefined) return h;
        const until = now + rateCooldownMs(h.rateStrikes, policy, info.retryAfterMs);
        return until > current ? { ...h, cooldownUntil: until, lastError: reason } : h;
      }
      const ms = rateCooldownMs(h.rateStrikes, policy, info.retryAfterMs);
      return {
        ...h,
        status: 'cooling',
        cooldownUntil: now + ms,
        rateStrikes: h.rateStrikes + 1,
        lastError: reason,
      };
    }
    case 'upstream': {
      const failureCount = h.failureCount + 1;
      const blacklist = policy.blacklistThreshold > 0 && failureCount >= policy.blacklistThreshold;
      return {
        ...h,
        failureCount,
        status: blacklist ? 'invalid' : h.status,
        cooldownUntil: blacklist ? null : h.cooldownUntil,
        lastError: reason,
      };
    }
  }
}

/** The failure classes a storm (many keys failing the same way at once: the upstream's fault) is made of. */
export type StormClass = Extract<FailureClass, 'rate' | 'upstream'>;

/**
 * A key's health with a storm's charges taken back: the storm guard recognised that the `cls` failures charged
 * to it while the storm was building were the upstream's, not the key's. Only what such failures do is undone —
 * a rate storm's strikes and the cooldown they started, an upstream storm's failure count and the blacklisting it
 * reached. Whatever else happened to the key stays: an operator's `disabled`, a 401's `invalid`, a quota's
 * cooldown (no strike), a model's own cooling. Same object when nothing is to be taken back.
 */
export function absolvedHealth(h: KeyHealth, cls: StormClass, policy: HealthPolicy): KeyHealth {
  if (h.status === 'disabled') return h;
  if (cls === 'rate') {
    // Invalid: found so after the 429s (a 401, or blacklisted), which the storm says nothing about.
    if (h.rateStrikes === 0 || h.status === 'invalid') return h;
    return h.status === 'cooling'
      ? { ...h, status: 'active', cooldownUntil: null, rateStrikes: 0 }
      : { ...h, rateStrikes: 0 };
  }
  if (h.failureCount === 0) return h;
  if (h.status !== 'invalid') return { ...h, failureCount: 0 };
  // Blacklisted by these failures only when they reached the threshold: a failure of an invalid key counts for
  // nothing, so a count at the threshold was reached before anything else (a 401) could blacklist it.
  const byFailures = policy.blacklistThreshold > 0 && h.failureCount >= policy.blacklistThreshold;
  return byFailures ? { ...h, status: 'active', failureCount: 0, cooldownUntil: null } : h;
}

/** When a cooling key's cooldown ends, or 0 when it is not cooling (or its cooldown is over). */
function coolingUntil(h: KeyHealth, now: number): number {
  return h.status === 'cooling' && (h.cooldownUntil ?? 0) > now ? (h.cooldownUntil ?? 0) : 0;
}

/** How long a rate-limited key rests: Retry-After when stated (within reason), else capped exponential backoff. */
function rateCooldownMs(strikes: number, policy: HealthPolicy, retryAfterMs: number | undefined): number {
  const base = policy.rateLimitCooldownSeconds * 1000;
  const cap = policy.rateLimitMaxCooldownSeconds * 1000;
  const backoff = Math.min(cap, base * 2 ** Math.min(strikes, 20));
  return retryAfterMs === undefined
    ? backoff
    : Math.min(Math.max(retryAfterMs, 1000), Math.max(cap, retryAfterMs));
}

/**
 * A quota or rate error the provider scoped to one model: the key cools for that model only and keeps its state
 * for every other one. Ended entries are dropped on the way.
 */
function coolModel(
  h: KeyHealth,
  cls: 'quota' | 'rate',
  policy: HealthPolicy,
  now: number,
  model: string,
  retryAfterMs: number | undefined,
  reason: string,
): KeyHealth {
  const ms =
    cls === 'quota'
      ? Math.max(1000, retryAfterMs ?? policy.quotaCooldownMinutes * 60_000)
      : rateCooldownMs(0, policy, retryAfterMs);
  const cooling: Record<string, ModelCoolingEntry> = liveModelCooling(h, now) ?? {};
  const until = Math.max(now + ms, cooling[model]?.until ?? 0);
  // Bounded: a key cools for at most MAX_COOLING_MODELS models at once (the earliest-ending ones are dropped).
  cooling[model] = { until, reason: `${reason} (${model})` };
  const entries = Object.entries(cooling);
  if (entries.length > MAX_COOLING_MODELS) {
    entries.sort((a, b) => b[1].until - a[1].until);
    return { ...h, modelCooling: Object.fromEntries(entries.slice(0, MAX_COOLING_MODELS)) };
  }
  return { ...h, modelCooling: cooling };
}

/** Most models one key tracks model-scoped coolings for. */
export const MAX_COOLING_MODELS = 32;

/** A copy of the key's model coolings that have not ended at `now`, or undefined when there are none. */
export function liveModelCooling(
  h: Pick<KeyHealth, 'modelCooling'>,
  now: number,
): Record<string, ModelCoolingEntry> | undefined {
  const m = h.modelCooling;
  if (!m) return undefined;
  let out: Record<string, ModelCoolingEntry> | undefined;
  for (const [model, e] of Object.entries(m)) if (e.until > now) (out ??= {})[model] = e;
  return out;
}

/** Whether the key is cooling for `model` at `now` (a model-scoped quota or rate error). */
export function isCoolingFor(h: Pick<KeyHealth, 'modelCooling'>, model: string, now: number): boolean {
  const e = h.modelCooling?.[model];
  return e !== undefined && e.until > now;
}

/** Whether a key may be picked now. */
export function isUsable(h: Pick<KeyHealth, 'status' | 'cooldownUntil'>, now: number): boolean {
  return h.status === 'active' || (h.status === 'cooling' && (h.cooldownUntil ?? 0) <= now);
}
