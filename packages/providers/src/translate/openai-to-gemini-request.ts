import { isObject, needArray, needObject, needString, refuseUnknown } from './common';
import {
  ContentList,
  callingConfig,
  copyNumbers,
  functionCallPart,
  functionResponsePart,
  generateContentBody,
  mediaPart,
  unsupported,
} from './gemini-common';
import type { JsonObject } from './common';
import type { GeminiContent, GeminiPart } from './gemini-common';
import { TranslationError } from './types';

/**
 * An OpenAI chat completions request body as a Gemini `GenerateContentRequest`. Decisions (each one keeps the
 * request's meaning or refuses it with 400 naming the field):
 * - every `system`/`developer` message, wherever it stands, becomes a part of `systemInstruction`, in order;
 * - tool results are `functionResponse` parts named after the call they answer (found by `tool_call_id` in the
 *   history); a JSON-object result is sent as is, any other as `{result: "<text>"}`;
 * - dropped because they do not change the answer: `user`, `safety_identifier`, `prompt_cache_key`, `metadata`
 *   (identifiers and cache hints), `stream_options` (read when translating the stream), a tool's `strict` flag
 *   (Gemini has none; the schema is still sent), an image's `detail`, an assistant's `reasoning_content`
 *   (Gemini reads no earlier reasoning);
 * - refused: `logprobs`/`top_logprobs`, `n` ≠ 1, `audio`/`modalities` other than text, `prediction`,
 *   `web_search_options`, `logit_bias`, legacy `functions`/`function_call`, `store: true`, `service_tier` other
 *   than auto/default, `parallel_tool_calls: false`, `verbosity`, a message `name`, file ids, unknown fields.
 */
export function openAiToGeminiBody(body: JsonObject): JsonObject {
  refuseUnsupported(body);
  const { system, contents } = convertMessages(needArray(body.messages, 'messages'));
  const tools = convertTools(body.tools);
  const toolConfig = convertToolChoice(body.tool_choice, tools !== undefined);
  return generateContentBody({ system, contents, tools, toolConfig, config: generationConfig(body) });
}

const KNOWN = new Set([
  'model',
  'messages',
  'stream',
  'stream_options',
  'temperature',
  'top_p',
  'max_tokens',
  'max_completion_tokens',
  'stop',
  'seed',
  'presence_penalty',
  'frequency_penalty',
  'tools',
  'tool_choice',
  'parallel_tool_calls',
  'response_format',
  'reasoning_effort',
  'n',
  'logprobs',
  'top_logprobs',
  'user',
  'safety_identifier',
  'prompt_cache_key',
  'metadata',
  'store',
  'service_tier',
  'modalities',
]);

function refuseUnsupported(body: JsonObject): void {
  refuseUnknown(body, KNOWN);
  if (body.logprobs === true) throw unsupported('logprobs');
  if (body.top_logprobs !== undefined && body.top_logprobs !== null) throw unsupported('top_logprobs');
  if (body.n !== undefined && body.n !== null && body.n !== 1)
    throw unsupported('n', 'other than 1 is not supported');
  if (body.store === true) throw unsupported('store');
  if (body.parallel_tool_calls === false)
    throw unsupported('parallel_tool_calls', 'false cannot be enforced');
  const tier = body.service_tier;
  if (tier !== undefined && tier !== null && tier !== 'auto' && tier !== 'default')
    throw unsupported('service_tier');
  const modalities = body.modalities;
  if (
    modalities !== undefined &&
    modalities !== null &&
    !(Array.isArray(modalities) && modalities.every((m) => m === 'text'))
  )
    throw unsupported('modalities', 'other than ["text"] is not supported');
}

/** Text of a string or an array of `{type:"text"}` parts (system, tool and assistant content). */
function plainText(content: unknown, field: string): string {
  if (typeof content === 'string') return content;
  if (content === null || content === undefined) return '';
  return needArray(content, field)
    .map((p, j) => {
      const part = needObject(p, `${field}[${j}]`);
      if (part.type === 'text' || part.type === 'refusal')
        return needString(part.type === 'text' ? part.text : part.refusal, `${field}[${j}].${part.type}`);
      throw new TranslationError(`${field}[${j}].type`, `${field}[${j}].type must be "text" here`);
    })
    .join('');
}

const AUDIO_MIME = new Map([
  ['wav', 'audio/wav'],
  ['mp3', 'audio/mp3'],
]);

function userPart(p: unknown, field: string): GeminiPart | undefined {
  const part = needObject(p, field);
  switch (part.type) {
    case 'text': {
      const t = needString(part.text, `${field}.text`);
      return t === '' ? undefined : { text: t };
    }
    case 'image_url': {
      const image = needObject(part.image_url, `${field}.image_url`);
      return mediaPart(needString(image.url, `${field}.image_url.url`), `${field}.image_url.url`);
    }
    case 'input_audio': {
      const audio = needObject(part.input_audio, `${field}.input_audio`);
      const mime = AUDIO_MIME.get(typeof audio.format === 'string' ? audio.format : '');
      if (!mime) throw unsupported(`${field}.input_audio.format`);
      return { inlineData: { mimeType: mime, data: needString(audio.data, `${field}.input_audio.data`) } };
    }
    case 'file': {
      const file = needObject(part.file, `${field}.file`);
      if (typeof file.file_data !== 'string') throw unsupported(`${field}.file.file_id`);
      return mediaPart(file.file_data, `${field}.file.file_data`);
    }
    default:
      throw unsupported(`${field}.type`);
  }
}

function userParts(content: unknown, field: string): GeminiPart[] {
  if (typeof content === 'string') return content === '' ? [] : [{ text: content }];
  const out: GeminiPart[] = [];
  needArray(content, field).forEach((p, j) => {
    const part = userPart(p, `${field}[${j}]`);
    if (part) out.push(part);
  });
  return out;
}

function assistantParts(msg: JsonObject, field: string, names: Map<string, string>): GeminiPart[] {
  for (const key of ['audio', 'function_call'])
    if (msg[key] !== undefined && msg[key] !== null) throw unsupported(`${field}.${key}`);
  const parts: GeminiPart[] = [];
  const said = plainText(msg.content, `${field}.content`);
  if (said !== '') parts.push({ text: said });
  const calls =
    msg.tool_calls === undefined || msg.tool_calls === null
      ? []
      : needArray(msg.tool_calls, `${field}.tool_calls`);
  calls.forEach((c, j) => {
    const at = `${field}.tool_calls[${j}]`;
    const call = needObject(c, at);
    if (call.type !== undefined && call.type !== 'function') throw unsupported(`${at}.type`);
    const fn = needObject(call.function, `${at}.function`);
    const id = needString(call.id, `${at}.id`);
    const name = needString(fn.name, `${at}.function.name`);
    names.set(id, name);
    parts.push(functionCallPart(id, name, jsonArgs(fn.arguments, `${at}.function.arguments`)));
  });
  return parts;
}

function jsonArgs(v: unknown, field: string): JsonObject {
  const raw = needString(v, field);
  if (raw.trim() === '') return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new TranslationError(field, `${field} must be a JSON object`);
  }
  if (!isObject(parsed)) throw new TranslationError(field, `${field} must be a JSON object`);
  return parsed;
}

function convertMessages(messages: unknown[]): { system: GeminiPart[]; contents: GeminiContent[] } {
  const system: GeminiPart[] = [];
  const contents = new ContentList();
  const names = new Map<string, string>();
  messages.forEach((m, i) => {
    const field = `messages[${i}]`;
    const msg = needObject(m, field);
    if (msg.name !== undefined && msg.role !== 'tool') throw unsupported(`${field}.name`);
    switch (msg.role) {
      case 'system':
      case 'developer': {
        const t = plainText(msg.content, `${field}.content`);
        if (t !== '') system.push({ text: t });
        break;
      }
      case 'user':
        contents.add('user', userParts(msg.content, `${field}.content`));
        break;
      case 'assistant':
        contents.add('model', assistantParts(msg, field, names));
        break;
      case 'tool': {
        const id = needString(msg.tool_call_id, `${field}.tool_call_id`);
        const name = names.get(id);
        if (name === undefined)
          throw new TranslationError(
            `${field}.tool_call_id`,
            `${field}.tool_call_id names no tool call of an earlier assistant message`,
          );
        const result = plainText(msg.content, `${field}.content`);
        contents.add('user', [functionResponsePart(id, name, result)]);
        break;
      }
      default:
        throw unsupported(`${field}.role`);
    }
  });
  return { system, contents: contents.done() };
}

function convertTools(tools: unknown): JsonObject[] | undefined {
  if (tools === undefined || tools === null) return undefined;
  const declarations = needArray(tools, 'tools').map((t, i) => {
    const tool = needObject(t, `tools[${i}]`);
    if (tool.type !== 'function') throw unsupported(`tools[${i}].type`);
    const fn = needObject(tool.function, `tools[${i}].function`);
    const decl: JsonObject = { name: needString(fn.name, `tools[${i}].function.name`) };
    if (fn.description !== undefined)
      decl.description = needString(fn.description, `tools[${i}].function.description`);
    // JSON Schema as given: Gemini validates it and answers 400 itself for what it does not support.
    if (fn.parameters !== undefined && fn.parameters !== null)
      decl.parametersJsonSchema = needObject(fn.parameters, `tools[${i}].function.parameters`);
    return decl;
  });
  return declarations.length === 0 ? undefined : [{ functionDeclarations: declarations }];
}

function convertToolChoice(choice: unknown, hasTools: boolean): JsonObject | undefined {
  if (choice === undefined || choice === null) return undefined;
  if (choice === 'none') return hasTools ? callingConfig('NONE') : undefined;
  if (choice === 'auto') return hasTools ? callingConfig('AUTO') : undefined;
  if (!hasTools) throw new TranslationError('tool_choice', 'tool_choice requires tools');
  if (choice === 'required') return callingConfig('ANY');
  const c = needObject(choice, 'tool_choice');
  if (c.type !== 'function') throw unsupported('tool_choice.type');
  const fn = needObject(c.function, 'tool_choice.function');
  return callingConfig('ANY', needString(fn.name, 'tool_choice.function.name'));
}

/** Thinking budgets Gemini's own OpenAI-compatible endpoint uses for `reasoning_effort`. */
const EFFORT_BUDGET = new Map([
  ['none', 0],
  ['low', 1024],
  ['medium', 8192],
  ['high', 24576],
]);

function generationConfig(body: JsonObject): JsonObject {
  const config: JsonObject = {};
  copyNumbers(body, config, {
    temperature: 'temperature',
    top_p: 'topP',
    max_tokens: 'maxOutputTokens',
    max_completion_tokens: 'maxOutputTokens',
    seed: 'seed',
    presence_penalty: 'presencePenalty',
    frequency_penalty: 'frequencyPenalty',
  });
  const stop = body.stop;
  if (typeof stop === 'string') config.stopSequences = [stop];
  else if (Array.isArray(stop)) config.stopSequences = stop.map((s, i) => needString(s, `stop[${i}]`));
  else if (stop !== undefined && stop !== null)
    throw new TranslationError('stop', 'stop must be a string or an array of strings');
  Object.assign(config, responseFormat(body.response_format));
  const effort = body.reasoning_effort;
  if (effort !== undefined && effort !== null) {
    const budget = typeof effort === 'string' ? EFFORT_BUDGET.get(effort) : undefined;
    if (budget === undefined)
      throw unsupported('reasoning_effort', `${JSON.stringify(effort)} has no Gemini budget`);
    config.thinkingConfig =
      budget === 0 ? { thinkingBudget: 0 } : { thinkingBudget: budget, includeThoughts: true };
  }
  return config;
}

function responseFormat(format: unknown): JsonObject {
  if (format === undefined || format === null) return {};
  const f = needObject(format, 'response_format');
  if (f.type === 'text') return {};
  if (f.type === 'json_object') return { responseMimeType: 'application/json' };
  if (f.type !== 'json_schema') throw unsupported('response_format.type');
  const spec = needObject(f.json_schema, 'response_format.json_schema');
  const schema = needObject(spec.schema, 'response_format.json_schema.schema');
  return { responseMimeType: 'application/json', responseJsonSchema: schema };
}
