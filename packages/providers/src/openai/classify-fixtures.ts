import { openAiError } from '../classify-fixtures';
import type { ErrorFixture } from '../classify-fixtures';

const ERROR_CODES = 'https://developers.openai.com/docs/guides/error-codes';
const RATE_LIMITS = 'https://platform.openai.com/account/rate-limits';
const BILLING = 'https://platform.openai.com/account/billing';

/**
 * OpenAI API error bodies. The error codes guide lists "429 - Rate limit reached for requests", "429 - You
 * exceeded your current quota, please check your plan and billing details" and "503 - The engine is currently
 * overloaded, please try again later" (https://developers.openai.com/docs/guides/error-codes); the full bodies
 * are OpenAI's answers as quoted in the reports named beside each.
 */
export const openAiErrorFixtures: ErrorFixture[] = [
  {
    name: '429 TPM limit of gpt-4o, "try again in 18.642s" → rate for gpt-4o only, 18.642 s',
    source: 'https://github.com/semanser/codel/issues/72',
    outcome: {
      status: 429,
      model: 'gpt-4o',
      body: openAiError(
        'Rate limit reached for gpt-4o in organization org-testfixture on tokens per min (TPM): Limit 30000, Used ' +
          `14567, Requested 24754. Please try again in 18.642s. Visit ${RATE_LIMITS} to learn more.`,
        'tokens',
        'rate_limit_exceeded',
      ),
    },
    expected: { class: 'rate', retryable: true, retryAfterMs: 18_642, model: 'gpt-4o' },
  },
  {
    name: '429 TPM limit, "try again in 644ms" → rate for the model, 644 ms',
    source: 'https://github.com/BuilderIO/micro-agent/issues/86',
    outcome: {
      status: 429,
      model: 'gpt-4o',
      headers: { 'retry-after': '1' },
      body: openAiError(
        'Rate limit reached for gpt-4o in organization org-testfixture on tokens per min (TPM): Limit 30000, Used ' +
          '29937, Requested 385. Please try again in 644ms.',
        'tokens',
        'rate_limit_exceeded',
      ),
    },
    expected: { class: 'rate', retryable: true, retryAfterMs: 644, model: 'gpt-4o' },
  },
  {
    name: '429 naming the model, request model unknown → the named model, 9.816 s',
    source: 'https://github.com/FoundationAgents/MetaGPT/issues/523',
    outcome: {
      status: 429,
      body: openAiError(
        'Rate limit reached for gpt-4 in organization org-testfixture on tokens per min (TPM): Limit 10000, Used ' +
          `8554, Requested 3082. Please try again in 9.816s. Visit ${RATE_LIMITS} to learn more.`,
        'tokens',
        'rate_limit_exceeded',
      ),
    },
    expected: { class: 'rate', retryable: true, retryAfterMs: 9816, model: 'gpt-4' },
  },
  {
    name: '429 per-day (RPD) limit, "try again in 7m12s" with a billing link → quota for that model, 7 min 12 s',
    source: 'https://github.com/openai/codex/issues/797',
    outcome: {
      status: 429,
      model: 'o4-mini',
      body: openAiError(
        'Rate limit reached for o4-mini in organization org-testfixture on requests per day (RPD): Limit 200, Used ' +
          `200, Requested 1. Please try again in 7m12s. Visit ${RATE_LIMITS} to learn more. You can increase your ` +
          `rate limit by adding a payment method to your account at ${BILLING}.`,
        'requests',
        'rate_limit_exceeded',
      ),
    },
    expected: { class: 'quota', retryable: true, retryAfterMs: 432_000, model: 'o4-mini' },
  },
  {
    name: '429 per-day (RPD) limit, "try again in 8.64s" → quota for that model, 8.64 s',
    source: 'https://github.com/MSU-AI-Agents/fall-2025-course/issues/76',
    outcome: {
      status: 429,
      model: 'gpt-3.5-turbo',
      body: openAiError(
        'Rate limit reached for gpt-3.5-turbo in organization org-testfixture on requests per day (RPD): Limit ' +
          `10000, Used 10000, Requested 1. Please try again in 8.64s. Visit ${RATE_LIMITS} to learn more.`,
        'requests',
        'rate_limit_exceeded',
      ),
    },
    expected: { class: 'quota', retryable: true, retryAfterMs: 8640, model: 'gpt-3.5-turbo' },
  },
  {
    name: '429 request too large for the TPM limit → rate for that model (another key may have a higher tier)',
    source: 'https://github.com/DrShushen/climb/issues/13',
    outcome: {
      status: 429,
      model: 'gpt-4o',
      body: openAiError(
        'Request too large for gpt-4o in organization org-testfixture on tokens per min (TPM): Limit 30000, ' +
          'Requested 30601. The input or output tokens must be reduced in order to run successfully.',
        'tokens',
        'rate_limit_exceeded',
      ),
    },
    expected: { class: 'rate', retryable: true, model: 'gpt-4o' },
  },
  {
    name: '429 insufficient_quota with Retry-After → quota for the whole key, the policy’s long cooldown',
    source: ERROR_CODES,
    outcome: {
      status: 429,
      model: 'gpt-4o',
      headers: { 'retry-after': '20' },
      body: openAiError(
        'You exceeded your current quota, please check your plan and billing details. For more information on ' +
          'this error, read the docs: https://platform.openai.com/docs/guides/error-codes/api-errors.',
        'insufficient_quota',
        'insufficient_quota',
      ),
    },
    expected: { class: 'quota', retryable: true },
  },
  {
    name: '429 billing_not_active → auth (the account cannot spend until someone acts)',
    source: 'https://github.com/lifan0127/ai-research-assistant/issues/174',
    outcome: {
      status: 429,
      body: openAiError(
        'Your account is not active, please check your billing details on our website.',
        'billing_not_active',
        'billing_not_active',
      ),
    },
    expected: { class: 'auth', retryable: true },
  },
  {
    name: '401 account_deactivated → auth',
    source: 'https://github.com/ChatGPTNextWeb/NextChat/issues/4175',
    outcome: {
      status: 401,
      body: openAiError(
        'The OpenAI account associated with this API key has been deactivated. If you are the developer for this ' +
          'OpenAI app, please check your email for more information.',
        'invalid_request_error',
        'account_deactivated',
      ),
    },
    expected: { class: 'auth', retryable: true },
  },
  {
    name: '401 invalid_api_key → auth',
    source: ERROR_CODES,
    outcome: {
      status: 401,
      body: openAiError(
        'Incorrect API key provided: sk-test-****. You can find your API key at https://platform.openai.com/account/api-keys.',
        'invalid_request_error',
        'invalid_api_key',
      ),
    },
    expected: { class: 'auth', retryable: true },
  },
  {
    name: '503 "The engine is currently overloaded" → overloaded',
    source: ERROR_CODES,
    outcome: {
      status: 503,
      body: openAiError('The engine is currently overloaded, please try again later', 'server_error', null),
    },
    expected: { class: 'overloaded', retryable: true },
  },
  {
    name: '503 server_is_overloaded with Retry-After → overloaded, Retry-After kept',
    source:
      'https://learn.microsoft.com/en-us/microsoft-cloud/dev/dev-proxy/concepts/openai-rate-limit-reached',
    outcome: {
      status: 503,
      headers: { 'retry-after': '5' },
      body: openAiError(
        'The server is overloaded, please try again later.',
        'service_unavailable_error',
        'server_is_overloaded',
      ),
    },
    expected: { class: 'overloaded', retryable: true, retryAfterMs: 5000 },
  },
  {
    name: '500 server error → upstream',
    source: ERROR_CODES,
    outcome: {
      status: 500,
      body: openAiError(
        'The server had an error while processing your request. Sorry about that!',
        'server_error',
        null,
      ),
    },
    expected: { class: 'upstream', retryable: true },
  },
];
