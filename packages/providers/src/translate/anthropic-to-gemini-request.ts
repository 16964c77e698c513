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
 * An Anthropic messages request body as a Gemini `GenerateContentRequest`. Decisions (each one keeps the
 * request's meaning or refuses it with 400 naming the field):
 * - `system` (string or text blocks) → `systemInstruction`; `top_k` → `topK`, `stop_sequences` → `stopSequences`,
 *   `max_tokens` → `maxOutputTokens`;
 * - `thinking` → `thinkingConfig`: enabled → `{thinkingBudget: budget_tokens, includeThoughts: true}`, adaptive →
 *   the dynamic budget (-1) with thoughts, disabled → budget 0;
 * - `tool_result` → `functionResponse` named after the `tool_use` it answers; a JSON-object result as is, other
 *   text as `{result}`, and `is_error` results as `{error: "<text>"}`;
 * - dropped because they do not change the answer: every `cache_control` (a caching and billing hint; Gemini
 *   caches implicitly), `metadata` (an end-user id), `service_tier` auto/standard_only, a tool's `strict`, and
 *   `thinking`/`redacted_thinking` blocks of earlier assistant turns (Anthropic itself ignores earlier turns'
 *   thinking; Gemini reads no earlier thought text);
 * - refused: server and Anthropic-defined tools, `disable_parallel_tool_use`, file sources, images inside tool
 *   results, citations, `output_config.effort`, `container`, `mcp_servers`, `context_management`, unknown fields.
 */
export function anthropicToGeminiBody(body: JsonObject): JsonObject {
  refuseUnknown(body, KNOWN);
  const tier = body.service_tier;
  if (tier !== undefined && tier !== 'auto' && tier !== 'standard_only') throw unsupported('service_tier');
  const contents = convertMessages(needArray(body.messages, 'messages'));
  const tools = convertTools(body.tools);
  const toolConfig = convertToolChoice(body.tool_choice, tools !== undefined);
  const config = generationConfig(body);
  return generateContentBody({ system: systemParts(body.system), contents, tools, toolConfig, config });
}

const KNOWN = new Set([
  'model',
  'messages',
  'system',
  'max_tokens',
  'metadata',
  'stop_sequences',
  'stream',
  'temperature',
  'top_p',
  'top_k',
  'tools',
  'tool_choice',
  'thinking',
  'service_tier',
  'output_format',
  'output_config',
]);

function systemParts(system: unknown): GeminiPart[] {
  if (system === undefined || system === null) return [];
  if (typeof system === 'string') return system === '' ? [] : [{ text: system }];
  return needArray(system, 'system').map((b, i) => {
    const block = needObject(b, `system[${i}]`);
    if (block.type !== 'text') throw unsupported(`system[${i}].type`);
    return { text: needString(block.text, `system[${i}].text`) };
  });
}

function sourcePart(block: JsonObject, field: string): GeminiPart {
  const source = needObject(block.source, `${field}.source`);
  switch (source.type) {
    case 'base64': {
      const mimeType = needString(source.media_type, `${field}.source.media_type`);
      return { inlineData: { mimeType, data: needString(source.data, `${field}.source.data`) } };
    }
    case 'url':
      // URL documents are PDFs in Anthropic's API; an image's type comes from its URL.
      return mediaPart(
        needString(source.url, `${field}.source.url`),
        `${field}.source.url`,
        block.type === 'document' ? 'application/pdf' : undefined,
      );
    case 'text':
      if (block.type === 'document') return { text: needString(source.data, `${field}.source.data`) };
      throw unsupported(`${field}.source.type`);
    default:
      throw unsupported(`${field}.source.type`);
  }
}

/** A tool result's content as text (string or text blocks). */
function resultText(content: unknown, field: string): string {
  if (content === undefined || content === null) return '';
  if (typeof content === 'string') return content;
  return needArray(content, field)
    .map((b, j) => {
      const block = needObject(b, `${field}[${j}]`);
      if (block.type !== 'text') throw unsupported(`${field}[${j}].type`, 'inside a tool result');
      return needString(block.text, `${field}[${j}].text`);
    })
    .join('');
}

function blockPart(
  b: unknown,
  field: string,
  role: 'user' | 'assistant',
  names: Map<string, string>,
): GeminiPart | undefined {
  const block = needObject(b, field);
  // A document asking for citations (`{enabled: true}`); citations an earlier answer carried are just dropped.
  if (isObject(block.citations) && block.citations.enabled === true) throw unsupported(`${field}.citations`);
  switch (`${role}:${String(block.type)}`) {
    case 'user:text':
    case 'assistant:text': {
      const t = needString(block.text, `${field}.text`);
      return t === '' ? undefined : { text: t };
    }
    case 'user:image':
    case 'user:document':
      return sourcePart(block, field);
    case 'assistant:tool_use': {
      const id = needString(block.id, `${field}.id`);
      const name = needString(block.name, `${field}.name`);
      names.set(id, name);
      return functionCallPart(id, name, needObject(block.input, `${field}.input`));
    }
    case 'user:tool_result': {
      const id = needString(block.tool_use_id, `${field}.tool_use_id`);
      const name = names.get(id);
      if (name === undefined)
        throw new TranslationError(
          `${field}.tool_use_id`,
          `${field}.tool_use_id names no tool_use of an earlier assistant message`,
        );
      return functionResponsePart(
        id,
        name,
        resultText(block.content, `${field}.content`),
        block.is_error === true,
      );
    }
    case 'assistant:thinking':
    case 'assistant:redacted_thinking':
      return undefined;
    default:
      throw unsupported(`${field}.type`);
  }
}

function convertMessages(messages: unknown[]): GeminiContent[] {
  const contents = new ContentList();
  const names = new Map<string, string>();
  messages.forEach((m, i) => {
    const field = `messages[${i}]`;
    const msg = needObject(m, field);
    if (msg.role !== 'user' && msg.role !== 'assistant') throw unsupported(`${field}.role`);
    const role = msg.role;
    const blocks: unknown[] =
      typeof msg.content === 'string'
        ? [{ type: 'text', text: msg.content }]
        : needArray(msg.content, `${field}.content`);
    const parts: GeminiPart[] = [];
    blocks.forEach((b, j) => {
      const part = blockPart(b, `${field}.content[${j}]`, role, names);
      if (part) parts.push(part);
    });
    contents.add(role === 'user' ? 'user' : 'model', parts);
  });
  return contents.done();
}

function convertTools(tools: unknown): JsonObject[] | undefined {
  if (tools === undefined || tools === null) return undefined;
  const declarations = needArray(tools, 'tools').map((t, i) => {
    const tool = needObject(t, `tools[${i}]`);
    if (tool.type !== undefined && tool.type !== null && tool.type !== 'custom')
      throw unsupported(
        `tools[${i}].type`,
        `${JSON.stringify(tool.type)} is a server or Anthropic-defined tool`,
      );
    const decl: JsonObject = { name: needString(tool.name, `tools[${i}].name`) };
    if (tool.description !== undefined)
      decl.description = needString(tool.description, `tools[${i}].description`);
    // JSON Schema as given: Gemini validates it and answers 400 itself for what it does not support.
    decl.parametersJsonSchema = needObject(tool.input_schema, `tools[${i}].input_schema`);
    return decl;
  });
  return declarations.length === 0 ? undefined : [{ functionDeclarations: declarations }];
}

function convertToolChoice(choice: unknown, hasTools: boolean): JsonObject | undefined {
  if (choice === undefined || choice === null) return undefined;
  const c = needObject(choice, 'tool_choice');
  if (c.disable_parallel_tool_use === true)
    throw unsupported('tool_choice.disable_parallel_tool_use', 'cannot be enforced');
  if (c.type === 'none') return hasTools ? callingConfig('NONE') : undefined;
  if (c.type === 'auto') return hasTools ? callingConfig('AUTO') : undefined;
  if (!hasTools) throw new TranslationError('tool_choice', 'tool_choice requires tools');
  if (c.type === 'any') return callingConfig('ANY');
  if (c.type === 'tool') return callingConfig('ANY', needString(c.name, 'tool_choice.name'));
  throw unsupported('tool_choice.type');
}

function thinkingConfig(thinking: unknown): JsonObject | undefined {
  if (thinking === undefined || thinking === null) return undefined;
  const t = needObject(thinking, 'thinking');
  if (t.type === 'disabled') return { thinkingBudget: 0 };
  if (t.type === 'adaptive') return { thinkingBudget: -1, includeThoughts: true };
  if (t.type !== 'enabled') throw unsupported('thinking.type');
  if (typeof t.budget_tokens !== 'number')
    throw new TranslationError('thinking.budget_tokens', 'thinking.budget_tokens must be a number');
  return { thinkingBudget: t.budget_tokens, includeThoughts: true };
}

/** `output_format` (beta) or `output_config.format`: a JSON schema the answer follows. */
function outputFormat(body: JsonObject): JsonObject {
  let format: unknown = body.output_format;
  let field = 'output_format';
  if (body.output_config !== undefined && body.output_config !== null) {
    const cfg = needObject(body.output_config, 'output_config');
    for (const key of Object.keys(cfg)) if (key !== 'format') throw unsupported(`output_config.${key}`);
    format = cfg.format;
    field = 'output_config.format';
  }
  if (format === undefined || format === null) return {};
  const f = needObject(format, field);
  if (f.type !== 'json_schema') throw unsupported(`${field}.type`);
  return {
    responseMimeType: 'application/json',
    responseJsonSchema: needObject(f.schema, `${field}.schema`),
  };
}

function generationConfig(body: JsonObject): JsonObject {
  const config: JsonObject = {};
  copyNumbers(body, config, {
    temperature: 'temperature',
    top_p: 'topP',
    top_k: 'topK',
    max_tokens: 'maxOutputTokens',
  });
  if (body.stop_sequences !== undefined && body.stop_sequences !== null)
    config.stopSequences = needArray(body.stop_sequences, 'stop_sequences').map((s, i) =>
      needString(s, `stop_sequences[${i}]`),
    );
  Object.assign(config, outputFormat(body));
  const thinking = thinkingConfig(body.thinking);
  if (thinking) config.thinkingConfig = thinking;
  return config;
}
