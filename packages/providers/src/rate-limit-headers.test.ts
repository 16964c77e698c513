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

  it.each(['', 's', '1x', '-1s', '1s junk'])('refuses %j', (text) =>
    expect(parseDurationMs(text)).toBeNull(),
  );
});
