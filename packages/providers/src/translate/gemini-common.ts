import { isObject, needObject, newId } from './common';
import type { JsonObject } from './common';
import { TranslationError } from './types';
import type { CallerRequest, NativeRequest } from './types';

/**
 * Request-side pieces both Gemini translators share (OpenAI → Gemini, Anthropic → Gemini): the native target,
 * tool-call ids, media parts, function responses and the `contents` list with Gemini's turn rules.
 */

/** One part of a Gemini `Content` (only the kinds the translators write or read). */
export interface GeminiPart {
  text?: string;
  thought?: boolean;
  thoughtSignature?: string;
  inlineData?: { mimeType: string; data: string };
  fileData?: { mimeType: string; fileUri: string };
  functionCall?: { id?: string; name: string; args?: Record<string, unknown> };
  functionResponse?: { id?: string; name: string; response: Record<string, unknown> };
}

export interface GeminiContent {
  role: 'user' | 'model';
  parts: GeminiPart[];
}

/** A refusal: `field` has no Gemini equivalent. */
export function unsupported(field: string, why = 'has no Gemini equivalent'): TranslationError {
  return new TranslationError(field, `${field} ${why}; it cannot be sent to a Gemini upstream`);
}

/**
 * The caller's request as a native Gemini request: `:generateContent`, or `:streamGenerateContent?alt=sse` when
 * the caller streams, for the caller's model as given (the gateway applies the group's redirects to the path).
 */
export function geminiRequest(req: CallerRequest, convert: (body: JsonObject) => JsonObject): NativeRequest {
  const body = needObject(req.body, 'body');
  const stream = body.stream === true;
  const { model, path, query } = geminiTarget(body, stream);
  // Named, not spread: `{ ...target, more }` takes V8's slow path on node 20 (about 3 µs per request measured).
  return { model, path, query, body: JSON.stringify(convert(body)), stream };
}

function geminiTarget(body: JsonObject, stream: boolean): { model: string; path: string; query: string } {
  const model = body.model;
  if (typeof model !== 'string' || model === '')
    throw new TranslationError('model', 'model must be a non-empty string');
  // Gemini's own SDKs accept `models/x`; the path segment is the bare id.
  const bare = model.startsWith('models/') ? model.slice('models/'.length) : model;
  const action = stream ? 'streamGenerateContent' : 'generateContent';
  return {
    model,
    path: `/v1beta/models/${encodeURIComponent(bare)}:${action}`,
    query: stream ? 'alt=sse' : '',
  };
}

/**
 * Gemini's documented placeholder for a function call whose thought signature is unknown (history written by
 * another model or by the client): Gemini 3 rejects a replayed call without one
 * (https://ai.google.dev/gemini-api/docs/thought-signatures).
 */
export const SKIP_SIGNATURE = 'skip_thought_signature_validator';

const ID_PREFIX = 'call_';
const NONCE = /^call_[A-Za-z0-9]{24}(?:_g([A-Za-z0-9_-]+))?$/;

/**
 * The caller-facing id of a Gemini function call. Gemini may give no id (older models) and attaches a thought
 * signature it must get back with the call; neither has a field in the caller's dialect, so both ride in the id
 * the caller echoes: `call_<nonce>` or `call_<nonce>_g<base64url {i: geminiId, s: signature}>`.
 */
export function callerToolId(call: { id?: string }, signature?: string): string {
  const extra: { i?: string; s?: string } = {};
  if (typeof call.id === 'string' && call.id !== '') extra.i = call.id;
  if (signature) extra.s = signature;
  const base = newId(ID_PREFIX);
  if (extra.i === undefined && extra.s === undefined) return base;
  return `${base}_g${Buffer.from(JSON.stringify(extra), 'utf8').toString('base64url')}`;
}

/** What {@link callerToolId} carried (nothing for ids this translator did not make). */
export function readToolId(id: string): { geminiId?: string; signature?: string } {
  const m = NONCE.exec(id);
  if (!m?.[1]) return {};
  try {
    const v: unknown = JSON.parse(Buffer.from(m[1], 'base64url').toString('utf8'));
    if (!isObject(v)) return {};
    const out: { geminiId?: string; signature?: string } = {};
    if (typeof v.i === 'string') out.geminiId = v.i;
    if (typeof v.s === 'string') out.signature = v.s;
    return out;
  } catch {
    return {};
  }
}

/** The caller's tool-call id of a part made here: pairs results with calls when ordering a turn. */
const callerIds = new WeakMap<GeminiPart, string>();

/** A replayed function call: the Gemini id and thought signature its caller id carries. */
export function functionCallPart(id: string, name: string, args: JsonObject): GeminiPart {
  const known = readToolId(id);
  const part: GeminiPart = { functionCall: { name, args } };
  if (known.geminiId !== undefined) part.functionCall = { id: known.geminiId, name, args };
  if (known.signature !== undefined) part.thoughtSignature = known.signature;
  callerIds.set(part, id);
  return part;
}

/**
 * A tool result as Gemini's `functionResponse.response` (an object): a JSON object result as is, anything else
 * as `{result: "<text>"}` (or `{error: "<text>"}` for a result flagged as an error) — the wrapping Gemini's docs
 * use for plain values.
 */
export function functionResponsePart(
  callId: string,
  name: string,
  result: string,
  isError = false,
): GeminiPart {
  let response: JsonObject | undefined;
  if (!isError) {
    try {
      const v: unknown = JSON.parse(result);
      if (isObject(v)) response = v;
    } catch {
      // Plain text: wrapped below.
    }
  }
  response ??= isError ? { error: result } : { result };
  const geminiId = readToolId(callId).geminiId;
  const part: GeminiPart = {
    functionResponse: geminiId === undefined ? { name, response } : { id: geminiId, name, response },
  };
  callerIds.set(part, callId);
  return part;
}

/** A Map, not an object: a URL's extension must not reach `Object.prototype` keys. */
const IMAGE_EXT = new Map<string, string>([
  ['png', 'image/png'],
  ['jpg', 'image/jpeg'],
  ['jpeg', 'image/jpeg'],
  ['webp', 'image/webp'],
  ['gif', 'image/gif'],
  ['heic', 'image/heic'],
  ['heif', 'image/heif'],
  ['pdf', 'application/pdf'],
]);
const DATA_URL = /^data:([^;,]+)(?:;[^,]*)?;base64,(.*)$/s;

/** The MIME type an http(s) URL's file extension names, if any. */
function mimeOfUrl(url: URL): string | undefined {
  const ext = /\.([A-Za-z0-9]+)$/.exec(url.pathname)?.[1]?.toLowerCase();
  return ext === undefined ? undefined : IMAGE_EXT.get(ext);
}

/**
 * A media URL as a Gemini part: a base64 `data:` URL inline; an http(s) URL as `fileData` — Gemini fetches public
 * and signed URLs itself (https://blog.google/innovation-and-ai/technology/developers-tools/gemini-api-new-file-limits)
 * but needs the MIME type, so the URL's extension must name one. Anything else is refused naming `field`.
 */
export function mediaPart(url: string, field: string, mimeType?: string): GeminiPart {
  const data = DATA_URL.exec(url);
  if (data?.[1] !== undefined && data[2] !== undefined)
    return { inlineData: { mimeType: data[1], data: data[2] } };
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new TranslationError(field, `${field} must be a base64 data: URL or an http(s) URL`);
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:')
    throw new TranslationError(field, `${field} must be a base64 data: URL or an http(s) URL`);
  const mime = mimeType ?? mimeOfUrl(parsed);
  if (mime === undefined)
    throw new TranslationError(
      field,
      `${field}: Gemini needs the file's MIME type and the URL's extension names none; send it as a base64 data: URL`,
    );
  return { fileData: { mimeType: mime, fileUri: url } };
}

/**
 * Builds `contents` under Gemini's turn rules: consecutive turns of one role become one turn (tool results that
 * OpenAI sends as separate `tool` messages, a user message after them), function responses come in the order of
 * the calls they answer, and a replayed model turn with calls but no thought signature gets
 * {@link SKIP_SIGNATURE} on its first call.
 */
export class ContentList {
  private readonly turns: GeminiContent[] = [];

  add(role: GeminiContent['role'], parts: GeminiPart[]): void {
    if (parts.length === 0) return;
    const last = this.turns[this.turns.length - 1];
    if (last?.role === role) last.parts.push(...parts);
    else this.turns.push({ role, parts: [...parts] });
  }

  done(): GeminiContent[] {
    for (let i = 0; i < this.turns.length; i++) {
      const turn = this.turns[i];
      if (turn?.role !== 'model') continue;
      const calls = turn.parts.filter((p) => p.functionCall);
      const first = calls[0];
      if (first && !calls.some((p) => p.thoughtSignature)) first.thoughtSignature = SKIP_SIGNATURE;
      const next = this.turns[i + 1];
      if (next?.role === 'user') next.parts = answersInCallOrder(calls, next.parts);
    }
    return this.turns;
  }
}

/**
 * Function responses sorted by the order of the `calls` they answer (Gemini pairs them by position when there
 * are no ids), then the turn's other parts.
 */
function answersInCallOrder(calls: GeminiPart[], parts: GeminiPart[]): GeminiPart[] {
  const answers = parts.filter((p) => p.functionResponse);
  if (answers.length < 2) return parts;
  const rest = parts.filter((p) => !p.functionResponse);
  const sorted: GeminiPart[] = [];
  for (const call of calls) {
    const id = callerIds.get(call);
    const i = answers.findIndex((a) => callerIds.get(a) === id);
    if (i >= 0) sorted.push(...answers.splice(i, 1));
  }
  return [...sorted, ...answers, ...rest];
}

/** A `GenerateContentRequest` from its converted pieces, leaving out the empty ones. */
export function generateContentBody(p: {
  system: GeminiPart[];
  contents: GeminiContent[];
  tools: JsonObject[] | undefined;
  toolConfig: JsonObject | undefined;
  config: JsonObject;
}): JsonObject {
  const out: JsonObject = { contents: p.contents };
  if (p.system.length > 0) out.systemInstruction = { parts: p.system };
  if (p.tools) out.tools = p.tools;
  if (p.toolConfig) out.toolConfig = p.toolConfig;
  if (Object.keys(p.config).length > 0) out.generationConfig = p.config;
  return out;
}

/** `generationConfig` keys whose value is copied as given when the caller sets them. */
export function copyNumbers(body: JsonObject, into: JsonObject, map: Readonly<Record<string, string>>): void {
  for (const [from, to] of Object.entries(map)) {
    const v = body[from];
    if (v === undefined || v === null) continue;
    if (typeof v !== 'number') throw new TranslationError(from, `${from} must be a number`);
    into[to] = v;
  }
}

/** `tool_choice` mode in Gemini terms. */
export function callingConfig(
  mode: 'AUTO' | 'ANY' | 'NONE',
  only?: string,
): { functionCallingConfig: JsonObject } {
  return {
    functionCallingConfig: only === undefined ? { mode } : { mode, allowedFunctionNames: [only] },
  };
}
