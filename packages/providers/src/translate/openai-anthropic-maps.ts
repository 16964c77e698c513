import type { TranslateDialect } from '@keyway/contracts';
import { isObject, num, parseJson } from './common';
import type { JsonObject } from './common';

/**
 * The value tables of the OpenAI chat ⇄ Anthropic messages translation: stop reasons, usage and error bodies.
 * Kept apart from the request/stream code so both directions read the same table.
 */

export type OpenAiFinishReason = 'stop' | 'length' | 'tool_calls' | 'content_filter';

/**
 * Anthropic `stop_reason` → OpenAI `finish_reason`. `pause_turn` (a server tool paused the turn) only occurs
 * with server tools, which an OpenAI caller cannot ask for; it reads as a normal stop. A stop reason this table
 * does not know (a newer API) is a normal stop too: the text is complete as far as the caller can tell.
 */
export function finishReasonOf(stopReason: unknown): OpenAiFinishReason {
  switch (stopReason) {
    case 'max_tokens':
    case 'model_context_window_exceeded':
      return 'length';
    case 'tool_use':
      return 'tool_calls';
    case 'refusal':
      return 'content_filter';
    default:
      return 'stop';
  }
}

/** OpenAI `finish_reason` → Anthropic `stop_reason` (OpenAI does not say whether a stop sequence matched). */
export function stopReasonOf(finishReason: unknown): string {
  switch (finishReason) {
    case 'length':
      return 'max_tokens';
    case 'tool_calls':
    case 'function_call':
      return 'tool_use';
    case 'content_filter':
      return 'refusal';
    default:
      return 'end_turn';
  }
}

/**
 * Anthropic usage → OpenAI usage. Anthropic's `input_tokens` excludes cache reads and writes while OpenAI's
 * `prompt_tokens` includes cached tokens, so prompt = input + cache read + cache write; cache reads are
 * `prompt_tokens_details.cached_tokens` (OpenAI has no field for cache writes); thinking tokens are
 * `completion_tokens_details.reasoning_tokens` when Anthropic reports them.
 */
export function openaiUsageOf(u: JsonObject): JsonObject {
  const cached = num(u.cache_read_input_tokens);
  const prompt = num(u.input_tokens) + cached + num(u.cache_creation_input_tokens);
  const completion = num(u.output_tokens);
  const out: JsonObject = {
    prompt_tokens: prompt,
    completion_tokens: completion,
    total_tokens: prompt + completion,
    prompt_tokens_details: { cached_tokens: cached },
  };
  const details = u.output_tokens_details;
  if (isObject(details) && typeof details.thinking_tokens === 'number')
    out.completion_tokens_details = { reasoning_tokens: details.thinking_tokens };
  return out;
}

/** OpenAI usage → Anthropic usage (the inverse of {@link openaiUsageOf}; cache writes are not reported by OpenAI). */
export function anthropicUsageOf(u: JsonObject): JsonObject {
  const details = isObject(u.prompt_tokens_details) ? u.prompt_tokens_details : {};
  const cached = num(details.cached_tokens);
  const out: JsonObject = {
    input_tokens: Math.max(0, num(u.prompt_tokens) - cached),
    output_tokens: num(u.completion_tokens),
    cache_creation_input_tokens: 0,
    cache_read_input_tokens: cached,
  };
  const done = u.completion_tokens_details;
  if (isObject(done) && typeof done.reasoning_tokens === 'number')
    out.output_tokens_details = { thinking_tokens: done.reasoning_tokens };
  return out;
}

/** Anthropic's error `type` for an HTTP status (its documented table). */
export function anthropicErrorType(status: number): string {
  const table: Record<number, string> = {
    400: 'invalid_request_error',
    401: 'authentication_error',
    402: 'billing_error',
    403: 'permission_error',
    404: 'not_found_error',
    413: 'request_too_large',
    429: 'rate_limit_error',
    503: 'overloaded_error',
    504: 'timeout_error',
    529: 'overloaded_error',
  };
  return table[status] ?? (status >= 500 ? 'api_error' : 'invalid_request_error');
}

/** OpenAI's error `type`/`code` for an Anthropic error type (OpenAI SDKs branch on the status, not on these). */
function openaiErrorKind(anthropicType: string, status: number): { type: string; code: string | null } {
  if (anthropicType === 'rate_limit_error') return { type: 'rate_limit_error', code: 'rate_limit_exceeded' };
  if (anthropicType === 'authentication_error')
    return { type: 'invalid_request_error', code: 'invalid_api_key' };
  if (status >= 500 || ['api_error', 'overloaded_error', 'timeout_error'].includes(anthropicType))
    return { type: 'server_error', code: null };
  return { type: anthropicType || 'invalid_request_error', code: null };
}

/** The upstream's own error message: the JSON `error.message`, else the raw body (bounded), else the status. */
function upstreamMessage(body: unknown, raw: string, status: number): string {
  const err = isObject(body) ? body.error : undefined;
  if (isObject(err) && typeof err.message === 'string') return err.message;
  const text = raw.trim();
  return text === '' ? `upstream answered HTTP ${status}` : text.slice(0, 2000);
}

/** An OpenAI-dialect error body. */
export function openaiErrorBody(
  message: string,
  type: string,
  code: string | null,
  param: string | null = null,
) {
  return JSON.stringify({ error: { message, type, param, code } });
}

/** An Anthropic-dialect error body. */
export function anthropicErrorBody(type: string, message: string): string {
  return JSON.stringify({ type: 'error', error: { type, message } });
}

/** An Anthropic upstream error (status, raw body) as an OpenAI error body with the same message. */
export function openaiErrorFromAnthropic(status: number, raw: string): string {
  const body = parseJson(raw);
  const err = isObject(body) && isObject(body.error) ? body.error : {};
  const kind = openaiErrorKind(typeof err.type === 'string' ? err.type : anthropicErrorType(status), status);
  return openaiErrorBody(upstreamMessage(body, raw, status), kind.type, kind.code);
}

/** An OpenAI upstream error (status, raw body) as an Anthropic error body with the same message. */
export function anthropicErrorFromOpenai(status: number, raw: string): string {
  return anthropicErrorBody(anthropicErrorType(status), upstreamMessage(parseJson(raw), raw, status));
}

/**
 * The 400 body for a request a translator refused ({@link TranslationError}), in the caller's dialect: OpenAI
 * callers get the field in `param` as OpenAI does for its own invalid parameters.
 */
export function refusalBody(dialect: TranslateDialect, field: string, message: string): string {
  return dialect === 'openai'
    ? openaiErrorBody(message, 'invalid_request_error', 'unsupported_parameter', field)
    : anthropicErrorBody('invalid_request_error', message);
}
