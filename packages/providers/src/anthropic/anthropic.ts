import { CHANNEL_INFO } from '@keyway/contracts';
import { genericRules, namedModelScope, parseRetryAfter } from '@keyway/core';
import type { ClassifierRules, Outcome } from '@keyway/core';
import { setCredential } from '../credential';
import type { CredentialHeader } from '../credential';
import { field, headerValue, num, peekJsonString, peekJsonTrue } from '../json-peek';
import { isListPath, modelListFormat } from '../model-list';
import type { Provider, Usage } from '../provider';
import { readRateLimitHeaders } from '../rate-limit-headers';
import { listValidation, validationTarget } from '../validation';

/** Sent only when the client did not choose a version itself. */
export const DEFAULT_ANTHROPIC_VERSION = '2023-06-01';

/**
 * Usage of a message (`usage`) or of one stream event. Anthropic splits a stream's usage: `message_start`
 * carries `message.usage` (input tokens and a provisional output count), `message_delta` carries `usage` with
 * the cumulative output tokens. Each event yields only what it carries (null for the rest); the caller merges
 * "last non-null wins" per field. Cache reads and writes are billed input, so they count as prompt tokens
 * (OpenAI's `prompt_tokens` includes cached tokens too).
 */
function anthropicUsage(obj: unknown): Usage | null {
  const usage = field(obj, 'usage') ?? field(field(obj, 'message'), 'usage');
  if (!usage || typeof usage !== 'object') return null;
  const input = num(usage, 'input_tokens');
  const prompt =
    input === null
      ? null
      : input +
        (num(usage, 'cache_creation_input_tokens') ?? 0) +
        (num(usage, 'cache_read_input_tokens') ?? 0);
  const completion = num(usage, 'output_tokens');
  if (prompt === null && completion === null) return null;
  // Cache writes are billed at the input price (or above it): only cache reads are cached tokens.
  const cached = input === null ? null : (num(usage, 'cache_read_input_tokens') ?? 0);
  return { promptTokens: prompt, completionTokens: completion, cachedTokens: cached };
}

/** An exhausted balance or spend limit: the key is fine but may not spend. */
const BILLING_PATTERNS = [
  /credit balance is too low/,
  /usage limit/,
  /spend[ _]limit/,
  /billing_error/,
] as const;

/** "(org: …, model: claude-sonnet-4-20250514)": a rate limit Anthropic counted for one model (class). */
const NAMED_MODEL = /\bmodel: ([\w.:@-]+)\)/;
/** "You will regain access on 2026-04-01 at 00:00 UTC." (a workspace's spend limit). */
const REGAIN_ACCESS = /regain access on (\d{4}-\d{2}-\d{2}) at (\d{2}:\d{2}) utc/;
/**
 * When an exhausted limit is whole again, from the `anthropic-ratelimit-*` headers: the latest reset of those with
 * nothing left, else (a request that would exceed what is left) the reset of the binding token allowance.
 */
function exhaustedResetMs(outcome: Outcome, now: number): number | undefined {
  const state = readRateLimitHeaders('anthropic', outcome.headers ?? {}, now);
  if (!state) return undefined;
  const spent = [state.requests, state.tokens].flatMap((a) => (a && a.remaining <= 0 ? [a.resetAt] : []));
  const at = spent.length > 0 ? Math.max(...spent) : state.tokens?.resetAt;
  return at === undefined ? undefined : Math.max(0, at - now);
}

/** When an Anthropic key may be used again: the spend limit's stated date, Retry-After, then the reset headers. */
function anthropicResetMs(outcome: Outcome, body: string): number | undefined {
  const now = Date.now();
  const regain = REGAIN_ACCESS.exec(body);
  if (regain) return Math.max(0, Date.parse(`${regain[1]}T${regain[2]}:00Z`) - now);
  if (outcome.status !== 429) return undefined;
  return parseRetryAfter(outcome.headers?.['retry-after'], now) ?? exhaustedResetMs(outcome, now);
}

/**
 * Anthropic's error bodies. Rate limits are per model class; a 429 whose message names the model ("This request
 * would exceed your organization's rate limit of 50,000 input tokens per minute (org: …, model: …)") cools the
 * key for that model only, one that does not ("… the rate limit for your organization (…) of 30,000 input tokens
 * per minute") the whole key.
 */
export const anthropicRules: ClassifierRules = {
  ...genericRules,
  // Not a billing problem but a closed account: the key is dead (a 400 here, so it is an auth pattern).
  authPatterns: [...genericRules.authPatterns, /organization has been disabled/],
  quotaPatterns: [...BILLING_PATTERNS, /quota/, /billing/],
  billingPatterns: BILLING_PATTERNS,
  resetDelayMs: anthropicResetMs,
  modelScope: namedModelScope(NAMED_MODEL),
};

/** Anthropic's list, `{"data":[{"type":"model","id",…}],"has_more","first_id","last_id"}`, paged by id. */
const anthropicModelList = modelListFormat({
  field: 'data',
  entry: (id) => ({ type: 'model', id, display_name: id, created_at: '1970-01-01T00:00:00Z' }),
  nameOf: (m) =>
    typeof m === 'string' ? m : typeof field(m, 'id') === 'string' ? (field(m, 'id') as string) : null,
  pageParams: ['after_id', 'before_id'],
  lastPage(body) {
    const data = body.data as Array<{ id: string }>;
    return { ...body, has_more: false, first_id: data[0]?.id ?? null, last_id: data.at(-1)?.id ?? null };
  },
});

const isAnthropicList = (path: string) => isListPath('GET', path, ['/v1/models']);
const X_API_KEY: CredentialHeader = { name: 'x-api-key' };
const info = CHANNEL_INFO.anthropic;

/** The `anthropic` channel: the Messages API with `x-api-key`. */
export const anthropic = {
  id: 'anthropic',
  credentials: { headers: [X_API_KEY], query: [] },
  accountHeaders: ['anthropic-organization-id'],
  rootPaths: ['/v1/messages', '/v1/complete'],
  // Its SDKs send it on every request, with the key as `x-api-key` or (1.x) as a Bearer token like OpenAI's.
  rootHeaders: ['anthropic-version'],
  modelList: (method, path) => (isListPath(method, path, ['/v1/models']) ? anthropicModelList : null),
  applyKey(headers, key, target) {
    setCredential(headers, X_API_KEY, key);
    // Keep the client's version and beta flags: GPT-Load overwrote them, breaking newer features.
    if (!headerValue(headers, 'anthropic-version')) headers['anthropic-version'] = DEFAULT_ANTHROPIC_VERSION;
    return target;
  },
  isStream: (req) =>
    (headerValue(req.headers, 'accept') ?? '').includes('text/event-stream') ||
    peekJsonTrue(req.body, 'stream'),
  extractModel: (req) => peekJsonString(req.body, 'model'),
  renderError(status, _code, message) {
    const type =
      status === 401
        ? 'authentication_error'
        : status === 402
          ? 'billing_error'
          : status === 403
            ? 'permission_error'
            : status === 404
              ? 'not_found_error'
              : status === 413
                ? 'request_too_large'
                : status === 429
                  ? 'rate_limit_error'
                  : status === 503 || status === 529
                    ? 'overloaded_error'
                    : status === 504
                      ? 'timeout_error'
                      : status >= 500
                        ? 'api_error'
                        : 'invalid_request_error';
    return JSON.stringify({ type: 'error', error: { type, message } });
  },
  classifierRules: anthropicRules,
  validationRequest(group, key) {
    const target = validationTarget(group.validationEndpoint, info.validationEndpoint, isAnthropicList);
    const headers = { 'x-api-key': key, 'anthropic-version': DEFAULT_ANTHROPIC_VERSION };
    if (target.list) return listValidation(target, headers);
    return {
      method: 'POST',
      path: target.path,
      query: target.query,
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify({
        model: group.testModel || info.testModel,
        max_tokens: 1,
        messages: [{ role: 'user', content: 'hi' }],
      }),
    };
  },
  usageFromJson: anthropicUsage,
  usageFields: ['usage'],
  usageFromEvent: anthropicUsage,
} satisfies Provider;
