import { describe, expect, it } from 'vitest';
import { accessKey } from '../../testing/fixtures';
import { isExpired, usageBars } from './usage-bars';

describe('usage bars', () => {
  it('draws one bar per limit set, each against its own counter, and none for unset limits', () => {
    const k = accessKey(1, {
      limits: {
        rpm: 60,
        tpm: 1000,
        rpd: 100,
        tokensPerDay: null,
        tokensPerMonth: 5_000_000,
        costUsdPerDay: 20,
        costUsdPerMonth: null,
        costUsdTotal: 50,
      },
      usage: {
        requestsToday: 25,
        tokensToday: 9_000,
        costUsdToday: 5,
        tokensMonth: 1_000_000,
        costUsdMonth: 12,
        costUsdTotal: 50,
        rpmNow: 6,
      },
    });
    expect(usageBars(k).map((b) => [b.limit, b.used, b.max, b.percent, b.reached])).toEqual([
      ['rpm', 6, 60, 10, false],
      ['rpd', 25, 100, 25, false],
      ['costUsdPerDay', 5, 20, 25, false],
      ['tokensPerMonth', 1_000_000, 5_000_000, 20, false],
      ['costUsdTotal', 50, 50, 100, true],
    ]);
  });

  it('caps an overshoot at a full bar and marks the limit reached', () => {
    const k = accessKey(1, {
      limits: { ...accessKey(1).limits, tokensPerDay: 1000 },
      usage: { ...accessKey(1).usage, tokensToday: 1450 },
    });
    expect(usageBars(k)).toEqual([
      { limit: 'tokensPerDay', used: 1450, max: 1000, percent: 100, reached: true },
    ]);
  });

  it('has no bars for a key without limits', () => {
    expect(usageBars(accessKey(1))).toEqual([]);
  });

  it('calls a key expired from its expiry instant on', () => {
    const now = Date.parse('2026-06-01T00:00:00Z');
    expect(isExpired(null, now)).toBe(false);
    expect(isExpired('2026-06-01T00:00:01Z', now)).toBe(false);
    expect(isExpired('2026-06-01T00:00:00Z', now)).toBe(true);
  });
});
