import { jsonString } from '@keyway/core';
import type { JsonObject } from './common';

/**
 * JSON text of the translators' common shapes written with templates rather than `JSON.stringify` (node 20's
 * stringifier walks every object generically: ~1 µs for a small chat request or message, a template ~0.4 µs). Each
 * writer gives exactly the text `JSON.stringify` gives for the same object, property order included; whatever is
 * not the common shape is handed to `JSON.stringify` itself. The shapes are the ones the translators build, so a
 * writer and its builder change together (the tests compare both on every fixture).
 */

/**
 * Any JSON value (not undefined) as JSON text: strings, finite numbers, booleans and null without the stringifier
 * (a non-finite number is `null`, as `JSON.stringify` writes it; `${n}` is the same text as JSON's for the rest, -0
 * and 1e21 included), objects and arrays through it.
 */
export function jsonValue(v: unknown): string {
  if (typeof v === 'string') return jsonString(v);
  if (typeof v === 'number') return Number.isFinite(v) ? `${v}` : 'null';
  if (v === null) return 'null';
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  // undefined (a field a writer expects but a builder left out): `null`, never the invalid text `undefined`.
  return JSON.stringify(v) ?? 'null';
}

/** `,"name":value` for a property that is set, '' for one that is undefined (`JSON.stringify` leaves it out). */
export function jsonProperty(name: string, v: unknown): string {
  return v === undefined ? '' : `,"${name}":${jsonValue(v)}`;
}

/** A content block of an Anthropic Message the translators build (text, thinking, tool_use) as JSON text. */
function contentBlockJson(b: JsonObject): string {
  switch (b.type) {
    case 'text':
      return `{"type":"text"${jsonProperty('text', b.text)}}`;
    case 'thinking':
      return `{"type":"thinking"${jsonProperty('thinking', b.thinking)}${jsonProperty('signature', b.signature)}}`;
    case 'tool_use':
      return (
        `{"type":"tool_use"${jsonProperty('id', b.id)}` +
        `${jsonProperty('name', b.name)}${jsonProperty('input', b.input)}}`
      );
    default:
      return JSON.stringify(b);
  }
}

/** The usage of an Anthropic Message (`anthropicUsageOf` and the Gemini translator's) as JSON text. */
function anthropicUsageJson(u: JsonObject): string {
  return (
    `{"input_tokens":${jsonValue(u.input_tokens)},"output_tokens":${jsonValue(u.output_tokens)}` +
    jsonProperty('cache_creation_input_tokens', u.cache_creation_input_tokens) +
    jsonProperty('cache_read_input_tokens', u.cache_read_input_tokens) +
    jsonProperty('output_tokens_details', u.output_tokens_details) +
    '}'
  );
}

/**
 * An Anthropic Message as the translators build it (`id`, `type`, `role`, `model`, `content`, `stop_reason`,
 * `stop_sequence`, `usage`, all set) as JSON text: `JSON.stringify(m)`.
 */
export function anthropicMessageJson(m: JsonObject): string {
  let content = '';
  for (const b of m.content as JsonObject[])
    content += content === '' ? contentBlockJson(b) : `,${contentBlockJson(b)}`;
  return (
    `{"id":${jsonValue(m.id)},"type":${jsonValue(m.type)},"role":${jsonValue(m.role)},"model":${jsonValue(m.model)}` +
    `,"content":[${content}],"stop_reason":${jsonValue(m.stop_reason)},"stop_sequence":${jsonValue(m.stop_sequence)}` +
    `,"usage":${anthropicUsageJson(m.usage as JsonObject)}}`
  );
}

/** A chat completion's `message` as the translators build it (`role`, `content`, `refusal`, then the optional ones). */
function chatReplyMessageJson(m: JsonObject): string {
  return (
    `{"role":${jsonValue(m.role)},"content":${jsonValue(m.content)},"refusal":${jsonValue(m.refusal)}` +
    jsonProperty('reasoning_content', m.reasoning_content) +
    jsonProperty('tool_calls', m.tool_calls) +
    '}'
  );
}

/** A choice: `index`, `message`, then its other fields in their own order (the translators differ there). */
function chatChoiceJson(choice: JsonObject): string {
  let rest = '';
  for (const key in choice) if (key !== 'index' && key !== 'message') rest += jsonProperty(key, choice[key]);
  return `{"index":${jsonValue(choice.index)},"message":${chatReplyMessageJson(choice.message as JsonObject)}${rest}}`;
}

/**
 * An OpenAI `chat.completion` as the translators build it (`id`, `object`, `created`, `model`, one choice, then
 * `usage` when set) as JSON text: `JSON.stringify(c)`.
 */
export function chatCompletionJson(c: JsonObject): string {
  const choices = c.choices as JsonObject[];
  const choice = choices.length === 1 && choices[0] ? chatChoiceJson(choices[0]) : null;
  if (choice === null) return JSON.stringify(c);
  return (
    `{"id":${jsonValue(c.id)},"object":${jsonValue(c.object)},"created":${jsonValue(c.created)}` +
    `,"model":${jsonValue(c.model)},"choices":[${choice}]${jsonProperty('usage', c.usage)}}`
  );
}
