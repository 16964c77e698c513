import { UNTIL_PACIFIC_MIDNIGHT, googleError } from '../classify-fixtures';
import type { ErrorFixture, ExpectedClassification } from '../classify-fixtures';

const EXCEEDED =
  'You exceeded your current quota, please check your plan and billing details. For more information on this ' +
  'error, head to: https://ai.google.dev/gemini-api/docs/rate-limits.';
const HELP = {
  '@type': 'type.googleapis.com/google.rpc.Help',
  links: [
    {
      description: 'Learn more about Gemini API quotas',
      url: 'https://ai.google.dev/gemini-api/docs/rate-limits',
    },
  ],
};
const retryInfo = (retryDelay: string) => ({
  '@type': 'type.googleapis.com/google.rpc.RetryInfo',
  retryDelay,
});
const FREE_REQUESTS = 'generativelanguage.googleapis.com/generate_content_free_tier_requests';
const violation = (quotaId: string, model?: string, quotaMetric = FREE_REQUESTS) => ({
  quotaMetric,
  quotaId,
  ...(model ? { quotaDimensions: { location: 'global', model } } : {}),
});
const quotaFailure = (...violations: unknown[]) => ({
  '@type': 'type.googleapis.com/google.rpc.QuotaFailure',
  violations,
});
/** A daily quota of `model`: the key cools for that model until midnight Pacific time. */
const quotaUntilMidnight = (model: string): ExpectedClassification => ({
  class: 'quota',
  retryable: true,
  retryAfterMs: UNTIL_PACIFIC_MIDNIGHT,
  model,
});
const errorInfo = (reason: string) => ({
  '@type': 'type.googleapis.com/google.rpc.ErrorInfo',
  reason,
  domain: 'googleapis.com',
});

/**
 * Gemini API error bodies. The rate limits page says limits are per project and per model and that "Requests
 * per day (RPD) quotas reset at midnight Pacific time" (https://ai.google.dev/gemini-api/docs/rate-limits); the
 * troubleshooting page lists the statuses (https://ai.google.dev/gemini-api/docs/troubleshooting). The bodies
 * are Gemini's own answers as quoted in the reports named beside each.
 */
export const geminiErrorFixtures: ErrorFixture[] = [
  {
    name: '429 per-minute quota of one model → rate for that model, retryDelay honoured',
    // The quotaId of the per-minute limit, and its retryDelay: https://dev.to/cynora/gemini-api-free-tier-429-per-minute-vs-per-day-limits-measured-on-four-models-mpc
    source: 'https://ai.google.dev/gemini-api/docs/rate-limits',
    outcome: {
      status: 429,
      model: 'gemini-2.5-flash',
      body: googleError(429, 'RESOURCE_EXHAUSTED', EXCEEDED, [
        quotaFailure(violation('GenerateRequestsPerMinutePerProjectPerModel-FreeTier', 'gemini-2.5-flash')),
        HELP,
        retryInfo('41s'),
      ]),
    },
    expected: { class: 'rate', retryable: true, retryAfterMs: 41_000, model: 'gemini-2.5-flash' },
  },
  {
    name: '429 per-minute input tokens, fractional retryDelay → rate for that model in 1.5 s',
    source: 'https://github.com/google-gemini/gemini-cli/issues/8437',
    outcome: {
      status: 429,
      model: 'gemini-2.0-flash',
      body: googleError(429, 'RESOURCE_EXHAUSTED', EXCEEDED, [
        quotaFailure(
          violation(
            'GenerateContentInputTokensPerModelPerMinute-FreeTier',
            'gemini-2.0-flash',
            'generativelanguage.googleapis.com/generate_content_free_tier_input_token_count',
          ),
        ),
        retryInfo('1.5s'),
      ]),
    },
    expected: { class: 'rate', retryable: true, retryAfterMs: 1500, model: 'gemini-2.0-flash' },
  },
  {
    name: '429 per-day quota alone, with a retryDelay of seconds → quota for that model until midnight Pacific',
    // Gemini attaches "22s" to a violation of the per-day quota alone; retrying then only fails again.
    source: 'https://oppl.ai/llms/gemini_complex_1/JE00B3XR4V72.json',
    outcome: {
      status: 429,
      model: 'gemini-2.5-flash',
      body: googleError(429, 'RESOURCE_EXHAUSTED', EXCEEDED, [
        quotaFailure({
          ...violation('GenerateRequestsPerDayPerProjectPerModel-FreeTier', 'gemini-2.5-flash'),
          quotaValue: '250',
        }),
        HELP,
        retryInfo('22s'),
      ]),
    },
    expected: quotaUntilMidnight('gemini-2.5-flash'),
  },
  {
    name: '429 per-day and per-minute violations of a model the request named differently → the request’s model',
    // The request asked for gemini-2.5-flash-image-preview; the violations name gemini-2.5-flash-preview-image.
    source: 'https://github.com/google-gemini/gemini-cli/issues/8437',
    outcome: {
      status: 429,
      model: 'gemini-2.5-flash-image-preview',
      body: googleError(429, 'RESOURCE_EXHAUSTED', EXCEEDED, [
        quotaFailure(
          violation(
            'GenerateContentInputTokensPerModelPerMinute-FreeTier',
            'gemini-2.5-flash-preview-image',
            'generativelanguage.googleapis.com/generate_content_free_tier_input_token_count',
          ),
          violation('GenerateRequestsPerMinutePerProjectPerModel-FreeTier', 'gemini-2.5-flash-preview-image'),
          violation('GenerateRequestsPerDayPerProjectPerModel-FreeTier', 'gemini-2.5-flash-preview-image'),
        ),
        HELP,
        retryInfo('33s'),
      ]),
    },
    expected: quotaUntilMidnight('gemini-2.5-flash-image-preview'),
  },
  {
    name: '429 per-day quota, request model unknown → the model the violation names',
    source: 'https://oppl.ai/llms/gemini_complex_1/JE00B3XR4V72.json',
    outcome: {
      status: 429,
      body: googleError(429, 'RESOURCE_EXHAUSTED', EXCEEDED, [
        quotaFailure(violation('GenerateRequestsPerDayPerProjectPerModel-FreeTier', 'gemini-2.5-flash')),
        retryInfo('22s'),
      ]),
    },
    expected: quotaUntilMidnight('gemini-2.5-flash'),
  },
  {
    name: '429 paid-tier per-model daily quota without dimensions → quota for the request’s model',
    source: 'https://github.com/langgenius/dify/issues/19838',
    outcome: {
      status: 429,
      model: 'gemini-2.5-pro',
      body: googleError(
        429,
        'RESOURCE_EXHAUSTED',
        'You exceeded your current quota. Go to https://aistudio.google.com/apikey to upgrade your quota tier, or ' +
          'submit a quota increase request in https://ai.google.dev/gemini-api/docs/rate-limits#request-rate-limit-increase',
        [
          quotaFailure(
            violation(
              'GenerateRequestsPerDayPerProjectPerModel',
              undefined,
              'generativelanguage.googleapis.com/generate_requests_per_model_per_day',
            ),
          ),
        ],
      ),
    },
    expected: quotaUntilMidnight('gemini-2.5-pro'),
  },
  {
    name: '429 limit: 0 (a model outside the key’s tier), "Please retry in 20.04s" → quota for it until midnight',
    source: 'https://github.com/continuedev/continue/issues/10062',
    outcome: {
      status: 429,
      body: googleError(
        429,
        'RESOURCE_EXHAUSTED',
        'You exceeded your current quota, please check your plan and billing details. For more information on this ' +
          'error, head to: https://ai.google.dev/gemini-api/docs/rate-limits. To monitor your current usage, head ' +
          'to: https://ai.dev/rate-limit. \n* Quota exceeded for metric: ' +
          'generativelanguage.googleapis.com/generate_content_free_tier_requests, limit: 0, model: gemini-2.5-pro\n' +
          'Please retry in 20.04466179s.',
        [HELP],
      ),
    },
    expected: quotaUntilMidnight('gemini-2.5-pro'),
  },
  {
    name: '429 without details ("Resource has been exhausted") → rate, whole key, backoff',
    source: 'https://github.com/google-gemini/gemini-cli/issues/2020',
    outcome: {
      status: 429,
      model: 'gemini-2.5-pro',
      body: googleError(429, 'RESOURCE_EXHAUSTED', 'Resource has been exhausted (e.g. check quota).'),
    },
    expected: { class: 'rate', retryable: true },
  },
  {
    name: '503 "The model is overloaded" → overloaded (the key is fine)',
    source: 'https://github.com/google-gemini/gemini-cli/issues/5191',
    outcome: {
      status: 503,
      model: 'gemini-2.5-pro',
      body: googleError(503, 'UNAVAILABLE', 'The model is overloaded. Please try again later.'),
    },
    expected: { class: 'overloaded', retryable: true },
  },
  {
    name: '503 "The service is currently unavailable" → upstream',
    source: 'https://ai.google.dev/gemini-api/docs/troubleshooting',
    outcome: {
      status: 503,
      body: googleError(503, 'UNAVAILABLE', 'The service is currently unavailable.'),
    },
    expected: { class: 'upstream', retryable: true },
  },
  {
    name: '400 API_KEY_INVALID → auth',
    source: 'https://ai.google.dev/gemini-api/docs/troubleshooting',
    outcome: {
      status: 400,
      body: googleError(400, 'INVALID_ARGUMENT', 'API key not valid. Please pass a valid API key.', [
        errorInfo('API_KEY_INVALID'),
      ]),
    },
    expected: { class: 'auth', retryable: true },
  },
  {
    name: '403 PERMISSION_DENIED, consumer suspended → auth',
    source: 'https://ai.google.dev/gemini-api/docs/troubleshooting',
    outcome: {
      status: 403,
      body: googleError(
        403,
        'PERMISSION_DENIED',
        "Permission denied: Consumer 'api_key:AIzaSy-test-fixture' has been suspended.",
        [errorInfo('CONSUMER_SUSPENDED')],
      ),
    },
    expected: { class: 'auth', retryable: true },
  },
  {
    name: '403 PERMISSION_DENIED, API disabled in the key’s project → auth',
    source: 'https://github.com/google-gemini/deprecated-generative-ai-python/issues/10',
    outcome: {
      status: 403,
      body: googleError(
        403,
        'PERMISSION_DENIED',
        'Generative Language API has not been used in project 411082643095 before or it is disabled. Enable it by ' +
          'visiting https://console.developers.google.com/apis/api/generativelanguage.googleapis.com/overview?project=411082643095 then retry.',
        [errorInfo('SERVICE_DISABLED')],
      ),
    },
    expected: { class: 'auth', retryable: true },
  },
  {
    name: '403 PERMISSION_DENIED, billing disabled → auth',
    // Google APIs' common BILLING_DISABLED answer (here from the Vision API).
    source: 'https://github.com/GoogleCloudPlatform/php-docs-samples/issues/1235',
    outcome: {
      status: 403,
      body: googleError(
        403,
        'PERMISSION_DENIED',
        'This API method requires billing to be enabled. Please enable billing on project #1051023892108 by ' +
          'visiting https://console.developers.google.com/billing/enable?project=1051023892108 then retry. If you ' +
          'enabled billing for this project recently, wait a few minutes for the action to propagate to our ' +
          'systems and retry.',
        [errorInfo('BILLING_DISABLED')],
      ),
    },
    expected: { class: 'auth', retryable: true },
  },
  {
    name: '400 INVALID_ARGUMENT (the request itself) → client',
    source: 'https://ai.google.dev/gemini-api/docs/troubleshooting',
    outcome: { status: 400, body: googleError(400, 'INVALID_ARGUMENT', 'Invalid JSON payload received.') },
    expected: { class: 'client', retryable: false },
  },
];
