// OpenTelemetry end to end (issue 16): the built standalone process exports OTLP/HTTP JSON to an in-process
// receiver while proxying to the fake upstream. A request span under the client's traceparent, one attempt span
// per upstream attempt with the GenAI attributes, spans for admin requests and jobs, trace context sent upstream
// only with OTEL_PROPAGATE_UPSTREAM=true, and none of the secrets anywhere in what was exported.
import { startFakeUpstream, startOtlpReceiver } from '@keyway/testing';
import type { FakeUpstream, ManagedProcess, OtlpReceiver, ReceivedSpan } from '@keyway/testing';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { adminClient, startStandalone, tempDir } from './harness';

const AUTH_KEY = 'tracing-admin-Key-3f9a1c7e5b2d8046';
const PROXY_KEY = 'tracing-proxy-Key-6d2b8f0a4c1e9357';
const UPSTREAM_KEYS = ['sk-test-tracing-upstream-key-one', 'sk-test-tracing-upstream-key-two'];
const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const CLIENT_SPAN = '00f067aa0ba902b7';
const TRACEPARENT = `00-${TRACE_ID}-${CLIENT_SPAN}-01`;

const SERVER = 2;
const CLIENT = 3;

interface Keyway {
  proc: ManagedProcess;
  url: string;
  groupId: number;
  tmp: ReturnType<typeof tempDir>;
}

/** Starts a standalone exporting to `receiver`, with one OpenAI group of two keys in front of `fake`. */
async function startTraced(
  receiver: OtlpReceiver,
  fake: FakeUpstream,
  label: string,
  extra: Record<string, string> = {},
): Promise<Keyway> {
  const tmp = tempDir(label);
  const app = await startStandalone(tmp.dir, {
    AUTH_KEY,
    OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
    OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
    OTEL_BSP_SCHEDULE_DELAY: '50',
    ...extra,
  });
  const admin = adminClient(app.url, AUTH_KEY);
  const created = await admin.post('/groups', {
    name: 'traced',
    channel: 'openai',
    upstreams: [{ url: fake.url, weight: 1 }],
    proxyKeys: [PROXY_KEY],
  });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  const groupId = created.body.id as number;
  const added = await admin.post(`/groups/${groupId}/keys`, { keys: UPSTREAM_KEYS.join('\n') });
  expect(added.body).toMatchObject({ added: UPSTREAM_KEYS.length });
  return { ...app, groupId, tmp };
}

async function chat(app: Keyway, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${app.url}/proxy/traced/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${PROXY_KEY}`, 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] }),
  });
}

/** The request span of the proxied request that the client started with trace `traceId`, and its attempts. */
async function requestSpans(
  receiver: OtlpReceiver,
  traceId: string,
  attempts: number,
): Promise<{ server: ReceivedSpan; clients: ReceivedSpan[] }> {
  const spans = await receiver.waitFor(
    (s) =>
      s.some((x) => x.traceId === traceId && x.kind === SERVER && x.name.startsWith('POST /proxy/')) &&
      s.filter((x) => x.traceId === traceId && x.kind === CLIENT).length >= attempts,
  );
  const server = spans.find((x) => x.traceId === traceId && x.kind === SERVER) as ReceivedSpan;
  const clients = spans
    .filter((x) => x.traceId === traceId && x.kind === CLIENT)
    .sort(
      (a, b) => Number(a.attributes['keyway.attempt.number']) - Number(b.attributes['keyway.attempt.number']),
    );
  return { server, clients };
}

describe('standalone × OpenTelemetry', () => {
  let receiver: OtlpReceiver;
  let fake: FakeUpstream;
  let app: Keyway;

  beforeAll(async () => {
    receiver = await startOtlpReceiver();
    fake = await startFakeUpstream();
    app = await startTraced(receiver, fake, 'tracing');
  }, 60_000);

  afterAll(async () => {
    await app?.proc.stop();
    app?.tmp.cleanup();
    await fake?.close();
    await receiver?.close();
  });

  beforeEach(() => fake.reset());

  it('exports a request span under the client traceparent and an attempt span with the GenAI attributes', async () => {
    const res = await chat(app, { traceparent: TRACEPARENT, tracestate: 'vendor=opaque' });
    expect(res.status).toBe(200);
    await res.text();

    const { server, clients } = await requestSpans(receiver, TRACE_ID, 1);
    expect(server.parentSpanId).toBe(CLIENT_SPAN);
    expect(server.service).toBe('keyway');
    expect(server.name).toBe('POST /proxy/{group}/*');
    expect(server.attributes).toMatchObject({
      'gen_ai.provider.name': 'openai',
      'gen_ai.system': 'openai',
      'gen_ai.operation.name': 'chat',
      'gen_ai.request.model': 'gpt-4o-mini',
      'http.response.status_code': 200,
      'keyway.group.name': 'traced',
    });
    expect(server.attributes['gen_ai.usage.input_tokens']).toBeGreaterThan(0);
    expect(server.attributes['gen_ai.usage.output_tokens']).toBeGreaterThan(0);

    expect(clients).toHaveLength(1);
    const [attempt] = clients as [ReceivedSpan];
    expect(attempt.parentSpanId).toBe(server.spanId);
    expect(attempt.name).toBe('chat gpt-4o-mini');
    expect(attempt.attributes).toMatchObject({
      'gen_ai.provider.name': 'openai',
      'gen_ai.operation.name': 'chat',
      'gen_ai.request.model': 'gpt-4o-mini',
      'http.response.status_code': 200,
      'keyway.attempt.number': 1,
      'keyway.attempt.class': 'ok',
      'keyway.group.name': 'traced',
      'server.address': '127.0.0.1',
    });
    expect(typeof attempt.attributes['keyway.key.id']).toBe('number');

    // Propagation is off by default: the provider sees neither the client's trace context nor Keyway's.
    const seen = fake.requests[0];
    expect(seen?.headers.traceparent).toBeUndefined();
    expect(seen?.headers.tracestate).toBeUndefined();
  });

  it('exports one attempt span per try: the failed one carries its failure class', async () => {
    fake.setDefaultBehaviour({ status: 500, times: 1 });
    const traceId = 'aaaabbbbccccddddeeeeffff00001111';
    const res = await chat(app, { traceparent: `00-${traceId}-1111222233334444-01` });
    expect(res.status).toBe(200);
    await res.text();

    const { server, clients } = await requestSpans(receiver, traceId, 2);
    expect(clients).toHaveLength(2);
    const [first, second] = clients as [ReceivedSpan, ReceivedSpan];
    expect(first.attributes).toMatchObject({
      'keyway.attempt.number': 1,
      'keyway.attempt.class': 'upstream',
      'http.response.status_code': 500,
      'error.type': 'upstream',
    });
    expect(first.statusCode).toBe(2);
    expect(second.attributes).toMatchObject({ 'keyway.attempt.number': 2, 'keyway.attempt.class': 'ok' });
    expect(first.attributes['keyway.key.id']).not.toBe(second.attributes['keyway.key.id']);
    expect(first.parentSpanId).toBe(server.spanId);
    expect(second.parentSpanId).toBe(server.spanId);
    expect(server.attributes['keyway.retries']).toBe(1);
  });

  it('exports a span per admin request named by its route template, and a span per job', async () => {
    const spans = await receiver.waitFor(
      (s) =>
        s.some((x) => x.name === 'POST /api/groups/:id/keys') && s.some((x) => x.name.startsWith('job ')),
    );
    const keysAdded = spans.find((x) => x.name === 'POST /api/groups/:id/keys');
    expect(keysAdded).toMatchObject({
      kind: SERVER,
      attributes: { 'http.route': '/api/groups/:id/keys', 'http.response.status_code': 200 },
    });
    expect(spans.find((x) => x.name === 'POST /api/groups')?.attributes['http.response.status_code']).toBe(
      201,
    );
    const job = spans.find((x) => x.name.startsWith('job '));
    expect(job?.kind).toBe(1);
    expect(job?.attributes['keyway.job.name']).toBe(job?.name.slice(4));
  });

  it('never exports a secret: no upstream key, proxy key or admin key in any byte received', async () => {
    // Everything above has been exported by now (the batch delay is 50 ms); wait for one more request's spans.
    const res = await chat(app, { traceparent: `00-${'12'.repeat(16)}-${'34'.repeat(8)}-01` });
    await res.text();
    await requestSpans(receiver, '12'.repeat(16), 1);
    const raw = Buffer.concat(receiver.raw).toString('utf8');
    expect(raw.length).toBeGreaterThan(0);
    for (const secret of [AUTH_KEY, PROXY_KEY, ...UPSTREAM_KEYS]) expect(raw).not.toContain(secret);
  });
});

describe('standalone × OpenTelemetry with OTEL_PROPAGATE_UPSTREAM=true', () => {
  let receiver: OtlpReceiver;
  let fake: FakeUpstream;
  let app: Keyway;

  beforeAll(async () => {
    receiver = await startOtlpReceiver();
    fake = await startFakeUpstream();
    app = await startTraced(receiver, fake, 'tracing-propagate', { OTEL_PROPAGATE_UPSTREAM: 'true' });
  }, 60_000);

  afterAll(async () => {
    await app?.proc.stop();
    app?.tmp.cleanup();
    await fake?.close();
    await receiver?.close();
  });

  it("sends the attempt's trace context upstream: the client's trace, the attempt span as parent", async () => {
    const res = await chat(app, { traceparent: TRACEPARENT, tracestate: 'vendor=opaque' });
    expect(res.status).toBe(200);
    await res.text();
    const { clients } = await requestSpans(receiver, TRACE_ID, 1);
    const seen = fake.requests.find((r) => r.path === '/v1/chat/completions');
    expect(seen?.headers.traceparent).toBe(`00-${TRACE_ID}-${clients[0]?.spanId}-01`);
    expect(seen?.headers.tracestate).toBe('vendor=opaque');
  });
});
