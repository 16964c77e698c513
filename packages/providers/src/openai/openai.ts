import { genericRules } from '@keyway/core';
import { field, headerValue, num, peekJsonString, peekJsonTrue, queryFlag } from '../json-peek';
import type { HeaderMap, Provider, RequestView, UpstreamTarget, Usage } from '../provider';

/** Bearer credential, as OpenAI and every OpenAI-compatible API expects it. */
export function applyBearer(headers: HeaderMap, key: string, target: UpstreamTarget): UpstreamTarget {
  headers.authorization = `Bearer ${key}`;
  return target;
}

/** Stream detection shared by the OpenAI-style channels. */
export function isOpenAiStream(req: RequestView): boolean {
  return (
    (headerValue(req.headers, 'accept') ?? '').includes('text/event-stream') ||
    queryFlag(req.query, 'stream') ||
    peekJsonTrue(req.body, 'stream')
  );
}

/** OpenAI's error envelope. */
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

/** OpenAI usage: `usage.prompt_tokens`/`completion_tokens` (chat) or `input_tokens`/`output_tokens` (Responses). */
export function openAiUsage(obj: unknown): Usage | null {
  const usage = field(obj, 'usage') ?? field(field(obj, 'response'), 'usage');
  if (!usage || typeof usage !== 'object') return null;
  const prompt = num(usage, 'prompt_tokens') ?? num(usage, 'input_tokens');
  const completion = num(usage, 'completion_tokens') ?? num(usage, 'output_tokens');
  if (prompt === null && completion === null) return null;
  return { promptTokens: prompt, completionTokens: completion };
}

export const openAiRules = {
  ...genericRules,
  quotaPatterns: [/insufficient_quota/, /exceeded your current quota/, /billing/, /quota/],
};

/** The `openai` channel: Chat Completions and everything else under `/v1`. */
export const openai = {
  id: 'openai',
  applyKey: applyBearer,
  isStream: isOpenAiStream,
  extractModel: (req) => peekJsonString(req.body, 'model'),
  renderError: renderOpenAiError,
  classifierRules: openAiRules,
  validationRequest(group, key) {
    return {
      method: 'POST',
      path: group.validationEndpoint || '/v1/chat/completions',
      query: '',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
      body: JSON.stringify({
        model: group.testModel || 'gpt-4.1-nano',
        messages: [{ role: 'user', content: 'hi' }],
        max_tokens: 1,
      }),
    };
  },
  usageFromJson: openAiUsage,
  usageFromEvent: openAiUsage,
} satisfies Provider;
