import { FIXTURE_NOW, anthropicError } from '../classify-fixtures';
import type { ErrorFixture } from '../classify-fixtures';

const ERRORS = 'https://docs.claude.com/en/api/errors';
const RATE_LIMITS = 'https://docs.claude.com/en/api/rate-limits';
const LIMIT_ADVICE =
  `For details, refer to: ${RATE_LIMITS}. You can see the response headers for current usage. Please reduce the ` +
  'prompt length or the maximum tokens requested, or try again later. You may also contact sales at ' +
  'https://www.anthropic.com/contact-sales to discuss your options for a rate limit increase.';

/** `anthropic-ratelimit-{family}-remaining` and `-reset` (RFC 3339), `secondsLeft` after {@link FIXTURE_NOW}. */
const limitHeaders = (family: string, remaining: number, secondsLeft: number) => ({
  [`anthropic-ratelimit-${family}-limit`]: '50000',
  [`anthropic-ratelimit-${family}-remaining`]: String(remaining),
  [`anthropic-ratelimit-${family}-reset`]: new Date(FIXTURE_NOW + secondsLeft * 1000).toISOString(),
});

/**
 * Anthropic API error bodies. The errors page lists the types (429 `rate_limit_error`, 529 `overloaded_error`, …)
 * and says a 429 carries `retry-after` (https://docs.claude.com/en/api/errors); the rate limits page describes
 * the `anthropic-ratelimit-*` headers, RFC 3339 resets, and limits per model class
 * (https://docs.claude.com/en/api/rate-limits). The message wordings are Anthropic's answers as quoted in the
 * reports named beside each.
 */
export const anthropicErrorFixtures: ErrorFixture[] = [
  {
    name: '429 naming the model, retry-after 12 → rate for the request’s model (an alias of the named one), 12 s',
    source: 'https://github.com/continuedev/continue/issues/10425',
    outcome: {
      status: 429,
      model: 'claude-haiku-4-5',
      headers: { 'retry-after': '12', ...limitHeaders('input-tokens', 0, 40) },
      body: anthropicError(
        'rate_limit_error',
        "This request would exceed your organization's rate limit of 50,000 input tokens per minute (org: " +
          `00000000-0000-4000-8000-000000000000, model: claude-haiku-4-5-20251001). ${LIMIT_ADVICE}`,
      ),
    },
    expected: { class: 'rate', retryable: true, retryAfterMs: 12_000, model: 'claude-haiku-4-5' },
  },
  {
    name: '429 naming the model, request model unknown → the named model',
    source: 'https://github.com/continuedev/continue/issues/11664',
    outcome: {
      status: 429,
      headers: { 'retry-after': '30' },
      body: anthropicError(
        'rate_limit_error',
        "This request would exceed your organization's rate limit of 30,000 input tokens per minute (org: " +
          `00000000-0000-4000-8000-000000000000, model: claude-sonnet-4-20250514). ${LIMIT_ADVICE}`,
      ),
    },
    expected: { class: 'rate', retryable: true, retryAfterMs: 30_000, model: 'claude-sonnet-4-20250514' },
  },
  {
    name: '429 without a model, no retry-after → rate for the whole key until the named limit’s reset header',
    source: 'https://github.com/continuedev/continue/issues/9879',
    outcome: {
      status: 429,
      model: 'claude-haiku-4-5',
      headers: { ...limitHeaders('requests', 40, 5), ...limitHeaders('input-tokens', 1200, 35) },
      body: anthropicError(
        'rate_limit_error',
        'This request would exceed the rate limit for your organization (00000000-0000-4000-8000-000000000000) of ' +
          `50,000 input tokens per minute. ${LIMIT_ADVICE}`,
      ),
    },
    expected: { class: 'rate', retryable: true, retryAfterMs: 35_000 },
  },
  {
    name: '429 with no requests left, no retry-after → rate until the requests limit resets',
    source: RATE_LIMITS,
    outcome: {
      status: 429,
      headers: { ...limitHeaders('requests', 0, 8), ...limitHeaders('tokens', 9000, 50) },
      body: anthropicError('rate_limit_error', 'Number of requests has exceeded your per-minute rate limit'),
    },
    expected: { class: 'rate', retryable: true, retryAfterMs: 8000 },
  },
  {
    name: '529 overloaded_error → overloaded (the key is fine)',
    source: ERRORS,
    outcome: { status: 529, body: anthropicError('overloaded_error', 'Overloaded') },
    expected: { class: 'overloaded', retryable: true },
  },
  {
    name: '500 api_error → upstream',
    source: ERRORS,
    outcome: { status: 500, body: anthropicError('api_error', 'Internal server error') },
    expected: { class: 'upstream', retryable: true },
  },
  {
    name: '400 workspace spend limit → quota until the date it states',
    source: 'https://github.com/anthropics/claude-code/issues/38035',
    outcome: {
      status: 400,
      body: anthropicError(
        'invalid_request_error',
        'You have reached your specified API usage limits. You will regain access on 2026-04-01 at 00:00 UTC.',
      ),
    },
    expected: {
      class: 'quota',
      retryable: true,
      retryAfterMs: Date.parse('2026-04-01T00:00:00Z') - FIXTURE_NOW,
    },
  },
  {
    name: '429 monthly spend cap (enforced_spend_limit_reached) → quota for the whole key',
    // The page documents `error.details.error_code`; the message wording here is a placeholder.
    source:
      'https://learn.microsoft.com/en-us/microsoft-cloud/dev/dev-proxy/concepts/anthropic-529-overloaded-error',
    outcome: {
      status: 429,
      model: 'claude-sonnet-4-5',
      body: anthropicError('rate_limit_error', 'Your organization has reached its monthly usage cap.', {
        details: { error_code: 'enforced_spend_limit_reached' },
      }),
    },
    expected: { class: 'quota', retryable: true },
  },
  {
    name: '400 credit balance too low → quota',
    source: ERRORS,
    outcome: {
      status: 400,
      body: anthropicError(
        'invalid_request_error',
        'Your credit balance is too low to access the Anthropic API. Please go to Plans & Billing to upgrade or ' +
          'purchase credits.',
      ),
    },
    expected: { class: 'quota', retryable: true },
  },
  {
    name: '401 authentication_error → auth',
    source: ERRORS,
    outcome: { status: 401, body: anthropicError('authentication_error', 'invalid x-api-key') },
    expected: { class: 'auth', retryable: true },
  },
  {
    name: '403 permission_error → auth',
    source: ERRORS,
    outcome: {
      status: 403,
      body: anthropicError(
        'permission_error',
        'Your API key does not have permission to use the specified resource.',
      ),
    },
    expected: { class: 'auth', retryable: true },
  },
  {
    name: '400 organization disabled → auth',
    source: 'https://github.com/anthropics/claude-code/issues/19028',
    outcome: {
      status: 400,
      body: anthropicError('invalid_request_error', 'This organization has been disabled.'),
    },
    expected: { class: 'auth', retryable: true },
  },
  {
    name: '400 invalid request → client',
    source: ERRORS,
    outcome: { status: 400, body: anthropicError('invalid_request_error', 'messages: field required') },
    expected: { class: 'client', retryable: false },
  },
];
