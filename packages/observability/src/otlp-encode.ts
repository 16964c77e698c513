import { hexWord } from './trace-context';
import type { SpanWords } from './trace-context';

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
export interface FinishedSpan extends SpanWords {
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

/** Writes a 32-bit word big-endian at `at` (room checked by the caller); returns the next position. */
function putWord(buf: Buffer, at: number, word: number): number {
  buf[at] = word >>> 24;
  buf[at + 1] = word >>> 16;
  buf[at + 2] = word >>> 8;
  buf[at + 3] = word;
  return at + 4;
}

/** Writes a 32-bit word little-endian at `at` (room checked by the caller); returns the next position. */
function putWordLE(buf: Buffer, at: number, word: number): number {
  buf[at] = word;
  buf[at + 1] = word >>> 8;
  buf[at + 2] = word >>> 16;
  buf[at + 3] = word >>> 24;
  return at + 4;
}

/** Nanoseconds since the epoch, exactly (no 64-bit float rounding), as fixed64 at `at`; returns the next position. */
function putNanos(buf: Buffer, at: number, ms: number): number {
  const whole = Math.floor(ms);
  const frac = Math.min(999_999, Math.round((ms - whole) * 1e6));
  const high = Math.floor(whole / 0x1_0000_0000);
  const sum = (whole - high * 0x1_0000_0000) * 1e6 + frac; // < 2^52: exact
  const carry = Math.floor(sum / 0x1_0000_0000);
  return putWordLE(buf, putWordLE(buf, at, sum - carry * 0x1_0000_0000), high * 1e6 + carry);
}

/** A growing protobuf byte buffer. */
class ProtoWriter {
  buf: Buffer;
  pos = 0;

  /** A new buffer of `size` bytes, or `buf` (a recycled one) written from its start. */
  constructor(size: number, buf?: Buffer) {
    this.buf = buf ?? Buffer.allocUnsafe(size);
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

  raw(bytes: Uint8Array): void {
    this.ensure(bytes.length);
    // TypedArray#set is a memmove: ~4x faster than a byte loop over Buffers already at 20 bytes.
    this.buf.set(bytes, this.pos);
    this.pos += bytes.length;
  }
}

/**
 * Span attributes (`Span.attributes`, field 9) whose value is a short string are mostly the same few pairs on
 * every span (`gen_ai.system` = `openai`, the group, the model): their encoded bytes are kept by key and value and
 * copied whole. Bounded: values longer than {@link MEMO_MAX_CHARS} are never kept, all are dropped when
 * {@link MEMO_MAX_VALUES} are held, and a key whose values keep missing (a request id, caller-chosen model names)
 * stops being kept, so a flood of distinct values costs a lookup, not memory or churn.
 */
const MEMO_MAX_CHARS = 64;
const MEMO_MAX_VALUES = 512;

/** What is kept per attribute name. */
interface AttributeKey {
  /** `KeyValue.key` (field 1): tag, length, UTF-8. */
  prefix: Buffer;
  /** Encoded `Span.attributes` fields by string value. */
  values: Map<string, Buffer>;
  /** The value last copied and its bytes: most spans repeat their predecessor's (cheaper than the map's hash). */
  last: string | null;
  lastBytes: Buffer;
  hits: number;
  misses: number;
}

const attributeKeys = new Map<string, AttributeKey>();
let memoValues = 0;

function attributeKey(key: string): AttributeKey {
  let entry = attributeKeys.get(key);
  if (entry === undefined) {
    const w = new ProtoWriter(16 + key.length * 3);
    w.string(0x0a, key);
    const prefix = Buffer.from(w.buf.subarray(0, w.pos));
    entry = { prefix, values: new Map(), last: null, lastBytes: prefix, hits: 0, misses: 0 };
    // Attribute names are the code's own constants; the cap only guards against a caller-named key.
    if (attributeKeys.size < 4096) attributeKeys.set(key, entry);
  }
  return entry;
}

/** Drops every kept value (the cap was reached, or a test wants the cold path). */
export function clearAttributeMemo(): void {
  for (const entry of attributeKeys.values()) {
    entry.values.clear();
    entry.last = null;
    entry.hits = 0;
    entry.misses = 0;
  }
  memoValues = 0;
}

/** How many encoded attribute values are kept (for tests). */
export function attributeMemoSize(): number {
  return memoValues;
}

/**
 * One span attribute (field 9): a kept string pair copied, a small non-negative integer written in place, the rest
 * by {@link writeAttribute}. `memo` false writes every attribute the plain way (the bytes are the same).
 */
function writeSpanAttribute(
  w: ProtoWriter,
  key: string,
  value: AttributeValue | undefined | null,
  memo: boolean,
): void {
  if (typeof value === 'string') {
    if (!memo || value.length > MEMO_MAX_CHARS) return writeAttribute(w, 0x4a, key, value);
    const entry = attributeKey(key);
    let kept = value === entry.last ? entry.lastBytes : entry.values.get(value);
    if (kept === undefined) {
      entry.misses++;
      const start = w.pos;
      writeAttribute(w, 0x4a, key, value);
      if (entry.misses > 2 * entry.hits + 32) return;
      if (memoValues >= MEMO_MAX_VALUES) clearAttributeMemo();
      kept = Buffer.from(w.buf.subarray(start, w.pos));
      entry.values.set(value, kept);
      memoValues++;
    } else {
      entry.hits++;
      w.raw(kept);
    }
    entry.last = value;
    entry.lastBytes = kept;
    return;
  }
  if (typeof value === 'number' && value >= 0 && value < 0x1000_0000 && Number.isInteger(value)) {
    // KeyValue = key prefix, 0x12 anyLen, AnyValue = 0x18 varint (at most four bytes here).
    const prefix = attributeKey(key).prefix;
    const anySize = value < 0x80 ? 2 : value < 0x4000 ? 3 : value < 0x20_0000 ? 4 : 5;
    const kvSize = prefix.length + 2 + anySize;
    if (kvSize < 128) {
      w.ensure(kvSize + 2);
      const buf = w.buf;
      let at = w.pos;
      buf[at++] = 0x4a;
      buf[at++] = kvSize;
      buf.set(prefix, at);
      at += prefix.length;
      buf[at++] = 0x12;
      buf[at++] = anySize;
      buf[at++] = 0x18;
      while (value >= 0x80) {
        buf[at++] = (value & 0x7f) | 0x80;
        value >>>= 7;
      }
      buf[at++] = value;
      w.pos = at;
      return;
    }
  }
  writeAttribute(w, 0x4a, key, value);
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
  const prefix = attributeKey(key).prefix;
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
  const prefix = attributeKey(key).prefix;
  // KeyValue = key prefix, 0x12 anyLen, AnyValue = 0x0a n chars.
  const kvSize = prefix.length + 4 + n;
  if (kvSize >= 128) return false;
  w.ensure(kvSize + 2);
  const buf = w.buf;
  if (!copyAscii(buf, w.pos + 2 + prefix.length + 4, value)) return false;
  let at = w.pos;
  buf[at++] = tag;
  buf[at++] = kvSize;
  buf.set(prefix, at);
  at += prefix.length;
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

/** The resource's attributes (field 1 of `Resource`). */
function writeAttributes(w: ProtoWriter, tag: number, attributes: TraceAttributes): void {
  for (const key in attributes) writeAttribute(w, tag, key, attributes[key]);
}

/** A span's attributes (field 9): the starting ones but those `extra` sets again, then `extra`'s last values. */
function writeSpanAttributes(
  w: ProtoWriter,
  attributes: TraceAttributes,
  extra: ReadonlyArray<string | AttributeValue>,
  memo: boolean,
): void {
  for (const key in attributes)
    if (extra.length === 0 || !setLater(extra, key, 0)) writeSpanAttribute(w, key, attributes[key], memo);
  for (let i = 0; i < extra.length; i += 2) {
    const key = extra[i] as string;
    if (!setLater(extra, key, i + 2)) writeSpanAttribute(w, key, extra[i + 1], memo);
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
  /**
   * Takes back the parts of a batch `take` returned once nothing reads them any more (sent, or copied): the
   * encoder may write a later batch into their memory.
   */
  recycle(parts: Buffer[]): void;
}

/** Buffers of sent batches kept for the next ones (one filling, one in flight is the usual state). */
const MAX_SPARE_BATCHES = 2;
/** The smallest batch buffer: a batch of a few spans still fills one without growing. */
const MIN_BATCH_BYTES = 64 * 1024;

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
  private spans = new ProtoWriter(MIN_BATCH_BYTES);
  /** Batch buffers sent and given back ({@link recycle}), reused whole for later batches. */
  private readonly spare: Buffer[] = [];
  private readonly resource: Buffer;
  private readonly scope: Buffer;

  /** `memoize` false: every attribute encoded afresh (tests compare the bytes with the memoized ones). */
  constructor(
    origin: ExportOrigin,
    private readonly memoize = true,
  ) {
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
    // length needs one or three bytes (a span under 128 or over 16,383 bytes, both rare). The fixed-width fields
    // (ids, kind, times) are written byte by byte: no bounds-checked Buffer method calls.
    w.ensure(3 + 18 + 10);
    let buf = w.buf;
    let at = w.pos;
    buf[at++] = 0x12;
    const lengthAt = at;
    at += 2;
    buf[at++] = 0x0a; // trace_id: 16 bytes
    buf[at++] = 16;
    at = putWord(buf, at, span.t0);
    at = putWord(buf, at, span.t1);
    at = putWord(buf, at, span.t2);
    at = putWord(buf, at, span.t3);
    buf[at++] = 0x12; // span_id: 8 bytes
    buf[at++] = 8;
    at = putWord(buf, at, span.s0);
    w.pos = putWord(buf, at, span.s1);
    if (span.traceState) w.string(0x1a, span.traceState);
    if (span.p0 !== 0 || span.p1 !== 0) {
      w.ensure(10);
      buf = w.buf;
      at = w.pos;
      buf[at++] = 0x22; // parent_span_id: 8 bytes
      buf[at++] = 8;
      at = putWord(buf, at, span.p0);
      w.pos = putWord(buf, at, span.p1);
    }
    w.string(0x2a, span.name);
    w.ensure(2 + 18);
    buf = w.buf;
    at = w.pos;
    buf[at++] = 0x30; // kind: 1 to 3, a one-byte varint
    buf[at++] = span.kind;
    buf[at++] = 0x39; // start_time_unix_nano: fixed64
    at = putNanos(buf, at, span.startMs);
    buf[at++] = 0x41; // end_time_unix_nano
    w.pos = putNanos(buf, at, span.endMs);
    writeSpanAttributes(w, span.attributes, span.extra, this.memoize);
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
    // The next batch starts at this one's size and an eighth: no growing in a steady state. (At exactly this size,
    // a batch of as many spans as this one grew at its last span: twice the memory and the whole batch copied.)
    this.spans = this.writer(Math.max(MIN_BATCH_BYTES, spans.length + (spans.length >>> 3)));
    this.count = 0;
    return [head.buf.subarray(0, head.pos), spans];
  }

  /**
   * A sent batch's buffer is written again rather than a new one taken: a batch (~100 KB at the default 512
   * spans) is above glibc's mmap threshold, so each new one was fresh pages, every one of them faulted in on
   * first write and unmapped when freed: under load, a traced process took 0.07–0.34 page faults per request more
   * than an untraced one, and ~0.03 more with batches written into reused memory.
   */
  recycle(parts: Buffer[]): void {
    const spans = parts[1];
    if (spans === undefined || spans.byteOffset !== 0 || this.spare.length >= MAX_SPARE_BATCHES) return;
    const whole = spans.buffer;
    if (whole.byteLength >= MIN_BATCH_BYTES) this.spare.push(Buffer.from(whole, 0, whole.byteLength));
  }

  private writer(size: number): ProtoWriter {
    for (let buf = this.spare.pop(); buf !== undefined; buf = this.spare.pop())
      if (buf.length >= size) return new ProtoWriter(size, buf);
    return new ProtoWriter(size);
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

  /** Nothing to reuse: each batch is one string's bytes. */
  recycle(): void {}
}
