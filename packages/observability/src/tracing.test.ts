import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startOtlpReceiver } from '@keyway/testing';
import type { OtlpReceiver } from '@keyway/testing';
import { createTracing, failSpan, noopTracing, tracesUrl } from './tracing';
import type { TracingEnv } from './tracing';

const off: TracingEnv = { OTEL_SDK_DISABLED: false, OTEL_PROPAGATE_UPSTREAM: false };
const CLIENT_PARENT = '00-0af7651916cd76f8a5a4d2e04aa1a1b1-b7ad6b7169203331-01';

// One in-process OTLP receiver per test (a test that stops it starts the next one itself).
let receiver: OtlpReceiver;
beforeEach(async () => {
  receiver = await startOtlpReceiver();
});
afterEach(() => receiver.close());

describe('createTracing off', () => {
  it('is the no-op facade without an OTLP endpoint', () => {
    const tracing = createTracing(off, 'keyway');
    expect(tracing).toBe(noopTracing);
    expect(tracing.enabled).toBe(false);
  });

  it('is the no-op facade when OTEL_SDK_DISABLED is true, endpoint or not', () => {
    const env = { ...off, OTEL_SDK_DISABLED: true, OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:1' };
    expect(createTracing(env, 'keyway')).toBe(noopTracing);
  });

  it('creates no span objects: every span is the same non-recording one, with no headers to propagate', async () => {
    const a = noopTracing.startSpan('a', 'server', { x: 1 }, { traceparent: CLIENT_PARENT });
    const b = noopTracing.startSpan('b', 'client');
    expect(a).toBe(b);
    expect(a.isRecording()).toBe(false);
    expect(noopTracing.headersOf(a)).toEqual({});
    expect(await noopTracing.traced('job', {}, () => Promise.resolve(7))).toBe(7);
  });
});

describe('tracesUrl', () => {
  it('appends /v1/traces to the generic endpoint and takes the traces endpoint as given', () => {
    expect(tracesUrl({ ...off, OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318/' })).toBe(
      'http://c:4318/v1/traces',
    );
    expect(
      tracesUrl({
        ...off,
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318',
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'https://api.honeycomb.io/v1/traces',
      }),
    ).toBe('https://api.honeycomb.io/v1/traces');
  });
});

describe('createTracing on (OTLP/HTTP JSON to an in-process receiver)', () => {
  it('exports a server span under the caller traceparent, its client child, and a failed job on shutdown', async () => {
    const tracing = createTracing(
      { ...off, OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' },
      'keyway-test',
    );
    expect(tracing.enabled).toBe(true);
    const server = tracing.startSpan(
      'POST /proxy/{group}',
      'server',
      { a: 'b' },
      { traceparent: CLIENT_PARENT },
    );
    const client = tracing.startSpan('chat gpt-4o', 'client', { n: 2 }, { span: server });
    const headers = tracing.headersOf(client);
    expect(headers.traceparent).toMatch(
      new RegExp(`^00-0af7651916cd76f8a5a4d2e04aa1a1b1-${client.spanContext().spanId}-01$`),
    );
    failSpan(client, 'rate_limit');
    client.end();
    server.end();
    await expect(
      tracing.traced('job', { j: true }, () => Promise.reject(new TypeError('x'))),
    ).rejects.toThrow();
    await tracing.shutdown();

    const spans = await receiver.waitFor((s) => s.length === 3);
    const byName = new Map(spans.map((s) => [s.name, s]));
    const s = byName.get('POST /proxy/{group}');
    const c = byName.get('chat gpt-4o');
    expect(s?.traceId).toBe('0af7651916cd76f8a5a4d2e04aa1a1b1');
    expect(s?.parentSpanId).toBe('b7ad6b7169203331');
    expect(s?.kind).toBe(2);
    expect(s?.service).toBe('keyway-test');
    expect(c?.parentSpanId).toBe(s?.spanId);
    expect(c).toMatchObject({ kind: 3, statusCode: 2, attributes: { n: 2, 'error.type': 'rate_limit' } });
    expect(byName.get('job')).toMatchObject({
      kind: 1,
      statusCode: 2,
      attributes: { 'error.type': 'TypeError' },
    });
  });
});

const on = (receiver: OtlpReceiver, extra: Partial<TracingEnv> = {}): TracingEnv => ({
  ...off,
  OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
  ...extra,
});

describe('createTracing on (OTLP/HTTP protobuf, the default)', () => {
  it('exports every attribute type, times in nanoseconds, the resource and the caller tracestate', async () => {
    const warnings: string[] = [];
    const before = BigInt(Date.now()) * 1_000_000n;
    const tracing = createTracing(on(receiver), 'keyway-proto', (m) => warnings.push(m), {
      OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment=prod%20eu,service.name=from-attributes',
      OTEL_SERVICE_NAME: 'keyway-proto',
    });
    const long = 'é'.repeat(3000);
    const span = tracing.startSpan(
      'POST /v1/chat/completions',
      'server',
      {
        s: 'text',
        i: 42,
        neg: -7,
        big: 2 ** 40,
        d: 1.5,
        t: true,
        f: false,
        skip: undefined,
        nan: Number.NaN,
      },
      { traceparent: CLIENT_PARENT, tracestate: 'congo=t61rcWkgMzE,rojo=00f067aa0ba902b7' },
    );
    span.setAttribute('long', long);
    span.setAttributes({ later: 'yes', i: 43 });
    span.updateName('POST /proxy/{group}/*');
    failSpan(span, 'upstream');
    span.end();
    span.setAttribute('after-end', 'ignored');
    await tracing.shutdown();
    const after = BigInt(Date.now()) * 1_000_000n;

    const [s] = await receiver.waitFor((x) => x.length === 1);
    expect(receiver.exports[0]?.headers['content-type']).toBe('application/x-protobuf');
    expect(s).toMatchObject({
      traceId: '0af7651916cd76f8a5a4d2e04aa1a1b1',
      parentSpanId: 'b7ad6b7169203331',
      name: 'POST /proxy/{group}/*',
      kind: 2,
      statusCode: 2,
      service: 'keyway-proto',
      traceState: 'congo=t61rcWkgMzE,rojo=00f067aa0ba902b7',
      attributes: {
        s: 'text',
        i: 43,
        neg: -7,
        big: 2 ** 40,
        d: 1.5,
        t: true,
        f: false,
        later: 'yes',
        'error.type': 'upstream',
      },
      resource: { 'deployment.environment': 'prod eu', 'telemetry.sdk.language': 'nodejs' },
    });
    expect(s?.spanId).toMatch(/^[0-9a-f]{16}$/);
    expect(s?.attributes).not.toHaveProperty('skip');
    expect(s?.attributes).not.toHaveProperty('nan');
    expect(s?.attributes).not.toHaveProperty('after-end');
    // A caller-sized value is cut at 1024 characters, not at a byte inside one.
    expect(s?.attributes.long).toBe('é'.repeat(1024));
    const start = BigInt(s?.startTimeUnixNano ?? '0');
    const end = BigInt(s?.endTimeUnixNano ?? '0');
    expect(start).toBeGreaterThanOrEqual(before - 5_000_000n);
    expect(end).toBeGreaterThanOrEqual(start);
    expect(end).toBeLessThanOrEqual(after + 5_000_000n);
    expect(warnings).toEqual([]);
  });

  it('starts a new trace for a malformed traceparent, and keeps a child in its parent trace', async () => {
    const tracing = createTracing(on(receiver), 'keyway-proto');
    for (const bad of [
      '00-0AF7651916CD76F8A5A4D2E04AA1A1B1-b7ad6b7169203331-01',
      'ff-0af7651916cd76f8a5a4d2e04aa1a1b1-b7ad6b7169203331-01',
      `00-${'0'.repeat(32)}-b7ad6b7169203331-01`,
      '00-0af7651916cd76f8a5a4d2e04aa1a1b1-0000000000000000-01',
      '00-0af7651916cd76f8a5a4d2e04aa1a1b1-b7ad6b7169203331-01-extra',
      '00-0af7651916cd76f8a5a4d2e04aa1a1b1-b7ad6b7169203331-01\r\nx-injected: 1',
    ]) {
      const span = tracing.startSpan(bad.slice(0, 8), 'server', {}, { traceparent: bad, tracestate: 'a=b' });
      expect(span.spanContext().traceId).not.toBe('0af7651916cd76f8a5a4d2e04aa1a1b1');
      expect(span.spanContext().traceState).toBe('');
      span.end();
    }
    // A later version is read by its version-00 prefix.
    const future = tracing.startSpan(
      'future',
      'server',
      {},
      {
        traceparent: '01-0af7651916cd76f8a5a4d2e04aa1a1b1-b7ad6b7169203331-01-what-comes-next',
      },
    );
    expect(future.spanContext().traceId).toBe('0af7651916cd76f8a5a4d2e04aa1a1b1');
    const child = tracing.startSpan('child', 'client', {}, { span: future });
    expect(tracing.headersOf(child)).toEqual({
      traceparent: `00-0af7651916cd76f8a5a4d2e04aa1a1b1-${child.spanContext().spanId}-01`,
    });
    child.end();
    future.end();
    await tracing.shutdown();
    const spans = await receiver.waitFor((x) => x.length === 8);
    expect(spans.find((x) => x.name === 'child')?.parentSpanId).toBe(future.spanContext().spanId);
  });

  it("takes a span's first setAttributes as its starting attributes: the same export as passing them to startSpan", async () => {
    const tracing = createTracing(on(receiver), 'k');
    const given = tracing.startSpan('given', 'server', { a: 'x', b: 2, gone: undefined });
    given.setAttribute('b', 3);
    given.setAttributes({ c: true });
    given.end();
    const later = tracing.startSpan('later', 'server');
    const first = { a: 'x', b: 2, gone: undefined };
    later.setAttributes(first);
    later.setAttribute('b', 3);
    later.setAttributes({ c: true });
    later.end();
    // Set after a single attribute: not taken as the starting ones, and nothing set before is lost.
    const mixed = tracing.startSpan('mixed', 'server');
    mixed.setAttribute('z', 'first');
    mixed.setAttributes({ a: 'x', b: 3, c: true });
    mixed.end();
    await tracing.shutdown();
    const spans = await receiver.waitFor((x) => x.length === 3);
    const want = { a: 'x', b: 3, c: true };
    expect(spans.find((x) => x.name === 'given')?.attributes).toEqual(want);
    expect(spans.find((x) => x.name === 'later')?.attributes).toEqual(want);
    expect(spans.find((x) => x.name === 'mixed')?.attributes).toEqual({ ...want, z: 'first' });
    // The object handed over is read, never written.
    expect(first).toEqual({ a: 'x', b: 2, gone: undefined });
  });

  it('sends a batch as soon as it holds OTEL_BSP_MAX_EXPORT_BATCH_SIZE spans, the rest after the delay', async () => {
    const tracing = createTracing(on(receiver), 'k', undefined, {
      OTEL_BSP_MAX_EXPORT_BATCH_SIZE: '3',
      OTEL_BSP_SCHEDULE_DELAY: '100',
    });
    for (let i = 0; i < 7; i++) tracing.startSpan(`s${i}`, 'internal').end();
    await receiver.waitFor((x) => x.length === 7);
    expect(receiver.exports.map((e) => e.spans)).toEqual([3, 3, 1]);
    await tracing.shutdown();
  });

  it('sends batch after batch intact while it writes each into the memory of one already sent', async () => {
    const tracing = createTracing(on(receiver), 'k', undefined, {
      OTEL_BSP_MAX_EXPORT_BATCH_SIZE: '400',
      OTEL_BSP_SCHEDULE_DELAY: '50',
    });
    // Batches over 64 KB (a batch buffer's smallest size): ten of them, each span named after its place.
    const padding = 'p'.repeat(200);
    for (let i = 0; i < 4000; i++) {
      tracing.startSpan(`span-${i}`, 'internal', { i, padding }).end();
      if (i % 400 === 399) await receiver.waitFor((x) => x.length === i + 1);
    }
    await tracing.shutdown();
    const spans = await receiver.waitFor((x) => x.length === 4000);
    expect(spans.every((s, i) => s.name === `span-${i}` && s.attributes.i === i)).toBe(true);
    expect(receiver.exports.map((e) => e.spans)).toEqual(Array.from({ length: 10 }, () => 400));
  });

  it('decodes spans whose length takes one, two or three bytes, side by side in one batch', async () => {
    const tracing = createTracing(on(receiver), 'k');
    tracing.startSpan('tiny', 'internal').end();
    tracing.startSpan('mid', 'internal', { a: 'x'.repeat(300) }).end();
    const big: Record<string, string> = {};
    for (let i = 0; i < 20; i++) big[`attr.${i}`] = String(i).repeat(1024).slice(0, 1024);
    tracing.startSpan('big', 'internal', big).end();
    tracing.startSpan('after', 'internal', { n: 1 }).end();
    await tracing.shutdown();
    const spans = await receiver.waitFor((x) => x.length === 4);
    expect(spans.map((x) => x.name)).toEqual(['tiny', 'mid', 'big', 'after']);
    expect(spans[2]?.attributes).toEqual(big);
    expect(spans[3]?.attributes).toEqual({ n: 1 });
  });

  it('sends OTEL_EXPORTER_OTLP_HEADERS, gzip when asked, and ignores a header with CR/LF without quoting it', async () => {
    const warnings: string[] = [];
    const tracing = createTracing(on(receiver), 'k', (m) => warnings.push(m), {
      OTEL_EXPORTER_OTLP_HEADERS:
        'x-honeycomb-team=secret%20team,Authorization=Basic%20abc,x-bad=v%0D%0Ax-evil:%201',
      OTEL_EXPORTER_OTLP_TRACES_HEADERS: 'x-honeycomb-team=traces-team',
      OTEL_EXPORTER_OTLP_COMPRESSION: 'gzip',
    });
    tracing.startSpan('one', 'internal').end();
    await tracing.shutdown();
    await receiver.waitFor((x) => x.length === 1);
    const headers = receiver.exports[0]?.headers;
    expect(headers).toMatchObject({
      'x-honeycomb-team': 'traces-team',
      authorization: 'Basic abc',
      'content-encoding': 'gzip',
    });
    expect(headers).not.toHaveProperty('x-bad');
    expect(headers).not.toHaveProperty('x-evil');
    expect(warnings).toHaveLength(1);
    expect(warnings.join()).not.toMatch(/secret|abc|evil/);
  });

  it('retries a 503 after its Retry-After, and gives up on a 400 with a report naming the status only', async () => {
    const errors: string[] = [];
    const tracing = createTracing(on(receiver), 'k', (m) => errors.push(m), {
      OTEL_BSP_SCHEDULE_DELAY: '20',
      OTEL_EXPORTER_OTLP_HEADERS: 'authorization=Bearer%20collector-secret',
    });
    receiver.failNext(503, 1, 0);
    tracing.startSpan('retried', 'internal').end();
    await receiver.waitFor((x) => x.length === 1);
    expect(receiver.exports.map((e) => e.status)).toEqual([503, 200]);

    receiver.failNext(400, 1);
    tracing.startSpan('refused', 'internal').end();
    await tracing.shutdown();
    expect(receiver.exports.map((e) => e.status)).toEqual([503, 200, 400]);
    expect(errors).toEqual(['trace export failed: the collector answered 400; 1 spans dropped']);
    expect(receiver.spans.map((s) => s.name)).toEqual(['retried']);
  });

  it('gives up on a collector that never answers after OTEL_EXPORTER_OTLP_TIMEOUT, within OTEL_BSP_EXPORT_TIMEOUT', async () => {
    // Accepts connections and reads, never answers.
    const silent = createServer(() => {});
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const { port } = silent.address() as AddressInfo;
    const errors: string[] = [];
    const tracing = createTracing(
      { ...off, OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}` },
      'k',
      (m) => errors.push(m),
      { OTEL_EXPORTER_OTLP_TIMEOUT: '150', OTEL_BSP_EXPORT_TIMEOUT: '600' },
    );
    tracing.startSpan('lost', 'internal').end();
    const started = Date.now();
    await tracing.shutdown();
    const took = Date.now() - started;
    silent.closeAllConnections();
    await new Promise((resolve) => silent.close(resolve));
    expect(errors).toEqual(['trace export failed: no answer within 150 ms; 1 spans dropped']);
    expect(took).toBeLessThan(2000);
  });

  it('drops spans beyond OTEL_BSP_MAX_QUEUE_SIZE while the collector is down, and says how many', async () => {
    const errors: string[] = [];
    const deadUrl = receiver.url;
    await receiver.close();
    const tracing = createTracing(
      on(receiver, { OTEL_EXPORTER_OTLP_ENDPOINT: deadUrl }),
      'k',
      (m) => errors.push(m),
      {
        OTEL_BSP_MAX_QUEUE_SIZE: '4',
        OTEL_BSP_MAX_EXPORT_BATCH_SIZE: '2',
        OTEL_BSP_EXPORT_TIMEOUT: '300',
      },
    );
    for (let i = 0; i < 10; i++) tracing.startSpan(`s${i}`, 'internal').end();
    await tracing.shutdown();
    expect(errors[0]).toBe('trace export queue full (OTEL_BSP_MAX_QUEUE_SIZE=4): 1 spans dropped so far');
    expect(errors.some((e) => e.startsWith('trace export failed: ECONNREFUSED'))).toBe(true);
    receiver = await startOtlpReceiver();
  });
});

describe('sampling (OTEL_TRACES_SAMPLER)', () => {
  it('always_off records nothing but still passes trace context on (flags 00)', async () => {
    const tracing = createTracing(on(receiver), 'k', undefined, { OTEL_TRACES_SAMPLER: 'always_off' });
    const span = tracing.startSpan('x', 'server', {}, { traceparent: CLIENT_PARENT });
    expect(span.isRecording()).toBe(false);
    expect(tracing.headersOf(span).traceparent).toMatch(
      /^00-0af7651916cd76f8a5a4d2e04aa1a1b1-[0-9a-f]{16}-00$/,
    );
    span.end();
    await tracing.shutdown();
    expect(receiver.exports).toHaveLength(0);
  });

  it('an unsampled span formats its ids only when read, the same ids on every read, and its child follows them', async () => {
    const tracing = createTracing(on(receiver, { OTEL_PROPAGATE_UPSTREAM: true }), 'k', undefined, {
      OTEL_TRACES_SAMPLER: 'traceidratio',
      OTEL_TRACES_SAMPLER_ARG: '0',
    });
    const request = tracing.startSpan('r', 'server', { a: 'b' });
    const attempt = tracing.startSpan('a', 'client', { n: 1 }, { span: request });
    expect(request.isRecording()).toBe(false);
    expect(attempt.isRecording()).toBe(false);
    // Read after the child was started from the parent's words: what the parent propagates is what the child shows.
    const first = request.spanContext();
    expect(first.traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(first.traceId).not.toBe('0'.repeat(32));
    expect(first.spanId).toMatch(/^[0-9a-f]{16}$/);
    expect(request.spanContext()).toEqual(first);
    expect(tracing.headersOf(request)).toEqual({ traceparent: `00-${first.traceId}-${first.spanId}-00` });
    const child = attempt.spanContext();
    expect(child).toEqual({ traceId: first.traceId, spanId: child.spanId, traceFlags: 0, traceState: '' });
    expect(child.spanId).not.toBe(first.spanId);
    expect(tracing.headersOf(attempt)).toEqual({ traceparent: `00-${first.traceId}-${child.spanId}-00` });
    expect(tracing.headersOf(attempt)).toEqual(tracing.headersOf(attempt));
    expect(attempt.spanContext()).toEqual(child);

    // Under an unsampled caller: the caller's trace, its tracestate, a span id of its own.
    const parentBased = createTracing(on(receiver), 'k');
    const called = parentBased.startSpan(
      'r',
      'server',
      {},
      { traceparent: CLIENT_PARENT.replace(/01$/, '00'), tracestate: 'rojo=00f067aa0ba902b7' },
    );
    const calledAttempt = parentBased.startSpan('a', 'client', {}, { span: called });
    const ids = [called.spanContext().spanId, calledAttempt.spanContext().spanId];
    expect(new Set([...ids, 'b7ad6b7169203331']).size).toBe(3);
    for (const span of [called, calledAttempt]) {
      expect(span.isRecording()).toBe(false);
      expect(parentBased.headersOf(span)).toEqual({
        traceparent: `00-0af7651916cd76f8a5a4d2e04aa1a1b1-${span.spanContext().spanId}-00`,
        tracestate: 'rojo=00f067aa0ba902b7',
      });
    }
    await tracing.shutdown();
    await parentBased.shutdown();
    expect(receiver.exports).toHaveLength(0);
  });

  it('parent-based (the default) follows the caller: an unsampled parent is not recorded', async () => {
    const tracing = createTracing(on(receiver), 'k');
    const unsampled = tracing.startSpan(
      'x',
      'server',
      {},
      { traceparent: CLIENT_PARENT.replace(/01$/, '00') },
    );
    const sampled = tracing.startSpan('y', 'server', {}, { traceparent: CLIENT_PARENT });
    expect(unsampled.isRecording()).toBe(false);
    expect(sampled.isRecording()).toBe(true);
    await tracing.shutdown();
  });

  it('traceidratio keeps about the ratio of new traces, the same ones in every process', () => {
    const a = createTracing(on(receiver), 'k', undefined, {
      OTEL_TRACES_SAMPLER: 'traceidratio',
      OTEL_TRACES_SAMPLER_ARG: '0.25',
    });
    let kept = 0;
    for (let i = 0; i < 4000; i++) if (a.startSpan('r', 'internal').isRecording()) kept++;
    expect(kept).toBeGreaterThan(800);
    expect(kept).toBeLessThan(1200);
    // Not parent-based: a sampled caller does not force it; the decision depends on the trace id only.
    const decide = (id: string): boolean =>
      a.startSpan('p', 'server', {}, { traceparent: `00-${id}-b7ad6b7169203331-01` }).isRecording();
    expect(decide(`${'f'.repeat(18)}${'0'.repeat(14)}`)).toBe(true);
    expect(decide('f'.repeat(32))).toBe(false);
  });

  it('an unknown sampler or ratio falls back to the default with a warning', () => {
    const warnings: string[] = [];
    const t = createTracing(on(receiver), 'k', (m) => warnings.push(m), {
      OTEL_TRACES_SAMPLER: 'jaeger_remote',
      OTEL_BSP_MAX_QUEUE_SIZE: '-3',
    });
    expect(t.startSpan('x', 'internal').isRecording()).toBe(true);
    expect(warnings).toEqual([
      'OTEL_BSP_MAX_QUEUE_SIZE="-3" is not a positive integer; using 2048',
      'OTEL_TRACES_SAMPLER="jaeger_remote" is not supported; using parentbased_always_on',
    ]);
  });
});
