import { jsonString } from '@keyway/core';
import {
  needArray,
  needObject,
  needString,
  present,
  refuse,
  refuseUnknown,
  SHARED_EFFORTS,
  upstreamObject,
} from './common';
import type { JsonObject } from './common';
import { anthropicMessageJson, jsonProperty, jsonValue } from './json-text';
import { anthropicErrorFromOpenai } from './openai-anthropic-maps';
import { openaiCompletionToAnthropic, OpenaiToAnthropicStream } from './anthropic-to-openai-reply';
import type { CallerRequest, NativeRequest, Translator } from './types';

/**
 * Anthropic messages caller → OpenAI group: `/v1/messages` becomes `/v1/chat/completions`.
 *
 * Dropped on purpose (they do not change the answer): `cache_control` anywhere (OpenAI caches prompts
 * automatically), `service_tier`, `tool_result.is_error` (OpenAI tool messages have no flag; the result text
 * still says what failed), `thinking: {type: "adaptive"}` (the model decides how much to reason, which is what
 * an OpenAI reasoning model does without `reasoning_effort`; `disabled` likewise is the default), and
 * `thinking`/`redacted_thinking` blocks in the history (chat completions takes no reasoning input).
 * `max_tokens` is sent as `max_completion_tokens`, the field every current OpenAI model accepts (reasoning
 * models refuse `max_tokens`). Everything else without an OpenAI equivalent is refused:
 * `top_k`, enabled `thinking` (a token budget is not a reasoning effort), server tools, documents other than
 * base64 PDFs, images inside tool results, `container`, `mcp_servers` and other Anthropic-only fields.
 */

const KNOWN = new Set([
  'model',
  'max_tokens',
  'messages',
  'system',
  'temperature',
  'top_p',
  'top_k',
  'stop_sequences',
  'stream',
  'tools',
  'tool_choice',
  'metadata',
  'thinking',
  'output_config',
  'cache_control',
  'service_tier',
]);
const TOOL_KEYS = new Set(['name', 'description', 'input_schema', 'type', 'strict', 'cache_control']);
const OUTPUT_CONFIG_KEYS = new Set(['format', 'effort']);
const METADATA_KEYS = new Set(['user_id']);

type Part = JsonObject;

/**
 * The chat completions request made here, its fields in the order they are set (the order of its JSON text). Each
 * is set at most once, so {@link chatRequestJson} writes them in this order.
 */
export interface ChatRequest {
  model: string;
  messages: JsonObject[];
  max_completion_tokens?: unknown;
  temperature?: unknown;
  top_p?: unknown;
  stop?: unknown[];
  tools?: JsonObject[];
  tool_choice?: unknown;
  parallel_tool_calls?: boolean;
  response_format?: JsonObject;
  reasoning_effort?: string;
  user?: string;
  stream?: true;
  stream_options?: JsonObject;
}

function textOfBlocks(v: unknown, field: string): string | Part[] {
  if (typeof v === 'string') return v;
  const parts = needArray(v, field).map((x, j) => {
    const b = needObject(x, `${field}[${j}]`);
    if (b.type !== 'text') refuse(`${field}[${j}].type`, 'only text blocks can be converted here');
    return { type: 'text', text: needString(b.text, `${field}[${j}].text`) };
  });
  return parts.length === 1 && parts[0] ? parts[0].text : parts;
}

function imagePart(b: JsonObject, field: string): Part {
  const src = needObject(b.source, `${field}.source`);
  if (src.type === 'base64')
    return {
      type: 'image_url',
      image_url: { url: `data:${String(src.media_type)};base64,${String(src.data)}` },
    };
  if (src.type === 'url')
    return { type: 'image_url', image_url: { url: needString(src.url, `${field}.source.url`) } };
  return refuse(`${field}.source.type`, 'only base64 and URL images have an OpenAI equivalent');
}

function documentPart(b: JsonObject, field: string): Part {
  const src = needObject(b.source, `${field}.source`);
  if (src.type !== 'base64' || src.media_type !== 'application/pdf')
    refuse(`${field}.source.type`, 'only base64 PDF documents have an OpenAI equivalent');
  if (present(b.citations) || present(b.context))
    refuse(`${field}.citations`, 'OpenAI has no document citations');
  const filename = typeof b.title === 'string' && b.title !== '' ? b.title : 'document.pdf';
  return { type: 'file', file: { filename, file_data: `data:application/pdf;base64,${String(src.data)}` } };
}

/**
 * A user turn, appended to `out`: its tool results become `tool` messages (first, as Anthropic orders them), the
 * rest one message. Appended rather than returned: no array per turn to copy in.
 */
function pushUserMessages(out: JsonObject[], content: unknown, field: string): void {
  if (typeof content === 'string') {
    out.push({ role: 'user', content });
    return;
  }
  const parts: Part[] = [];
  needArray(content, field).forEach((x, j) => {
    const f = `${field}[${j}]`;
    const b = needObject(x, f);
    if (b.type === 'text') parts.push({ type: 'text', text: needString(b.text, `${f}.text`) });
    else if (b.type === 'image') parts.push(imagePart(b, f));
    else if (b.type === 'document') parts.push(documentPart(b, f));
    else if (b.type === 'tool_result') {
      const result = present(b.content) ? textOfBlocks(b.content, `${f}.content`) : '';
      out.push({
        role: 'tool',
        tool_call_id: needString(b.tool_use_id, `${f}.tool_use_id`),
        content: result,
      });
    } else refuse(`${f}.type`, `${String(b.type)} blocks have no OpenAI equivalent`);
  });
  if (parts.length > 0) out.push({ role: 'user', content: parts });
}

function assistantMessage(content: unknown, field: string): JsonObject {
  if (typeof content === 'string') return { role: 'assistant', content };
  const texts: Part[] = [];
  const calls: JsonObject[] = [];
  needArray(content, field).forEach((x, j) => {
    const f = `${field}[${j}]`;
    const b = needObject(x, f);
    if (b.type === 'text') texts.push({ type: 'text', text: needString(b.text, `${f}.text`) });
    else if (b.type === 'tool_use') {
      const args = JSON.stringify(needObject(b.input ?? {}, `${f}.input`));
      const name = needString(b.name, `${f}.name`);
      calls.push({ id: needString(b.id, `${f}.id`), type: 'function', function: { name, arguments: args } });
    } else if (b.type !== 'thinking' && b.type !== 'redacted_thinking')
      refuse(`${f}.type`, `${String(b.type)} blocks have no OpenAI equivalent`);
  });
  const text = texts.length === 0 ? null : texts.length === 1 && texts[0] ? texts[0].text : texts;
  return calls.length > 0
    ? { role: 'assistant', content: text, tool_calls: calls }
    : { role: 'assistant', content: text ?? '' };
}

function convertMessages(system: unknown, raw: unknown): JsonObject[] {
  const out: JsonObject[] = [];
  if (present(system)) out.push({ role: 'system', content: textOfBlocks(system, 'system') });
  needArray(raw, 'messages').forEach((x, i) => {
    const field = `messages[${i}]`;
    const m = needObject(x, field);
    if (m.role === 'user') pushUserMessages(out, m.content, `${field}.content`);
    else if (m.role === 'assistant') out.push(assistantMessage(m.content, `${field}.content`));
    else if (m.role === 'system')
      out.push({ role: 'system', content: textOfBlocks(m.content, `${field}.content`) });
    else refuse(`${field}.role`, `role ${String(m.role)} has no OpenAI equivalent`);
  });
  return out;
}

function convertTools(raw: unknown): JsonObject[] {
  return needArray(raw, 'tools').map((x, i) => {
    const t = needObject(x, `tools[${i}]`);
    if (present(t.type) && t.type !== 'custom')
      refuse(`tools[${i}].type`, `server tool ${String(t.type)} has no OpenAI chat equivalent`);
    refuseUnknown(t, TOOL_KEYS, `tools[${i}].`);
    const fn: JsonObject = { name: needString(t.name, `tools[${i}].name`) };
    if (present(t.description)) fn.description = t.description;
    fn.parameters = needObject(t.input_schema, `tools[${i}].input_schema`);
    if (t.strict === true) fn.strict = true;
    return { type: 'function', function: fn };
  });
}

function convertToolChoice(raw: JsonObject, out: ChatRequest): void {
  const c = needObject(raw, 'tool_choice');
  if (c.type === 'auto') out.tool_choice = 'auto';
  else if (c.type === 'any') out.tool_choice = 'required';
  else if (c.type === 'none') out.tool_choice = 'none';
  else if (c.type === 'tool')
    out.tool_choice = { type: 'function', function: { name: needString(c.name, 'tool_choice.name') } };
  else refuse('tool_choice.type', 'only auto, any, none or tool');
  if (c.disable_parallel_tool_use === true && present(out.tools)) out.parallel_tool_calls = false;
}

/** `output_config`: a JSON schema becomes OpenAI structured outputs, an effort OpenAI knows `reasoning_effort`. */
function convertOutputConfig(raw: unknown, out: ChatRequest): void {
  const oc = needObject(raw, 'output_config');
  refuseUnknown(oc, OUTPUT_CONFIG_KEYS, 'output_config.');
  if (present(oc.format)) {
    const f = needObject(oc.format, 'output_config.format');
    if (f.type !== 'json_schema') refuse('output_config.format.type', 'only json_schema');
    const schema = needObject(f.schema, 'output_config.format.schema');
    out.response_format = { type: 'json_schema', json_schema: { name: 'output', schema, strict: true } };
  }
  if (present(oc.effort)) {
    if (typeof oc.effort !== 'string' || !SHARED_EFFORTS.has(oc.effort))
      refuse('output_config.effort', 'OpenAI reasoning_effort has low, medium, high and xhigh only');
    out.reasoning_effort = oc.effort;
  }
}

/** The Anthropic messages request as an OpenAI chat completions request (throws TranslationError). */
export function anthropicRequestToOpenai(req: CallerRequest): NativeRequest {
  const out = chatRequestOf(req.body);
  const stream = out.stream === true;
  // The caller's query parameters belong to its dialect (Claude Code's `beta=true`): none reaches OpenAI.
  return { path: '/v1/chat/completions', query: '', body: chatRequestJson(out), stream, model: out.model };
}

/**
 * The chat completions request of an Anthropic messages body (throws TranslationError); its JSON text is
 * {@link chatRequestJson}.
 */
export function chatRequestOf(body: unknown): ChatRequest {
  const b = needObject(body, 'body');
  refuseUnknown(b, KNOWN);
  if (present(b.top_k)) refuse('top_k', 'OpenAI has no top_k sampling');
  const thinking = present(b.thinking) ? needObject(b.thinking, 'thinking').type : 'disabled';
  if (thinking !== 'disabled' && thinking !== 'adaptive')
    refuse(
      'thinking',
      'an Anthropic thinking budget has no exact OpenAI equivalent (use output_config.effort)',
    );
  const model = needString(b.model, 'model');
  const out: ChatRequest = { model, messages: convertMessages(b.system, b.messages) };
  if (present(b.max_tokens)) out.max_completion_tokens = b.max_tokens;
  if (present(b.temperature)) out.temperature = b.temperature;
  if (present(b.top_p)) out.top_p = b.top_p;
  if (present(b.stop_sequences)) out.stop = needArray(b.stop_sequences, 'stop_sequences');
  if (present(b.tools)) out.tools = convertTools(b.tools);
  if (present(b.tool_choice)) convertToolChoice(needObject(b.tool_choice, 'tool_choice'), out);
  if (present(b.output_config)) convertOutputConfig(b.output_config, out);
  if (present(b.metadata)) {
    const meta = needObject(b.metadata, 'metadata');
    refuseUnknown(meta, METADATA_KEYS, 'metadata.');
    if (present(meta.user_id)) out.user = needString(meta.user_id, 'metadata.user_id');
  }
  // Anthropic callers always get usage (message_start/message_delta), so ask OpenAI for the usage chunk.
  if (b.stream === true) {
    out.stream = true;
    out.stream_options = { include_usage: true };
  }
  return out;
}

/** A message of {@link convertMessages} (`role`, then `tool_call_id`, `content`, `tool_calls`) as JSON text. */
function chatMessageJson(m: JsonObject): string {
  const rest = jsonProperty('tool_call_id', m.tool_call_id) + jsonProperty('content', m.content);
  return `{"role":${jsonValue(m.role)}${rest}${jsonProperty('tool_calls', m.tool_calls)}}`;
}

/**
 * `JSON.stringify(out)`, the same text, written field by field: `model` and `messages` (the builder sets them
 * first), then every other field in the request's own order, so a field the builder starts to set is never left out.
 */
export function chatRequestJson(out: ChatRequest): string {
  let messages = '';
  for (const m of out.messages) messages += messages === '' ? chatMessageJson(m) : `,${chatMessageJson(m)}`;
  let rest = '';
  for (const key in out)
    if (key !== 'model' && key !== 'messages') rest += jsonProperty(key, out[key as keyof ChatRequest]);
  return `{"model":${jsonString(out.model)},"messages":[${messages}]${rest}}`;
}

/** Anthropic-speaking callers on an OpenAI group. */
export const anthropicToOpenai = {
  from: 'anthropic',
  to: 'openai',
  accepts: (method, path) => method === 'POST' && path === '/v1/messages',
  request: anthropicRequestToOpenai,
  response: (upstream, ctx) => openaiCompletionToAnthropic(upstreamObject(upstream), ctx.model),
  responseText: (upstream, ctx) =>
    anthropicMessageJson(openaiCompletionToAnthropic(upstreamObject(upstream), ctx.model)),
  error: anthropicErrorFromOpenai,
  stream: (ctx) => new OpenaiToAnthropicStream(ctx.model),
} satisfies Translator;
