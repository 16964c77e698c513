import type { AccessKeyLimit, AccessKeyLimits } from '@keyway/contracts';

/** An access key's usage in each budget window (the db's `AccessKeyUsageRow` fits). */
export interface BudgetUsage {
  requestsToday: number;
  tokensToday: number;
  tokensMonth: number;
  costUsdToday: number;
  costUsdMonth: number;
  costUsdTotal: number;
}

/** What one usage batch added to an access key. */
export interface BudgetDelta {
  requests: number;
  tokens: number;
  costUsd: number;
}

/** One budget a batch pushed past 80% (`budget.warning`) or 100% (`budget.exceeded`). */
export interface BudgetCrossing {
  event: 'budget.warning' | 'budget.exceeded';
  limit: AccessKeyLimit;
  used: number;
  max: number;
}

/** The budget limits (not the per-minute rates), with the usage window and the delta field each is counted in. */
const BUDGETS: ReadonlyArray<[AccessKeyLimit, keyof BudgetUsage, keyof BudgetDelta]> = [
  ['rpd', 'requestsToday', 'requests'],
  ['tokensPerDay', 'tokensToday', 'tokens'],
  ['tokensPerMonth', 'tokensMonth', 'tokens'],
  ['costUsdPerDay', 'costUsdToday', 'costUsd'],
  ['costUsdPerMonth', 'costUsdMonth', 'costUsd'],
  ['costUsdTotal', 'costUsdTotal', 'costUsd'],
];

/** The share of a budget that warns. */
export const BUDGET_WARNING_RATIO = 0.8;

/**
 * Budgets this batch crossed: usage before it (`after − delta`) was under the mark and is at or past it now. Each
 * crossing is reported once, by the batch that made it, with no memory to keep; a batch crossing both marks
 * reports `budget.exceeded` only.
 */
export function budgetCrossings(
  limits: AccessKeyLimits,
  after: BudgetUsage,
  delta: BudgetDelta,
): BudgetCrossing[] {
  const out: BudgetCrossing[] = [];
  for (const [limit, window, field] of BUDGETS) {
    const max = limits[limit];
    const added = delta[field];
    if (max === null || max <= 0 || added <= 0) continue;
    const used = after[window];
    const before = used - added;
    if (before < max && used >= max) out.push({ event: 'budget.exceeded', limit, used, max });
    else if (before < max * BUDGET_WARNING_RATIO && used >= max * BUDGET_WARNING_RATIO)
      out.push({ event: 'budget.warning', limit, used, max });
  }
  return out;
}
