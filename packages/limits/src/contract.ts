import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Admission, Clock, CounterLayer, LimitRule } from './types';

/** A clock tests move by hand. */
export class FakeClock implements Clock {
  constructor(public t: number) {}
  now(): number {
    return this.t;
  }
  advance(ms: number): void {
    this.t += ms;
  }
  set(iso: string): void {
    this.t = Date.parse(iso);
  }
}

/** What a contract run needs: the layer, and a way to let its background work run (no-op standalone). */
export interface CountersHarness {
  counters: CounterLayer;
  settle(): Promise<void>;
}

const rule = (
  name: string,
  measure: LimitRule['measure'],
  window: LimitRule['window'],
  limit: number,
  timeZone?: string,
): LimitRule => (timeZone ? { name, measure, window, limit, timeZone } : { name, measure, window, limit });

/** The behaviour every counter adapter must have; run by each adapter's own test file. */
export function countersContract(name: string, make: (clock: FakeClock) => Promise<CountersHarness>): void {
  describe(`CounterLayer contract: ${name}`, () => {
    let clock: FakeClock;
    let h: CountersHarness;
    beforeEach(async () => {
      clock = new FakeClock(Date.parse('2026-12-05T12:00:00.000Z'));
      h = await make(clock);
    });
    afterEach(async () => {
      await h.counters.close();
    });
    const admit = async (id: string, rules: LimitRule[]): Promise<Admission> => {
      const a = await h.counters.admit(id, rules);
      await h.settle();
      return a;
    };
    const admitted = async (id: string, rules: LimitRule[], n: number): Promise<number> => {
      let ok = 0;
      for (let i = 0; i < n; i++) if ((await admit(id, rules)).ok) ok++;
      return ok;
    };

    it('admits at most N requests in any trailing 60 s and says when the next one may go', async () => {
      const rpm = [rule('rpm', 'requests', 'minute', 3)];
      for (let i = 0; i < 3; i++) {
        expect((await admit('k', rpm)).ok).toBe(true);
        clock.advance(10_000);
      }
      const refused = await admit('k', rpm);
      expect(refused).toMatchObject({ ok: false, rule: { name: 'rpm' }, used: 3 });
      if (!refused.ok) {
        expect(refused.retryAfterMs).toBeGreaterThanOrEqual(30_000);
        expect(refused.retryAfterMs).toBeLessThanOrEqual(32_000);
      }
      clock.set('2026-12-05T12:01:02.000Z');
      expect((await admit('k', rpm)).ok).toBe(true);
      clock.advance(1_000);
      expect((await admit('k', rpm)).ok).toBe(false);
    });

    it('does not count refused requests against the minute', async () => {
      const rpm = [rule('rpm', 'requests', 'minute', 2)];
      expect(await admitted('k', rpm, 2)).toBe(2);
      for (let i = 0; i < 20; i++) {
        clock.advance(1_000);
        expect((await admit('k', rpm)).ok).toBe(false);
      }
      clock.set('2026-12-05T12:01:03.000Z');
      expect(await admitted('k', rpm, 3)).toBe(2);
    });

    it('counts the tokens of requests finished in the trailing 60 s; one request may overshoot', async () => {
      const tpm = [rule('tpm', 'tokens', 'minute', 1000)];
      expect((await admit('k', tpm)).ok).toBe(true);
      h.counters.record('k', tpm, { tokens: 600, costUsd: 0 });
      expect((await admit('k', tpm)).ok).toBe(true);
      h.counters.record('k', tpm, { tokens: 600, costUsd: 0 });
      await h.settle();
      expect(await admit('k', tpm)).toMatchObject({ ok: false, rule: { name: 'tpm' }, used: 1200 });
      clock.advance(62_000);
      expect((await admit('k', tpm)).ok).toBe(true);
    });

    it('resets a daily request limit at 00:00 UTC', async () => {
      const rpd = [rule('rpd', 'requests', 'day', 2)];
      clock.set('2026-12-05T23:59:00.000Z');
      expect(await admitted('k', rpd, 2)).toBe(2);
      expect(await admit('k', rpd)).toMatchObject({ ok: false, retryAfterMs: 60_000 });
      clock.set('2026-12-06T00:00:00.000Z');
      expect(await admitted('k', rpd, 3)).toBe(2);
    });

    it('resets a Pacific-time day at local midnight, across the change to winter time', async () => {
      const rpd = [rule('rpd', 'requests', 'day', 1, 'America/Los_Angeles')];
      clock.set('2026-11-01T12:00:00.000Z'); // 05:00 PDT on the 25-hour day
      expect((await admit('k', rpd)).ok).toBe(true);
      const refused = await admit('k', rpd);
      expect(refused).toMatchObject({ ok: false, retryAfterMs: 20 * 3_600_000 }); // midnight PST = 08:00 UTC
      clock.set('2026-11-02T07:59:59.000Z');
      expect((await admit('k', rpd)).ok).toBe(false);
      clock.set('2026-11-02T08:00:00.000Z');
      expect((await admit('k', rpd)).ok).toBe(true);
    });

    it('refuses a month over its cost budget until the 1st, December into January', async () => {
      const month = [rule('costUsdPerMonth', 'cost', 'month', 1)];
      clock.set('2026-12-31T23:00:00.000Z');
      expect((await admit('k', month)).ok).toBe(true);
      h.counters.record('k', month, { tokens: 10, costUsd: 0.75 });
      expect((await admit('k', month)).ok).toBe(true);
      h.counters.record('k', month, { tokens: 10, costUsd: 0.75 });
      const refused = await admit('k', month);
      expect(refused).toMatchObject({
        ok: false,
        rule: { name: 'costUsdPerMonth' },
        retryAfterMs: 3_600_000,
      });
      if (!refused.ok) expect(refused.used).toBeCloseTo(1.5);
      clock.set('2027-01-01T00:00:00.000Z');
      expect((await admit('k', month)).ok).toBe(true);
    });

    it('never frees a total budget', async () => {
      const total = [rule('costUsdTotal', 'cost', 'total', 2)];
      expect((await admit('k', total)).ok).toBe(true);
      h.counters.record('k', total, { tokens: 0, costUsd: 2 });
      clock.advance(400 * 86_400_000);
      expect(await admit('k', total)).toMatchObject({ ok: false, retryAfterMs: null });
    });

    it('only observes an unlimited rule', async () => {
      const rpm = rule('rpm', 'requests', 'minute', Infinity);
      expect(await admitted('k', [rpm], 250)).toBe(250);
      expect(h.counters.usage('k', rpm)).toMatchObject({ used: 250, limit: Infinity });
      expect((await h.counters.read('k', rpm)).used).toBe(250);
    });

    it('checks every rule and counts an admission only when all of them admit', async () => {
      const rules = [rule('rpm', 'requests', 'minute', 5), rule('rpd', 'requests', 'day', 2)];
      expect(await admitted('k', rules, 4)).toBe(2);
      expect(h.counters.usage('k', rules[0] as LimitRule).used).toBe(2);
    });

    it('adds seeded usage to a day budget', async () => {
      const day = rule('tokensPerDay', 'tokens', 'day', 1000);
      await h.counters.seed('k', day, 990);
      expect((await admit('k', [day])).ok).toBe(true);
      h.counters.record('k', [day], { tokens: 20, costUsd: 0 });
      expect(await admit('k', [day])).toMatchObject({ ok: false, used: 1010 });
    });

    it('reports usage for the rate-limit headers', async () => {
      const rpm = rule('rpm', 'requests', 'minute', 10);
      const start = clock.now();
      expect(await admitted('k', [rpm], 3)).toBe(3);
      const u = h.counters.usage('k', rpm);
      expect(u).toMatchObject({ used: 3, limit: 10 });
      expect(u.resetAtMs).toBeGreaterThanOrEqual(start + 60_000);
      expect(u.resetAtMs).toBeLessThanOrEqual(start + 62_000);
      expect(h.counters.usage('other', rpm).used).toBe(0);
    });

    it('keeps counters of different ids apart', async () => {
      const rpm = [rule('rpm', 'requests', 'minute', 1)];
      expect((await admit('a', rpm)).ok).toBe(true);
      expect((await admit('a', rpm)).ok).toBe(false);
      expect((await admit('b', rpm)).ok).toBe(true);
    });

    it('applies a raised limit within a second', async () => {
      expect((await admit('k', [rule('rpm', 'requests', 'minute', 1)])).ok).toBe(true);
      expect((await admit('k', [rule('rpm', 'requests', 'minute', 1)])).ok).toBe(false);
      clock.advance(1_001);
      expect(await admitted('k', [rule('rpm', 'requests', 'minute', 3)], 3)).toBe(2);
    });
  });
}
