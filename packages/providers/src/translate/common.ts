import { TranslationError } from './types';

/**
 * Helpers the OpenAI ⇄ Anthropic translators share: reading untrusted JSON without `any`, refusing a field,
 * ids, stop reasons, usage and error bodies in both dialects.
 */

export type JsonObject = Record<string, unknown>;

/**
 * `max_tokens` sent to Anthropic when an OpenAI caller gave neither `max_tokens` nor `max_completion_tokens`:
 * Anthropic requires it, OpenAI defaults to "as much as the model allows". 4096 is what every current Claude
 * model can produce and what the Anthropic SDK examples use; a caller wanting more says so.
 */
export const DEFAULT_ANTHROPIC_MAX_TOKENS = 4096;

/**
 * Effort levels Anthropic's `output_config.effort` and OpenAI's `reasoning_effort` both have, mapped one to one
 * (Anthropic's `max` and OpenAI's `none`/`minimal` have no counterpart).
 */
export const SHARED_EFFORTS: ReadonlySet<string> = new Set(['low', 'medium', 'high', 'xhigh']);

/** Whether a JSON value is an object (not null, not an array). */
export function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Refuses a caller field that has no equivalent on the other side (answered 400 naming `field`). */
export function refuse(field: string, why: string): never {
  throw new TranslationError(field, `${field}: ${why}`);
}

/** The value as an object, or a refusal naming `field`. */
export function needObject(v: unknown, field: string): JsonObject {
  if (!isObject(v)) refuse(field, 'must be an object');
  return v;
}

/** An upstream success body as an object; anything else is the upstream's fault, not a caller's refusal. */
export function upstreamObject(v: unknown): JsonObject {
  if (!isObject(v)) throw new Error('the upstream answered with a JSON body that is not an object');
  return v;
}

/** The value as an array, or a refusal naming `field`. */
export function needArray(v: unknown, field: string): unknown[] {
  if (!Array.isArray(v)) refuse(field, 'must be an array');
  return v;
}

/** The value as a string, or a refusal naming `field`. */
export function needString(v: unknown, field: string): string {
  if (typeof v !== 'string') refuse(field, 'must be a string');
  return v;
}

/** Whether a caller set a field to something other than "absent" (undefined or null). */
export function present(v: unknown): boolean {
  return v !== undefined && v !== null;
}

/** Refuses every key of `body` outside `known`: an unknown field could change the answer, so it is not dropped. */
export function refuseUnknown(body: JsonObject, known: ReadonlySet<string>, prefix = ''): void {
  for (const key of Object.keys(body))
    if (!known.has(key) && present(body[key]))
      refuse(prefix + key, 'has no equivalent in the upstream format');
}

/** JSON.parse that answers undefined for invalid JSON (an upstream event that is not JSON maps to nothing). */
export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

const ID_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** A fresh id in the caller's style (`chatcmpl-…`, `msg_…`), 24 random characters. */
export function newId(prefix: string): string {
  const bytes = crypto.getRandomValues(new Uint8Array(24));
  let s = prefix;
  for (const b of bytes) s += ID_ALPHABET[b % ID_ALPHABET.length];
  return s;
}

/**
 * The caller-style id for an upstream id: the upstream's own id re-prefixed (so logs on both sides correlate),
 * or a fresh one when the upstream sent none.
 */
export function idFrom(prefix: string, upstream: unknown, upstreamPrefix: string): string {
  if (typeof upstream !== 'string' || upstream === '') return newId(prefix);
  return prefix + (upstream.startsWith(upstreamPrefix) ? upstream.slice(upstreamPrefix.length) : upstream);
}

/** `data:<media type>;base64,<data>` split, or undefined when the URL is not a base64 data URL. */
export function parseDataUrl(url: string): { mediaType: string; data: string } | undefined {
  const m = /^data:([^;,]+);base64,(.*)$/s.exec(url);
  return m?.[1] !== undefined && m[2] !== undefined ? { mediaType: m[1], data: m[2] } : undefined;
}

/** A finite number, or 0 for an absent or non-numeric usage counter. */
export function num(v: unknown): number {
  return typeof v === 'number' && Number.isFinite(v) ? v : 0;
}
