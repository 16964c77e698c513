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

/** A 32-bit word as eight lowercase hex digits. */
export function hexWord(n: number): string {
  return (n >>> 0).toString(16).padStart(8, '0');
}

/** Eight hex digits (from `at` in `hex`) as a 32-bit word. */
export function wordAt(hex: string, at: number): number {
  return parseInt(hex.slice(at, at + 8), 16) >>> 0;
}

const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;

/**
 * The caller's `traceparent` (the first one when repeated), or null when malformed: a version other than hex,
 * `ff`, all-zero ids, or (version 00) anything after the flags. Future versions are read by their 00 prefix, as
 * the specification asks.
 */
export function parseTraceparent(header: string | string[] | null | undefined): SpanContext | null {
  const value = Array.isArray(header) ? header[0] : header;
  if (typeof value !== 'string' || value.length > 512) return null;
  const m = TRACEPARENT.exec(value.trim());
  if (!m) return null;
  const [, version, traceId, spanId, flags, rest] = m as unknown as [
    string,
    string,
    string,
    string,
    string,
    string?,
  ];
  if (version === 'ff' || (version === '00' && rest !== undefined)) return null;
  if (traceId === INVALID_TRACE_ID || spanId === INVALID_SPAN_ID) return null;
  return { traceId, spanId, traceFlags: parseInt(flags, 16) & 0xff, traceState: '' };
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
