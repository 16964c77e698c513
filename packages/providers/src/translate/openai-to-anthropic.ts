import {
  DEFAULT_ANTHROPIC_MAX_TOKENS,
  needArray,
  needObject,
  needString,
  parseDataUrl,
  parseJson,
  present,
  refuse,
  refuseUnknown,
  SHARED_EFFORTS,
  upstreamObject,
} from './common';
import type { JsonObject } from './common';
import { chatCompletionJson } from './json-text';
import { openaiErrorFromAnthropic } from './openai-anthropic-maps';
import { anthropicMessageToOpenai, AnthropicToOpenaiStream } from './openai-to-anthropic-reply';
import type { CallerRequest, NativeRequest, Translator } from './types';

/**
 * OpenAI chat completions caller → Anthropic group: `/v1/chat/completions` becomes `/v1/messages`.
 *
 * Dropped on purpose (they do not change the completion): `store`, `metadata` (OpenAI's stored-completion
 * tags), `service_tier`, `prompt_cache_key`, `image_url.detail` (a resolution hint) and an
 * assistant message's `reasoning_content` (our own extension echoed back; Anthropic needs signed thinking
 * blocks, which cannot be rebuilt from text). Everything else without an Anthropic equivalent is refused.
 */

const HANDLED = new Set([
  'model',
  'messages',
  'max_tokens',
  'max_completion_tokens',
  'temperature',
  'top_p',
  'stop',
  'stream',
  'stream_options',
  'tools',
  'tool_choice',
  'parallel_tool_calls',
  'response_format',
  'reasoning_effort',
  'user',
  'safety_identifier',
  'n',
  'logprobs',
  'modalities',
  'presence_penalty',
  'frequency_penalty',
  'logit_bias',
]);
const DROPPED = ['store', 'metadata', 'service_tier', 'prompt_cache_key'];
const KNOWN = new Set([...HANDLED, ...DROPPED]);

type Block = JsonObject;
interface Turn {
  role: 'user' | 'assistant';
  content: string | Block[];
}

/** Refusals of request fields that only mean something when set to a non-default value. */
function refuseNonDefaults(b: JsonObject): void {
  if (present(b.n) && b.n !== 1) refuse('n', 'Anthropic returns one choice per request; n must be 1');
  if (b.logprobs === true) refuse('logprobs', 'Anthropic does not return log probabilities');
  for (const f of ['presence_penalty', 'frequency_penalty'])
    if (present(b[f]) && b[f] !== 0) refuse(f, 'Anthropic has no repetition penalties');
  if (present(b.logit_bias) && Object.keys(needObject(b.logit_bias, 'logit_bias')).length > 0)
    refuse('logit_bias', 'Anthropic has no token biases');
  if (present(b.modalities) && needArray(b.modalities, 'modalities').some((m) => m !== 'text'))
    refuse('modalities', 'Anthropic answers with text only');
  if (present(b.temperature) && (typeof b.temperature !== 'number' || b.temperature > 1))
    refuse('temperature', 'Anthropic accepts a temperature between 0 and 1');
}

/** Text content (a string or text parts) as Anthropic text blocks, one per part. */
function textBlocks(v: unknown, field: string): Block[] {
  if (typeof v === 'string') return [{ type: 'text', text: v }];
  return needArray(v, field).map((p, j) => {
    const part = needObject(p, `${field}[${j}]`);
    if (part.type !== 'text') refuse(`${field}[${j}].type`, 'only text parts are allowed here');
    return { type: 'text', text: needString(part.text, `${field}[${j}].text`) };
  });
}

function imageBlock(part: JsonObject, field: string): Block {
  const image = needObject(part.image_url, `${field}.image_url`);
  const url = needString(image.url, `${field}.image_url.url`);
  const data = parseDataUrl(url);
  if (data) return { type: 'image', source: { type: 'base64', media_type: data.mediaType, data: data.data } };
  if (/^https?:\/\//i.test(url)) return { type: 'image', source: { type: 'url', url } };
  return refuse(`${field}.image_url.url`, 'must be an http(s) URL or a base64 data URL');
}

function userContent(v: unknown, field: string): string | Block[] {
  if (typeof v === 'string') return v;
  return needArray(v, field).map((p, j) => {
    const part = needObject(p, `${field}[${j}]`);
    if (part.type === 'text') return { type: 'text', text: needString(part.text, `${field}[${j}].text`) };
    if (part.type === 'image_url') return imageBlock(part, `${field}[${j}]`);
    return refuse(`${field}[${j}].type`, `content part ${String(part.type)} has no Anthropic equivalent`);
  });
}

function assistantContent(m: JsonObject, field: string): Block[] {
  const blocks: Block[] = [];
  if (typeof m.content === 'string') {
    if (m.content !== '') blocks.push({ type: 'text', text: m.content });
  } else if (present(m.content)) {
    needArray(m.content, `${field}.content`).forEach((p, j) => {
      const part = needObject(p, `${field}.content[${j}]`);
      const text = part.type === 'text' ? part.text : part.type === 'refusal' ? part.refusal : undefined;
      if (typeof text !== 'string') refuse(`${field}.content[${j}].type`, 'only text and refusal parts');
      blocks.push({ type: 'text', text });
    });
  }
  // A refusal the caller echoes back (`messages.push(completion.message)`) is what the assistant said.
  if (typeof m.refusal === 'string' && m.refusal !== '') blocks.push({ type: 'text', text: m.refusal });
  if (present(m.tool_calls))
    needArray(m.tool_calls, `${field}.tool_calls`).forEach((c, j) => {
      const f = `${field}.tool_calls[${j}]`;
      const call = needObject(c, f);
      if (present(call.type) && call.type !== 'function') refuse(`${f}.type`, 'only function calls');
      const fn = needObject(call.function, `${f}.function`);
      const args = needString(fn.arguments, `${f}.function.arguments`);
      const input = args.trim() === '' ? {} : parseJson(args);
      if (!present(input) || typeof input !== 'object' || Array.isArray(input))
        refuse(`${f}.function.arguments`, 'must be a JSON object');
      blocks.push({ type: 'tool_use', id: needString(call.id, `${f}.id`), name: fn.name, input });
    });
  for (const f of ['audio', 'function_call', 'name'])
    if (present(m[f])) refuse(`${field}.${f}`, 'has no Anthropic equivalent');
  return blocks;
}

function toolResult(m: JsonObject, field: string): Block {
  const content = typeof m.content === 'string' ? m.content : textBlocks(m.content, `${field}.content`);
  return { type: 'tool_result', tool_use_id: needString(m.tool_call_id, `${field}.tool_call_id`), content };
}

/** Appends a turn, merging it into the previous one of the same role (Anthropic alternates user/assistant). */
function pushTurn(turns: Turn[], role: Turn['role'], content: string | Block[]): void {
  const last = turns.at(-1);
  if (last?.role !== role) {
    turns.push({ role, content });
    return;
  }
  const blocks = (c: string | Block[]): Block[] => (typeof c === 'string' ? [{ type: 'text', text: c }] : c);
  last.content = [...blocks(last.content), ...blocks(content)];
}

/** OpenAI `messages` → Anthropic `system` (all system/developer messages, in order) and alternating turns. */
function convertMessages(raw: unknown): { system: Block[]; turns: Turn[] } {
  const system: Block[] = [];
  const turns: Turn[] = [];
  needArray(raw, 'messages').forEach((x, i) => {
    const field = `messages[${i}]`;
    const m = needObject(x, field);
    if (m.role === 'system' || m.role === 'developer') {
      if (present(m.name)) refuse(`${field}.name`, 'has no Anthropic equivalent');
      system.push(...textBlocks(m.content, `${field}.content`));
    } else if (m.role === 'user') {
      if (present(m.name)) refuse(`${field}.name`, 'has no Anthropic equivalent');
      pushTurn(turns, 'user', userContent(m.content, `${field}.content`));
    } else if (m.role === 'assistant') {
      pushTurn(turns, 'assistant', assistantContent(m, field));
    } else if (m.role === 'tool') {
      pushTurn(turns, 'user', [toolResult(m, field)]);
    } else refuse(`${field}.role`, `role ${String(m.role)} has no Anthropic equivalent`);
  });
  return { system, turns };
}

function convertTools(raw: unknown): Block[] {
  return needArray(raw, 'tools').map((t, i) => {
    const tool = needObject(t, `tools[${i}]`);
    if (tool.type !== 'function')
      refuse(`tools[${i}].type`, 'only function tools have an Anthropic equivalent');
    const fn = needObject(tool.function, `tools[${i}].function`);
    const out: Block = {
      name: needString(fn.name, `tools[${i}].function.name`),
      input_schema: present(fn.parameters) ? fn.parameters : { type: 'object', properties: {} },
    };
    if (present(fn.description)) out.description = fn.description;
    if (fn.strict === true) out.strict = true;
    return out;
  });
}

/**
 * `tool_choice` and `parallel_tool_calls`. Without tools, `auto`/`none` and the parallel flag mean nothing and
 * are left out (Anthropic refuses a tool_choice without tools).
 */
function convertToolChoice(choice: unknown, parallel: unknown, hasTools: boolean): Block | undefined {
  if (!hasTools && (choice === 'auto' || choice === 'none' || !present(choice))) return undefined;
  let out: Block | undefined;
  if (choice === 'auto') out = { type: 'auto' };
  else if (choice === 'none') out = { type: 'none' };
  else if (choice === 'required') out = { type: 'any' };
  else if (present(choice)) {
    const c = needObject(choice, 'tool_choice');
    if (c.type !== 'function') refuse('tool_choice.type', 'only auto, none, required or a named function');
    const name = needString(needObject(c.function, 'tool_choice.function').name, 'tool_choice.function.name');
    out = { type: 'tool', name };
  }
  if (parallel === false && out?.type !== 'none')
    out = { ...(out ?? { type: 'auto' }), disable_parallel_tool_use: true };
  return out;
}

/**
 * `response_format` and `reasoning_effort` → Anthropic `output_config`: a JSON schema becomes structured
 * outputs (JSON mode without a schema has no Anthropic form: refused), an effort both sides name becomes
 * `effort` (`none`/`minimal` have no Anthropic level: refused).
 */
function convertOutputConfig(b: JsonObject): Block | undefined {
  const out: Block = {};
  const rf = present(b.response_format) ? needObject(b.response_format, 'response_format') : { type: 'text' };
  if (rf.type === 'json_schema') {
    const js = needObject(rf.json_schema, 'response_format.json_schema');
    out.format = { type: 'json_schema', schema: needObject(js.schema, 'response_format.json_schema.schema') };
  } else if (rf.type !== 'text')
    refuse('response_format.type', 'Anthropic has structured outputs with a JSON schema, not JSON mode');
  if (present(b.reasoning_effort)) {
    if (typeof b.reasoning_effort !== 'string' || !SHARED_EFFORTS.has(b.reasoning_effort))
      refuse('reasoning_effort', 'Anthropic effort has low, medium, high and xhigh only');
    out.effort = b.reasoning_effort;
  }
  return Object.keys(out).length > 0 ? out : undefined;
}

/** The OpenAI chat request as an Anthropic messages request (throws TranslationError naming the field). */
export function openaiRequestToAnthropic(req: CallerRequest): NativeRequest {
  const b = needObject(req.body, 'body');
  refuseUnknown(b, KNOWN);
  refuseNonDefaults(b);
  const model = needString(b.model, 'model');
  const { system, turns } = convertMessages(b.messages);
  const max = b.max_completion_tokens ?? b.max_tokens ?? DEFAULT_ANTHROPIC_MAX_TOKENS;
  const out: JsonObject = { model, max_tokens: max };
  if (system.length > 0) out.system = system;
  out.messages = turns;
  if (present(b.temperature)) out.temperature = b.temperature;
  if (present(b.top_p)) out.top_p = b.top_p;
  if (present(b.stop)) out.stop_sequences = typeof b.stop === 'string' ? [b.stop] : needArray(b.stop, 'stop');
  if (present(b.tools)) out.tools = convertTools(b.tools);
  const choice = convertToolChoice(b.tool_choice, b.parallel_tool_calls, present(b.tools));
  if (choice) out.tool_choice = choice;
  const outputConfig = convertOutputConfig(b);
  if (outputConfig) out.output_config = outputConfig;
  const user = b.user ?? b.safety_identifier;
  if (present(user))
    out.metadata = { user_id: needString(user, present(b.user) ? 'user' : 'safety_identifier') };
  const stream = b.stream === true;
  if (stream) out.stream = true;
  const opts = present(b.stream_options) ? needObject(b.stream_options, 'stream_options') : {};
  const includeUsage = stream && opts.include_usage === true;
  // The caller's query parameters belong to its dialect (Azure's `api-version`…): none reaches Anthropic.
  return { path: '/v1/messages', query: '', body: JSON.stringify(out), stream, model, includeUsage };
}

/** OpenAI-speaking callers on an Anthropic group. */
export const openaiToAnthropic = {
  from: 'openai',
  to: 'anthropic',
  accepts: (method, path) => method === 'POST' && path === '/v1/chat/completions',
  request: openaiRequestToAnthropic,
  response: (upstream, ctx) => anthropicMessageToOpenai(upstreamObject(upstream), ctx.model),
  responseText: (upstream, ctx) =>
    chatCompletionJson(anthropicMessageToOpenai(upstreamObject(upstream), ctx.model)),
  error: openaiErrorFromAnthropic,
  stream: (ctx) => new AnthropicToOpenaiStream(ctx.model, ctx.includeUsage === true),
} satisfies Translator;
