import { renderOpenAiError } from '../openai/openai';
import { idFrom, isObject, parseJson } from './common';
import { callerToolId, geminiRequest } from './gemini-common';
import type { JsonObject } from './common';
import type { GeminiPart } from './gemini-common';
import { chatCompletionJson } from './json-text';
import { blockedMessage, finishClass, isLast, readGeminiError, readReply } from './gemini-reply';
import type { FinishClass, GeminiReply, GeminiUsage } from './gemini-reply';
import { openAiToGeminiBody } from './openai-to-gemini-request';
import { sseEvent } from './sse';
import type { SseEvent, StreamTranslator, Translator } from './types';

/**
 * OpenAI chat completions callers on a Gemini group. Responses: text → `content`, Gemini thought parts
 * (`thought: true`, sent when `reasoning_effort` asks for thinking) → `reasoning_content` (the field
 * DeepSeek-style clients read), function calls → `tool_calls` with ids made here, a blocked prompt → an empty
 * answer with `refusal` and finish `content_filter`. Usage: `promptTokenCount` → prompt (cached included, as
 * OpenAI counts), candidates + thoughts → completion, `cachedContentTokenCount` → `cached_tokens`,
 * `thoughtsTokenCount` → `reasoning_tokens`.
 */

const FINISH: Record<FinishClass, string> = {
  stop: 'stop',
  length: 'length',
  tool: 'tool_calls',
  filter: 'content_filter',
};

function openAiUsage(u: GeminiUsage): JsonObject {
  return {
    prompt_tokens: u.prompt,
    completion_tokens: u.output,
    total_tokens: u.prompt + u.output,
    prompt_tokens_details: { cached_tokens: u.cached },
    completion_tokens_details: { reasoning_tokens: u.reasoning },
  };
}

function toolCall(part: GeminiPart, index?: number): JsonObject | undefined {
  const call = part.functionCall;
  if (!call) return undefined;
  const out: JsonObject = {
    id: callerToolId(call, part.thoughtSignature),
    type: 'function',
    function: { name: call.name, arguments: JSON.stringify(call.args ?? {}) },
  };
  return index === undefined ? out : { index, ...out };
}

function completionId(reply: GeminiReply): string {
  return idFrom('chatcmpl-', reply.responseId, '');
}

function jsonResponse(upstream: unknown, model: string): JsonObject {
  const reply = readReply(upstream);
  let content = '';
  let reasoning = '';
  const calls: JsonObject[] = [];
  for (const part of reply.parts) {
    const call = toolCall(part);
    if (call) calls.push(call);
    else if (part.text !== undefined) {
      if (part.thought) reasoning += part.text;
      else content += part.text;
    }
  }
  const message: JsonObject = { role: 'assistant', content: content === '' ? null : content, refusal: null };
  if (reasoning !== '') message.reasoning_content = reasoning;
  if (calls.length > 0) message.tool_calls = calls;
  let finish = FINISH[finishClass(reply.finishReason, calls.length > 0)];
  if (reply.blockReason !== undefined) {
    message.refusal = blockedMessage(reply.blockReason);
    finish = 'content_filter';
  }
  const out: JsonObject = {
    id: completionId(reply),
    object: 'chat.completion',
    created: Math.floor(Date.now() / 1000),
    model,
    choices: [{ index: 0, message, finish_reason: finish, logprobs: null }],
  };
  if (reply.usage) out.usage = openAiUsage(reply.usage);
  return out;
}

/** What a stream needs of its request: the caller's model, whether it asked for `stream_options.include_usage`. */
type StreamContext = Parameters<Translator['stream']>[0];

class OpenAiStream implements StreamTranslator {
  complete = false;
  private id = '';
  private readonly created = Math.floor(Date.now() / 1000);
  private tools = 0;
  private usage: GeminiUsage | undefined;

  constructor(private readonly ctx: StreamContext) {}

  private chunk(delta: JsonObject, finish: string | null = null): string {
    const choice = { index: 0, delta, logprobs: null, finish_reason: finish };
    return sseEvent(
      JSON.stringify({
        id: this.id,
        object: 'chat.completion.chunk',
        created: this.created,
        model: this.ctx.model,
        choices: [choice],
      }),
    );
  }

  push(event: SseEvent): string {
    const reply = readReply(parseJson(event.data));
    // Anything after the finish only updates the totals the usage chunk reports.
    if (this.complete) {
      if (reply.usage) this.usage = reply.usage;
      return '';
    }
    // An error inside the stream: shown as OpenAI does, and the stream stays incomplete (the gateway breaks it).
    if (reply.error) {
      const { code, status, message } = reply.error;
      return sseEvent(renderOpenAiError(code, status ?? '', message));
    }
    let out = '';
    if (this.id === '') {
      this.id = completionId(reply);
      out += this.chunk({ role: 'assistant', content: '', refusal: null });
    }
    if (reply.usage) this.usage = reply.usage;
    for (const part of reply.parts) {
      const call = toolCall(part, this.tools);
      if (call) {
        this.tools++;
        out += this.chunk({ tool_calls: [call] });
      } else if (part.text) {
        out += this.chunk(part.thought ? { reasoning_content: part.text } : { content: part.text });
      }
    }
    if (!isLast(reply)) return out;
    this.complete = true;
    if (reply.blockReason !== undefined) {
      out += this.chunk({ refusal: blockedMessage(reply.blockReason) });
      return out + this.chunk({}, 'content_filter');
    }
    return out + this.chunk({}, FINISH[finishClass(reply.finishReason, this.tools > 0)]);
  }

  end(): string {
    if (!this.complete) return '';
    let out = '';
    if (this.ctx.includeUsage && this.usage) {
      const last = {
        id: this.id,
        object: 'chat.completion.chunk',
        created: this.created,
        model: this.ctx.model,
        choices: [],
        usage: openAiUsage(this.usage),
      };
      out += sseEvent(JSON.stringify(last));
    }
    return `${out}data: [DONE]\n\n`;
  }
}

/** Whether an OpenAI request body asks for the usage chunk at the end of a stream. */
function wantsStreamUsage(body: unknown): boolean {
  const opts = isObject(body) ? body.stream_options : undefined;
  return isObject(opts) && opts.include_usage === true;
}

/** The OpenAI → Gemini translator. */
export const openaiToGemini = {
  from: 'openai',
  to: 'gemini',
  accepts: (method: string, path: string) =>
    method === 'POST' && (path === '/v1/chat/completions' || path === '/v1/chat/completions/'),
  request: (req) => ({
    ...geminiRequest(req, openAiToGeminiBody),
    includeUsage: wantsStreamUsage(req.body),
  }),
  response: (upstream, ctx) => jsonResponse(upstream, ctx.model),
  responseText: (upstream, ctx) => chatCompletionJson(jsonResponse(upstream, ctx.model)),
  error(status, upstreamBody) {
    const e = readGeminiError(upstreamBody);
    return renderOpenAiError(status, e.status, e.message);
  },
  stream: (ctx: StreamContext) => new OpenAiStream(ctx),
} satisfies Translator;
