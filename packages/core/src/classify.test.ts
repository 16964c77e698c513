import { parseStatusCodeSpec, statusMatcher } from '@keyway/contracts';
import { describe, expect, it, vi } from 'vitest';
import { classifyOutcome, genericRules, namedModelScope, parseRetryAfter } from './classify';
import type { Classification, ClassifierRules, Outcome } from './classify';

type Expected = Pick<Classification, 'class' | 'retryable'> & Partial<Classification>;

const json = (message: string) => JSON.stringify({ error: { message } });

describe('classifyOutcome without a forced failover spec', () => {
  const table: Array<[string, Outcome, Expected]> = [
    ['200 → ok', { status: 200 }, { class: 'ok', retryable: false }],
    ['204 → ok', { status: 204 }, { class: 'ok', retryable: false }],
    ['304 → ok', { status: 304 }, { class: 'ok', retryable: false }],
    [
      '401 → auth',
      { status: 401, body: json('Incorrect API key provided') },
      { class: 'auth', retryable: true },
    ],
    ['401 without a body → auth', { status: 401 }, { class: 'auth', retryable: true }],
    [
      '403 suspended → auth',
      { status: 403, body: json('Your organization has been suspended') },
      { class: 'auth', retryable: true },
    ],
    ['403 plain → auth', { status: 403 }, { class: 'auth', retryable: true, reason: '403 forbidden' }],
    [
      '403 with a quota body → quota',
      { status: 403, body: json('Billing hard limit reached') },
      { class: 'quota', retryable: true },
    ],
    [
      '429 plain → rate, Retry-After seconds honoured',
      { status: 429, headers: { 'retry-after': '7' }, body: json('Rate limit reached for requests') },
      { class: 'rate', retryable: true, retryAfterMs: 7000, reason: '429 rate limited' },
    ],
    [
      '429 "quota exceeded" → quota',
      { status: 429, body: json('Quota exceeded for quota metric') },
      { class: 'quota', retryable: true, reason: '429 quota exhausted' },
    ],
    [
      '429 "exceeded your current quota" (OpenAI) → quota, Retry-After kept',
      {
        status: 429,
        headers: { 'retry-after': '60' },
        body: json('You exceeded your current quota, please check'),
      },
      { class: 'quota', retryable: true, retryAfterMs: 60_000 },
    ],
    [
      '429 insufficient balance → quota',
      { status: 429, body: json('insufficient_balance') },
      { class: 'quota', retryable: true },
    ],
    ['402 → quota', { status: 402 }, { class: 'quota', retryable: true, reason: '402 payment required' }],
    ['408 → upstream', { status: 408 }, { class: 'upstream', retryable: true }],
    ['500 → upstream', { status: 500 }, { class: 'upstream', retryable: true, reason: '500 upstream error' }],
    ['502 → upstream', { status: 502 }, { class: 'upstream', retryable: true }],
    [
      '503 → upstream, Retry-After kept',
      { status: 503, headers: { 'retry-after': '2' } },
      { class: 'upstream', retryable: true, retryAfterMs: 2000 },
    ],
    ['529 without a body → upstream', { status: 529 }, { class: 'upstream', retryable: true }],
    [
      '529 overloaded_error → overloaded, the key untouched',
      { status: 529, body: '{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}' },
      { class: 'overloaded', retryable: true, reason: '529 upstream overloaded' },
    ],
    [
      '503 "The model is overloaded" → overloaded, Retry-After kept',
      {
        status: 503,
        headers: { 'retry-after': '4' },
        body: json('The model is overloaded. Please try again later.'),
      },
      { class: 'overloaded', retryable: true, retryAfterMs: 4000 },
    ],
    [
      '503 "currently unavailable" → upstream',
      { status: 503, body: json('The service is currently unavailable.') },
      { class: 'upstream', retryable: true },
    ],
    [
      '500 that says overloaded → still upstream (only 503 and 529 mean busy)',
      { status: 500, body: json('overloaded') },
      { class: 'upstream', retryable: true },
    ],
    [
      // https://github.com/GoogleCloudPlatform/java-docs-samples/issues/276
      '403 "has billing disabled" → auth, though "billing" reads like a quota',
      {
        status: 403,
        body: json('Project charming-module-137923 (#808448574146) has billing disabled. Please enable it.'),
      },
      { class: 'auth', retryable: true, reason: '403 account suspended' },
    ],
    [
      '403 "requires billing to be enabled" → auth',
      {
        status: 403,
        body: json('This API method requires billing to be enabled. Please enable billing on project #1.'),
      },
      { class: 'auth', retryable: true },
    ],
    [
      '429 saying the account is deactivated → auth, not a cooling',
      { status: 429, body: json('Your account has been deactivated. Check your billing details.') },
      { class: 'auth', retryable: true, reason: '429 account suspended' },
    ],
    [
      'connect error → upstream',
      { status: 0, transport: 'connect' },
      { class: 'upstream', retryable: true, reason: 'connect failed' },
    ],
    [
      'connect timeout → upstream',
      { status: 0, transport: 'timeout-connect' },
      { class: 'upstream', retryable: true, reason: 'connect timeout' },
    ],
    [
      'header timeout → upstream',
      { status: 0, transport: 'timeout-headers' },
      { class: 'upstream', retryable: true, reason: 'response header timeout' },
    ],
    [
      'body timeout → upstream',
      { status: 0, transport: 'timeout-body' },
      { class: 'upstream', retryable: true, reason: 'body timeout' },
    ],
    [
      'connection reset → upstream',
      { status: 0, transport: 'reset' },
      { class: 'upstream', retryable: true, reason: 'connection reset' },
    ],
    [
      'other transport error → upstream',
      { status: 0, transport: 'other' },
      { class: 'upstream', retryable: true, reason: 'transport error' },
    ],
    ['no response, no detail → upstream', { status: 0 }, { class: 'upstream', retryable: true }],
    ['client abort → aborted', { status: 0, transport: 'aborted' }, { class: 'aborted', retryable: false }],
    [
      '400 → client',
      { status: 400, body: json('messages: field required') },
      { class: 'client', retryable: false },
    ],
    ['404 → client', { status: 404 }, { class: 'client', retryable: false, reason: '404 client error' }],
    ['413 → client', { status: 413 }, { class: 'client', retryable: false }],
    ['422 → client', { status: 422 }, { class: 'client', retryable: false }],
    [
      '400 "invalid api key" → auth',
      { status: 400, body: json('Invalid API key: check your key') },
      { class: 'auth', retryable: true, reason: '400 invalid key' },
    ],
    [
      '404 "invalid api key" → still client (auth patterns apply to 400 only)',
      { status: 404, body: json('invalid api key') },
      { class: 'client', retryable: false },
    ],
  ];

  it.each(table)('%s', (_name, outcome, expected) => {
    const got = classifyOutcome(outcome);
    expect(got).toMatchObject(expected);
    expect(got.reason).toBeTypeOf('string');
  });

  it('gives a 429 without Retry-After no delay, leaving the backoff to the health policy', () => {
    const got = classifyOutcome({ status: 429 });
    expect(got).toMatchObject({ class: 'rate', retryable: true });
    expect(got).not.toHaveProperty('retryAfterMs');
  });

  it('matches body patterns case-insensitively', () => {
    expect(classifyOutcome({ status: 429, body: 'QUOTA EXCEEDED' }).class).toBe('quota');
  });

  it("prefers a provider rule's reset delay over Retry-After", () => {
    const rules: ClassifierRules = { ...genericRules, resetDelayMs: () => 42_000 };
    expect(classifyOutcome({ status: 429, headers: { 'retry-after': '1' } }, rules)).toMatchObject({
      class: 'rate',
      retryAfterMs: 42_000,
    });
  });

  it('uses the patterns of the rules it is given', () => {
    const rules: ClassifierRules = {
      authPatterns: [/api key not valid/],
      quotaPatterns: [/resource_exhausted/],
    };
    expect(
      classifyOutcome({ status: 400, body: 'API key not valid. Please pass a valid API key.' }, rules).class,
    ).toBe('auth');
    expect(classifyOutcome({ status: 429, body: 'RESOURCE_EXHAUSTED' }, rules).class).toBe('quota');
    expect(classifyOutcome({ status: 429, body: 'quota' }, rules).class).toBe('rate');
  });
});

describe('classifyOutcome with provider hooks', () => {
  const scoped: ClassifierRules = {
    ...genericRules,
    modelScope: (outcome, body) =>
      body.includes('per model') ? (outcome.model ?? 'named-model') : undefined,
  };

  it.each([
    ['a 429 rate limit', 429, 'rate limit per model', 'rate'],
    ['a 429 quota', 429, 'quota exceeded per model', 'quota'],
    ['a 403 quota', 403, 'quota exceeded per model', 'quota'],
  ] as const)('scopes %s to the model the hook names', (_name, status, body, cls) => {
    expect(classifyOutcome({ status, body, model: 'gpt-4o' }, scoped)).toMatchObject({
      class: cls,
      model: 'gpt-4o',
    });
  });

  it('leaves a limit the hook does not scope to the whole key', () => {
    expect(classifyOutcome({ status: 429, body: 'rate limit', model: 'gpt-4o' }, scoped)).not.toHaveProperty(
      'model',
    );
  });

  it.each([
    ['401', 401],
    ['403 forbidden', 403],
    ['500', 500],
    ['400', 400],
  ] as const)('never scopes a %s, whatever the body says', (_name, status) => {
    expect(
      classifyOutcome({ status, body: 'forbidden per model', model: 'gpt-4o' }, scoped),
    ).not.toHaveProperty('model');
  });

  it('drops a Retry-After the provider says does not apply (null), leaving the long cooldown to the policy', () => {
    const rules: ClassifierRules = { ...genericRules, resetDelayMs: () => null };
    const got = classifyOutcome({ status: 429, headers: { 'retry-after': '20' }, body: 'quota' }, rules);
    expect(got).toMatchObject({ class: 'quota' });
    expect(got).not.toHaveProperty('retryAfterMs');
  });

  it('hands the hooks the lower-cased body', () => {
    const seen: string[] = [];
    const rules: ClassifierRules = {
      ...genericRules,
      resetDelayMs: (_o, body) => void seen.push(body),
      modelScope: (_o, body) => void seen.push(body),
    };
    classifyOutcome({ status: 429, body: 'Rate Limit For GPT-4o' }, rules);
    expect(seen).toEqual(['rate limit for gpt-4o', 'rate limit for gpt-4o']);
  });

  it('does no body work for a success: no hook runs', () => {
    const resetDelayMs = vi.fn();
    const modelScope = vi.fn();
    const rules: ClassifierRules = { ...genericRules, resetDelayMs, modelScope };
    expect(classifyOutcome({ status: 200, body: 'quota per model', model: 'm' }, rules).class).toBe('ok');
    expect(resetDelayMs).not.toHaveBeenCalled();
    expect(modelScope).not.toHaveBeenCalled();
  });

  it('keeps the model of a scoped limit under a forced failover spec, and an overload stays an overload', () => {
    const all = () => true;
    expect(classifyOutcome({ status: 429, body: 'per model', model: 'gpt-4o' }, scoped, all)).toMatchObject({
      class: 'rate',
      retryable: true,
      model: 'gpt-4o',
    });
    expect(classifyOutcome({ status: 503, body: 'overloaded' }, genericRules, all)).toMatchObject({
      class: 'overloaded',
      retryable: true,
    });
  });
});

describe('classifyOutcome with a forced failover spec (GPT-Load failoverStatusCodes)', () => {
  const spec = parseStatusCodeSpec('400-403,405-999');
  if (!spec.ok) throw new Error(spec.error);
  const failover = statusMatcher(spec.ranges);

  const table: Array<[string, Outcome, Expected]> = [
    ['400 (in the spec) now retries, as upstream', { status: 400 }, { class: 'upstream', retryable: true }],
    ['404 (not in the spec) does not retry', { status: 404 }, { class: 'client', retryable: false }],
    ['401 keeps its auth class', { status: 401 }, { class: 'auth', retryable: true }],
    [
      '429 keeps its rate class and delay',
      { status: 429, headers: { 'retry-after': '3' } },
      { class: 'rate', retryable: true, retryAfterMs: 3000 },
    ],
    ['500 keeps its upstream class', { status: 500 }, { class: 'upstream', retryable: true }],
    ['200 stays ok', { status: 200 }, { class: 'ok', retryable: false }],
    [
      'a transport error is unaffected',
      { status: 0, transport: 'connect' },
      { class: 'upstream', retryable: true },
    ],
    [
      'a client abort is unaffected',
      { status: 0, transport: 'aborted' },
      { class: 'aborted', retryable: false },
    ],
  ];

  it.each(table)('%s', (_name, outcome, expected) => {
    expect(classifyOutcome(outcome, genericRules, failover)).toMatchObject(expected);
  });

  it('turns a status left out of the spec into a non-retryable client error, whatever its class', () => {
    const only5xx = statusMatcher([[500, 599]]);
    expect(classifyOutcome({ status: 401 }, genericRules, only5xx)).toMatchObject({
      class: 'client',
      retryable: false,
    });
    expect(classifyOutcome({ status: 429 }, genericRules, only5xx)).toMatchObject({
      class: 'client',
      retryable: false,
    });
    expect(classifyOutcome({ status: 503 }, genericRules, only5xx)).toMatchObject({
      class: 'upstream',
      retryable: true,
    });
  });
});

describe('parseRetryAfter', () => {
  const now = Date.parse('2025-01-01T00:00:00Z');

  it.each([
    ['0', 0],
    ['7', 7000],
    ['1.5', 1500],
    ['Wed, 01 Jan 2025 00:00:30 GMT', 30_000],
    ['Tue, 31 Dec 2024 23:59:00 GMT', 0],
  ])('reads %j as %i ms', (value, ms) => {
    expect(parseRetryAfter(value, now)).toBe(ms);
  });

  it('takes the first of repeated headers', () => {
    expect(parseRetryAfter(['5', '9'], now)).toBe(5000);
  });

  it.each([undefined, '', 'soon', 'Infinity', '-5', '  '])('ignores %j', (value) => {
    expect(parseRetryAfter(value, now)).toBeUndefined();
  });
});

describe('namedModelScope', () => {
  const scope = namedModelScope(/limit for (\S+) reached/);

  it("scopes to the request's model when the body names one (the pool knows keys by the request's name)", () => {
    expect(
      scope({ status: 429, model: 'claude-haiku-4-5' }, 'limit for claude-haiku-4-5-20251001 reached'),
    ).toBe('claude-haiku-4-5');
  });

  it('falls back to the named model when the request model is unknown', () => {
    expect(scope({ status: 429, model: null }, 'limit for gpt-4o reached')).toBe('gpt-4o');
    expect(scope({ status: 429 }, 'limit for gpt-4o reached')).toBe('gpt-4o');
  });

  it('leaves a body that names no model to the whole key', () => {
    expect(scope({ status: 429, model: 'gpt-4o' }, 'too many requests')).toBeUndefined();
  });
});
