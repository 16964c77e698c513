import { genericRules } from '@keyway/core';
import { field, headerValue, num, peekJsonString, peekJsonTrue } from '../json-peek';
import type { Provider, Usage } from '../provider';

/** Sent only when the client did not choose a version itself. */
export const DEFAULT_ANTHROPIC_VERSION = '2023-06-01';

function anthropicUsage(obj: unknown): Usage | null {
  const usage = field(obj, 'usage') ?? field(field(obj, 'message'), 'usage');
  if (!usage || typeof usage !== 'object') return null;
  const prompt = num(usage, 'input_tokens');
  const completion = num(usage, 'output_tokens');
  if (prompt === null && completion === null) return null;
  return { promptTokens: prompt, completionTokens: completion };
}

/** The `anthropic` channel: the Messages API with `x-api-key`. */
export const anthropic = {
  id: 'anthropic',
  applyKey(headers, key, target) {
    headers['x-api-key'] = key;
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
        : status === 404
          ? 'not_found_error'
          : status === 413
            ? 'request_too_large'
            : status === 429
              ? 'rate_limit_error'
              : status === 503
                ? 'overloaded_error'
                : status >= 500
                  ? 'api_error'
                  : 'invalid_request_error';
    return JSON.stringify({ type: 'error', error: { type, message } });
  },
  classifierRules: {
    ...genericRules,
    quotaPatterns: [/credit balance is too low/, /quota/, /billing/, /usage limit/],
  },
  validationRequest(group, key) {
    return {
      method: 'POST',
      path: group.validationEndpoint || '/v1/messages',
      query: '',
      headers: {
        'content-type': 'application/json',
        'x-api-key': key,
        'anthropic-version': DEFAULT_ANTHROPIC_VERSION,
      },
      body: JSON.stringify({
        model: group.testModel || 'claude-3-5-haiku-latest',
        max_tokens: 1,
        messages: [{ role: 'user', content: 'hi' }],
      }),
    };
  },
  usageFromJson: anthropicUsage,
  usageFromEvent: anthropicUsage,
} satisfies Provider;
