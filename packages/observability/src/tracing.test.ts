import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startOtlpReceiver } from '@keyway/testing';
import type { OtlpReceiver } from '@keyway/testing';
import { createTracing, failSpan, noopTracing, tracesUrl } from './tracing';
import type { TracingEnv } from './tracing';

const off: TracingEnv = { OTEL_SDK_DISABLED: false, OTEL_PROPAGATE_UPSTREAM: false };
const CLIENT_PARENT = '00-0af7651916cd76f8a5a4d2e04aa1a1b1-b7ad6b7169203331-01';

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
  let receiver: OtlpReceiver;
  beforeEach(async () => {
    receiver = await startOtlpReceiver();
  });
  afterEach(() => receiver.close());

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
