import type { AccessKey, AccessKeyLimit, AccessKeyUsage } from '@keyway/contracts';

/** Each usage counter and the limit or budget it is measured against (`tpm` has no counter of its own). */
export const USAGE_PAIRS: ReadonlyArray<{ usage: keyof AccessKeyUsage; limit: AccessKeyLimit }> = [
  { usage: 'rpmNow', limit: 'rpm' },
  { usage: 'requestsToday', limit: 'rpd' },
  { usage: 'tokensToday', limit: 'tokensPerDay' },
  { usage: 'costUsdToday', limit: 'costUsdPerDay' },
  { usage: 'tokensMonth', limit: 'tokensPerMonth' },
  { usage: 'costUsdMonth', limit: 'costUsdPerMonth' },
  { usage: 'costUsdTotal', limit: 'costUsdTotal' },
];

export interface UsageBar {
  limit: AccessKeyLimit;
  used: number;
  max: number;
  /** 0–100, capped (a request may overshoot a token or cost limit). */
  percent: number;
  /** At or over the limit: the key is refused until the window resets. */
  reached: boolean;
}

/** One bar per limit the key has set, in the order of {@link USAGE_PAIRS}. */
export function usageBars(k: Pick<AccessKey, 'limits' | 'usage'>): UsageBar[] {
  const out: UsageBar[] = [];
  for (const { usage, limit } of USAGE_PAIRS) {
    const max = k.limits[limit];
    if (max === null) continue;
    const used = k.usage[usage];
    out.push({
      limit,
      used,
      max,
      percent: Math.min(100, Math.round((used / max) * 1000) / 10),
      reached: used >= max,
    });
  }
  return out;
}

/** Whether the key has passed its expiry. */
export function isExpired(expiresAt: string | null, now = Date.now()): boolean {
  return expiresAt !== null && new Date(expiresAt).getTime() <= now;
}
