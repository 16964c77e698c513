import type { KeyLimits } from '@keyway/contracts';
import { dailyResetZone, keyLimitsSchema } from '@keyway/contracts';
import { LocalCounters, upstreamKeyCounterId, upstreamKeyModelCounterId } from '@keyway/limits';
import type { CounterLayer, LimitRule } from '@keyway/limits';
import { describe, expect, it } from 'vitest';
import { buildSnapshot } from '../test/harness';
import type { GroupSpec } from '../test/harness';
import type { PaceVerdict } from './attempt-planner';
import { createKeyPacer } from './key-pacer';
import { compileRuntime } from './runtime';
import type { GroupRuntime } from './runtime';

/** A clock tests move by hand. */
class TestClock {
  constructor(public t: number) {}
  now(): number {
    return this.t;
  }
  advance(ms: number): void {
    this.t += ms;
  }
}

interface Paced {
  groupId: number;
  keyId: number;
  model: string | null;
  until: number;
}

/** One openai group (id 1) compiled as the gateway serves it; `spec` adds limits, channel, zone … */
function group(spec: Partial<GroupSpec> = {}): GroupRuntime {
  return compileRuntime(buildSnapshot({ groups: [{ name: 'g', ...spec }] }).snapshot).groupsById.get(
    1,
  ) as GroupRuntime;
}

const limits = (l: unknown): KeyLimits => keyLimitsSchema.parse(l);

function setup(start: string | number, counters?: CounterLayer) {
  const clock = new TestClock(typeof start === 'number' ? start : Date.parse(start));
  const layer = counters ?? new LocalCounters({ clock });
  const paced: Paced[] = [];
  const pool = {
    pace: (groupId: number, keyId: number, model: string | null, until: number) =>
      void paced.push({ groupId, keyId, model, until }),
  };
  return { clock, counters: layer, paced, pacer: createKeyPacer(layer, pool, clock) };
}

/** The verdict of a synchronous admission (standalone counters never wait). */
function sync(v: PaceVerdict | Promise<PaceVerdict>): PaceVerdict {
  if (v instanceof Promise) throw new Error('standalone pacing must not wait');
  return v;
}

const rpm: LimitRule = { name: 'rpm', measure: 'requests', window: 'minute', limit: Infinity };

describe('upstream-key pacing (keyLimits)', () => {
  it('admits a 3-rpm key three times a minute, then parks it for that model until the oldest leaves', () => {
    const { clock, pacer, paced } = setup('2026-12-05T12:00:00Z');
    const g = group({ keyLimits: limits({ default: { rpm: 3 } }) });
    const t0 = clock.now();
    for (let i = 0; i < 3; i++) {
      expect(sync(pacer.admit(g, 1, 'gpt-4o'))).toEqual({ ok: true });
      clock.advance(10_000);
    }
    expect(sync(pacer.admit(g, 1, 'gpt-4o'))).toEqual({ ok: false, retryAfterMs: 30_000 });
    expect(paced).toEqual([{ groupId: 1, keyId: 1, model: 'gpt-4o', until: t0 + 60_000 }]);
    // Another key of the group, and another model of the same key, have their own allowance.
    expect(sync(pacer.admit(g, 2, 'gpt-4o')).ok).toBe(true);
    expect(sync(pacer.admit(g, 1, 'gpt-4o-mini')).ok).toBe(true);
    clock.t = t0 + 60_000;
    expect(sync(pacer.admit(g, 1, 'gpt-4o')).ok).toBe(true);
  });

  it('holds a model to its override and every model together to total, parking the key for all models', () => {
    const { clock, pacer, paced, counters } = setup('2026-12-05T12:00:00Z');
    const g = group({
      keyLimits: limits({ default: { rpm: 2 }, models: { 'gpt-4.1': { rpm: 1 } }, total: { rpm: 3 } }),
    });
    expect(sync(pacer.admit(g, 1, 'gpt-4.1')).ok).toBe(true);
    expect(sync(pacer.admit(g, 1, 'gpt-4.1'))).toMatchObject({ ok: false });
    expect(paced.at(-1)?.model).toBe('gpt-4.1');
    expect(sync(pacer.admit(g, 1, 'gpt-4o')).ok).toBe(true);
    expect(sync(pacer.admit(g, 1, 'gpt-4o')).ok).toBe(true);
    clock.advance(1000);
    // Three admitted across models: the fourth, for a model with room of its own, is refused by total.
    expect(sync(pacer.admit(g, 1, 'o3'))).toEqual({ ok: false, retryAfterMs: 59_000 });
    expect(paced.at(-1)).toEqual({ groupId: 1, keyId: 1, model: null, until: clock.now() + 59_000 });
    // The refused request counted nowhere.
    expect(counters.usage(upstreamKeyModelCounterId(1, 'o3'), { ...rpm, limit: 2 }).used).toBe(0);
    expect(counters.usage(upstreamKeyCounterId(1), rpm).used).toBe(3);
  });

  it('resets rpd at midnight in the group zone (America/Los_Angeles), not at midnight UTC', () => {
    // 22:30 in Los Angeles on Dec 5 = 06:30 UTC on Dec 6: UTC midnight has passed, Pacific midnight has not.
    const { clock, pacer } = setup('2026-12-06T06:30:00Z');
    const dailyResetTimeZone = dailyResetZone('gemini', null);
    const g = group({ channel: 'gemini', dailyResetTimeZone, keyLimits: limits({ default: { rpd: 2 } }) });
    expect(sync(pacer.admit(g, 1, 'gemini-2.5-pro')).ok).toBe(true);
    expect(sync(pacer.admit(g, 1, 'gemini-2.5-pro')).ok).toBe(true);
    expect(sync(pacer.admit(g, 1, 'gemini-2.5-pro'))).toEqual({ ok: false, retryAfterMs: 90 * 60_000 });
    clock.t = Date.parse('2026-12-06T07:59:59Z');
    expect(sync(pacer.admit(g, 1, 'gemini-2.5-pro')).ok).toBe(false);
    clock.t = Date.parse('2026-12-06T08:00:00Z');
    expect(sync(pacer.admit(g, 1, 'gemini-2.5-pro')).ok).toBe(true);
  });

  it('refuses once the tokens recorded in the trailing minute reach tpm', () => {
    const { clock, pacer, paced } = setup('2026-12-05T12:00:00Z');
    const g = group({ keyLimits: limits({ default: { tpm: 1000 } }) });
    expect(sync(pacer.admit(g, 1, 'gpt-4o')).ok).toBe(true);
    clock.advance(2000);
    pacer.record(g, 1, 'gpt-4o', 600);
    expect(sync(pacer.admit(g, 1, 'gpt-4o')).ok).toBe(true);
    clock.advance(3000);
    pacer.record(g, 1, 'gpt-4o', 600);
    clock.advance(5000);
    // 1200 tokens in the window: below 1000 again when the first 600 leave, 60 s after they were recorded.
    expect(sync(pacer.admit(g, 1, 'gpt-4o'))).toEqual({ ok: false, retryAfterMs: 52_000 });
    expect(paced.at(-1)?.model).toBe('gpt-4o');
    clock.advance(51_999);
    expect(sync(pacer.admit(g, 1, 'gpt-4o')).ok).toBe(false);
    clock.advance(1);
    expect(sync(pacer.admit(g, 1, 'gpt-4o')).ok).toBe(true);
  });

  it('observes every key use across models where only one model is limited (the API shows usage)', () => {
    const { pacer, counters } = setup('2026-12-05T12:00:00Z');
    const g = group({ keyLimits: limits({ models: { 'gpt-4.1': { rpm: 5 } } }) });
    expect(sync(pacer.admit(g, 3, 'gpt-4.1')).ok).toBe(true);
    expect(sync(pacer.admit(g, 3, 'gpt-4o')).ok).toBe(true);
    pacer.record(g, 3, 'gpt-4o', 250);
    const id = upstreamKeyCounterId(3);
    expect(counters.usage(id, rpm).used).toBe(2);
    expect(
      counters.usage(id, { name: 'tpm', measure: 'tokens', window: 'minute', limit: Infinity }).used,
    ).toBe(250);
  });

  it("hands a distributed layer's slice claim to the planner as a promise, and parks the key if it refuses", async () => {
    // A layer whose every admission waits for a slice claim, which Redis refuses.
    const claiming: CounterLayer = {
      admit: (_id, rules) =>
        Promise.resolve({ ok: false as const, rule: rules[0] as LimitRule, used: 5, retryAfterMs: 1000 }),
      record: () => undefined,
      usage: (_id, rule) => ({ used: 0, limit: rule.limit, resetAtMs: null }),
      read: (_id, rule) => Promise.resolve({ used: 0, limit: rule.limit, resetAtMs: null }),
      seed: () => undefined,
      close: () => Promise.resolve(),
    };
    const { pacer, paced, clock } = setup('2026-12-05T12:00:00Z', claiming);
    const verdict = pacer.admit(group({ keyLimits: limits({ default: { rpm: 5 } }) }), 1, 'gpt-4o');
    expect(verdict).toBeInstanceOf(Promise);
    expect(await verdict).toEqual({ ok: false, retryAfterMs: 1000 });
    expect(paced).toEqual([{ groupId: 1, keyId: 1, model: 'gpt-4o', until: clock.now() + 1000 }]);
  });

  it('costs a group without keyLimits nothing on the counter layer', () => {
    const untouchable = new Proxy({} as CounterLayer, {
      get: () => {
        throw new Error('the counter layer was used');
      },
    });
    const { pacer } = setup(0, untouchable);
    const g = group();
    for (let i = 0; i < 100; i++) expect(sync(pacer.admit(g, 1, 'gpt-4o')).ok).toBe(true);
    pacer.record(g, 1, 'gpt-4o', 1000);
    pacer.observe(g, 1, 'gpt-4o', { 'content-type': 'application/json' });
    expect(sync(pacer.admit(g, 1, 'gpt-4o')).ok).toBe(true);
  });
});

describe('allowances learned from rate-limit headers', () => {
  it("spends OpenAI's remaining requests, then parks the key for the model until the stated reset", () => {
    const { clock, pacer, paced } = setup('2026-12-05T12:00:00Z');
    const g = group();
    pacer.observe(g, 1, 'gpt-4o', {
      'x-ratelimit-remaining-requests': '2',
      'x-ratelimit-reset-requests': '6m0s',
      'x-ratelimit-remaining-tokens': '159976',
      'x-ratelimit-reset-tokens': '9ms',
    });
    expect(paced).toEqual([]);
    expect(sync(pacer.admit(g, 1, 'gpt-4o')).ok).toBe(true);
    clock.advance(1000);
    expect(sync(pacer.admit(g, 1, 'gpt-4o')).ok).toBe(true);
    expect(sync(pacer.admit(g, 1, 'gpt-4o'))).toEqual({ ok: false, retryAfterMs: 359_000 });
    expect(paced).toEqual([{ groupId: 1, keyId: 1, model: 'gpt-4o', until: clock.now() + 359_000 }]);
    // Other models of the key and other keys are not held back.
    expect(sync(pacer.admit(g, 1, 'gpt-4o-mini')).ok).toBe(true);
    expect(sync(pacer.admit(g, 2, 'gpt-4o')).ok).toBe(true);
    clock.advance(359_000);
    for (let i = 0; i < 10; i++) expect(sync(pacer.admit(g, 1, 'gpt-4o')).ok).toBe(true);
  });

  it('parks a key whose OpenAI token allowance ran out until the tokens reset, even with requests left', () => {
    const { clock, pacer, paced } = setup('2026-12-05T12:00:00Z');
    const g = group();
    pacer.observe(g, 4, 'gpt-4o', {
      'x-ratelimit-remaining-requests': '4999',
      'x-ratelimit-reset-requests': '12ms',
      'x-ratelimit-remaining-tokens': '0',
      'x-ratelimit-reset-tokens': '1.5s',
    });
    const until = clock.now() + 1500;
    expect(paced).toEqual([{ groupId: 1, keyId: 4, model: 'gpt-4o', until }]);
    expect(sync(pacer.admit(g, 4, 'gpt-4o'))).toEqual({ ok: false, retryAfterMs: 1500 });
    clock.t = until;
    expect(sync(pacer.admit(g, 4, 'gpt-4o')).ok).toBe(true);
  });

  it("reads Anthropic's RFC 3339 resets, and any exhausted token kind parks the key", () => {
    const { clock, pacer, paced } = setup('2026-12-05T12:00:00Z');
    const g = group({ channel: 'anthropic' });
    pacer.observe(g, 1, 'claude-sonnet-4-5', {
      'anthropic-ratelimit-requests-remaining': '1',
      'anthropic-ratelimit-requests-reset': '2026-12-05T12:00:30Z',
      'anthropic-ratelimit-input-tokens-remaining': '80000',
      'anthropic-ratelimit-input-tokens-reset': '2026-12-05T12:00:01Z',
    });
    expect(sync(pacer.admit(g, 1, 'claude-sonnet-4-5')).ok).toBe(true);
    expect(sync(pacer.admit(g, 1, 'claude-sonnet-4-5'))).toEqual({ ok: false, retryAfterMs: 30_000 });
    pacer.observe(g, 2, 'claude-sonnet-4-5', {
      'anthropic-ratelimit-requests-remaining': '999',
      'anthropic-ratelimit-requests-reset': '2026-12-05T12:00:01Z',
      'anthropic-ratelimit-output-tokens-remaining': '0',
      'anthropic-ratelimit-output-tokens-reset': '2026-12-05T12:00:20Z',
    });
    expect(paced.at(-1)).toEqual({
      groupId: 1,
      keyId: 2,
      model: 'claude-sonnet-4-5',
      until: Date.parse('2026-12-05T12:00:20Z'),
    });
    clock.advance(5000);
    expect(sync(pacer.admit(g, 2, 'claude-sonnet-4-5'))).toEqual({ ok: false, retryAfterMs: 15_000 });
  });

  it('checks a learned allowance together with keyLimits: the stricter one refuses', () => {
    const { pacer } = setup('2026-12-05T12:00:00Z');
    const g = group({ keyLimits: limits({ default: { rpm: 100 } }) });
    pacer.observe(g, 1, 'gpt-4o', {
      'x-ratelimit-remaining-requests': '1',
      'x-ratelimit-reset-requests': '20s',
    });
    expect(sync(pacer.admit(g, 1, 'gpt-4o')).ok).toBe(true);
    expect(sync(pacer.admit(g, 1, 'gpt-4o'))).toEqual({ ok: false, retryAfterMs: 20_000 });
  });
});
