import { genericRules } from '@keyway/core';
import type { Outcome } from '@keyway/core';
import { applyBearer, isOpenAiStream, openAiUsage } from '../openai/openai';
import { field, num, peekJsonString } from '../json-peek';
import type { Provider, RequestView, Usage, ValidationRequest } from '../provider';

const OPENAI_SURFACE = 'v1beta/openai';
const MODEL_IN_PATH = /\/models\/([^/:]+)(?::[A-Za-z]+)?/;

function isOpenAiSurface(path: string): boolean {
  return path.includes(OPENAI_SURFACE);
}

function geminiUsage(obj: unknown): Usage | null {
  const meta = field(obj, 'usageMetadata');
  if (!meta) return openAiUsage(obj);
  return { promptTokens: num(meta, 'promptTokenCount'), completionTokens: num(meta, 'candidatesTokenCount') };
}

/** Gemini states quota resets as `RetryInfo.retryDelay: "30s"` in the error details. */
function retryDelayMs(outcome: Outcome): number | undefined {
  const m = /"retryDelay"\s*:\s*"(\d+(?:\.\d+)?)s"/.exec(outcome.body ?? '');
  return m ? Math.round(Number(m[1]) * 1000) : undefined;
}

/** The `gemini` channel: native generateContent & co. (key by header/query) and the OpenAI-compatible surface. */
export const gemini = {
  id: 'gemini',
  applyKey(headers, key, target) {
    if (isOpenAiSurface(target.path)) return applyBearer(headers, key, target);
    headers['x-goog-api-key'] = key;
    return target;
  },
  isStream: (req: RequestView) => req.path.endsWith(':streamGenerateContent') || isOpenAiStream(req),
  extractModel(req) {
    if (!isOpenAiSurface(req.path)) {
      const m = MODEL_IN_PATH.exec(req.path);
      if (m?.[1]) return decodeURIComponent(m[1]);
    }
    return peekJsonString(req.body, 'model');
  },
  renderError(status, _code, message) {
    const statusText =
      status === 400
        ? 'INVALID_ARGUMENT'
        : status === 401
          ? 'UNAUTHENTICATED'
          : status === 403
            ? 'PERMISSION_DENIED'
            : status === 404
              ? 'NOT_FOUND'
              : status === 429
                ? 'RESOURCE_EXHAUSTED'
                : status === 503
                  ? 'UNAVAILABLE'
                  : status === 504
                    ? 'DEADLINE_EXCEEDED'
                    : 'INTERNAL';
    return JSON.stringify({ error: { code: status, message, status: statusText } });
  },
  classifierRules: {
    ...genericRules,
    authPatterns: [...genericRules.authPatterns, /api key not valid/, /api_key_invalid/, /api key expired/],
    quotaPatterns: [/quota/, /billing/, /exceeded your current/],
    resetDelayMs: retryDelayMs,
  },
  validationRequest(group, key): ValidationRequest {
    const model = group.testModel || 'gemini-2.0-flash';
    if (group.validationEndpoint && isOpenAiSurface(group.validationEndpoint)) {
      return {
        method: 'POST',
        path: group.validationEndpoint,
        query: '',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
        body: JSON.stringify({ model, messages: [{ role: 'user', content: 'hi' }], max_tokens: 1 }),
      };
    }
    return {
      method: 'POST',
      path: group.validationEndpoint || `/v1beta/models/${encodeURIComponent(model)}:generateContent`,
      query: '',
      headers: { 'content-type': 'application/json', 'x-goog-api-key': key },
      body: JSON.stringify({
        contents: [{ role: 'user', parts: [{ text: 'hi' }] }],
        generationConfig: { maxOutputTokens: 1 },
      }),
    };
  },
  usageFromJson: geminiUsage,
  usageFromEvent: geminiUsage,
} satisfies Provider;
