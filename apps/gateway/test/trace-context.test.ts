// W3C trace context on a gateway without tracing (the default): the client's traceparent and tracestate stay
// between the client and Keyway; the provider gets neither (OTEL_PROPAGATE_UPSTREAM is the only way to send one).
import { startFakeUpstream } from '@keyway/testing';
import type { FakeUpstream } from '@keyway/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chatBody, postJson, startGateway } from './harness';
import type { TestGateway } from './harness';

describe('trace context without tracing', () => {
  let fake: FakeUpstream;
  let gw: TestGateway;

  beforeAll(async () => {
    fake = await startFakeUpstream();
    gw = await startGateway({
      groups: [{ name: 'plain', upstreams: [fake.url], keys: ['sk-trace-context-key-000000000001'] }],
    });
  });

  afterAll(async () => {
    await gw?.close();
    await fake?.close();
  });

  it("does not pass the client's traceparent or tracestate to the provider", async () => {
    const res = await postJson(`${gw.base('plain')}/v1/chat/completions`, chatBody(), {
      traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
      tracestate: 'vendor=opaque',
      'x-custom-header': 'kept',
    });
    expect(res.status).toBe(200);
    const seen = fake.requests[0];
    expect(seen?.headers['x-custom-header']).toBe('kept');
    expect(seen?.headers.traceparent).toBeUndefined();
    expect(seen?.headers.tracestate).toBeUndefined();
  });
});
