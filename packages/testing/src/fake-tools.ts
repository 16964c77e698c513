/**
 * Tool calls for the fake upstream, in each provider's own wire format: a request that offers tools is answered
 * with a call of the first one (arguments {@link TOOL_ARGS}), unless its conversation already ends with a tool
 * result — then the fake answers with text as usual. Enough for an SDK's tool loop to run through a gateway.
 * Internal to `@keyway/testing`.
 */
import type { AnswerContext, FakeProvider } from './fake-wire';
import { asRecord, randomId, sseData, sseEvent, sseGemini } from './fake-wire';

type JsonRecord = Record<string, unknown>;

/** The arguments of every tool call the fake makes. */
export const TOOL_ARGS = { city: 'Paris' };

/** A tool call the fake decided to make. */
export interface FakeToolCall {
  name: string;
  id: string;
}

/** What a tool-calling answer is: a JSON body, or stream events. */
export type ToolReply = { json: unknown } | { events: string[] };

const last = (list: unknown): JsonRecord | undefined =>
  Array.isArray(list) ? asRecord(list[list.length - 1]) : undefined;

function hasPart(content: unknown, test: (part: JsonRecord) => boolean): boolean {
  return Array.isArray(content) && content.some((p) => test(asRecord(p) ?? {}));
}

/** The call to make for `body` on `provider`'s surface, or null (no tools, or a tool result came last). */
export function toolCallFor(provider: FakeProvider, body: JsonRecord): FakeToolCall | null {
  const first = Array.isArray(body.tools) ? asRecord(body.tools[0]) : undefined;
  if (!first) return null;
  let name: unknown;
  if (provider === 'anthropic') {
    if (hasPart(last(body.messages)?.content, (p) => p.type === 'tool_result')) return null;
    name = first.name;
  } else if (provider === 'gemini') {
    if (hasPart(last(body.contents)?.parts, (p) => p.functionResponse !== undefined)) return null;
    name = asRecord(
      Array.isArray(first.functionDeclarations) ? first.functionDeclarations[0] : undefined,
    )?.name;
  } else {
    if (last(body.messages)?.role === 'tool') return null;
    name = asRecord(first.function)?.name;
  }
  if (typeof name !== 'string') return null;
  return { name, id: provider === 'anthropic' ? `toolu_${randomId(12)}` : `call_${randomId(12)}` };
}

/** The tool-calling answer of an operation (chat, messages, generate, stream-generate), or null for others. */
export function toolReply(
  op: string,
  call: FakeToolCall,
  ctx: AnswerContext,
  stream: boolean,
): ToolReply | null {
  switch (op) {
    case 'chat':
      return stream ? { events: chatToolEvents(call, ctx) } : { json: chatToolCompletion(call, ctx) };
    case 'messages':
      return stream ? { events: anthropicToolEvents(call, ctx) } : { json: anthropicToolMessage(call, ctx) };
    case 'generate':
      return { json: geminiToolResponse(call, ctx) };
    case 'stream-generate':
      return { events: [sseGemini(geminiToolResponse(call, ctx))] };
    default:
      return null;
  }
}

const args = JSON.stringify(TOOL_ARGS);
/** The arguments JSON in two pieces, as streams deliver it. */
const pieces = [args.slice(0, 5), args.slice(5)];
const usageOpenai = (ctx: AnswerContext) => ({
  prompt_tokens: ctx.promptTokens,
  completion_tokens: 5,
  total_tokens: ctx.promptTokens + 5,
});

function chatToolCompletion(call: FakeToolCall, ctx: AnswerContext): JsonRecord {
  return {
    id: `chatcmpl-${randomId()}`,
    object: 'chat.completion',
    created: Math.floor(Date.now() / 1000),
    model: ctx.model,
    choices: [
      {
        index: 0,
        message: {
          role: 'assistant',
          content: null,
          refusal: null,
          tool_calls: [{ id: call.id, type: 'function', function: { name: call.name, arguments: args } }],
        },
        logprobs: null,
        finish_reason: 'tool_calls',
      },
    ],
    usage: usageOpenai(ctx),
  };
}

function chatToolEvents(call: FakeToolCall, ctx: AnswerContext): string[] {
  const id = `chatcmpl-${randomId()}`;
  const created = Math.floor(Date.now() / 1000);
  const chunk = (delta: JsonRecord, finish: string | null, extra: JsonRecord = {}) =>
    sseData({
      id,
      object: 'chat.completion.chunk',
      created,
      model: ctx.model,
      choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
      ...extra,
    });
  const first = { index: 0, id: call.id, type: 'function', function: { name: call.name, arguments: '' } };
  return [
    chunk({ role: 'assistant', content: null, tool_calls: [first] }, null),
    ...pieces.map((p) => chunk({ tool_calls: [{ index: 0, function: { arguments: p } }] }, null)),
    chunk({}, 'tool_calls'),
    sseData({
      id,
      object: 'chat.completion.chunk',
      created,
      model: ctx.model,
      choices: [],
      usage: usageOpenai(ctx),
    }),
    'data: [DONE]\n\n',
  ];
}

function anthropicToolMessage(call: FakeToolCall, ctx: AnswerContext): JsonRecord {
  return {
    id: `msg_${randomId(12)}`,
    type: 'message',
    role: 'assistant',
    model: ctx.model,
    content: [{ type: 'tool_use', id: call.id, name: call.name, input: TOOL_ARGS }],
    stop_reason: 'tool_use',
    stop_sequence: null,
    usage: { input_tokens: ctx.promptTokens, output_tokens: 5 },
  };
}

function anthropicToolEvents(call: FakeToolCall, ctx: AnswerContext): string[] {
  const message = { ...anthropicToolMessage(call, ctx), content: [], stop_reason: null };
  return [
    sseEvent('message_start', {
      type: 'message_start',
      message: { ...message, usage: { input_tokens: ctx.promptTokens, output_tokens: 1 } },
    }),
    sseEvent('content_block_start', {
      type: 'content_block_start',
      index: 0,
      content_block: { type: 'tool_use', id: call.id, name: call.name, input: {} },
    }),
    ...pieces.map((p) =>
      sseEvent('content_block_delta', {
        type: 'content_block_delta',
        index: 0,
        delta: { type: 'input_json_delta', partial_json: p },
      }),
    ),
    sseEvent('content_block_stop', { type: 'content_block_stop', index: 0 }),
    sseEvent('message_delta', {
      type: 'message_delta',
      delta: { stop_reason: 'tool_use', stop_sequence: null },
      usage: { output_tokens: 5 },
    }),
    sseEvent('message_stop', { type: 'message_stop' }),
  ];
}

function geminiToolResponse(call: FakeToolCall, ctx: AnswerContext): JsonRecord {
  return {
    candidates: [
      {
        content: { role: 'model', parts: [{ functionCall: { name: call.name, args: TOOL_ARGS } }] },
        finishReason: 'STOP',
        index: 0,
      },
    ],
    usageMetadata: {
      promptTokenCount: ctx.promptTokens,
      candidatesTokenCount: 5,
      totalTokenCount: ctx.promptTokens + 5,
    },
    modelVersion: ctx.model,
    responseId: randomId(12),
  };
}
