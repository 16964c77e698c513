import { idFrom, isObject, newId, parseJson } from './common';
import type { JsonObject } from './common';
import { anthropicErrorFromOpenai, anthropicUsageOf, stopReasonOf } from './openai-anthropic-maps';
import { sseEvent } from './sse';
import type { SseEvent, StreamTranslator } from './types';

/**
 * OpenAI answers → an Anthropic messages caller: a `chat.completion` becomes a Message, the chunk stream becomes
 * message_start, content blocks (text, thinking, tool_use), message_delta and message_stop.
 *
 * Reasoning: `reasoning_content` (or `reasoning`, as some OpenAI-compatible servers name it) becomes a `thinking`
 * block with an empty signature — there is none to give; a caller sending that block back has it dropped by the
 * request translator, so it never reaches an upstream that would check it. A `refusal` becomes a text block and
 * stop reason `refusal`.
 */

function text(v: unknown): string {
  if (typeof v === 'string') return v;
  if (!Array.isArray(v)) return '';
  return v.map((p) => (isObject(p) && typeof p.text === 'string' ? p.text : '')).join('');
}

function reasoningOf(o: JsonObject): string {
  return text(o.reasoning_content ?? o.reasoning);
}

/**
 * A tool call's arguments as the `input` object. OpenAI arguments that are not a JSON object (a call cut off by
 * `length`, whose stop reason then says `max_tokens`) become `{}`: Anthropic's `input` must be an object.
 */
function inputOf(args: unknown): JsonObject {
  const parsed = typeof args === 'string' ? parseJson(args) : undefined;
  return isObject(parsed) ? parsed : {};
}

/** An OpenAI chat completion (JSON) as an Anthropic Message answering `model`. */
export function openaiCompletionToAnthropic(c: JsonObject, model: string): JsonObject {
  const choice = Array.isArray(c.choices) && isObject(c.choices[0]) ? c.choices[0] : {};
  const msg = isObject(choice.message) ? choice.message : {};
  const content: JsonObject[] = [];
  const reasoning = reasoningOf(msg);
  if (reasoning !== '') content.push({ type: 'thinking', thinking: reasoning, signature: '' });
  const said = text(msg.content);
  if (said !== '') content.push({ type: 'text', text: said });
  const refusal = typeof msg.refusal === 'string' && msg.refusal !== '' ? msg.refusal : undefined;
  if (refusal !== undefined) content.push({ type: 'text', text: refusal });
  for (const call of Array.isArray(msg.tool_calls) ? msg.tool_calls : []) {
    if (!isObject(call)) continue;
    const fn = isObject(call.function) ? call.function : {};
    content.push({ type: 'tool_use', id: call.id, name: fn.name, input: inputOf(fn.arguments) });
  }
  return {
    id: idFrom('msg_', c.id, 'chatcmpl-'),
    type: 'message',
    role: 'assistant',
    model,
    content,
    stop_reason: refusal !== undefined ? 'refusal' : stopReasonOf(choice.finish_reason),
    stop_sequence: null,
    usage: anthropicUsageOf(isObject(c.usage) ? c.usage : {}),
  };
}

type BlockKind = 'text' | 'thinking' | 'tool';

/** One OpenAI chunk stream → Anthropic events, chunk by chunk. */
export class OpenaiToAnthropicStream implements StreamTranslator {
  private started = false;
  private open: { kind: BlockKind; index: number } | null = null;
  private nextIndex = 0;
  /** OpenAI `tool_calls[].index` → Anthropic content block index. */
  private readonly tools = new Map<number, number>();
  private finish: unknown = null;
  private refused = false;
  private usage: JsonObject = {};
  private done = false;

  constructor(private readonly model: string) {}

  get complete(): boolean {
    return this.done;
  }

  push(ev: SseEvent): string {
    if (this.done) return '';
    if (ev.data.trim() === '[DONE]') return this.stop();
    const data = parseJson(ev.data);
    if (!isObject(data)) return '';
    // A mid-stream OpenAI error has no status of its own: it reads as Anthropic's `api_error`.
    if (isObject(data.error)) return sseEvent(anthropicErrorFromOpenai(500, ev.data), 'error');
    let out = this.start(data);
    if (isObject(data.usage)) this.usage = data.usage;
    const choice = Array.isArray(data.choices) && isObject(data.choices[0]) ? data.choices[0] : undefined;
    if (!choice) return out;
    const delta = isObject(choice.delta) ? choice.delta : {};
    const reasoning = reasoningOf(delta);
    if (reasoning !== '') out += this.deltaOf('thinking', { type: 'thinking_delta', thinking: reasoning });
    const said = text(delta.content);
    if (said !== '') out += this.deltaOf('text', { type: 'text_delta', text: said });
    if (typeof delta.refusal === 'string' && delta.refusal !== '') {
      this.refused = true;
      out += this.deltaOf('text', { type: 'text_delta', text: delta.refusal });
    }
    for (const call of Array.isArray(delta.tool_calls) ? delta.tool_calls : [])
      if (isObject(call)) out += this.toolDelta(call);
    if (choice.finish_reason !== null && choice.finish_reason !== undefined) {
      this.finish = choice.finish_reason;
      out += this.close();
    }
    return out;
  }

  end(): string {
    return this.done ? event('message_stop', { type: 'message_stop' }) : '';
  }

  private start(chunk: JsonObject): string {
    if (this.started) return '';
    this.started = true;
    const message = {
      id: idFrom('msg_', chunk.id, 'chatcmpl-'),
      type: 'message',
      role: 'assistant',
      model: this.model,
      content: [],
      stop_reason: null,
      stop_sequence: null,
      usage: { input_tokens: 0, output_tokens: 0 },
    };
    return event('message_start', { type: 'message_start', message });
  }

  /** `[DONE]`: the stop reason and usage (OpenAI sends usage in the last chunk, so only now are both known). */
  private stop(): string {
    let out = this.start({});
    out += this.close();
    this.done = true;
    const stop_reason = this.refused ? 'refusal' : stopReasonOf(this.finish);
    const usage = anthropicUsageOf(this.usage);
    return (
      out +
      event('message_delta', { type: 'message_delta', delta: { stop_reason, stop_sequence: null }, usage })
    );
  }

  private deltaOf(kind: Exclude<BlockKind, 'tool'>, delta: JsonObject): string {
    let out = '';
    if (this.open?.kind !== kind) {
      out += this.close();
      const block =
        kind === 'text' ? { type: 'text', text: '' } : { type: 'thinking', thinking: '', signature: '' };
      out += this.openBlock(kind, block);
    }
    const index = this.open?.index ?? 0;
    return out + event('content_block_delta', { type: 'content_block_delta', index, delta });
  }

  private toolDelta(call: JsonObject): string {
    const at = typeof call.index === 'number' ? call.index : 0;
    const fn = isObject(call.function) ? call.function : {};
    let out = '';
    let index = this.tools.get(at);
    if (index === undefined) {
      out += this.close();
      const id = typeof call.id === 'string' ? call.id : newId('toolu_');
      out += this.openBlock('tool', { type: 'tool_use', id, name: fn.name ?? '', input: {} });
      index = this.open?.index ?? 0;
      this.tools.set(at, index);
    }
    if (typeof fn.arguments !== 'string' || fn.arguments === '') return out;
    const delta = { type: 'input_json_delta', partial_json: fn.arguments };
    return out + event('content_block_delta', { type: 'content_block_delta', index, delta });
  }

  private openBlock(kind: BlockKind, content_block: JsonObject): string {
    const index = this.nextIndex++;
    this.open = { kind, index };
    return event('content_block_start', { type: 'content_block_start', index, content_block });
  }

  private close(): string {
    if (!this.open) return '';
    const index = this.open.index;
    this.open = null;
    return event('content_block_stop', { type: 'content_block_stop', index });
  }
}

/** An Anthropic SSE event: the `event:` name equals the JSON `type`, as Anthropic sends them. */
function event(name: string, data: JsonObject): string {
  return sseEvent(JSON.stringify(data), name);
}
