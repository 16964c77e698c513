import { describe, expect, it } from 'vitest';
import { countersContract, FakeClock } from './contract';
import { LocalCounters } from './local-counters';
import { SlidingWindow } from './sliding-window';
import type { LimitRule } from './types';

countersContract('local', (clock) =>
  Promise.resolve({ counters: new LocalCounters({ clock }), settle: () => Promise.resolve() }),
);

const rpm = (limit: number): LimitRule => ({ name: 'rpm', measure: 'requests', window: 'minute', limit });

describe('LocalCounters', () => {
  it('admits exactly N in any trailing 60 s, to the millisecond', () => {
    const clock = new FakeClock(1_000_000);
    const c = new LocalCounters({ clock });
    expect(c.admit('k', [rpm(2)]).ok).toBe(true); // t = 0
    clock.advance(30_000);
    expect(c.admit('k', [rpm(2)]).ok).toBe(true); // t = 30 s
    clock.advance(29_999);
    expect(c.admit('k', [rpm(2)])).toEqual({ ok: false, rule: rpm(2), used: 2, retryAfterMs: 1 });
    clock.advance(1);
    expect(c.admit('k', [rpm(2)]).ok).toBe(true); // t = 60 s: the first has left
    expect(c.admit('k', [rpm(2)])).toMatchObject({ ok: false, retryAfterMs: 30_000 });
  });

  it('judges at the instant the caller passes, without reading the clock', () => {
    const clock = new FakeClock(1_000_000);
    const c = new LocalCounters({ clock });
    expect(c.admit('k', [rpm(1)], 1_000_000).ok).toBe(true);
    clock.advance(90_000); // the clock has moved on; the caller's instant is the one that counts
    expect(c.admit('k', [rpm(1)], 1_030_000)).toMatchObject({ ok: false, retryAfterMs: 30_000 });
    expect(c.usage('k', rpm(1), 1_030_000)).toEqual({ used: 1, limit: 1, resetAtMs: 1_060_000 });
    expect(c.usage('k', rpm(1))).toEqual({ used: 0, limit: 1, resetAtMs: 1_090_000 });
  });

  it('says when enough of the window has left for a token limit', () => {
    const clock = new FakeClock(0);
    const c = new LocalCounters({ clock });
    const tpm: LimitRule = { name: 'tpm', measure: 'tokens', window: 'minute', limit: 100 };
    c.record('k', [tpm], { tokens: 80, costUsd: 0 });
    clock.advance(10_000);
    c.record('k', [tpm], { tokens: 80, costUsd: 0 });
    clock.advance(10_000);
    // 160 used: the first 80 leaving (at 60 s) brings it to 80 < 100.
    expect(c.admit('k', [tpm])).toMatchObject({ ok: false, used: 160, retryAfterMs: 40_000 });
  });

  it('drops idle counters but keeps a day budget until its day ends', () => {
    const clock = new FakeClock(Date.parse('2026-12-05T12:00:00Z'));
    const c = new LocalCounters({ clock });
    const rpd: LimitRule = { name: 'rpd', measure: 'requests', window: 'day', limit: 10 };
    for (let i = 0; i < 100; i++) c.admit(`k${i}`, [rpm(5), rpd]);
    expect(c.size).toBe(200);
    clock.advance(61_000);
    c.admit('other', [rpm(5)]);
    expect(c.size).toBe(101);
    expect(c.usage('k1', rpd).used).toBe(1);
    clock.set('2026-12-06T00:01:05Z');
    c.admit('other', [rpm(5)]);
    expect(c.size).toBe(1);
  });

  it('keeps memory bounded for an unlimited rule under heavy traffic', () => {
    const clock = new FakeClock(0);
    const w = new SlidingWindow();
    for (let i = 0; i < 200_000; i++) {
      clock.advance(1);
      w.add(clock.now(), 1, false);
    }
    expect(w.used(clock.now())).toBeGreaterThanOrEqual(60_000);
    expect(w.used(clock.now())).toBeLessThanOrEqual(61_000);
    expect(w.entries).toBeLessThanOrEqual(61);
  });

  it('keeps memory bounded for a large limit, never under-counting', () => {
    const w = new SlidingWindow();
    let t = 0;
    for (let i = 0; i < 100_000; i++) w.add((t += 0.5), 1, true);
    expect(w.entries).toBeLessThan(4096 + 300);
    // Everything added in the last 60 s (all 100 000, over 50 s) is still counted.
    expect(w.used(t)).toBe(100_000);
  });

  it('ignores a seed for a minute window or a negative figure', () => {
    const c = new LocalCounters({ clock: new FakeClock(0) });
    c.seed('k', rpm(5), 10);
    const day: LimitRule = { name: 'tokensPerDay', measure: 'tokens', window: 'day', limit: 5 };
    c.seed('k', day, -10);
    expect(c.usage('k', rpm(5)).used).toBe(0);
    expect(c.usage('k', day).used).toBe(0);
  });
});
