import { genericRules } from '@keyway/core';
import type { ClassifierRules, Outcome } from '@keyway/core';
import { setCredential, withoutQueryKey } from '../credential';
import { field, num, peekJsonString, queryParam } from '../json-peek';
import { applyBearer, isOpenAiStream, openAiUsage } from '../openai/openai';
import type { Provider, RequestView, Usage, ValidationRequest } from '../provider';
import { listValidation, validationTarget } from '../validation';

const OPENAI_SURFACE = 'v1beta/openai';
const MODEL_IN_PATH = /\/models\/([^/:]+)(?::[A-Za-z]+)?/;
const STREAM_ACTION = /:streamGenerateContent\/?$/;

function isOpenAiSurface(path: string): boolean {
  return path.includes(OPENAI_SURFACE);
}

/** The path with percent-escapes undone (clients encode the `:` of `model:action`); as given when malformed. */
function decodedPath(path: string): string {
  if (!path.includes('%')) return path;
  try {
    return decodeURIComponent(path);
  } catch {
    return path;
  }
}

function metaUsage(meta: unknown): Usage | null {
  const prompt = num(meta, 'promptTokenCount');
  const candidates = num(meta, 'candidatesTokenCount');
  // Thinking tokens are billed as output but counted apart from the candidates.
  const thoughts = num(meta, 'thoughtsTokenCount');
  const completion = candidates === null && thoughts === null ? null : (candidates ?? 0) + (thoughts ?? 0);
  if (prompt === null && completion === null) return null;
  return { promptTokens: prompt, completionTokens: completion };
}

/**
 * `usageMetadata` of a native response or stream chunk (each chunk repeats the running totals), or OpenAI-style
 * usage from the OpenAI surface. A non-SSE `:streamGenerateContent` answers a JSON array of chunks: the last
 * chunk with usage counts.
 */
function geminiUsage(obj: unknown): Usage | null {
  if (Array.isArray(obj)) {
    for (let i = obj.length - 1; i >= 0; i--) {
      const u = geminiUsage(obj[i]);
      if (u) return u;
    }
    return null;
  }
  const meta = field(obj, 'usageMetadata');
  if (meta === undefined || meta === null) return openAiUsage(obj);
  return metaUsage(meta);
}

/** Gemini states when to retry as `RetryInfo.retryDelay: "30s"` in the error details. */
function retryDelayMs(outcome: Outcome): number | undefined {
  const m = /"retryDelay"\s*:\s*"(\d+(?:\.\d+)?)s"/.exec(outcome.body ?? '');
  return m ? Math.round(Number(m[1]) * 1000) : undefined;
}

/**
 * Gemini's error bodies. A 429 RESOURCE_EXHAUSTED is both the per-minute rate limit and the daily quota, and
 * every one of them says "quota" (the message, or the QuotaFailure detail's `quotaId`); only the daily ones name
 * a per-day limit. `limit: 0` is a model the key's tier may not use at all.
 */
export const geminiRules: ClassifierRules = {
  ...genericRules,
  authPatterns: [
    ...genericRules.authPatterns,
    /api key not valid/,
    /api_key_invalid/,
    /api key expired/,
    /has been suspended/,
    /denied access/,
  ],
  quotaPatterns: [/^(?=[\s\S]*quota)(?=[\s\S]*per[ _-]?day)/, /quota[^"]*limit: 0\b/],
  resetDelayMs: retryDelayMs,
};

/** The `gemini` channel: native generateContent & co. (key by header) and the OpenAI-compatible surface. */
export const gemini = {
  id: 'gemini',
  applyKey(headers, key, target) {
    // `?key=` is Gemini's other credential slot: one left there would compete with the header.
    const clean = withoutQueryKey(target);
    if (isOpenAiSurface(clean.path)) return applyBearer(headers, key, clean);
    setCredential(headers, 'x-goog-api-key', key);
    return clean;
  },
  isStream: (req: RequestView) =>
    STREAM_ACTION.test(decodedPath(req.path)) ||
    queryParam(req.query, 'alt') === 'sse' ||
    isOpenAiStream(req),
  extractModel(req) {
    const path = decodedPath(req.path);
    if (!isOpenAiSurface(path)) {
      const m = MODEL_IN_PATH.exec(path);
      if (m?.[1]) return m[1];
    }
    return peekJsonString(req.body, 'model');
  },
  renderError(status, _code, message) {
    // google.rpc.Code names as Google maps them from HTTP statuses.
    const statusText =
      status === 401
        ? 'UNAUTHENTICATED'
        : status === 403
          ? 'PERMISSION_DENIED'
          : status === 404
            ? 'NOT_FOUND'
            : status === 409
              ? 'ABORTED'
              : status === 429
                ? 'RESOURCE_EXHAUSTED'
                : status === 499
                  ? 'CANCELLED'
                  : status === 501
                    ? 'UNIMPLEMENTED'
                    : status === 502 || status === 503
                      ? 'UNAVAILABLE'
                      : status === 504
                        ? 'DEADLINE_EXCEEDED'
                        : status >= 500
                          ? 'INTERNAL'
                          : 'INVALID_ARGUMENT';
    return JSON.stringify({ error: { code: status, message, status: statusText } });
  },
  classifierRules: geminiRules,
  validationRequest(group, key): ValidationRequest {
    const model = group.testModel || 'gemini-2.0-flash';
    const target = validationTarget(
      group.validationEndpoint,
      `/v1beta/models/${encodeURIComponent(model)}:generateContent`,
    );
    if (isOpenAiSurface(target.path)) {
      const auth = { authorization: `Bearer ${key}` };
      if (target.list) return listValidation(target, auth);
      return {
        method: 'POST',
        path: target.path,
        query: target.query,
        headers: { 'content-type': 'application/json', ...auth },
        body: JSON.stringify({ model, messages: [{ role: 'user', content: 'hi' }], max_tokens: 1 }),
      };
    }
    const auth = { 'x-goog-api-key': key };
    if (target.list) return listValidation(target, auth);
    return {
      method: 'POST',
      // The native API names the model in the path, not the body.
      path: target.path,
      query: target.query,
      headers: { 'content-type': 'application/json', ...auth },
      body: JSON.stringify({
        contents: [{ role: 'user', parts: [{ text: 'hi' }] }],
        generationConfig: { maxOutputTokens: 1 },
      }),
    };
  },
  usageFromJson: geminiUsage,
  usageFromEvent: geminiUsage,
} satisfies Provider;
