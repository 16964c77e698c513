import { randomFillSync } from 'node:crypto';

/**
 * W3C Trace Context (https://www.w3.org/TR/trace-context/): ids, `traceparent` and `tracestate` read and written
 * by hand, and span clocks. A request's trace costs a few hundred nanoseconds here, where the OpenTelemetry SDK's
 * validated context objects cost microseconds per span.
 */

/** A span's place in a trace, as `traceparent` carries it. Ids are lowercase hex. */
export interface SpanContext {
  traceId: string;
  spanId: string;
  /** Bit 0: sampled. */
  traceFlags: number;
  /** The `tracestate` to pass on (validated, '' when none). */
  traceState: string;
}

export const INVALID_TRACE_ID = '0'.repeat(32);
export const INVALID_SPAN_ID = '0'.repeat(16);

// Random 32-bit words drawn in blocks (one randomFillSync per 1024): spans keep their ids as numbers (no hex
// strings made and parsed back per span); hex is written only when a context is propagated or exported as JSON.
const WORDS = new Uint32Array(1024);
let wordsAt = WORDS.length;

/** A random 32-bit word. */
export function randomWord(): number {
  if (wordsAt === WORDS.length) {
    randomFillSync(WORDS);
    wordsAt = 0;
  }
  return WORDS[wordsAt++] as number;
}

// Each byte as two lowercase hex digits: four lookups and a concatenation are ~6x faster than toString(16) and
// padStart (which cost an unsampled request 2.5 µs when its ids were formatted eagerly).
const HEX_PAIRS = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** A 32-bit word as eight lowercase hex digits. */
export function hexWord(n: number): string {
  return (
    (HEX_PAIRS[n >>> 24] as string) +
    (HEX_PAIRS[(n >>> 16) & 0xff] as string) +
    (HEX_PAIRS[(n >>> 8) & 0xff] as string) +
    (HEX_PAIRS[n & 0xff] as string)
  );
}

/** Eight hex digits (from `at` in `hex`) as a 32-bit word. */
export function wordAt(hex: string, at: number): number {
  return parseInt(hex.slice(at, at + 8), 16) >>> 0;
}

/** A `traceparent` as numbers: trace id t0…t3 and parent span id p0, p1 (big-endian 32-bit words), flags. */
export interface TraceparentWords {
  t0: number;
  t1: number;
  t2: number;
  t3: number;
  p0: number;
  p1: number;
  traceFlags: number;
}

// Hex digit values by character code (lowercase only, as the specification requires); -1 for anything else.
const HEX_VALUES = new Int8Array(128).fill(-1);
for (let i = 0; i < 16; i++) HEX_VALUES['0123456789abcdef'.charCodeAt(i)] = i;

/** The 32-bit word of `digits` lowercase hex digits at `at`, or -1 when one of them is not. */
function hexValue(value: string, at: number, digits: number): number {
  let word = 0;
  for (let i = at; i < at + digits; i++) {
    const c = value.charCodeAt(i);
    const v = c < 128 ? (HEX_VALUES[c] as number) : -1;
    if (v < 0) return -1;
    word = (word << 4) | v;
  }
  return word >>> 0;
}

/** Whether `value` holds a line terminator from `from` on (where the grammar's `-.*` tail cannot reach). */
function lineBreakFrom(value: string, from: number): boolean {
  for (let i = from; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c === 0x0a || c === 0x0d || c === 0x2028 || c === 0x2029) return true;
  }
  return false;
}

/**
 * The caller's `traceparent` (the first one when repeated) as words, or null when malformed: a version other than
 * hex, `ff`, all-zero ids, or (version 00) anything after the flags. Future versions are read by their 00 prefix,
 * as the specification asks. Read by hand, without a regular expression or a string per id: it runs for every
 * request that carries one.
 */
export function readTraceparent(header: string | string[] | null | undefined): TraceparentWords | null {
  let value = Array.isArray(header) ? header[0] : header;
  if (typeof value !== 'string' || value.length > 512) return null;
  // Surrounding whitespace is ignored; a header that starts and ends with a visible ASCII character has none.
  const first = value.charCodeAt(0);
  const last = value.charCodeAt(value.length - 1);
  if (!(first > 0x20 && first < 0x7f && last > 0x20 && last < 0x7f)) value = value.trim();
  const n = value.length;
  // version-traceid-spanid-flags: 2 + 1 + 32 + 1 + 16 + 1 + 2 characters, then (later versions) "-" and more.
  if (
    n < 55 ||
    value.charCodeAt(2) !== 0x2d ||
    value.charCodeAt(35) !== 0x2d ||
    value.charCodeAt(52) !== 0x2d
  )
    return null;
  const version = hexValue(value, 0, 2);
  if (version < 0 || version === 0xff) return null;
  if (n > 55 && (version === 0 || value.charCodeAt(55) !== 0x2d || lineBreakFrom(value, 56))) return null;
  const t0 = hexValue(value, 3, 8);
  const t1 = hexValue(value, 11, 8);
  const t2 = hexValue(value, 19, 8);
  const t3 = hexValue(value, 27, 8);
  const p0 = hexValue(value, 36, 8);
  const p1 = hexValue(value, 44, 8);
  const traceFlags = hexValue(value, 53, 2);
  // A character that is not lowercase hex (each word is -1 then; a valid one is unsigned).
  if (t0 < 0 || t1 < 0 || t2 < 0 || t3 < 0 || p0 < 0 || p1 < 0 || traceFlags < 0) return null;
  if ((t0 | t1 | t2 | t3) === 0 || (p0 | p1) === 0) return null;
  return { t0, t1, t2, t3, p0, p1, traceFlags };
}

/** {@link readTraceparent}, with the ids as hex strings. */
export function parseTraceparent(header: string | string[] | null | undefined): SpanContext | null {
  const w = readTraceparent(header);
  if (w === null) return null;
  return {
    traceId: hexWord(w.t0) + hexWord(w.t1) + hexWord(w.t2) + hexWord(w.t3),
    spanId: hexWord(w.p0) + hexWord(w.p1),
    traceFlags: w.traceFlags,
    traceState: '',
  };
}

// W3C list member: key (simple or tenant@system) = value (printable ASCII but , and =, not ending in a space).
const STATE_KEY = /^(?:[a-z][_0-9a-z\-*/]{0,255}|[a-z0-9][_0-9a-z\-*/]{0,240}@[a-z][_0-9a-z\-*/]{0,13})$/;
const STATE_VALUE = /^[\x20-\x2b\x2d-\x3c\x3e-\x7e]{0,255}[\x21-\x2b\x2d-\x3c\x3e-\x7e]$/;
const MAX_STATE_MEMBERS = 32;

/**
 * The caller's `tracestate`, members that break the W3C grammar (CR/LF, non-ASCII, no `=`, bad keys) left out,
 * at most 32 members and 512 characters, repeated headers joined; '' when nothing valid remains.
 */
export function parseTracestate(header: string | string[] | null | undefined): string {
  const value = Array.isArray(header) ? header.join(',') : header;
  if (typeof value !== 'string' || value.length === 0) return '';
  const kept: string[] = [];
  const keys = new Set<string>();
  let length = 0;
  for (const raw of value.split(',')) {
    const member = raw.trim();
    const eq = member.indexOf('=');
    if (eq <= 0) continue;
    const key = member.slice(0, eq);
    if (!STATE_KEY.test(key) || !STATE_VALUE.test(member.slice(eq + 1)) || keys.has(key)) continue;
    if (length + member.length + (kept.length > 0 ? 1 : 0) > 512) break;
    keys.add(key);
    kept.push(member);
    length += member.length + (kept.length > 1 ? 1 : 0);
    if (kept.length === MAX_STATE_MEMBERS) break;
  }
  return kept.join(',');
}

/** The `traceparent` header of a span context (version 00). */
export function formatTraceparent(ctx: SpanContext): string {
  return `00-${ctx.traceId}-${ctx.spanId}-${ctx.traceFlags & 1 ? '01' : '00'}`;
}

// Hex digits by value, and the scratch a traceparent is written into (then read as one latin1 string: ~5x faster
// than concatenating eight-digit strings).
const HEX_DIGITS = Buffer.from('0123456789abcdef', 'latin1');
const TRACEPARENT_OUT = Buffer.from(`00-${INVALID_TRACE_ID}-${INVALID_SPAN_ID}-00`, 'latin1');

function putHexWord(at: number, word: number): void {
  for (let i = at + 7; i >= at; i--) {
    TRACEPARENT_OUT[i] = HEX_DIGITS[word & 15] as number;
    word >>>= 4;
  }
}

/** A span's ids as big-endian 32-bit words: trace id t0…t3, span id s0, s1. */
export interface SpanWords {
  t0: number;
  t1: number;
  t2: number;
  t3: number;
  s0: number;
  s1: number;
}

/** The version-00 `traceparent` of a span with these ids. */
export function traceparentOf(ids: SpanWords, sampled: boolean): string {
  putHexWord(3, ids.t0);
  putHexWord(11, ids.t1);
  putHexWord(19, ids.t2);
  putHexWord(27, ids.t3);
  putHexWord(36, ids.s0);
  putHexWord(44, ids.s1);
  TRACEPARENT_OUT[54] = sampled ? 0x31 : 0x30;
  return TRACEPARENT_OUT.toString('latin1');
}

// Wall-clock milliseconds with sub-millisecond precision: the monotonic clock plus an offset checked against the
// wall clock once a second and moved only when they part by more than 5 ms (an NTP step, a long drift), so
// long-running processes follow the wall clock while spans close together keep their order (Date.now() alone
// has millisecond steps).
let offsetMs = Date.now() - performance.now();
let offsetCheckedAt = performance.now();

/** Milliseconds since the Unix epoch, fractional (for span start and end times). */
export function epochMs(): number {
  const mono = performance.now();
  if (mono - offsetCheckedAt > 1000) {
    offsetCheckedAt = mono;
    const wall = Date.now() - mono;
    if (Math.abs(wall - offsetMs) > 5) offsetMs = wall;
  }
  return offsetMs + mono;
}
