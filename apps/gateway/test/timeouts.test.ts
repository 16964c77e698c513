import { startFakeUpstream } from '@keyway/testing';
import type { FakeUpstream } from '@keyway/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { PROXY_KEY, chatBody, postJson, readTimed, startGateway } from './harness';
import type { GroupOverrides, TestGateway } from './harness';

const A = 'sk-time-aaaaaaaaaaaaaaaa0001';
const B = 'sk-time-bbbbbbbbbbbbbbbb0002';

let fake: FakeUpstream | undefined;
let gw: TestGateway | undefined;
afterEach(async () => {
  await gw?.close();
  await fake?.close();
  gw = undefined;
  fake = undefined;
});

async function setup(config: GroupOverrides): Promise<{ fake: FakeUpstream; gw: TestGateway }> {
  fake = await startFakeUpstream();
  gw = await startGateway({ groups: [{ name: 'g', upstreams: [fake.url], keys: [A, B], config }] });
  return { fake, gw };
}

describe('timeouts', { timeout: 20_000 }, () => {
  it('response-header timeout: 504 after the retries, the error naming the timeout', async () => {
    const { fake, gw } = await setup({ responseHeaderTimeoutSeconds: 1, maxRetries: 1 });
    fake.setDefaultBehaviour({ hangHeaders: true });
    const t0 = Date.now();
    const res = await postJson(`${gw.base('g')}/v1/chat/completions`, chatBody());
    expect(Date.now() - t0).toBeLessThan(8000);
    expect(res.status).toBe(504);
    const body = res.json<{ error: { type: string; message: string } }>();
    expect(body.error.type).toBe('server_error');
    expect(body.error.message).toMatch(/timeout|timed out/i);
    expect(fake.requests).toHaveLength(2);
    expect(new Set(fake.requests.map((r) => r.key))).toEqual(new Set([A, B]));
    const [record] = await gw.waitForRecords(1);
    expect(record).toMatchObject({ statusCode: 504, success: false, retries: 1 });
    expect(record?.error).toMatch(/timeout/i);
    expect(record?.attempts.every((a) => a.statusCode === 504 && a.class === 'upstream')).toBe(true);
  });

  it('stream idle timeout: a stream silent for longer than streamIdleTimeoutSeconds is broken off', async () => {
    const { fake, gw } = await setup({ streamIdleTimeoutSeconds: 1, maxRetries: 0 });
    fake.setDefaultBehaviour({ streamChunkDelayMs: 2000 });
    const t0 = Date.now();
    const res = await fetch(`${gw.base('g')}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${PROXY_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify(chatBody({ stream: true })),
    });
    expect(res.status).toBe(200);
    const { error, text } = await readTimed(res);
    // The full stream would take 7 × 2 s; the gateway gives up after ~1 s of silence.
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(error).toBeDefined();
    expect(text).not.toContain('[DONE]');
    const [record] = await gw.waitForRecords(1);
    expect(record?.success).toBe(false);
    expect(record?.error).toMatch(/timeout/i);
  });

  it('overall request timeout (non-streamed): 504 once requestTimeoutSeconds passed', async () => {
    const { fake, gw } = await setup({ requestTimeoutSeconds: 1, maxRetries: 0 });
    fake.setDefaultBehaviour({ delayMs: 4000 });
    const t0 = Date.now();
    const res = await postJson(`${gw.base('g')}/v1/chat/completions`, chatBody());
    expect(Date.now() - t0).toBeLessThan(3500);
    expect(res.status).toBe(504);
    expect(res.json<{ error: { message: string } }>().error.message).toMatch(/timeout|timed out/i);
    expect(fake.requests).toHaveLength(1);
    await fake.waitForAborted(1, 2000);
    const [record] = await gw.waitForRecords(1);
    expect(record?.statusCode).toBe(504);
  });

  it('overall request timeout applies per attempt: with one retry, two attempts then 504', async () => {
    const { fake, gw } = await setup({ requestTimeoutSeconds: 1, maxRetries: 1 });
    fake.setDefaultBehaviour({ delayMs: 4000 });
    const t0 = Date.now();
    const res = await postJson(`${gw.base('g')}/v1/chat/completions`, chatBody());
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(res.status).toBe(504);
    expect(fake.requests).toHaveLength(2);
  });
});
