import { CHANNEL_INFO } from '@keyway/contracts';
import { genericRules, namedModelScope } from '@keyway/core';
import type { ClassifierRules } from '@keyway/core';
import { setCredential } from '../credential';
import type { CredentialHeader, CredentialSlots } from '../credential';
import { field, headerValue, num, peekJsonString, peekJsonTrue, queryFlag } from '../json-peek';
import { isListPath, openAiModelList } from '../model-list';
import type { ModelListFormat } from '../model-list';
import type { HeaderMap, Provider, RequestView, UpstreamTarget, Usage } from '../provider';
import { parseDurationMs } from '../rate-limit-headers';
import { chatStreamUsage } from './stream-usage';
import { listValidation, validationTarget } from '../validation';

/** `Authorization: Bearer …`, as OpenAI and every OpenAI-compatible API expects it. */
export const BEARER: CredentialHeader = { name: 'authorization', scheme: 'Bearer' };

/** The OpenAI-style channels' credential slots. */
export const bearerSlots: CredentialSlots = { headers: [BEARER], query: [] };

/** Bearer credential, as OpenAI and every OpenAI-compatible API expects it. */
export function applyBearer(headers: HeaderMap, key: string, target: UpstreamTarget): UpstreamTarget {
  setCredential(headers, BEARER, key);
  return target;
}

/** Response headers naming the OpenAI organisation and project behind a key. */
export const OPENAI_ACCOUNT_HEADERS = ['openai-organization', 'openai-project'] as const;

/**
 * `GET /v1/models`, also at the end of a longer base path (`/prefix/v1/models`), and Gemini's OpenAI-compatible
 * list (an OpenAI group may point at that surface).
 */
export function openAiModelListOf(method: string, path: string): ModelListFormat | null {
  return isListPath(method, path, ['/v1/models', '/v1beta/openai/models']) ? openAiModelList : null;
}

/** Whether a validation endpoint is an OpenAI model list. */
export const isOpenAiList = (path: string): boolean => openAiModelListOf('GET', path) !== null;

/** Stream detection shared by the OpenAI-style channels. */
export function isOpenAiStream(req: RequestView): boolean {
  return (
    (headerValue(req.headers, 'accept') ?? '').includes('text/event-stream') ||
    queryFlag(req.query, 'stream') ||
    peekJsonTrue(req.body, 'stream')
  );
}

/** OpenAI's error envelope, `{"error":{"message","type","param","code"}}`, as the openai SDKs read it. */
export function renderOpenAiError(status: number, code: string, message: string): string {
  const type =
    status === 401
      ? 'authentication_error'
      : status === 429
        ? 'rate_limit_error'
        : status >= 500
          ? 'server_error'
          : 'invalid_request_error';
  return JSON.stringify({ error: { message, type, param: null, code: code.toLowerCase() } });
}

/**
 * OpenAI usage: `usage.prompt_tokens`/`completion_tokens` with `prompt_tokens_details.cached_tokens` (Chat
 * Completions, incl. the last streamed chunk) or `input_tokens`/`output_tokens` with
 * `input_tokens_details.cached_tokens` (Responses API, top-level or in a `response.*` event's `response`). Both
 * count cached tokens in the prompt and reasoning tokens in the completion already.
 */
export function openAiUsage(obj: unknown): Usage | null {
  const usage = field(obj, 'usage') ?? field(field(obj, 'response'), 'usage');
  if (!usage || typeof usage !== 'object') return null;
  const prompt = num(usage, 'prompt_tokens') ?? num(usage, 'input_tokens');
  const completion = num(usage, 'completion_tokens') ?? num(usage, 'output_tokens');
  if (prompt === null && completion === null) return null;
  const cached =
    num(field(usage, 'prompt_tokens_details'), 'cached_tokens') ??
    num(field(usage, 'input_tokens_details'), 'cached_tokens');
  return { promptTokens: prompt, completionTokens: completion, cachedTokens: cached };
}

const STATED_DELAY = /(?:try again|retry) in (\d[\d.a-zµ]*)/;

/**
 * A delay an error message states in words, in ms: OpenAI's "Please try again in 1m30s." and Gemini's "Please
 * retry in 20.04s." (`text` lower-cased).
 */
export function delayInText(text: string): number | undefined {
  const m = STATED_DELAY.exec(text);
  // The sentence's full stop is not part of the duration.
  const ms = m?.[1] ? parseDurationMs(m[1].replace(/\.$/, '')) : null;
  return ms === null ? undefined : Math.round(ms);
}

/** An empty balance or spend cap of the whole account: it lasts until someone pays, whatever Retry-After says. */
const ACCOUNT_QUOTA = [
  /insufficient_quota/,
  /exceeded your current quota/,
  /billing_hard_limit_reached/,
  /billing hard limit/,
] as const;

/**
 * "Rate limit reached for gpt-4o in organization org-… on tokens per min (TPM)" and "Request too large for gpt-4o
 * in organization …": OpenAI counts its rate limits per model.
 */
const MODEL_LIMIT = /(?:rate limit reached|request too large) for (\S+) in (?:organization|project)\b/;

/**
 * OpenAI's error bodies: `insufficient_quota` is an empty balance (a long key-wide cooling: it can be topped up);
 * a `rate_limit_exceeded` naming a model cools the key for that model only, until the time the message states;
 * a per-day limit (RPD/TPD) is a quota of that model. A deactivated account or inactive billing is a dead key.
 */
export const openAiRules: ClassifierRules = {
  ...genericRules,
  // No bare /billing/: free-tier rate-limit messages link to the billing page ("add a payment method … /billing").
  quotaPatterns: [...ACCOUNT_QUOTA, /quota/, /per day \((?:rpd|tpd)\)/],
  suspendedPatterns: [
    ...(genericRules.suspendedPatterns ?? []),
    /account_deactivated/,
    /billing_not_active/,
    /account is not active/,
  ],
  resetDelayMs: (_outcome, body) => (ACCOUNT_QUOTA.some((p) => p.test(body)) ? null : delayInText(body)),
  modelScope: namedModelScope(MODEL_LIMIT),
};

const info = CHANNEL_INFO.openai;

/** The `openai` channel: Chat Completions and everything else under `/v1`. */
export const openai = {
  id: 'openai',
  credentials: bearerSlots,
  accountHeaders: OPENAI_ACCOUNT_HEADERS,
  rootPaths: ['/v1'],
  modelList: openAiModelListOf,
  applyKey: applyBearer,
  isStream: isOpenAiStream,
  extractModel: (req) => peekJsonString(req.body, 'model'),
  renderError: renderOpenAiError,
  classifierRules: openAiRules,
  validationRequest(group, key) {
    const target = validationTarget(group.validationEndpoint, info.validationEndpoint, isOpenAiList);
    const auth = { authorization: `Bearer ${key}` };
    if (target.list) return listValidation(target, auth);
    return {
      method: 'POST',
      path: target.path,
      query: target.query,
      headers: { 'content-type': 'application/json', ...auth },
      body: JSON.stringify({
        model: group.testModel || info.testModel,
        messages: [{ role: 'user', content: 'hi' }],
        max_tokens: 1,
      }),
    };
  },
  usageFromJson: openAiUsage,
  usageFields: ['usage'],
  usageFromEvent: openAiUsage,
  streamUsage: chatStreamUsage,
} satisfies Provider;
