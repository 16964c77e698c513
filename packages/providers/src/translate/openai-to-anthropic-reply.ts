import { idFrom, isObject, newId, parseJson } from './common';
import type { JsonObject } from './common';
import { finishReasonOf, openaiErrorFromAnthropic, openaiUsageOf } from './openai-anthropic-maps';
import type { OpenAiFinishReason } from './openai-anthropic-maps';
import { sseEvent } from './sse';
import type { SseEvent, StreamTranslator } from './types';

/**
 * Anthropic answers → an OpenAI chat caller: a Message becomes a `chat.completion`, the event stream becomes
 * `chat.completion.chunk`s ending with `data: [DONE]`.
 *
 * Thinking: Anthropic `thinking` blocks become the assistant's `reasoning_content` (message and delta), the
 * field DeepSeek, vLLM and most OpenAI-compatible servers use for reasoning text; clients that do not know it
 * ignore it. Their signatures and `redacted_thinking` blocks (opaque, encrypted) have no OpenAI place and are
 * left out. Other block types (server tools) cannot occur: an OpenAI caller cannot ask for them.
 */

const nowSeconds = (): number => Math.floor(Date.now() / 1000);

function toolCallOf(block: JsonObject): JsonObject {
  const args = JSON.stringify(isObject(block.input) ? block.input : {});
  return { id: block.id, type: 'function', function: { name: block.name, arguments: args } };
}

/** An Anthropic Message (JSON) as an OpenAI chat completion answering `model`. */
export function anthropicMessageToOpenai(msg: JsonObject, model: string): JsonObject {
  let text = '';
  let reasoning = '';
  const toolCalls: JsonObject[] = [];
  for (const block of Array.isArray(msg.content) ? msg.content : []) {
    if (!isObject(block)) continue;
    if (block.type === 'text' && typeof block.text === 'string') text += block.text;
    else if (block.type === 'thinking' && typeof block.thinking === 'string') reasoning += block.thinking;
    else if (block.type === 'tool_use') toolCalls.push(toolCallOf(block));
  }
  const message: JsonObject = {
    role: 'assistant',
    content: text === '' && toolCalls.length > 0 ? null : text,
    refusal: null,
  };
  if (reasoning !== '') message.reasoning_content = reasoning;
  if (toolCalls.length > 0) message.tool_calls = toolCalls;
  return {
    id: idFrom('chatcmpl-', msg.id, 'msg_'),
    object: 'chat.completion',
    created: nowSeconds(),
    model,
    choices: [{ index: 0, message, logprobs: null, finish_reason: finishReasonOf(msg.stop_reason) }],
    usage: openaiUsageOf(isObject(msg.usage) ? msg.usage : {}),
  };
}

/** One Anthropic stream → OpenAI chunks, event by event. */
export class AnthropicToOpenaiStream implements StreamTranslator {
  private id = newId('chatcmpl-');
  private readonly created = nowSeconds();
  private usage: JsonObject = {};
  /** Anthropic block index → OpenAI `tool_calls[].index`, and whether arguments were sent for it. */
  private readonly tools = new Map<number, { index: number; args: boolean }>();
  private finished = false;
  private done = false;

  constructor(
    private readonly model: string,
    private readonly includeUsage: boolean,
  ) {}

  get complete(): boolean {
    return this.done;
  }

  push(ev: SseEvent): string {
    if (this.done) return '';
    const data = parseJson(ev.data);
    if (!isObject(data)) return '';
    switch (data.type ?? ev.event) {
      case 'message_start': {
        const m = isObject(data.message) ? data.message : {};
        this.id = idFrom('chatcmpl-', m.id, 'msg_');
        this.mergeUsage(m.usage);
        return this.chunk({ role: 'assistant', content: '' });
      }
      case 'content_block_start':
        return this.blockStart(data);
      case 'content_block_delta':
        return this.blockDelta(data);
      case 'content_block_stop':
        return this.blockStop(data);
      case 'message_delta': {
        this.mergeUsage(data.usage);
        this.finished = true;
        const delta = isObject(data.delta) ? data.delta : {};
        return this.chunk({}, finishReasonOf(delta.stop_reason));
      }
      case 'message_stop':
        return this.stop();
      case 'error':
        // Same shape as Anthropic's HTTP error body; status 0 lets the error's own type decide the kind.
        return sseEvent(openaiErrorFromAnthropic(0, ev.data));
      case 'ping':
        // Anthropic pings keep a quiet connection (long thinking) open; an SSE comment does the same for OpenAI
        // SDKs, which skip comments.
        return ': ping\n\n';
      default:
        return ''; // event types newer than this translator
    }
  }

  end(): string {
    return this.done ? sseEvent('[DONE]') : '';
  }

  private stop(): string {
    this.done = true;
    let out = this.finished ? '' : this.chunk({}, 'stop');
    if (this.includeUsage) {
      const last = this.body([]);
      last.usage = openaiUsageOf(this.usage);
      out += sseEvent(JSON.stringify(last));
    }
    return out;
  }

  private blockStart(data: JsonObject): string {
    const block = isObject(data.content_block) ? data.content_block : {};
    const at = typeof data.index === 'number' ? data.index : -1;
    if (block.type === 'tool_use') {
      const index = this.tools.size;
      this.tools.set(at, { index, args: false });
      const call = { index, id: block.id, type: 'function', function: { name: block.name, arguments: '' } };
      return this.chunk({ tool_calls: [call] });
    }
    if (block.type === 'text' && typeof block.text === 'string' && block.text !== '')
      return this.chunk({ content: block.text });
    if (block.type === 'thinking' && typeof block.thinking === 'string' && block.thinking !== '')
      return this.chunk({ reasoning_content: block.thinking });
    return '';
  }

  private blockDelta(data: JsonObject): string {
    const d = isObject(data.delta) ? data.delta : {};
    if (d.type === 'text_delta' && typeof d.text === 'string') return this.chunk({ content: d.text });
    if (d.type === 'thinking_delta' && typeof d.thinking === 'string')
      return this.chunk({ reasoning_content: d.thinking });
    const tool = this.tools.get(typeof data.index === 'number' ? data.index : -1);
    if (d.type !== 'input_json_delta' || !tool || typeof d.partial_json !== 'string' || d.partial_json === '')
      return ''; // signatures, citations
    tool.args = true;
    return this.chunk({ tool_calls: [{ index: tool.index, function: { arguments: d.partial_json } }] });
  }

  /** A tool call without parameters streams no JSON at all; OpenAI callers parse `arguments`, so send `{}`. */
  private blockStop(data: JsonObject): string {
    const tool = this.tools.get(typeof data.index === 'number' ? data.index : -1);
    if (!tool || tool.args) return '';
    tool.args = true;
    return this.chunk({ tool_calls: [{ index: tool.index, function: { arguments: '{}' } }] });
  }

  private mergeUsage(u: unknown): void {
    if (!isObject(u)) return;
    for (const [k, v] of Object.entries(u)) if (v !== null && v !== undefined) this.usage[k] = v;
  }

  /**
   * A chunk object with `choices`. Written out rather than spread from a shared base: on node 20 `{ ...base, more }`
   * takes V8's slow path (about 1 µs per chunk measured), the literal under 0.1 µs.
   */
  private body(choices: unknown[]): JsonObject {
    return {
      id: this.id,
      object: 'chat.completion.chunk',
      created: this.created,
      model: this.model,
      choices,
    };
  }

  private chunk(delta: JsonObject, finish: OpenAiFinishReason | null = null): string {
    const body = this.body([{ index: 0, delta, logprobs: null, finish_reason: finish }]);
    if (this.includeUsage) body.usage = null; // as OpenAI: every chunk but the last carries `usage: null`
    return sseEvent(JSON.stringify(body));
  }
}
