import type { Channel } from '@keyway/contracts';

/**
 * What the providers' rate-limit response headers say about the key that sent a request, for the model it named
 * (issue 14: a key's allowance is lowered until the stated reset, even without configured `keyLimits`).
 * Sources: OpenAI's "Rate limits" guide (`x-ratelimit-remaining-requests` / `-tokens`, `x-ratelimit-reset-*` as
 * durations such as `1s`, `6m0s`, `20ms`) and Anthropic's "Rate limits" page (`anthropic-ratelimit-requests-*`,
 * `-tokens-*`, `-input-tokens-*`, `-output-tokens-*`, `-remaining` and `-reset` as RFC 3339 times). Gemini sends
 * none (a 429's body carries its retry delay, which the classifier reads).
 */

/** One allowance a response states: what is left, and when it is whole again (epoch ms). */
export interface StatedAllowance {
  remaining: number;
  resetAt: number;
}

/** A response's rate-limit headers, read. */
export interface RateLimitState {
  /** Requests left before the reset (null: not stated). */
  requests: StatedAllowance | null;
  /**
   * The token allowance that binds: one run out (the latest reset among those at 0), else the one with the
   * fewest tokens left. Anthropic states input and output tokens apart as well; any of them at 0 stops the key.
   */
  tokens: StatedAllowance | null;
}

type Headers = Readonly<Record<string, string | string[] | undefined>>;
type Dialect = (headers: Headers, now: number) => RateLimitState | null;

const openaiDialect: Dialect = (headers, now) => {
  const requests = allowance(headers, 'x-ratelimit-remaining-requests', 'x-ratelimit-reset-requests', (v) =>
    durationReset(v, now),
  );
  const tokens = allowance(headers, 'x-ratelimit-remaining-tokens', 'x-ratelimit-reset-tokens', (v) =>
    durationReset(v, now),
  );
  return stated(requests, tokens ? [tokens] : []);
};

/** Anthropic's token allowances, as [remaining, reset] header names (spelled out: no names built per answer). */
const ANTHROPIC_TOKEN_HEADERS = [
  ['anthropic-ratelimit-tokens-remaining', 'anthropic-ratelimit-tokens-reset'],
  ['anthropic-ratelimit-input-tokens-remaining', 'anthropic-ratelimit-input-tokens-reset'],
  ['anthropic-ratelimit-output-tokens-remaining', 'anthropic-ratelimit-output-tokens-reset'],
] as const;

const anthropicDialect: Dialect = (headers) => {
  const requests = allowance(
    headers,
    'anthropic-ratelimit-requests-remaining',
    'anthropic-ratelimit-requests-reset',
    timeReset,
  );
  const tokens: StatedAllowance[] = [];
  for (const [remaining, reset] of ANTHROPIC_TOKEN_HEADERS) {
    const a = allowance(headers, remaining, reset, timeReset);
    if (a) tokens.push(a);
  }
  return stated(requests, tokens);
};

/** Each channel's header dialect (null: the channel states no allowance in headers). */
const dialects = {
  openai: openaiDialect,
  'openai-response': openaiDialect,
  anthropic: anthropicDialect,
  gemini: null,
} satisfies Record<Channel, Dialect | null>;

/**
 * Reads the rate-limit headers of a response from a `channel` upstream (lower-case names, as node gives them),
 * or null when it states nothing usable. Unparseable or negative figures (some OpenAI-compatible hosts send -1)
 * are ignored, never guessed at.
 */
export function readRateLimitHeaders(channel: string, headers: Headers, now: number): RateLimitState | null {
  const dialect = (dialects as Record<string, Dialect | null | undefined>)[channel];
  return dialect ? dialect(headers, now) : null;
}

function stated(requests: StatedAllowance | null, tokens: StatedAllowance[]): RateLimitState | null {
  const binding = bindingTokens(tokens);
  return requests || binding ? { requests, tokens: binding } : null;
}

function bindingTokens(list: readonly StatedAllowance[]): StatedAllowance | null {
  let out: StatedAllowance | null = null;
  for (const a of list) {
    if (out === null) out = a;
    else if (a.remaining <= 0 && (out.remaining > 0 || a.resetAt > out.resetAt)) out = a;
    else if (out.remaining > 0 && a.remaining < out.remaining) out = a;
  }
  return out;
}

function allowance(
  headers: Headers,
  remainingName: string,
  resetName: string,
  reset: (value: string) => number | null,
): StatedAllowance | null {
  const raw = first(headers[remainingName]);
  if (raw === undefined) return null;
  const remaining = Number(raw.trim());
  if (raw.trim() === '' || !Number.isFinite(remaining) || remaining < 0) return null;
  const resetRaw = first(headers[resetName]);
  const resetAt = resetRaw === undefined ? null : reset(resetRaw.trim());
  return resetAt === null ? null : { remaining: Math.floor(remaining), resetAt };
}

function first(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

/** The last time `timeReset` read, and what it read: an answer's allowances mostly reset at the same second. */
let lastTimeText = '';
let lastTime: number | null = null;

/** An RFC 3339 time (Anthropic), or null. */
function timeReset(value: string): number | null {
  if (value === lastTimeText) return lastTime;
  const t = /^\d{4}-\d{2}-\d{2}T/.test(value) ? Date.parse(value) : Number.NaN;
  lastTimeText = value;
  lastTime = Number.isFinite(t) ? t : null;
  return lastTime;
}

const HOUR_MS = 3_600_000;
const MINUTE_MS = 60_000;

/** `now` plus a Go-style duration (`1s`, `6m0s`, `20ms`, `1h2m3.5s`; a bare number is seconds), or null. */
function durationReset(value: string, now: number): number | null {
  const ms = parseDurationMs(value);
  return ms === null ? null : now + Math.ceil(ms);
}

/**
 * A Go-style duration in ms (a bare number is seconds), or null when it is not one: one or more parts, each a
 * number (digits, optionally a fraction with at least one digit) and a unit (`h`, `m`, `s`, `ms`, `us`, `µs`,
 * `ns`), nothing else. Read by hand in one pass: every OpenAI answer carries two of these, and the regular
 * expressions it replaces cost ~1 µs per answer.
 */
export function parseDurationMs(value: string): number | null {
  const n = value.length;
  if (n === 0) return null;
  let ms = 0;
  let at = 0;
  while (at < n) {
    const start = at;
    while (at < n && isDigit(value.charCodeAt(at))) at++;
    if (at === start) return null;
    if (value.charCodeAt(at) === 0x2e /* . */) {
      const fraction = ++at;
      while (at < n && isDigit(value.charCodeAt(at))) at++;
      if (at === fraction) return null;
    }
    const amount = Number(value.slice(start, at));
    // A bare number, alone, is seconds.
    if (at === n) return start === 0 ? amount * 1000 : null;
    const unit = value.charCodeAt(at++);
    const next = at < n ? value.charCodeAt(at) : -1;
    if (unit === 0x68 /* h */) ms += amount * HOUR_MS;
    else if (unit === 0x6d /* m */) {
      if (next === 0x73 /* s */) {
        at++;
        ms += amount;
      } else ms += amount * MINUTE_MS;
    } else if (unit === 0x73 /* s */) ms += amount * 1000;
    // us, µs (U+00B5) and ns: a letter then s.
    else if (next === 0x73 && (unit === 0x75 || unit === 0xb5 || unit === 0x6e)) {
      at++;
      ms += amount * (unit === 0x6e ? 0.000_001 : 0.001);
    } else return null;
  }
  return ms;
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}
