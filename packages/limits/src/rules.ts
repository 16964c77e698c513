import type { AccessKeyLimits, KeyLimits, KeyLimitSet } from '@keyway/contracts';
import { keyLimitsFor } from '@keyway/contracts';
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

/** Counter id of an upstream key across all its models (`keyLimits.total`, and the key's usage in the API). */
export function upstreamKeyCounterId(keyId: number): string {
  return `uk:${keyId}`;
}

/** Counter id of an upstream key for one model sent upstream (`keyLimits.default` / `keyLimits.models`). */
export function upstreamKeyModelCounterId(keyId: number, model: string): string {
  return `uk:${keyId}:m:${model}`;
}

/** The rules of one upstream key for one request: its model's counter, and its counter across models. */
export interface KeyPacingRules {
  /** Limited rules of the model's counter (empty: the model is not limited, or the request names none). */
  model: LimitRule[];
  /** `rpm`, `tpm` and `rpd` across models, always present (observed without a limit where none is set). */
  total: LimitRule[];
}

/**
 * The rules a group's `keyLimits` put on each of its upstream keys for `model` (API.md "Smarter pool"): the
 * model's own set (its `models` entry, else `default`) and `total`. The gateway and the control plane both build
 * them here, so the usage the API shows is read from the counters the gateway counts in. `rpd` resets at
 * midnight in `timeZone`. A request naming no model is held to `total` only: providers count per model, and
 * there is no model to count it under.
 */
export function keyPacingRules(limits: KeyLimits, model: string | null, timeZone: string): KeyPacingRules {
  const set = model === null ? null : keyLimitsFor(limits, model);
  const own = set ? keySetRules(set, timeZone).filter((r) => r.limit !== Infinity) : [];
  return { model: own, total: keySetRules(limits.total, timeZone) };
}

function keySetRules(set: KeyLimitSet | null, timeZone: string): LimitRule[] {
  return [
    { name: 'rpm', measure: 'requests', window: 'minute', limit: set?.rpm ?? Infinity },
    { name: 'tpm', measure: 'tokens', window: 'minute', limit: set?.tpm ?? Infinity },
    { name: 'rpd', measure: 'requests', window: 'day', limit: set?.rpd ?? Infinity, timeZone },
  ];
}
