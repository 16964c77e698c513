import type { AccessKeyLimits } from '@keyway/contracts';
import type { LimitRule } from './types';

/**
 * The rules of an access key's limits (API.md "Access keys"). `rpm` is always present (observed without a
 * limit) so `rpmNow` and the `x-ratelimit-*` headers have a figure.
 */
export function accessKeyRules(l: AccessKeyLimits): LimitRule[] {
  const rules: LimitRule[] = [
    { name: 'rpm', measure: 'requests', window: 'minute', limit: l.rpm ?? Infinity },
  ];
  const add = (
    name: string,
    measure: LimitRule['measure'],
    window: LimitRule['window'],
    v: number | null,
  ) => {
    if (v !== null) rules.push({ name, measure, window, limit: v });
  };
  add('tpm', 'tokens', 'minute', l.tpm);
  add('rpd', 'requests', 'day', l.rpd);
  add('tokensPerDay', 'tokens', 'day', l.tokensPerDay);
  add('tokensPerMonth', 'tokens', 'month', l.tokensPerMonth);
  add('costUsdPerDay', 'cost', 'day', l.costUsdPerDay);
  add('costUsdPerMonth', 'cost', 'month', l.costUsdPerMonth);
  add('costUsdTotal', 'cost', 'total', l.costUsdTotal);
  return rules;
}

/** An access key's usage as the database keeps it (UTC day and month, and the lifetime cost). */
export interface PersistedAccessKeyUsage {
  requestsToday: number;
  tokensToday: number;
  costUsdToday: number;
  tokensMonth: number;
  costUsdMonth: number;
  costUsdTotal: number;
}

/** The persisted figure a day, month or total rule continues from (null: a minute window, or nothing kept). */
export function persistedFigure(rule: LimitRule, u: PersistedAccessKeyUsage): number | null {
  if (rule.timeZone !== undefined) return null;
  const figures: Record<string, number | undefined> = {
    'requests/day': u.requestsToday,
    'tokens/day': u.tokensToday,
    'cost/day': u.costUsdToday,
    'tokens/month': u.tokensMonth,
    'cost/month': u.costUsdMonth,
    'cost/total': u.costUsdTotal,
  };
  return figures[`${rule.measure}/${rule.window}`] ?? null;
}
