import { NO_LIMITS } from '@keyway/contracts';
import { describe, expect, it } from 'vitest';
import { budgetCrossings } from './budget';

const usage = {
  requestsToday: 0,
  tokensToday: 0,
  tokensMonth: 0,
  costUsdToday: 0,
  costUsdMonth: 0,
  costUsdTotal: 0,
};

describe('budgetCrossings', () => {
  const limits = { ...NO_LIMITS, costUsdPerDay: 10, tokensPerMonth: 1000 };

  it('warns once when a batch carries usage past 80%, not again below 100%', () => {
    expect(
      budgetCrossings(limits, { ...usage, costUsdToday: 8.5 }, { requests: 1, tokens: 0, costUsd: 1 }),
    ).toEqual([{ event: 'budget.warning', limit: 'costUsdPerDay', used: 8.5, max: 10 }]);
    expect(
      budgetCrossings(limits, { ...usage, costUsdToday: 9 }, { requests: 1, tokens: 0, costUsd: 0.5 }),
    ).toEqual([]);
  });

  it('reports exceeded (only) when a batch jumps past both marks', () => {
    expect(
      budgetCrossings(limits, { ...usage, tokensMonth: 1200 }, { requests: 1, tokens: 600, costUsd: 0 }),
    ).toEqual([{ event: 'budget.exceeded', limit: 'tokensPerMonth', used: 1200, max: 1000 }]);
  });

  it('ignores unset limits and batches that added nothing', () => {
    expect(
      budgetCrossings(NO_LIMITS, { ...usage, costUsdToday: 50 }, { requests: 1, tokens: 1, costUsd: 50 }),
    ).toEqual([]);
    expect(
      budgetCrossings(limits, { ...usage, costUsdToday: 50 }, { requests: 1, tokens: 0, costUsd: 0 }),
    ).toEqual([]);
  });
});
