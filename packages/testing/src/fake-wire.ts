/**
 * Wire-format builders for the fake upstream: the JSON bodies, SSE events and error shapes of OpenAI,
 * Anthropic and Gemini, close enough to the real APIs that the official SDKs accept them.
 * Internal to `@keyway/testing` (only the types are re-exported).
 */
import { randomBytes } from 'node:crypto';

/** Which API surface a request addressed. `gemini-openai` is Gemini's OpenAI-compatible surface. */
export type FakeProvider = 'openai' | 'anthropic' | 'gemini' | 'gemini-openai';

/** What a generated answer needs to know about its request. */
export interface AnswerContext {
  /** The model named by the request (echoed back). */
  model: string;
  /** The answer text, split into the pieces sent as separate stream deltas. */
  chunks: readonly string[];
  /** Deterministic token estimate of the request's input. */
  promptTokens: number;
}

/** Overrides for a provider-shaped error body. */
export interface ErrorOverrides {
  message?: string | undefined;
  /** OpenAI/Anthropic `error.type`; Gemini `error.status`. */
  type?: string | undefined;
  /** OpenAI `error.code` (`null` to send `null`). */
  code?: string | null | undefined;
  /** Gemini `RetryInfo.retryDelay` (e.g. `"30s"`), added to 429 errors. */
  retryDelay?: string | undefined;
}

type JsonRecord = Record<string, unknown>;

// ---------------------------------------------------------------------------------------------------------
// small helpers

/** Random lower-case hex id part. */
export function randomId(bytes = 12): string {
  return randomBytes(bytes).toString('hex');
}

/** Unix seconds. */
function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

/** `data: {...}\n\n` (OpenAI chat completions). */
export function sseData(payload: unknown): string {
  return `data: ${JSON.stringify(payload)}\n\n`;
}

/** `event: name\ndata: {...}\n\n` (Anthropic, OpenAI Responses). */
export function sseEvent(event: string, payload: unknown): string {
  return `event: ${event}\ndata: ${JSON.stringify(payload)}\n\n`;
}

/** `data: {...}\r\n\r\n` (Gemini `alt=sse`). */
export function sseGemini(payload: unknown): string {
  return `data: ${JSON.stringify(payload)}\r\n\r\n`;
}

/** Narrows an unknown JSON value to a plain object. */
export function asRecord(value: unknown): JsonRecord | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as JsonRecord)
    : undefined;
}

/** Collects the string leaves of a request body (skipping ids/roles/types), for token estimates. */
function collectText(value: unknown, out: string[], key = ''): void {
  if (typeof value === 'string') {
    if (!['model', 'role', 'type', 'encoding_format'].includes(key)) out.push(value);
  } else if (Array.isArray(value)) {
    for (const item of value) collectText(item, out, key);
  } else {
    const rec = asRecord(value);
    if (rec) for (const [k, v] of Object.entries(rec)) collectText(v, out, k);
  }
}

/** Deterministic token estimate: ~4 characters per token of the request's text, at least 1. */
export function estimateTokens(body: unknown): number {
  const parts: string[] = [];
  collectText(body, parts);
  return Math.max(1, Math.ceil(parts.join(' ').length / 4));
}

/** Deterministic pseudo-embedding of `text` with `dims` floats in [-1, 1]. */
export function embeddingFor(text: string, dims: number): number[] {
  let seed = 2166136261;
  for (let i = 0; i < text.length; i++) seed = Math.imul(seed ^ text.charCodeAt(i), 16777619) >>> 0;
  const values: number[] = [];
  for (let i = 0; i < dims; i++) {
    seed = Math.imul(seed ^ (seed >>> 15), 2246822507) >>> 0;
    seed = Math.imul(seed ^ (seed >>> 13), 3266489909) >>> 0;
    values.push(Math.round(((seed / 4294967295) * 2 - 1) * 1e6) / 1e6);
  }
  return values;
}

/** Float32 little-endian base64, as OpenAI returns for `encoding_format: "base64"`. */
export function floatsToBase64(values: readonly number[]): string {
  return Buffer.from(new Float32Array(values).buffer).toString('base64');
}

// ---------------------------------------------------------------------------------------------------------
// errors

const openaiDefaults: Record<number, { message: string; type: string; code: string | null }> = {
  400: { message: 'Invalid request.', type: 'invalid_request_error', code: null },
  401: { message: 'Incorrect API key provided.', type: 'invalid_request_error', code: 'invalid_api_key' },
  403: { message: 'You are not allowed to access this resource.', type: 'invalid_request_error', code: null },
  404: { message: 'The requested resource does not exist.', type: 'invalid_request_error', code: null },
  429: { message: 'Rate limit reached for requests.', type: 'requests', code: 'rate_limit_exceeded' },
  500: {
    message: 'The server had an error while processing your request.',
    type: 'server_error',
    code: null,
  },
  503: {
    message: 'The engine is currently overloaded, please try again later.',
    type: 'server_error',
    code: null,
  },
};

const anthropicDefaults: Record<number, { message: string; type: string }> = {
  400: { message: 'Invalid request.', type: 'invalid_request_error' },
  401: { message: 'invalid x-api-key', type: 'authentication_error' },
  403: {
    message: 'Your API key does not have permission to use the specified resource.',
    type: 'permission_error',
  },
  404: { message: 'The requested resource could not be found.', type: 'not_found_error' },
  413: { message: 'Request exceeds the maximum allowed number of bytes.', type: 'request_too_large' },
  429: { message: 'Number of request tokens has exceeded your rate limit.', type: 'rate_limit_error' },
  500: { message: 'Internal server error', type: 'api_error' },
  529: { message: 'Overloaded', type: 'overloaded_error' },
};

const geminiDefaults: Record<number, { message: string; status: string }> = {
  400: { message: 'Request contains an invalid argument.', status: 'INVALID_ARGUMENT' },
  401: { message: 'API key not valid. Please pass a valid API key.', status: 'UNAUTHENTICATED' },
  403: { message: 'The caller does not have permission', status: 'PERMISSION_DENIED' },
  404: { message: 'Requested entity was not found.', status: 'NOT_FOUND' },
  429: { message: 'Resource has been exhausted (e.g. check quota).', status: 'RESOURCE_EXHAUSTED' },
  500: { message: 'An internal error has occurred.', status: 'INTERNAL' },
  503: { message: 'The model is overloaded. Please try again later.', status: 'UNAVAILABLE' },
  504: { message: 'Deadline exceeded.', status: 'DEADLINE_EXCEEDED' },
};

/** `{"error":{"message","type","param":null,"code"}}` */
export function openaiError(status: number, o: ErrorOverrides = {}): JsonRecord {
  const d = openaiDefaults[status] ?? {
    message: `Upstream error ${status}.`,
    type: status >= 500 ? 'server_error' : 'invalid_request_error',
    code: null,
  };
  return {
    error: {
      message: o.message ?? d.message,
      type: o.type ?? d.type,
      param: null,
      code: o.code !== undefined ? o.code : d.code,
    },
  };
}

/** `{"type":"error","error":{"type","message"},"request_id"}` */
export function anthropicError(status: number, o: ErrorOverrides = {}): JsonRecord {
  const d = anthropicDefaults[status] ?? {
    message: `Upstream error ${status}.`,
    type: status >= 500 ? 'api_error' : 'invalid_request_error',
  };
  return {
    type: 'error',
    error: { type: o.type ?? d.type, message: o.message ?? d.message },
    request_id: `req_${randomId(12)}`,
  };
}

/** `{"error":{"code","message","status"[,"details"]}}`; 429s carry a `RetryInfo` detail. */
export function geminiError(status: number, o: ErrorOverrides = {}): JsonRecord {
  const d = geminiDefaults[status] ?? {
    message: `Upstream error ${status}.`,
    status: status >= 500 ? 'INTERNAL' : 'FAILED_PRECONDITION',
  };
  const error: JsonRecord = { code: status, message: o.message ?? d.message, status: o.type ?? d.status };
  if (status === 429) {
    error.details = [
      { '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: o.retryDelay ?? '30s' },
    ];
  } else if (status === 401 && o.message === undefined) {
    error.details = [
      {
        '@type': 'type.googleapis.com/google.rpc.ErrorInfo',
        reason: 'API_KEY_INVALID',
        domain: 'googleapis.com',
        metadata: { service: 'generativelanguage.googleapis.com' },
      },
    ];
  }
  return { error };
}

/** The error body in `provider`'s own shape (Gemini's OpenAI surface uses OpenAI's shape). */
export function providerError(provider: FakeProvider, status: number, o: ErrorOverrides = {}): JsonRecord {
  switch (provider) {
    case 'anthropic':
      return anthropicError(status, o);
    case 'gemini':
      return geminiError(status, o);
    default:
      return openaiError(status, o);
  }
}

// ---------------------------------------------------------------------------------------------------------
// OpenAI chat completions

/** A non-streaming `chat.completion`. */
export function chatCompletion(ctx: AnswerContext): JsonRecord {
  const completion = ctx.chunks.length;
  return {
    id: `chatcmpl-${randomId()}`,
    object: 'chat.completion',
    created: nowSeconds(),
    model: ctx.model,
    choices: [
      {
        index: 0,
        message: { role: 'assistant', content: ctx.chunks.join(''), refusal: null, annotations: [] },
        logprobs: null,
        finish_reason: 'stop',
      },
    ],
    usage: {
      prompt_tokens: ctx.promptTokens,
      completion_tokens: completion,
      total_tokens: ctx.promptTokens + completion,
    },
    system_fingerprint: 'fp_fake',
    service_tier: 'default',
  };
}

/** The SSE events of a streamed chat completion, ending with `data: [DONE]`. */
export function chatCompletionEvents(ctx: AnswerContext, includeUsage: boolean): string[] {
  const id = `chatcmpl-${randomId()}`;
  const created = nowSeconds();
  const chunk = (choices: unknown[], extra: JsonRecord = {}): string =>
    sseData({
      id,
      object: 'chat.completion.chunk',
      created,
      model: ctx.model,
      system_fingerprint: 'fp_fake',
      choices,
      ...(includeUsage ? { usage: null } : {}),
      ...extra,
    });
  const choice = (delta: JsonRecord, finish: string | null): JsonRecord => ({
    index: 0,
    delta,
    logprobs: null,
    finish_reason: finish,
  });
  const events = [chunk([choice({ role: 'assistant', content: '', refusal: null }, null)])];
  for (const text of ctx.chunks) events.push(chunk([choice({ content: text }, null)]));
  events.push(chunk([choice({}, 'stop')]));
  if (includeUsage) {
    const completion = ctx.chunks.length;
    events.push(
      chunk([], {
        usage: {
          prompt_tokens: ctx.promptTokens,
          completion_tokens: completion,
          total_tokens: ctx.promptTokens + completion,
        },
      }),
    );
  }
  events.push('data: [DONE]\n\n');
  return events;
}

// ---------------------------------------------------------------------------------------------------------
// OpenAI Responses API

function responseEnvelope(
  id: string,
  ctx: AnswerContext,
  createdAt: number,
  status: 'in_progress' | 'completed',
  output: unknown[],
  body: JsonRecord,
): JsonRecord {
  const completion = ctx.chunks.length;
  return {
    id,
    object: 'response',
    created_at: createdAt,
    status,
    background: false,
    error: null,
    incomplete_details: null,
    instructions: typeof body.instructions === 'string' ? body.instructions : null,
    max_output_tokens: null,
    model: ctx.model,
    output,
    parallel_tool_calls: true,
    previous_response_id: null,
    reasoning: { effort: null, summary: null },
    store: true,
    temperature: 1,
    text: { format: { type: 'text' } },
    tool_choice: 'auto',
    tools: [],
    top_p: 1,
    truncation: 'disabled',
    usage:
      status === 'completed'
        ? {
            input_tokens: ctx.promptTokens,
            input_tokens_details: { cached_tokens: 0 },
            output_tokens: completion,
            output_tokens_details: { reasoning_tokens: 0 },
            total_tokens: ctx.promptTokens + completion,
          }
        : null,
    user: null,
    metadata: {},
  };
}

function outputMessage(itemId: string, text: string, status: 'in_progress' | 'completed'): JsonRecord {
  return {
    id: itemId,
    type: 'message',
    status,
    role: 'assistant',
    content: status === 'completed' ? [outputText(text)] : [],
  };
}

function outputText(text: string): JsonRecord {
  return { type: 'output_text', text, annotations: [], logprobs: [] };
}

/** A non-streaming Responses API `response`. */
export function responseObject(ctx: AnswerContext, body: JsonRecord): JsonRecord {
  const output = [outputMessage(`msg_${randomId(24)}`, ctx.chunks.join(''), 'completed')];
  return responseEnvelope(`resp_${randomId(24)}`, ctx, nowSeconds(), 'completed', output, body);
}

/** The SSE events of a streamed Responses API call (`response.created` … `response.completed`). */
export function responseEvents(ctx: AnswerContext, body: JsonRecord): string[] {
  const id = `resp_${randomId(24)}`;
  const itemId = `msg_${randomId(24)}`;
  const createdAt = nowSeconds();
  const text = ctx.chunks.join('');
  let seq = 0;
  const ev = (type: string, payload: JsonRecord): string =>
    sseEvent(type, { type, sequence_number: seq++, ...payload });
  const events = [
    ev('response.created', { response: responseEnvelope(id, ctx, createdAt, 'in_progress', [], body) }),
    ev('response.in_progress', { response: responseEnvelope(id, ctx, createdAt, 'in_progress', [], body) }),
    ev('response.output_item.added', { output_index: 0, item: outputMessage(itemId, '', 'in_progress') }),
    ev('response.content_part.added', {
      item_id: itemId,
      output_index: 0,
      content_index: 0,
      part: outputText(''),
    }),
  ];
  for (const delta of ctx.chunks) {
    events.push(
      ev('response.output_text.delta', {
        item_id: itemId,
        output_index: 0,
        content_index: 0,
        delta,
        logprobs: [],
      }),
    );
  }
  const done = outputMessage(itemId, text, 'completed');
  events.push(
    ev('response.output_text.done', {
      item_id: itemId,
      output_index: 0,
      content_index: 0,
      text,
      logprobs: [],
    }),
    ev('response.content_part.done', {
      item_id: itemId,
      output_index: 0,
      content_index: 0,
      part: outputText(text),
    }),
    ev('response.output_item.done', { output_index: 0, item: done }),
    ev('response.completed', { response: responseEnvelope(id, ctx, createdAt, 'completed', [done], body) }),
  );
  return events;
}

// ---------------------------------------------------------------------------------------------------------
// OpenAI models / embeddings

/** `{object:"list", data:[{id, object:"model", created, owned_by}]}` */
export function openaiModelList(ids: readonly string[], ownedBy: string): JsonRecord {
  return { object: 'list', data: ids.map((id) => openaiModel(id, ownedBy)) };
}

/** Anthropic's `GET /v1/models` answer (one complete page). */
export function anthropicModelList(ids: readonly string[]): JsonRecord {
  return {
    data: ids.map((id) => ({ type: 'model', id, display_name: id, created_at: '2025-09-29T00:00:00Z' })),
    has_more: false,
    first_id: ids[0] ?? null,
    last_id: ids.at(-1) ?? null,
  };
}

/** One OpenAI model object. */
export function openaiModel(id: string, ownedBy: string): JsonRecord {
  return { id, object: 'model', created: 1700000000, owned_by: ownedBy };
}

/** An OpenAI embeddings response; `base64` answers Float32 base64 strings (the SDK's default request). */
export function openaiEmbeddings(
  model: string,
  inputs: readonly string[],
  dims: number,
  base64: boolean,
  promptTokens: number,
): JsonRecord {
  return {
    object: 'list',
    data: inputs.map((text, index) => {
      const values = embeddingFor(text, dims);
      return { object: 'embedding', index, embedding: base64 ? floatsToBase64(values) : values };
    }),
    model,
    usage: { prompt_tokens: promptTokens, total_tokens: promptTokens },
  };
}

// ---------------------------------------------------------------------------------------------------------
// Anthropic

/** A non-streaming Anthropic `message`. */
export function anthropicMessage(ctx: AnswerContext): JsonRecord {
  return {
    id: `msg_${randomId(12)}`,
    type: 'message',
    role: 'assistant',
    model: ctx.model,
    content: [{ type: 'text', text: ctx.chunks.join('') }],
    stop_reason: 'end_turn',
    stop_sequence: null,
    usage: {
      input_tokens: ctx.promptTokens,
      output_tokens: ctx.chunks.length,
      cache_creation_input_tokens: 0,
      cache_read_input_tokens: 0,
      service_tier: 'standard',
    },
  };
}

/** The SSE events of a streamed Anthropic message (`message_start` … `message_stop`). */
export function anthropicEvents(ctx: AnswerContext): string[] {
  const message = {
    id: `msg_${randomId(12)}`,
    type: 'message',
    role: 'assistant',
    model: ctx.model,
    content: [],
    stop_reason: null,
    stop_sequence: null,
    usage: {
      input_tokens: ctx.promptTokens,
      output_tokens: 1,
      cache_creation_input_tokens: 0,
      cache_read_input_tokens: 0,
      service_tier: 'standard',
    },
  };
  const events = [
    sseEvent('message_start', { type: 'message_start', message }),
    sseEvent('content_block_start', {
      type: 'content_block_start',
      index: 0,
      content_block: { type: 'text', text: '' },
    }),
    sseEvent('ping', { type: 'ping' }),
  ];
  for (const text of ctx.chunks) {
    events.push(
      sseEvent('content_block_delta', {
        type: 'content_block_delta',
        index: 0,
        delta: { type: 'text_delta', text },
      }),
    );
  }
  events.push(
    sseEvent('content_block_stop', { type: 'content_block_stop', index: 0 }),
    sseEvent('message_delta', {
      type: 'message_delta',
      delta: { stop_reason: 'end_turn', stop_sequence: null },
      usage: { output_tokens: ctx.chunks.length },
    }),
    sseEvent('message_stop', { type: 'message_stop' }),
  );
  return events;
}

// ---------------------------------------------------------------------------------------------------------
// Gemini native

function geminiUsage(ctx: AnswerContext): JsonRecord {
  return {
    promptTokenCount: ctx.promptTokens,
    candidatesTokenCount: ctx.chunks.length,
    totalTokenCount: ctx.promptTokens + ctx.chunks.length,
  };
}

/** A non-streaming `GenerateContentResponse`. */
export function geminiResponse(ctx: AnswerContext): JsonRecord {
  return {
    candidates: [
      { content: { role: 'model', parts: [{ text: ctx.chunks.join('') }] }, finishReason: 'STOP', index: 0 },
    ],
    usageMetadata: geminiUsage(ctx),
    modelVersion: ctx.model,
    responseId: randomId(12),
  };
}

/** The chunks of a streamed `GenerateContentResponse`; the last carries `finishReason` and `usageMetadata`. */
export function geminiStreamChunks(ctx: AnswerContext): JsonRecord[] {
  const responseId = randomId(12);
  return ctx.chunks.map((text, i) => {
    const last = i === ctx.chunks.length - 1;
    return {
      candidates: [
        {
          content: { role: 'model', parts: [{ text }] },
          ...(last ? { finishReason: 'STOP' } : {}),
          index: 0,
        },
      ],
      ...(last ? { usageMetadata: geminiUsage(ctx) } : {}),
      modelVersion: ctx.model,
      responseId,
    };
  });
}

/** One Gemini model resource. */
export function geminiModel(id: string): JsonRecord {
  const embedding = id.includes('embedding');
  return {
    name: `models/${id}`,
    version: '001',
    displayName: id
      .split('-')
      .map((w) => (w ? w[0]?.toUpperCase() + w.slice(1) : w))
      .join(' '),
    description: `Fake ${id}`,
    inputTokenLimit: 1048576,
    outputTokenLimit: embedding ? 1 : 65536,
    supportedGenerationMethods: embedding
      ? ['embedContent', 'countTokens']
      : ['generateContent', 'countTokens', 'createCachedContent', 'batchGenerateContent'],
  };
}

/** `GET /v1beta/models` with `pageSize`/`pageToken` paging (the token is an opaque offset). */
export function geminiModelList(
  ids: readonly string[],
  pageSize: number,
  pageToken: string | null,
): JsonRecord {
  const start = pageToken
    ? Number.parseInt(Buffer.from(pageToken, 'base64url').toString('utf8'), 10) || 0
    : 0;
  const size = pageSize > 0 ? Math.min(pageSize, 1000) : 50;
  const end = start + size;
  const page: JsonRecord = { models: ids.slice(start, end).map(geminiModel) };
  if (end < ids.length) page.nextPageToken = Buffer.from(String(end), 'utf8').toString('base64url');
  return page;
}
