const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COLON = 0x3a;

function isSpace(b: number | undefined): boolean {
  return b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09;
}

function skipSpace(buf: Buffer, i: number, end: number): number {
  while (i < end && isSpace(buf[i])) i++;
  return i;
}

/**
 * Bytes of a string looked at one by one before the rest is left to `indexOf`: most strings in a body (field
 * names, roles, models) are shorter, and a native call costs more than walking them; long ones still get memchr.
 */
const SHORT_STRING = 32;

/** Index of the quote that closes the string whose opening quote is at `open`, or -1. */
function stringEnd(buf: Buffer, open: number, end: number): number {
  let from = open + 1;
  const walked = Math.min(end, from + SHORT_STRING);
  for (; from < walked; from++) {
    const b = buf[from];
    if (b === QUOTE) return from;
    // An escape skips the byte it escapes (an escaped quote or backslash does not end or begin anything).
    if (b === BACKSLASH) from++;
  }
  for (;;) {
    const at = buf.indexOf(QUOTE, from);
    if (at < 0 || at >= end) return -1;
    // An odd run of backslashes escapes this quote; an even run escapes only itself.
    let slashes = 0;
    for (let j = at - 1; j > open && buf[j] === BACKSLASH; j--) slashes++;
    if (slashes % 2 === 0) return at;
    from = at + 1;
  }
}

/** Field names as bytes, made once per name (the gateway peeks at a handful of names). */
const needles = new Map<string, Buffer>();

function needleOf(name: string): Buffer {
  let needle = needles.get(name);
  if (!needle) {
    needle = Buffer.from(name, 'utf8');
    if (needles.size < 64) needles.set(name, needle);
  }
  return needle;
}

/** Whether `buf` holds `needle` at `at` (a field name: a loop this short costs less than `Buffer.compare`). */
function bytesAt(buf: Buffer, at: number, needle: Buffer): boolean {
  for (let k = 0; k < needle.length; k++) if (buf[at + k] !== needle[k]) return false;
  return true;
}

/**
 * Index of the first byte of the value of top-level field `name`, or -1. A byte scan, not a parse: strings are
 * skipped with `indexOf`, so nested objects and string values that merely contain `"name": …` (escaped quotes
 * in a chat message, a tool schema's `"stream"` property) never match, and the body is never materialised.
 */
function topLevelValue(buf: Buffer, name: string, limit: number): number {
  const end = Math.min(buf.length, limit);
  const needle = needleOf(name);
  // A name that occurs nowhere (the usual case for optional fields) costs one native search, not a scan.
  const first = (end < buf.length ? buf.subarray(0, end) : buf).indexOf(needle);
  if (first < 0) return -1;
  let i = skipSpace(buf, 0, end);
  if (buf[i] !== 0x7b /* { */) return -1;
  let depth = 0;
  while (i < end) {
    const b = buf[i];
    if (b === QUOTE) {
      const close = stringEnd(buf, i, end);
      if (close < 0) return -1;
      const after = skipSpace(buf, close + 1, end);
      if (
        depth === 1 &&
        buf[after] === COLON &&
        close - i - 1 === needle.length &&
        bytesAt(buf, i + 1, needle)
      )
        return skipSpace(buf, after + 1, end);
      i = close + 1;
      continue;
    }
    if (b === 0x7b || b === 0x5b /* { [ */) depth++;
    else if (b === 0x7d || b === 0x5d /* } ] */) {
      depth--;
      if (depth === 0) return -1;
    }
    i++;
  }
  return -1;
}

/**
 * Reads a top-level string field from a JSON object body without parsing it. Bodies are often large (long chat
 * histories) and the gateway must not parse them on the hot path just to log the model.
 */
export function peekJsonString(
  body: Buffer | null,
  name: string,
  limit = Number.POSITIVE_INFINITY,
): string | null {
  if (!body || body.length === 0) return null;
  const at = topLevelValue(body, name, limit);
  if (at < 0 || body[at] !== QUOTE) return null;
  const close = stringEnd(body, at, Math.min(body.length, limit));
  if (close < 0) return null;
  const raw = body.toString('utf8', at, close + 1);
  if (!raw.includes('\\')) return raw.slice(1, -1);
  try {
    // Only escaped strings pay for a parse, and only of the value itself.
    const value: unknown = JSON.parse(raw);
    return typeof value === 'string' ? value : null;
  } catch {
    return null;
  }
}

/** Whether a JSON object body has top-level `"name": true` (same cheap scan as `peekJsonString`). */
export function peekJsonTrue(body: Buffer | null, name: string, limit = Number.POSITIVE_INFINITY): boolean {
  if (!body || body.length === 0) return false;
  const at = topLevelValue(body, name, limit);
  if (at < 0 || at + 4 > body.length) return false;
  if (body.toString('latin1', at, at + 4) !== 'true') return false;
  const next = body[at + 4];
  return next === undefined || next === 0x2c || next === 0x7d || isSpace(next);
}

/** End (exclusive) of the JSON value whose first byte is at `at` (strings skipped, brackets matched), or -1. */
function valueEnd(buf: Buffer, at: number, end: number): number {
  const first = buf[at];
  if (first === QUOTE) {
    const close = stringEnd(buf, at, end);
    return close < 0 ? -1 : close + 1;
  }
  if (first === 0x7b || first === 0x5b /* { [ */) {
    let depth = 0;
    let i = at;
    while (i < end) {
      const b = buf[i];
      if (b === QUOTE) {
        const close = stringEnd(buf, i, end);
        if (close < 0) return -1;
        i = close + 1;
        continue;
      }
      if (b === 0x7b || b === 0x5b) depth++;
      else if ((b === 0x7d || b === 0x5d) /* } ] */ && --depth === 0) return i + 1;
      i++;
    }
    return -1;
  }
  // A number, true, false or null: up to the next delimiter.
  let i = at;
  while (i < end) {
    const b = buf[i];
    if (b === 0x2c || b === 0x7d || b === 0x5d || isSpace(b)) break;
    i++;
  }
  return i > at ? i : -1;
}

/** A value peeked from a body: `ok: false` when its bytes are not JSON. */
export type Peeked = { ok: true; value: unknown } | { ok: false };

const MALFORMED: Peeked = { ok: false };

/** What {@link parseSlice} answers for bytes that are not JSON (no parse yields a symbol). */
const NOT_JSON: unique symbol = Symbol('not JSON');

/** The value of a slice, or NOT_JSON: no wrapper object per value (a conversation's turns are parsed per request). */
function parseSlice(buf: Buffer, from: number, to: number): unknown {
  try {
    return JSON.parse(buf.toString('utf8', from, to)) as unknown;
  } catch {
    return NOT_JSON;
  }
}

/**
 * The value of top-level field `name` of a JSON object body, parsed on its own (the rest of the body is only
 * scanned); `undefined` when the field is absent, `ok: false` when its bytes are not JSON.
 */
export function peekJsonValue(body: Buffer | null, name: string): Peeked | undefined {
  if (!body || body.length === 0) return undefined;
  const at = topLevelValue(body, name, body.length);
  if (at < 0) return undefined;
  const stop = valueEnd(body, at, body.length);
  const value = stop < 0 ? NOT_JSON : parseSlice(body, at, stop);
  return value === NOT_JSON ? MALFORMED : { ok: true, value };
}

/**
 * Visits the elements of top-level array field `name` in order, each parsed on its own, until `visit` returns
 * true: a reader of a conversation's first turns never parses the rest of its history. `visit` is also told where
 * the element's bytes end. `stopBefore`, when given, sees each element's bytes `[from, to)` first and ends the walk
 * there, unparsed, by returning true (a reader that knows these bytes already). `'absent'` when the field is
 * missing or not an array, `'malformed'` when an element visited (or the array up to it) is not JSON.
 */
export function eachJsonArrayElement(
  body: Buffer | null,
  name: string,
  visit: (value: unknown, end: number) => boolean,
  stopBefore?: (from: number, to: number) => boolean,
): 'array' | 'absent' | 'malformed' {
  if (!body || body.length === 0) return 'absent';
  const end = body.length;
  const at = topLevelValue(body, name, end);
  if (at < 0 || body[at] !== 0x5b /* [ */) return 'absent';
  let i = skipSpace(body, at + 1, end);
  if (body[i] === 0x5d /* ] */) return 'array';
  for (;;) {
    const stop = valueEnd(body, i, end);
    if (stop < 0) return 'malformed';
    if (stopBefore?.(i, stop)) return 'array';
    const element = parseSlice(body, i, stop);
    if (element === NOT_JSON) return 'malformed';
    if (visit(element, stop)) return 'array';
    i = skipSpace(body, stop, end);
    if (body[i] === 0x5d) return 'array';
    if (body[i] !== 0x2c /* , */) return 'malformed';
    i = skipSpace(body, i + 1, end);
  }
}

/**
 * End (exclusive) of the first element of an array, from the element at `from` on, that is an object beginning
 * with field `key` holding the string `value`, both as written (no escapes: a byte compare cannot read them); -1
 * when an element before it is not such an object, or the array breaks off. A byte scan, no parse: a guess of
 * where a reader of a conversation's first turns stops (a later duplicate of `key` is not seen), for a caller that
 * checks it against what that reader saw (see session-id).
 */
export function elementsThrough(body: Buffer, from: number, key: string, value: string): number {
  const end = body.length;
  const keyBytes = needleOf(key);
  const valueBytes = needleOf(value);
  for (let i = from; ;) {
    const stop = valueEnd(body, i, end);
    if (stop < 0 || body[i] !== 0x7b /* { */) return -1;
    const k = skipSpace(body, i + 1, stop);
    if (body[k] !== QUOTE || body[k + keyBytes.length + 1] !== QUOTE || !bytesAt(body, k + 1, keyBytes))
      return -1;
    const colon = skipSpace(body, k + keyBytes.length + 2, stop);
    if (body[colon] !== COLON) return -1;
    const v = skipSpace(body, colon + 1, stop);
    if (body[v] === QUOTE && body[v + valueBytes.length + 1] === QUOTE && bytesAt(body, v + 1, valueBytes))
      return stop;
    i = skipSpace(body, stop, end);
    if (body[i] !== 0x2c /* , */) return -1;
    i = skipSpace(body, i + 1, end);
  }
}

/** First value of a header. */
export function headerValue(
  headers: Record<string, string | string[] | undefined>,
  name: string,
): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** Whether the query string has `name=true`. */
export function queryFlag(query: string, name: string): boolean {
  return queryParam(query, name) === 'true';
}

/** The first value of a query parameter, or null. */
export function queryParam(query: string, name: string): string | null {
  if (!query.includes(name)) return null;
  return new URLSearchParams(query).get(name);
}

/** Reads a number field from an object-like value. */
export function num(obj: unknown, key: string): number | null {
  if (typeof obj !== 'object' || obj === null) return null;
  const v = (obj as Record<string, unknown>)[key];
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

/** Reads an object field from an object-like value. */
export function field(obj: unknown, key: string): unknown {
  if (typeof obj !== 'object' || obj === null) return undefined;
  return (obj as Record<string, unknown>)[key];
}
