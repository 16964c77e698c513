import { hexWord } from './trace-context';

/**
 * OTLP trace export bodies, written by hand: `ExportTraceServiceRequest` in protobuf
 * (opentelemetry/proto/collector/trace/v1/trace_service.proto, trace/v1/trace.proto, common/v1/common.proto) and in
 * the OTLP/JSON mapping (https://opentelemetry.io/docs/specs/otlp/#json-protobuf-encoding: hex ids, enums as
 * numbers, 64-bit integers as strings). Each span is encoded the moment it ends, so nothing of it outlives the
 * request: a batch is bytes, not span objects kept for seconds (which V8 would promote and scan).
 */

/** Attribute values a span takes (undefined and null ones are left out, as are non-finite numbers). */
export type AttributeValue = string | number | boolean;
export type TraceAttributes = Record<string, AttributeValue | undefined | null>;

/** A span as it is exported. */
export interface FinishedSpan {
  /** The trace id as four big-endian 32-bit words (t0 first). */
  t0: number;
  t1: number;
  t2: number;
  t3: number;
  /** The span id as two words. */
  s0: number;
  s1: number;
  /** The parent span id as two words; both 0 for a root span (a valid id is never all zeros). */
  p0: number;
  p1: number;
  traceState: string;
  name: string;
  /** OTLP SpanKind: 1 internal, 2 server, 3 client. */
  kind: number;
  /** Milliseconds since the epoch, fractional. */
  startMs: number;
  endMs: number;
  /** The attributes the span started with (never changed afterwards). */
  attributes: TraceAttributes;
  /**
   * Attributes set later, as key, value, key, value…: a later one replaces an earlier one or a starting one of the
   * same key. Kept apart so the starting object stays as V8 built it (adding keys to it made it a dictionary, and
   * walking a dictionary's keys was the encoder's largest cost).
   */
  extra: ReadonlyArray<string | AttributeValue>;
  /** Status ERROR (else UNSET). */
  error: boolean;
}

/** Longest attribute string exported (UTF-16 units): a caller-chosen value (a model name) cannot bloat a batch. */
export const MAX_ATTRIBUTE_CHARS = 1024;

function clip(value: string): string {
  if (value.length <= MAX_ATTRIBUTE_CHARS) return value;
  // Not half a surrogate pair at the cut.
  const end =
    (value.charCodeAt(MAX_ATTRIBUTE_CHARS - 1) & 0xfc00) === 0xd800
      ? MAX_ATTRIBUTE_CHARS - 1
      : MAX_ATTRIBUTE_CHARS;
  return value.slice(0, end);
}

/** Nanoseconds since the epoch as a decimal string (OTLP/JSON's fixed64). */
export function nanoString(ms: number): string {
  const whole = Math.floor(ms);
  const frac = Math.min(999_999, Math.round((ms - whole) * 1e6));
  return `${whole}${String(frac).padStart(6, '0')}`;
}

/**
 * Copies `value` into `buf` at `at` byte by byte while it is ASCII (then its UTF-8 is its characters); false at the
 * first other character (what was copied is left to be overwritten). For tens of characters this beats Buffer's
 * write and byteLength calls severalfold.
 */
function copyAscii(buf: Buffer, at: number, value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c >= 0x80) return false;
    buf[at + i] = c;
  }
  return true;
}

function varintSize(n: number): number {
  let size = 1;
  while (n >= 128) {
    n = Math.floor(n / 128);
    size++;
  }
  return size;
}

/** A growing protobuf byte buffer. */
class ProtoWriter {
  buf: Buffer;
  pos = 0;

  constructor(size: number) {
    this.buf = Buffer.allocUnsafe(size);
  }

  ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n));
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  byte(b: number): void {
    this.ensure(1);
    this.buf[this.pos++] = b;
  }

  /** A non-negative integer below 2^53. */
  varint(n: number): void {
    this.ensure(10);
    while (n >= 128) {
      this.buf[this.pos++] = (n % 128) | 0x80;
      n = Math.floor(n / 128);
    }
    this.buf[this.pos++] = n;
  }

  /** A negative integer as int64's ten-byte two's complement. */
  negativeVarint(n: number): void {
    this.ensure(10);
    let v = BigInt.asUintN(64, BigInt(n));
    while (v >= 128n) {
      this.buf[this.pos++] = Number(v & 0x7fn) | 0x80;
      v >>= 7n;
    }
    this.buf[this.pos++] = Number(v);
  }

  /** Nanoseconds since the epoch, exactly (no 64-bit float rounding), as fixed64. */
  fixed64Nanos(ms: number): void {
    this.ensure(8);
    const whole = Math.floor(ms);
    const frac = Math.min(999_999, Math.round((ms - whole) * 1e6));
    const high = Math.floor(whole / 0x1_0000_0000);
    const sum = (whole - high * 0x1_0000_0000) * 1e6 + frac; // < 2^52: exact
    const carry = Math.floor(sum / 0x1_0000_0000);
    this.buf.writeUInt32LE(sum - carry * 0x1_0000_0000, this.pos);
    this.buf.writeUInt32LE(high * 1e6 + carry, this.pos + 4);
    this.pos += 8;
  }

  double(v: number): void {
    this.ensure(8);
    this.buf.writeDoubleLE(v, this.pos);
    this.pos += 8;
  }

  /** Field `tag` as length-delimited UTF-8; a short ASCII string is copied behind a one-byte length. */
  string(tag: number, value: string): void {
    const n = value.length;
    if (n < 128) {
      this.ensure(2 + n);
      if (copyAscii(this.buf, this.pos + 2, value)) {
        this.buf[this.pos] = tag;
        this.buf[this.pos + 1] = n;
        this.pos += 2 + n;
        return;
      }
    }
    const size = Buffer.byteLength(value);
    this.ensure(11 + size);
    this.buf[this.pos++] = tag;
    this.varint(size);
    this.pos += this.buf.write(value, this.pos, size, 'utf8');
  }

  /** Field `tag` as an 8-byte id from two big-endian words. */
  id8(tag: number, a: number, b: number): void {
    this.ensure(10);
    this.buf[this.pos++] = tag;
    this.buf[this.pos++] = 8;
    this.buf.writeUInt32BE(a, this.pos);
    this.buf.writeUInt32BE(b, this.pos + 4);
    this.pos += 8;
  }

  raw(bytes: Uint8Array, start = 0, end = bytes.length): void {
    const n = end - start;
    this.ensure(n);
    // A key prefix is a few dozen bytes: a loop beats Buffer.copy's argument handling.
    if (n <= 64) for (let i = start; i < end; i++) this.buf[this.pos++] = bytes[i] as number;
    else {
      this.buf.set(bytes.subarray(start, end), this.pos);
      this.pos += n;
    }
  }
}

// `KeyValue.key` (field 1) encoded once per attribute name.
const keyPrefixes = new Map<string, Buffer>();

function keyPrefix(key: string): Buffer {
  let prefix = keyPrefixes.get(key);
  if (prefix === undefined) {
    const w = new ProtoWriter(16 + key.length * 3);
    w.string(0x0a, key);
    prefix = Buffer.from(w.buf.subarray(0, w.pos));
    // Attribute names are the code's own constants; the cap only guards against a caller-named key.
    if (keyPrefixes.size < 4096) keyPrefixes.set(key, prefix);
  }
  return prefix;
}

/** One `KeyValue` under field `tag` (9: Span.attributes, 1: Resource.attributes); nothing for an empty value. */
function writeAttribute(
  w: ProtoWriter,
  tag: number,
  key: string,
  value: AttributeValue | undefined | null,
): void {
  let anySize: number;
  let text = '';
  let textSize = 0;
  switch (typeof value) {
    case 'string':
      if (writeShortAscii(w, tag, key, value)) return;
      text = clip(value);
      textSize = Buffer.byteLength(text);
      anySize = 1 + varintSize(textSize) + textSize;
      break;
    case 'boolean':
      anySize = 2;
      break;
    case 'number':
      if (!Number.isFinite(value)) return;
      anySize = Number.isSafeInteger(value) ? 1 + (value < 0 ? 10 : varintSize(value)) : 9;
      break;
    default:
      return;
  }
  const prefix = keyPrefix(key);
  w.byte(tag);
  w.varint(prefix.length + 1 + varintSize(anySize) + anySize);
  w.raw(prefix);
  w.byte(0x12); // KeyValue.value
  w.varint(anySize);
  if (typeof value === 'string')
    w.string(0x0a, text); // AnyValue.string_value
  else if (typeof value === 'boolean') {
    w.byte(0x10); // bool_value
    w.byte(value ? 1 : 0);
  } else if (Number.isSafeInteger(value)) {
    w.byte(0x18); // int_value
    if (value < 0) w.negativeVarint(value);
    else w.varint(value);
  } else {
    w.byte(0x21); // double_value
    w.double(value);
  }
}

/**
 * A string attribute whose whole `KeyValue` fits a one-byte length, in one pass: the characters are copied while
 * checking they are ASCII (their UTF-8 size is then their count). False, with nothing written, for anything else.
 */
function writeShortAscii(w: ProtoWriter, tag: number, key: string, value: string): boolean {
  const n = value.length;
  const prefix = keyPrefix(key);
  // KeyValue = key prefix, 0x12 anyLen, AnyValue = 0x0a n chars.
  const kvSize = prefix.length + 4 + n;
  if (kvSize >= 128) return false;
  w.ensure(kvSize + 2);
  const buf = w.buf;
  if (!copyAscii(buf, w.pos + 2 + prefix.length + 4, value)) return false;
  let at = w.pos;
  buf[at++] = tag;
  buf[at++] = kvSize;
  for (let i = 0; i < prefix.length; i++) buf[at++] = prefix[i] as number;
  buf[at++] = 0x12;
  buf[at++] = n + 2;
  buf[at++] = 0x0a;
  buf[at++] = n;
  w.pos = at + n;
  return true;
}

/** Whether `extra` sets `key` at or after index `from` (a later value replaces this one). */
function setLater(extra: ReadonlyArray<string | AttributeValue>, key: string, from: number): boolean {
  for (let i = from; i < extra.length; i += 2) if (extra[i] === key) return true;
  return false;
}

function writeAttributes(
  w: ProtoWriter,
  tag: number,
  attributes: TraceAttributes,
  extra: ReadonlyArray<string | AttributeValue> = NO_EXTRA,
): void {
  for (const key in attributes)
    if (extra.length === 0 || !setLater(extra, key, 0)) writeAttribute(w, tag, key, attributes[key]);
  for (let i = 0; i < extra.length; i += 2) {
    const key = extra[i] as string;
    if (!setLater(extra, key, i + 2)) writeAttribute(w, tag, key, extra[i + 1]);
  }
}

const NO_EXTRA: ReadonlyArray<string | AttributeValue> = [];

/** Appends finished spans to one export body at a time (protobuf or JSON), counting them. */
export interface SpanBatchEncoder {
  readonly contentType: string;
  /** Spans in the batch being filled. */
  readonly count: number;
  add(span: FinishedSpan): void;
  /**
   * The finished `ExportTraceServiceRequest`, as parts sent one after another (no copy into one buffer); the
   * encoder starts a new batch.
   */
  take(): Buffer[];
}

/** What every batch says about its sender: the resource's attributes and the instrumentation scope. */
export interface ExportOrigin {
  resource: Record<string, string>;
  scopeName: string;
  scopeVersion: string;
}

/** OTLP/HTTP protobuf (`application/x-protobuf`). */
export class ProtoBatchEncoder implements SpanBatchEncoder {
  readonly contentType = 'application/x-protobuf';
  count = 0;
  private spans = new ProtoWriter(64 * 1024);
  private readonly resource: Buffer;
  private readonly scope: Buffer;

  constructor(origin: ExportOrigin) {
    const r = new ProtoWriter(512);
    writeAttributes(r, 0x0a, origin.resource);
    this.resource = Buffer.from(r.buf.subarray(0, r.pos));
    const s = new ProtoWriter(128);
    s.string(0x0a, origin.scopeName);
    if (origin.scopeVersion) s.string(0x12, origin.scopeVersion);
    this.scope = Buffer.from(s.buf.subarray(0, s.pos));
  }

  add(span: FinishedSpan): void {
    const w = this.spans;
    // ScopeSpans.spans (field 2): the span is written in place behind a two-byte length, moved only when its
    // length needs one or three bytes (a span under 128 or over 16,383 bytes, both rare).
    w.ensure(3);
    w.buf[w.pos++] = 0x12;
    const lengthAt = w.pos;
    w.pos += 2;
    // trace_id: 16 bytes.
    w.ensure(18);
    w.buf[w.pos++] = 0x0a;
    w.buf[w.pos++] = 16;
    w.buf.writeUInt32BE(span.t0, w.pos);
    w.buf.writeUInt32BE(span.t1, w.pos + 4);
    w.buf.writeUInt32BE(span.t2, w.pos + 8);
    w.buf.writeUInt32BE(span.t3, w.pos + 12);
    w.pos += 16;
    w.id8(0x12, span.s0, span.s1);
    if (span.traceState) w.string(0x1a, span.traceState);
    if (span.p0 !== 0 || span.p1 !== 0) w.id8(0x22, span.p0, span.p1);
    w.string(0x2a, span.name);
    w.byte(0x30);
    w.varint(span.kind);
    w.byte(0x39);
    w.fixed64Nanos(span.startMs);
    w.byte(0x41);
    w.fixed64Nanos(span.endMs);
    writeAttributes(w, 0x4a, span.attributes, span.extra);
    if (span.error) w.raw(STATUS_ERROR);
    const size = w.pos - lengthAt - 2;
    const lengthSize = varintSize(size);
    if (lengthSize !== 2) {
      w.ensure(lengthSize - 2);
      w.buf.copyWithin(lengthAt + lengthSize, lengthAt + 2, w.pos);
      w.pos += lengthSize - 2;
    }
    const end = w.pos;
    w.pos = lengthAt;
    w.varint(size);
    w.pos = end;
    this.count++;
  }

  take(): Buffer[] {
    const spans = this.spans.buf.subarray(0, this.spans.pos);
    const scopeSpansSize = 1 + varintSize(this.scope.length) + this.scope.length + spans.length;
    const resourceSize = 1 + varintSize(this.resource.length) + this.resource.length;
    const resourceSpansSize = resourceSize + 1 + varintSize(scopeSpansSize) + scopeSpansSize;
    const head = new ProtoWriter(64 + this.resource.length + this.scope.length);
    head.byte(0x0a); // ExportTraceServiceRequest.resource_spans
    head.varint(resourceSpansSize);
    head.byte(0x0a); // ResourceSpans.resource
    head.varint(this.resource.length);
    head.raw(this.resource);
    head.byte(0x12); // ResourceSpans.scope_spans
    head.varint(scopeSpansSize);
    head.byte(0x0a); // ScopeSpans.scope
    head.varint(this.scope.length);
    head.raw(this.scope);
    // The next batch starts at this one's size: no growing (and copying) in a steady state.
    this.spans = new ProtoWriter(Math.max(64 * 1024, spans.length));
    this.count = 0;
    return [head.buf.subarray(0, head.pos), spans];
  }
}

// Span.status (field 15) = Status { code (field 3) = STATUS_CODE_ERROR (2) }.
const STATUS_ERROR = Buffer.from([0x7a, 0x02, 0x18, 0x02]);

function jsonAttribute(key: string, value: AttributeValue | undefined | null): string {
  const k = JSON.stringify(key);
  switch (typeof value) {
    case 'string':
      return `{"key":${k},"value":{"stringValue":${JSON.stringify(clip(value))}}}`;
    case 'boolean':
      return `{"key":${k},"value":{"boolValue":${value}}}`;
    case 'number':
      if (!Number.isFinite(value)) return '';
      return Number.isSafeInteger(value)
        ? `{"key":${k},"value":{"intValue":"${value}"}}`
        : `{"key":${k},"value":{"doubleValue":${value}}}`;
    default:
      return '';
  }
}

function jsonAttributes(
  attributes: TraceAttributes,
  extra: ReadonlyArray<string | AttributeValue> = NO_EXTRA,
): string {
  let out = '';
  const add = (one: string): void => {
    if (one) out += out ? `,${one}` : one;
  };
  for (const key in attributes) if (!setLater(extra, key, 0)) add(jsonAttribute(key, attributes[key]));
  for (let i = 0; i < extra.length; i += 2) {
    const key = extra[i] as string;
    if (!setLater(extra, key, i + 2)) add(jsonAttribute(key, extra[i + 1]));
  }
  return out;
}

/** OTLP/HTTP JSON (`application/json`). */
export class JsonBatchEncoder implements SpanBatchEncoder {
  readonly contentType = 'application/json';
  count = 0;
  private parts: string[] = [];
  private readonly head: string;

  constructor(origin: ExportOrigin) {
    const scope = origin.scopeVersion
      ? { name: origin.scopeName, version: origin.scopeVersion }
      : { name: origin.scopeName };
    this.head =
      `{"resourceSpans":[{"resource":{"attributes":[${jsonAttributes(origin.resource)}]},` +
      `"scopeSpans":[{"scope":${JSON.stringify(scope)},"spans":[`;
  }

  add(span: FinishedSpan): void {
    let s =
      `{"traceId":"${hexWord(span.t0)}${hexWord(span.t1)}${hexWord(span.t2)}${hexWord(span.t3)}"` +
      `,"spanId":"${hexWord(span.s0)}${hexWord(span.s1)}"`;
    if (span.p0 !== 0 || span.p1 !== 0) s += `,"parentSpanId":"${hexWord(span.p0)}${hexWord(span.p1)}"`;
    if (span.traceState) s += `,"traceState":${JSON.stringify(span.traceState)}`;
    s +=
      `,"name":${JSON.stringify(span.name)},"kind":${span.kind}` +
      `,"startTimeUnixNano":"${nanoString(span.startMs)}","endTimeUnixNano":"${nanoString(span.endMs)}"` +
      `,"attributes":[${jsonAttributes(span.attributes, span.extra)}]`;
    if (span.error) s += ',"status":{"code":2}';
    this.parts.push(`${s}}`);
    this.count++;
  }

  take(): Buffer[] {
    const body = Buffer.from(`${this.head}${this.parts.join(',')}]}]}]}`);
    this.parts = [];
    this.count = 0;
    return [body];
  }
}
