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
  info: { retryAfterMs?: number; reason?: string } = {},
): KeyHealth {
  if (h.status === 'disabled') return h;
  const reason = info.reason ?? cls;
  switch (cls) {
    case 'ok':
      if (h.status === 'active' && h.failureCount === 0 && h.rateStrikes === 0) return h;
      return {
        status: 'active',
        failureCount: 0,
        cooldownUntil: null,
        rateStrikes: 0,
        lastError: h.lastError,
      };
    case 'client':
    case 'aborted':
      return h;
    case 'auth':
      return { ...h, status: 'invalid', cooldownUntil: null, lastError: reason };
    case 'quota': {
      const ms = info.retryAfterMs ?? policy.quotaCooldownMinutes * 60_000;
      return { ...h, status: 'cooling', cooldownUntil: now + Math.max(1000, ms), lastError: reason };
    }
    case 'rate': {
      const base = policy.rateLimitCooldownSeconds * 1000;
      const cap = policy.rateLimitMaxCooldownSeconds * 1000;
      const backoff = Math.min(cap, base * 2 ** Math.min(h.rateStrikes, 20));
      const ms =
        info.retryAfterMs === undefined
          ? backoff
          : Math.min(Math.max(info.retryAfterMs, 1000), Math.max(cap, info.retryAfterMs));
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

/** Whether a key may be picked now. */
export function isUsable(h: Pick<KeyHealth, 'status' | 'cooldownUntil'>, now: number): boolean {
  return h.status === 'active' || (h.status === 'cooling' && (h.cooldownUntil ?? 0) <= now);
}
