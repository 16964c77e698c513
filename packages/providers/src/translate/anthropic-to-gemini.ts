import { anthropic } from '../anthropic/anthropic';
import { anthropicToGeminiBody } from './anthropic-to-gemini-request';
import { callerToolId, geminiRequest } from './gemini-common';
import { idFrom, parseJson } from './common';
import { anthropicMessageJson } from './json-text';
import type { JsonObject } from './common';
import type { GeminiPart } from './gemini-common';
import { finishClass, isLast, readGeminiError, readReply } from './gemini-reply';
import type { FinishClass, GeminiReply, GeminiUsage } from './gemini-reply';
import { sseEvent } from './sse';
import type { SseEvent, StreamTranslator, Translator } from './types';

/**
 * Anthropic messages callers on a Gemini group. Responses: Gemini thought parts → `thinking` blocks (their
 * `thoughtSignature` as the block's `signature`, '' when Gemini gave none), text → `text`, function calls →
 * `tool_use` with ids made here. Stop reasons: STOP → end_turn, MAX_TOKENS → max_tokens, a call → tool_use, the
 * safety family and a blocked prompt → refusal (Gemini does not say which stop sequence matched: end_turn).
 * Usage follows Anthropic's split: `input_tokens` = prompt − cached, `cache_read_input_tokens` = cached,
 * `output_tokens` = candidates + thoughts.
 */

const STOP: Record<FinishClass, string> = {
  stop: 'end_turn',
  length: 'max_tokens',
  tool: 'tool_use',
  filter: 'refusal',
};

function anthropicUsage(u: GeminiUsage | undefined): JsonObject {
  const cached = u?.cached ?? 0;
  return {
    input_tokens: Math.max(0, (u?.prompt ?? 0) - cached),
    output_tokens: u?.output ?? 0,
    cache_creation_input_tokens: 0,
    cache_read_input_tokens: cached,
  };
}

function messageId(reply: GeminiReply): string {
  return idFrom('msg_', reply.responseId, '');
}

function toolUse(part: GeminiPart): JsonObject | undefined {
  const call = part.functionCall;
  if (!call) return undefined;
  return {
    type: 'tool_use',
    id: callerToolId(call, part.thoughtSignature),
    name: call.name,
    input: call.args ?? {},
  };
}

function stopReason(reply: GeminiReply, hasCall: boolean): string {
  return reply.blockReason !== undefined ? 'refusal' : STOP[finishClass(reply.finishReason, hasCall)];
}

function jsonResponse(upstream: unknown, model: string): JsonObject {
  const reply = readReply(upstream);
  const content: JsonObject[] = [];
  let hasCall = false;
  for (const part of reply.parts) {
    const use = toolUse(part);
    const last = content[content.length - 1];
    if (use) {
      hasCall = true;
      content.push(use);
    } else if (part.thought) {
      if (last?.type === 'thinking') last.thinking = `${String(last.thinking)}${part.text ?? ''}`;
      else content.push({ type: 'thinking', thinking: part.text ?? '', signature: '' });
      const block = content[content.length - 1];
      if (block && part.thoughtSignature) block.signature = part.thoughtSignature;
    } else if (part.text) {
      if (last?.type === 'text') last.text = `${String(last.text)}${part.text}`;
      else content.push({ type: 'text', text: part.text });
    }
  }
  return {
    id: messageId(reply),
    type: 'message',
    role: 'assistant',
    model,
    content,
    stop_reason: stopReason(reply, hasCall),
    stop_sequence: null,
    usage: anthropicUsage(reply.usage),
  };
}

/** The kind of the content block left open: text and thinking grow over chunks, a tool_use block is whole. */
type BlockKind = 'text' | 'thinking' | 'tool_use';

class AnthropicStream implements StreamTranslator {
  complete = false;
  private started = false;
  private index = -1;
  private open: BlockKind | undefined;
  private hasCall = false;

  constructor(private readonly model: string) {}

  private start(reply: GeminiReply): string {
    this.started = true;
    const message = {
      id: messageId(reply),
      type: 'message',
      role: 'assistant',
      model: this.model,
      content: [],
      stop_reason: null,
      stop_sequence: null,
      usage: { ...anthropicUsage(reply.usage), output_tokens: 0 },
    };
    return sseEvent(JSON.stringify({ type: 'message_start', message }), 'message_start');
  }

  private close(): string {
    if (this.open === undefined) return '';
    this.open = undefined;
    return sseEvent(JSON.stringify({ type: 'content_block_stop', index: this.index }), 'content_block_stop');
  }

  private begin(block: JsonObject, kind: BlockKind): string {
    const out = this.close();
    this.index++;
    this.open = kind;
    const started = { type: 'content_block_start', index: this.index, content_block: block };
    return out + sseEvent(JSON.stringify(started), 'content_block_start');
  }

  private delta(delta: JsonObject): string {
    return sseEvent(
      JSON.stringify({ type: 'content_block_delta', index: this.index, delta }),
      'content_block_delta',
    );
  }

  private part(part: GeminiPart): string {
    const use = toolUse(part);
    if (use) {
      this.hasCall = true;
      // Gemini sends a call whole: one delta with all of its arguments.
      const out =
        this.begin({ ...use, input: {} }, 'tool_use') +
        this.delta({ type: 'input_json_delta', partial_json: JSON.stringify(use.input) });
      return out + this.close();
    }
    const kind: BlockKind = part.thought ? 'thinking' : 'text';
    let out = '';
    if (part.text) {
      if (this.open !== kind) {
        out += this.begin(
          kind === 'text' ? { type: 'text', text: '' } : { type: 'thinking', thinking: '', signature: '' },
          kind,
        );
      }
      out += this.delta(
        kind === 'text'
          ? { type: 'text_delta', text: part.text }
          : { type: 'thinking_delta', thinking: part.text },
      );
    }
    if (kind === 'thinking' && part.thoughtSignature && this.open === 'thinking')
      out += this.delta({ type: 'signature_delta', signature: part.thoughtSignature });
    return out;
  }

  push(event: SseEvent): string {
    if (this.complete) return '';
    const reply = readReply(parseJson(event.data));
    // An error inside the stream: shown as Anthropic does, and the stream stays incomplete (the gateway breaks it).
    if (reply.error)
      return sseEvent(anthropic.renderError(reply.error.code, '', reply.error.message), 'error');
    let out = this.started ? '' : this.start(reply);
    for (const part of reply.parts) out += this.part(part);
    if (!isLast(reply)) return out;
    this.complete = true;
    out += this.close();
    const delta = { stop_reason: stopReason(reply, this.hasCall), stop_sequence: null };
    return (
      out +
      sseEvent(
        JSON.stringify({ type: 'message_delta', delta, usage: anthropicUsage(reply.usage) }),
        'message_delta',
      )
    );
  }

  end(): string {
    return this.complete ? sseEvent(JSON.stringify({ type: 'message_stop' }), 'message_stop') : '';
  }
}

/** The Anthropic → Gemini translator. */
export const anthropicToGemini = {
  from: 'anthropic',
  to: 'gemini',
  accepts: (method: string, path: string) =>
    method === 'POST' && (path === '/v1/messages' || path === '/v1/messages/'),
  request: (req) => geminiRequest(req, anthropicToGeminiBody),
  response: (upstream, ctx) => jsonResponse(upstream, ctx.model),
  responseText: (upstream, ctx) => anthropicMessageJson(jsonResponse(upstream, ctx.model)),
  error(status, upstreamBody) {
    return anthropic.renderError(status, '', readGeminiError(upstreamBody).message);
  },
  stream: (ctx) => new AnthropicStream(ctx.model),
} satisfies Translator;
