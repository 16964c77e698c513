import { createServer } from 'node:http';
import type { IncomingHttpHeaders } from 'node:http';
import { gunzipSync } from 'node:zlib';
import type { AddressInfo } from 'node:net';

/** One span as the OTLP/JSON export carries it, attributes flattened to plain values. */
export interface ReceivedSpan {
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  /** OTLP's enum: 1 internal, 2 server, 3 client. */
  kind: number;
  /** 0 unset, 1 ok, 2 error. */
  statusCode: number;
  attributes: Record<string, string | number | boolean>;
  /** `service.name` of the resource that exported it. */
  service: string;
  traceState: string;
  /** Nanoseconds since the epoch, as decimal strings. */
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  /** The resource's attributes. */
  resource: Record<string, string | number | boolean>;
}

/** One export request as received. */
export interface ReceivedExport {
  headers: IncomingHttpHeaders;
  /** Spans in it (0 when it was answered with a planned failure). */
  spans: number;
  /** The status it was answered with. */
  status: number;
}

/** An in-process OTLP/HTTP collector (JSON or protobuf, gzip or not) for tests: every span, and every raw byte received. */
export interface OtlpReceiver {
  /** The base endpoint (for OTEL_EXPORTER_OTLP_ENDPOINT; exporters post to `/v1/traces` below it). */
  url: string;
  spans: ReceivedSpan[];
  /** Every request body as received, decompressed (to scan for what must never be exported). */
  raw: Buffer[];
  /** Every export request: headers and the answer given. */
  exports: ReceivedExport[];
  /** Answers the next `times` exports with `status` (and `Retry-After: retryAfterSec` when given), reading nothing. */
  failNext(status: number, times: number, retryAfterSec?: number): void;
  /** Resolves once `predicate` holds for the spans received (polls; rejects after `timeoutMs`). */
  waitFor(predicate: (spans: ReceivedSpan[]) => boolean, timeoutMs?: number): Promise<ReceivedSpan[]>;
  close(): Promise<void>;
}

interface AnyValue {
  stringValue?: string;
  intValue?: string | number;
  doubleValue?: number;
  boolValue?: boolean;
}
interface KeyValue {
  key: string;
  value: AnyValue;
}
interface ExportRequest {
  resourceSpans?: {
    resource?: { attributes?: KeyValue[] };
    scopeSpans?: {
      spans?: {
        traceId: string;
        spanId: string;
        parentSpanId?: string;
        traceState?: string;
        name: string;
        kind: number;
        startTimeUnixNano?: string;
        endTimeUnixNano?: string;
        status?: { code?: number };
        attributes?: KeyValue[];
      }[];
    }[];
  }[];
}

function flatten(list: KeyValue[] | undefined): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {};
  for (const { key, value } of list ?? []) {
    const v = value.stringValue ?? value.boolValue ?? value.doubleValue ?? value.intValue;
    if (v !== undefined) out[key] = typeof v === 'string' && value.intValue !== undefined ? Number(v) : v;
  }
  return out;
}

function decode(body: ExportRequest): ReceivedSpan[] {
  const out: ReceivedSpan[] = [];
  for (const rs of body.resourceSpans ?? []) {
    const resource = flatten(rs.resource?.attributes);
    const service = String(resource['service.name'] ?? '');
    for (const ss of rs.scopeSpans ?? [])
      for (const s of ss.spans ?? [])
        out.push({
          traceId: s.traceId,
          spanId: s.spanId,
          parentSpanId: s.parentSpanId ?? '',
          name: s.name,
          kind: s.kind,
          statusCode: s.status?.code ?? 0,
          attributes: flatten(s.attributes),
          service,
          traceState: s.traceState ?? '',
          startTimeUnixNano: String(s.startTimeUnixNano ?? ''),
          endTimeUnixNano: String(s.endTimeUnixNano ?? ''),
          resource,
        });
  }
  return out;
}

type Field = { wire: number; varint?: bigint; bytes?: Buffer; fixed?: Buffer };

/** The fields of one protobuf message by number (a test-side decoder, independent of the exporter's encoder). */
function fields(buf: Buffer): Map<number, Field[]> {
  const out = new Map<number, Field[]>();
  let pos = 0;
  const varint = (): bigint => {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      if (pos >= buf.length) throw new Error('truncated varint');
      const b = buf[pos++] as number;
      result |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) return result;
      shift += 7n;
      if (shift > 63n) throw new Error('varint too long');
    }
  };
  while (pos < buf.length) {
    const key = Number(varint());
    const field: Field = { wire: key & 7 };
    if (field.wire === 0) field.varint = varint();
    else if (field.wire === 1 || field.wire === 5) {
      const size = field.wire === 1 ? 8 : 4;
      field.fixed = buf.subarray(pos, pos + size);
      pos += size;
    } else if (field.wire === 2) {
      const size = Number(varint());
      if (pos + size > buf.length) throw new Error('truncated field');
      field.bytes = buf.subarray(pos, pos + size);
      pos += size;
    } else throw new Error(`unsupported wire type ${field.wire}`);
    const list = out.get(key >> 3) ?? [];
    list.push(field);
    out.set(key >> 3, list);
  }
  return out;
}

const one = (m: Map<number, Field[]>, n: number): Field | undefined => m.get(n)?.[0];
const text = (f: Field | undefined): string | undefined => f?.bytes?.toString('utf8');
const hex = (f: Field | undefined): string | undefined => f?.bytes?.toString('hex');

function protoKeyValues(list: Field[] | undefined): KeyValue[] {
  return (list ?? []).map((f) => {
    const kv = fields(f.bytes as Buffer);
    const any = fields(one(kv, 2)?.bytes ?? Buffer.alloc(0));
    const value: AnyValue = {};
    if (any.has(1)) value.stringValue = text(one(any, 1));
    if (any.has(2)) value.boolValue = one(any, 2)?.varint === 1n;
    if (any.has(3)) value.intValue = String(BigInt.asIntN(64, one(any, 3)?.varint ?? 0n));
    if (any.has(4)) value.doubleValue = (one(any, 4)?.fixed as Buffer).readDoubleLE(0);
    return { key: text(one(kv, 1)) ?? '', value };
  });
}

/** An `ExportTraceServiceRequest` in protobuf, as the JSON mapping's shape. */
function decodeProto(body: Buffer): ExportRequest {
  return {
    resourceSpans: (fields(body).get(1) ?? []).map((rsf) => {
      const rs = fields(rsf.bytes as Buffer);
      const resource = fields(one(rs, 1)?.bytes ?? Buffer.alloc(0));
      return {
        resource: { attributes: protoKeyValues(resource.get(1)) },
        scopeSpans: (rs.get(2) ?? []).map((ssf) => ({
          spans: (fields(ssf.bytes as Buffer).get(2) ?? []).map((sf) => {
            const s = fields(sf.bytes as Buffer);
            const status = fields(one(s, 15)?.bytes ?? Buffer.alloc(0));
            return {
              traceId: hex(one(s, 1)) ?? '',
              spanId: hex(one(s, 2)) ?? '',
              traceState: text(one(s, 3)),
              parentSpanId: hex(one(s, 4)),
              name: text(one(s, 5)) ?? '',
              kind: Number(one(s, 6)?.varint ?? 0n),
              startTimeUnixNano: one(s, 7)?.fixed?.readBigUInt64LE(0).toString(),
              endTimeUnixNano: one(s, 8)?.fixed?.readBigUInt64LE(0).toString(),
              status: { code: Number(one(status, 3)?.varint ?? 0n) },
              attributes: protoKeyValues(s.get(9)),
            };
          }),
        })),
      };
    }),
  };
}

/** Starts a receiver on 127.0.0.1 (a free port) that answers every export with 200 `{}`. */
export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const spans: ReceivedSpan[] = [];
  const raw: Buffer[] = [];
  const exports: ReceivedExport[] = [];
  let failures: { status: number; times: number; retryAfterSec: number | undefined } | null = null;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (failures && failures.times > 0) {
        failures.times--;
        exports.push({ headers: req.headers, spans: 0, status: failures.status });
        const headers =
          failures.retryAfterSec === undefined ? {} : { 'retry-after': String(failures.retryAfterSec) };
        res.writeHead(failures.status, headers).end();
        return;
      }
      let body = Buffer.concat(chunks);
      let got: ReceivedSpan[] = [];
      try {
        if (req.headers['content-encoding'] === 'gzip') body = gunzipSync(body);
        raw.push(body);
        if (req.url === '/v1/traces' && body.length > 0)
          got = decode(
            req.headers['content-type'] === 'application/x-protobuf'
              ? decodeProto(body)
              : (JSON.parse(body.toString('utf8')) as ExportRequest),
          );
      } catch {
        exports.push({ headers: req.headers, spans: 0, status: 400 });
        res.writeHead(400).end();
        return;
      }
      spans.push(...got);
      exports.push({ headers: req.headers, spans: got.length, status: 200 });
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    spans,
    raw,
    exports,
    failNext(status, times, retryAfterSec) {
      failures = { status, times, retryAfterSec };
    },
    async waitFor(predicate, timeoutMs = 10_000) {
      const until = Date.now() + timeoutMs;
      while (!predicate(spans)) {
        if (Date.now() > until)
          throw new Error(`OTLP receiver: condition not met; got ${spans.length} spans`);
        await new Promise((r) => setTimeout(r, 50));
      }
      return spans;
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
