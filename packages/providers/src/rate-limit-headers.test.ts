import { describe, expect, it } from 'vitest';
import { parseDurationMs, readRateLimitHeaders } from './rate-limit-headers';

const now = Date.parse('2026-12-05T12:00:00Z');

describe('readRateLimitHeaders', () => {
  // Headers as OpenAI's "Rate limits" guide shows them (durations relative to the response).
  it('reads OpenAI remaining requests and tokens with their duration resets', () => {
    const state = readRateLimitHeaders(
      'openai',
      {
        'x-ratelimit-limit-requests': '5000',
        'x-ratelimit-remaining-requests': '4999',
        'x-ratelimit-reset-requests': '12ms',
        'x-ratelimit-limit-tokens': '160000',
        'x-ratelimit-remaining-tokens': '0',
        'x-ratelimit-reset-tokens': '6m0s',
      },
      now,
    );
    expect(state).toEqual({
      requests: { remaining: 4999, resetAt: now + 12 },
      tokens: { remaining: 0, resetAt: now + 360_000 },
    });
    expect(
      readRateLimitHeaders(
        'openai-response',
        { 'x-ratelimit-remaining-requests': '3', 'x-ratelimit-reset-requests': '1s' },
        now,
      ),
    ).toEqual({
      requests: { remaining: 3, resetAt: now + 1000 },
      tokens: null,
    });
  });

  // Headers as Anthropic's "Rate limits" page shows them (RFC 3339 resets).
  it('reads Anthropic allowances; an exhausted token kind binds over one with tokens left', () => {
    const state = readRateLimitHeaders(
      'anthropic',
      {
        'anthropic-ratelimit-requests-limit': '1000',
        'anthropic-ratelimit-requests-remaining': '999',
        'anthropic-ratelimit-requests-reset': '2026-12-05T12:00:01Z',
        'anthropic-ratelimit-tokens-remaining': '96000',
        'anthropic-ratelimit-tokens-reset': '2026-12-05T12:00:02Z',
        'anthropic-ratelimit-input-tokens-remaining': '80000',
        'anthropic-ratelimit-input-tokens-reset': '2026-12-05T12:00:01Z',
        'anthropic-ratelimit-output-tokens-remaining': '0',
        'anthropic-ratelimit-output-tokens-reset': '2026-12-05T12:00:09Z',
      },
      now,
    );
    expect(state).toEqual({
      requests: { remaining: 999, resetAt: now + 1000 },
      tokens: { remaining: 0, resetAt: now + 9000 },
    });
  });

  it('reads each answer its own reset time, a valid one right after an invalid one and back', () => {
    const answer = (reset: string) =>
      readRateLimitHeaders(
        'anthropic',
        {
          'anthropic-ratelimit-requests-remaining': '5',
          'anthropic-ratelimit-requests-reset': reset,
        },
        now,
      )?.requests?.resetAt ?? null;
    expect(answer('2026-12-05T12:00:03Z')).toBe(now + 3000);
    expect(answer('2026-12-05T12:00:03Z')).toBe(now + 3000);
    expect(answer('2026-12-05T12:00:04Z')).toBe(now + 4000);
    expect(answer('12:00:05')).toBeNull();
    expect(answer('2026-12-05T12:00:04Z')).toBe(now + 4000);
  });

  it('states nothing without headers, for Gemini, or with figures it cannot trust', () => {
    expect(readRateLimitHeaders('openai', { 'content-type': 'application/json' }, now)).toBeNull();
    expect(
      readRateLimitHeaders(
        'gemini',
        { 'x-ratelimit-remaining-requests': '0', 'x-ratelimit-reset-requests': '1s' },
        now,
      ),
    ).toBeNull();
    // Some OpenAI-compatible hosts send -1; a remaining figure without a reset says nothing about when.
    expect(
      readRateLimitHeaders(
        'openai',
        { 'x-ratelimit-remaining-tokens': '-1', 'x-ratelimit-reset-tokens': '0' },
        now,
      ),
    ).toBeNull();
    expect(readRateLimitHeaders('openai', { 'x-ratelimit-remaining-requests': '0' }, now)).toBeNull();
    expect(
      readRateLimitHeaders(
        'anthropic',
        { 'anthropic-ratelimit-requests-remaining': '0', 'anthropic-ratelimit-requests-reset': 'soon' },
        now,
      ),
    ).toBeNull();
  });
});

describe('parseDurationMs', () => {
  it.each([
    ['1s', 1000],
    ['6m0s', 360_000],
    ['20ms', 20],
    ['1h2m3.5s', 3_723_500],
    ['2', 2000],
    ['1.5s', 1500],
  ])('reads %s as %d ms', (text, ms) => expect(parseDurationMs(text)).toBe(ms));

  it.each(['', 's', '1x', '-1s', '1s junk', '1.', '.5s', '1m30', '1sms', '1.s', '٣s', '1 s', '1S'])(
    'refuses %j',
    (text) => expect(parseDurationMs(text)).toBeNull(),
  );

  // The grammar as regular expressions (what the hand-written reader replaced), as the oracle.
  const WHOLE = /^(?:\d+(?:\.\d+)?(?:h|ms|m|s|us|µs|ns))+$/;
  const PART = /(\d+(?:\.\d+)?)(h|ms|m|s|us|µs|ns)/g;
  const UNIT_MS: Record<string, number> = {
    h: 3_600_000,
    m: 60_000,
    s: 1000,
    ms: 1,
    us: 0.001,
    µs: 0.001,
    ns: 1e-6,
  };
  const oracle = (value: string): number | null => {
    if (/^\d+(?:\.\d+)?$/.test(value)) return Number(value) * 1000;
    if (!WHOLE.test(value)) return null;
    let ms = 0;
    for (const [, amount, unit] of value.matchAll(PART)) ms += Number(amount) * (UNIT_MS[unit ?? ''] ?? 0);
    return ms;
  };

  it('agrees with the grammar on 20,000 strings built from its own pieces and stray characters', () => {
    // A seeded generator: the same strings on every run, so a disagreement can be replayed.
    let seed = 42;
    const next = (n: number): number => {
      seed = (Math.imul(seed, 1_103_515_245) + 12_345) >>> 0;
      return seed % n;
    };
    const pieces = [
      '0',
      '1',
      '7',
      '42',
      '.',
      '5',
      'h',
      'm',
      's',
      'ms',
      'us',
      'µs',
      'ns',
      'μs',
      'x',
      ' ',
      '-',
      'S',
    ];
    let accepted = 0;
    for (let i = 0; i < 20_000; i++) {
      let text = '';
      for (let j = next(7); j >= 0; j--) text += pieces[next(pieces.length)];
      const want = oracle(text);
      expect(parseDurationMs(text), JSON.stringify(text)).toBe(want);
      if (want !== null) accepted++;
    }
    // Both sides of the grammar are exercised.
    expect(accepted).toBeGreaterThan(1000);
  });
});
