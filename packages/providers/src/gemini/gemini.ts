import { CHANNEL_INFO } from '@keyway/contracts';
import { genericRules } from '@keyway/core';
import type { ClassifierRules, Outcome } from '@keyway/core';
import { setCredential, withoutQueryCredentials } from '../credential';
import type { CredentialHeader } from '../credential';
import { field, num, peekJsonString, queryParam } from '../json-peek';
import { isListPath, modelListFormat, openAiModelList } from '../model-list';
import type { ModelListFormat } from '../model-list';
import { BEARER, applyBearer, delayInText, isOpenAiStream, openAiUsage } from '../openai/openai';
import type { PathModel, Provider, RequestView, Usage, ValidationRequest } from '../provider';
import { listValidation, validationTarget } from '../validation';

const OPENAI_SURFACE = 'v1beta/openai';
const MODEL_IN_PATH = /\/models\/([^/:]+)(?::[A-Za-z]+)?/;
/** The model segment of a native path, with what precedes and follows it (for a redirect). */
const MODEL_SEGMENT = /(\/models\/)([^/:]+)((?::[A-Za-z]+)?)/;
const X_GOOG_API_KEY: CredentialHeader = { name: 'x-goog-api-key' };
const info = CHANNEL_INFO.gemini;
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
  // Part of promptTokenCount: the tokens served from a cached content.
  const cached = prompt === null ? null : (num(meta, 'cachedContentTokenCount') ?? 0);
  return { promptTokens: prompt, completionTokens: completion, cachedTokens: cached };
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

/** The native API names the model in the path (`/v1beta/models/{model}:generateContent`). */
function modelInPath(path: string): PathModel | null {
  if (isOpenAiSurface(path)) return null;
  const m = MODEL_SEGMENT.exec(path);
  if (!m?.[2]) return null;
  let model = m[2];
  try {
    model = decodeURIComponent(model);
  } catch {
    // Malformed escapes: the model as sent.
  }
  return {
    model,
    withModel: (other) => path.replace(MODEL_SEGMENT, `$1${encodeURIComponent(other)}$3`),
  };
}

/** Gemini's native list, `{"models":[{"name":"models/…"}],"nextPageToken"}`. */
export const geminiModelList = modelListFormat({
  field: 'models',
  entry(key) {
    const bare = key.startsWith('models/') ? key.slice('models/'.length) : key;
    return { name: `models/${bare}`, displayName: bare, supportedGenerationMethods: ['generateContent'] };
  },
  nameOf(m) {
    const name = typeof m === 'string' ? m : field(m, 'name');
    if (typeof name !== 'string') return null;
    return name.startsWith('models/') ? name.slice('models/'.length) : name;
  },
  pageParams: ['pageToken'],
  lastPage: ({ nextPageToken: _dropped, ...rest }) => rest,
});

function geminiModelListOf(method: string, path: string): ModelListFormat | null {
  if (isListPath(method, path, ['/v1beta/openai/models'])) return openAiModelList;
  return isListPath(method, path, ['/v1beta/models', '/v1/models']) ? geminiModelList : null;
}

const isGeminiList = (path: string) => geminiModelListOf('GET', path) !== null;

const DAY_MS = 86_400_000;
/**
 * Made on first use: the first zoned `Intl.DateTimeFormat` of a process loads ICU's time zone and locale data,
 * ~9 MiB of resident memory that a gateway never classifying a Gemini daily quota should not carry.
 */
let pacificClock: Intl.DateTimeFormat | null = null;

/** How long after the last midnight on the Pacific wall clock instant `t` is (ms). */
function pacificTimeOfDayMs(t: number): number {
  pacificClock ??= new Intl.DateTimeFormat('en-US', {
    timeZone: 'America/Los_Angeles',
    hourCycle: 'h23',
    hour: 'numeric',
    minute: 'numeric',
    second: 'numeric',
  });
  const part: Record<string, number> = {};
  for (const p of pacificClock.formatToParts(t)) part[p.type] = Number(p.value);
  return (((part.hour ?? 0) * 60 + (part.minute ?? 0)) * 60 + (part.second ?? 0)) * 1000 + (t % 1000);
}

/**
 * Time until Gemini's daily quotas reset: "Requests per day (RPD) quotas reset at midnight Pacific time"
 * (https://ai.google.dev/gemini-api/docs/rate-limits). A DST change on the way makes that day 23 or 25 hours long.
 */
export function msUntilPacificMidnight(now: number): number {
  let next = now + DAY_MS - pacificTimeOfDayMs(now);
  const off = pacificTimeOfDayMs(next);
  if (off !== 0) next += off > DAY_MS / 2 ? DAY_MS - off : -off;
  return next - now;
}

/** A quota counted per day (`…PerDay…` quotaId, a "per day" metric). */
const DAILY_QUOTA = /^(?=[\s\S]*quota)(?=[\s\S]*per[ _-]?day)/;
/** A model the key's tier may not use at all ("limit: 0"): nothing frees up before the daily reset either. */
const NO_ALLOWANCE = /quota[^"]*limit: 0\b/;
/** Gemini states when to retry as `RetryInfo.retryDelay: "30s"` in the details, and in the message. */
const RETRY_DELAY = /"retrydelay"\s*:\s*"(\d+(?:\.\d+)?)s"/;
/** A quota counted per model: `…PerModel…` quotaId, `…per_model…` metric. */
const PER_MODEL = /permodel|per_model/;
/** The model a violation names: `quotaDimensions.model`, or "…, limit: 0, model: gemini-2.5-pro" in the message. */
const NAMED_MODEL = /"quotadimensions"\s*:\s*\{[^}]*"model"\s*:\s*"([^"]+)"|\bmodel: ([\w.-]+)/;

/**
 * When a Gemini key may be used again. A daily quota (or a model outside the tier) waits for midnight Pacific
 * time: Gemini attaches a retryDelay of a few seconds even to a per-day violation alone ("22s" with only
 * `GenerateRequestsPerDayPerProjectPerModel-FreeTier`), and retrying then only fails again. Anything else honours
 * the stated retryDelay.
 */
function geminiResetMs(outcome: Outcome, body: string): number | undefined {
  if (outcome.status === 429 && (DAILY_QUOTA.test(body) || NO_ALLOWANCE.test(body)))
    return msUntilPacificMidnight(Date.now());
  const m = RETRY_DELAY.exec(body);
  return m ? Math.round(Number(m[1]) * 1000) : delayInText(body);
}

/** The model a Gemini quota violation is counted for: the request's model, as the pool knows it, else the named one. */
function geminiModelScope(outcome: Outcome, body: string): string | undefined {
  const m = NAMED_MODEL.exec(body);
  const named = m?.[1] ?? m?.[2];
  if (named === undefined && !PER_MODEL.test(body)) return undefined;
  return outcome.model || named;
}

/**
 * Gemini's error bodies. A 429 RESOURCE_EXHAUSTED is both the per-minute rate limit and the daily quota, and
 * every one of them says "quota" (the message, or the QuotaFailure detail's `quotaId`); only the daily ones name
 * a per-day limit. Free-tier limits are per project, per model: a violation naming a model cools the key for it
 * alone. `limit: 0` is a model the key's tier may not use at all.
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
  quotaPatterns: [DAILY_QUOTA, NO_ALLOWANCE],
  suspendedPatterns: [...(genericRules.suspendedPatterns ?? []), /consumer_suspended/, /billing_disabled/],
  resetDelayMs: geminiResetMs,
  modelScope: geminiModelScope,
};

/** The `gemini` channel: native generateContent & co. (key by header) and the OpenAI-compatible surface. */
export const gemini = {
  id: 'gemini',
  // The OpenAI-compatible surface takes a Bearer token.
  credentials: { headers: [X_GOOG_API_KEY, BEARER], query: ['key'] },
  accountHeaders: [],
  rootPaths: ['/v1beta'],
  modelInPath,
  modelList: geminiModelListOf,
  applyKey(headers, key, target) {
    // `?key=` is Gemini's other credential slot: one left there would compete with the header.
    const clean = withoutQueryCredentials(target);
    if (isOpenAiSurface(clean.path)) return applyBearer(headers, key, clean);
    setCredential(headers, X_GOOG_API_KEY, key);
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
    const model = group.testModel || info.testModel;
    const target = validationTarget(
      group.validationEndpoint,
      info.validationEndpoint.replace('{model}', encodeURIComponent(model)),
      isGeminiList,
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
  usageFields: ['usageMetadata'],
  usageFromEvent: geminiUsage,
} satisfies Provider;
