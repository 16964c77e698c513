import type { Channel } from '@keyway/contracts';
import { startFakeUpstream } from '@keyway/testing';
import type { FakeUpstream } from '@keyway/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { chatBody, countBy, postJson, send, PROXY_KEY, sleep, startGateway } from './harness';
import type { GroupOverrides, KeySpec, TestGateway } from './harness';

const A = 'sk-fail-aaaaaaaaaaaaaaaa0001';
const B = 'sk-fail-bbbbbbbbbbbbbbbb0002';
const C = 'sk-fail-cccccccccccccccc0003';
const MANY = Array.from({ length: 6 }, (_, i) => `sk-fail-many-${String(i).padStart(16, 'x')}`);

let fake: FakeUpstream | undefined;
let gw: TestGateway | undefined;

async function setup(
  keys: ReadonlyArray<string | KeySpec>,
  config: GroupOverrides = {},
  channel: Channel = 'openai',
): Promise<{ fake: FakeUpstream; gw: TestGateway }> {
  fake = await startFakeUpstream();
  gw = await startGateway({ groups: [{ name: 'g', channel, upstreams: [fake.url], keys, config }] });
  return { fake, gw };
}

afterEach(async () => {
  await gw?.close();
  await fake?.close();
  gw = undefined;
  fake = undefined;
});

const chat = (g: TestGateway) => postJson(`${g.base('g')}/v1/chat/completions`, chatBody());

describe('failure handling and key health', { timeout: 20_000 }, () => {
  it('401: the key is invalid at once and the request is retried on another key', async () => {
    const { fake, gw } = await setup([A, B]);
    fake.setKeyBehaviour(A, { status: 401 });
    const res = await chat(gw);
    expect(res.status).toBe(200);
    expect(fake.requests.map((r) => r.key)).toEqual([A, B]);
    expect(gw.health(A).status).toBe('invalid');
    expect(gw.health(B).status).toBe('active');
    for (let i = 0; i < 4; i++) expect((await chat(gw)).status).toBe(200);
    expect(fake.requests.slice(2).every((r) => r.key === B)).toBe(true);
    const [record] = await gw.waitForRecords(1);
    expect(record?.retries).toBe(1);
    expect(record?.attempts.map((a) => [a.class, a.statusCode])).toEqual([
      ['auth', 401],
      ['ok', 200],
    ]);
    expect(record?.keyId).toBe(gw.keyId(B));
  });

  it('403 "account suspended": the key is invalid at once and the request is retried on another key', async () => {
    const { fake, gw } = await setup([A, B]);
    fake.setKeyBehaviour(A, { status: 403, message: 'Your account has been suspended.' });
    expect((await chat(gw)).status).toBe(200);
    expect(fake.requests.map((r) => r.key)).toEqual([A, B]);
    expect(gw.health(A).status).toBe('invalid');
    expect(gw.health(A).lastError).toBeTruthy();
  });

  it('429 with Retry-After: the key cools (not blacklisted) and comes back after that time', async () => {
    const { fake, gw } = await setup([A, B]);
    fake.setKeyBehaviour(A, { status: 429, headers: { 'retry-after': '1' }, times: 1 });
    const t0 = Date.now();
    expect((await chat(gw)).status).toBe(200);
    const t1 = Date.now();
    expect(fake.requests.map((r) => r.key)).toEqual([A, B]);
    const h = gw.health(A);
    expect(h.status).toBe('cooling');
    // Retry-After: 1 → cooling until one second after the 429 arrived (between t0 and t1).
    expect(h.cooldownUntil).toBeGreaterThanOrEqual(t0 + 1000);
    expect(h.cooldownUntil).toBeLessThanOrEqual(t1 + 1000);
    // While cooling, every request uses B.
    for (let i = 0; i < 3; i++) expect((await chat(gw)).status).toBe(200);
    const whileCooling = fake.requests.slice(2).filter((r) => r.time < (h.cooldownUntil ?? 0));
    expect(whileCooling.length).toBeGreaterThan(0);
    expect(whileCooling.every((r) => r.key === B)).toBe(true);
    // After the stated second, A is back in rotation.
    await sleep(Math.max(0, (h.cooldownUntil ?? 0) - Date.now()) + 100);
    fake.reset();
    for (let i = 0; i < 2; i++) expect((await chat(gw)).status).toBe(200);
    expect(new Set(fake.requests.map((r) => r.key))).toEqual(new Set([A, B]));
    expect(gw.health(A).status).toBe('active');
  });

  it('429 insufficient_quota: the key cools for quotaCooldownMinutes', async () => {
    const { fake, gw } = await setup([A, B], { quotaCooldownMinutes: 2 });
    fake.setKeyBehaviour(A, {
      status: 429,
      errorType: 'insufficient_quota',
      errorCode: 'insufficient_quota',
      message: 'You exceeded your current quota, please check your plan and billing details.',
    });
    const t0 = Date.now();
    expect((await chat(gw)).status).toBe(200);
    const t1 = Date.now();
    const h = gw.health(A);
    expect(h.status).toBe('cooling');
    expect(h.cooldownUntil).toBeGreaterThanOrEqual(t0 + 120_000);
    expect(h.cooldownUntil).toBeLessThanOrEqual(t1 + 120_000);
    const [record] = await gw.waitForRecords(1);
    expect(record?.attempts[0]?.class).toBe('quota');
  });

  it('500: retried on another key, counted, and the key blacklisted at blacklistThreshold', async () => {
    const { fake, gw } = await setup([A, B], { blacklistThreshold: 2 });
    fake.setKeyBehaviour(A, { status: 500 });
    expect((await chat(gw)).status).toBe(200);
    expect(gw.health(A)).toMatchObject({ status: 'active', failureCount: 1 });
    expect((await chat(gw)).status).toBe(200);
    expect(gw.health(A)).toMatchObject({ status: 'invalid', failureCount: 2 });
    for (let i = 0; i < 4; i++) expect((await chat(gw)).status).toBe(200);
    expect(countBy(fake.requests.map((r) => r.key)).get(A)).toBe(2);
  });

  it('blacklistThreshold 0 never blacklists a failing key', async () => {
    const { fake, gw } = await setup([A, B], { blacklistThreshold: 0 });
    fake.setKeyBehaviour(A, { status: 500 });
    for (let i = 0; i < 8; i++) expect((await chat(gw)).status).toBe(200);
    const h = gw.health(A);
    expect(h.status).toBe('active');
    expect(h.failureCount).toBeGreaterThanOrEqual(3);
    expect(countBy(fake.requests.map((r) => r.key)).get(A)).toBe(h.failureCount);
  });

  it('a success resets the failure count', async () => {
    const { fake, gw } = await setup([A, B], { blacklistThreshold: 3 });
    fake.setKeyBehaviour(A, { status: 500, times: 2 });
    await chat(gw);
    await chat(gw);
    expect(gw.health(A).failureCount).toBe(2);
    expect((await chat(gw)).status).toBe(200);
    expect(fake.requests.at(-1)?.key).toBe(A);
    expect(gw.health(A)).toMatchObject({ status: 'active', failureCount: 0 });
    // Two more failures: without the reset this would be the 4th (over the threshold of 3).
    fake.setKeyBehaviour(A, { status: 500, times: 2 });
    for (let i = 0; i < 4; i++) expect((await chat(gw)).status).toBe(200);
    expect(gw.health(A).status).toBe('active');
  });

  for (const status of [400, 404, 422]) {
    it(`${status}: returned to the caller once, never retried, the key untouched`, async () => {
      const { fake, gw } = await setup([A, B, C]);
      fake.setDefaultBehaviour({ status, message: `client problem ${status}: unknown field "foo"` });
      const res = await chat(gw);
      expect(res.status).toBe(status);
      expect(res.text).toContain(`client problem ${status}`);
      expect(fake.requests).toHaveLength(1);
      for (const k of [A, B, C]) expect(gw.health(k)).toMatchObject({ status: 'active', failureCount: 0 });
      const [record] = await gw.waitForRecords(1);
      expect(record).toMatchObject({ statusCode: status, success: false, retries: 0 });
      expect(record?.attempts.map((a) => a.class)).toEqual(['client']);
    });
  }

  it('maxRetries bounds the upstream calls (maxRetries 2 → 3 calls on 3 different keys)', async () => {
    const { fake, gw } = await setup(MANY, { maxRetries: 2, blacklistThreshold: 0 });
    fake.setDefaultBehaviour({ status: 500, message: 'boom' });
    const res = await chat(gw);
    expect(res.status).toBe(500);
    expect(res.text).toContain('boom');
    expect(fake.requests).toHaveLength(3);
    expect(new Set(fake.requests.map((r) => r.key)).size).toBe(3);
    const [record] = await gw.waitForRecords(1);
    expect(record?.retries).toBe(2);
    expect(record?.attempts).toHaveLength(3);
  });

  it('maxRetries 0 makes exactly one upstream call', async () => {
    const { fake, gw } = await setup(MANY, { maxRetries: 0, blacklistThreshold: 0 });
    fake.setDefaultBehaviour({ status: 500 });
    expect((await chat(gw)).status).toBe(500);
    expect(fake.requests).toHaveLength(1);
  });

  it('failoverStatusCodes "400-403,405-999": a 400 fails over to another key (GPT-Load compatibility)', async () => {
    const { fake, gw } = await setup([A, B], {
      failoverStatusCodes: '400-403,405-999',
      blacklistThreshold: 0,
    });
    fake.setKeyBehaviour(A, { status: 400, message: 'something about the request' });
    expect((await chat(gw)).status).toBe(200);
    expect(fake.requests.map((r) => r.key)).toEqual([A, B]);
    expect(gw.health(A).failureCount).toBe(1);
  });

  it('failoverStatusCodes: a status outside the list (404) is returned without failover', async () => {
    const { fake, gw } = await setup([A, B], { failoverStatusCodes: '400-403,405-999' });
    fake.setDefaultBehaviour({ status: 404 });
    expect((await chat(gw)).status).toBe(404);
    expect(fake.requests).toHaveLength(1);
    expect(gw.health(A)).toMatchObject({ status: 'active', failureCount: 0 });
  });

  it('no usable key (all disabled) → 503 in the dialect, without Retry-After and without an upstream call', async () => {
    const { fake, gw } = await setup([
      { value: A, status: 'disabled' },
      { value: B, status: 'disabled' },
    ]);
    const res = await chat(gw);
    expect(res.status).toBe(503);
    expect(res.headers['retry-after']).toBeUndefined();
    expect(res.json<{ error: { type: string; message: string } }>().error.type).toBe('server_error');
    expect(fake.requests).toHaveLength(0);
  });

  it('a group without keys → 503', async () => {
    const { fake, gw } = await setup([]);
    expect((await chat(gw)).status).toBe(503);
    expect(fake.requests).toHaveLength(0);
  });

  it('every key cooling → 503 with Retry-After until the first cooldown ends', async () => {
    const until = Date.now() + 30_000;
    const { fake, gw } = await setup(
      [
        { value: A, status: 'cooling', cooldownUntil: until },
        { value: B, status: 'cooling', cooldownUntil: until + 10_000 },
      ],
      {},
      'anthropic',
    );
    const res = await send(`${gw.base('g')}/v1/messages`, {
      method: 'POST',
      headers: { 'x-api-key': PROXY_KEY, 'content-type': 'application/json' },
      body: JSON.stringify({
        model: 'claude-3-5-haiku-latest',
        max_tokens: 5,
        messages: [{ role: 'user', content: 'hi' }],
      }),
    });
    expect(res.status).toBe(503);
    const retryAfter = Number(res.headers['retry-after']);
    expect(retryAfter).toBeGreaterThanOrEqual(25);
    expect(retryAfter).toBeLessThanOrEqual(30);
    expect(res.json()).toMatchObject({ type: 'error', error: { type: 'overloaded_error' } });
    expect(fake.requests).toHaveLength(0);
  });

  it('every key blacklisted → the next request still probes the upstream with one of them (and heals it)', async () => {
    const { fake, gw } = await setup([A, B]);
    fake.setKeyBehaviour(A, { status: 401 });
    fake.setKeyBehaviour(B, { status: 401 });
    const res = await chat(gw);
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(gw.health(A).status).toBe('invalid');
    expect(gw.health(B).status).toBe('invalid');
    // The keys were wrongly blacklisted (say, a provider incident): the upstream accepts them again.
    fake.reset();
    expect((await chat(gw)).status).toBe(200);
    expect(fake.requests).toHaveLength(1);
    const probed = fake.requests[0]?.key as string;
    expect(gw.health(probed).status).toBe('active');
    expect((await chat(gw)).status).toBe(200);
  });

  it('a request in flight when its key is blacklisted does not bring the key back by succeeding', async () => {
    const { fake, gw } = await setup([A]);
    // The first request on A is slow and succeeds; every later one meets a 401 (the key was revoked meanwhile).
    fake.setKeyBehaviour(A, { delayMs: 800, times: 1, then: { status: 401 } });
    const slow = chat(gw);
    await sleep(200);
    expect((await chat(gw)).status).toBe(401);
    expect(gw.health(A).status).toBe('invalid');
    expect((await slow).status).toBe(200);
    // The success was sent before the 401: older news, so the key stays out of rotation.
    expect(gw.health(A)).toMatchObject({ status: 'invalid' });
  });

  it('a 429 that arrives after its key was blacklisted leaves the key blacklisted, not cooling', async () => {
    const { fake, gw } = await setup([A, B]);
    // The first request on A is slow and ends in a 429; the next one on A meets a 401 at once.
    fake.setKeyBehaviour(A, {
      status: 429,
      headers: { 'retry-after': '1' },
      delayMs: 800,
      times: 1,
      then: { status: 401 },
    });
    const slow = chat(gw); // A (429, later), then retried on B
    await sleep(200);
    expect((await chat(gw)).status).toBe(200); // B
    expect((await chat(gw)).status).toBe(200); // A: 401, retried on B
    expect(gw.health(A).status).toBe('invalid');
    expect((await slow).status).toBe(200);
    // Cooling would end by itself in a second and put a revoked key back in rotation.
    expect(gw.health(A)).toMatchObject({ status: 'invalid' });
  });

  it('keys loaded as invalid: the first request reaches the upstream as a probe; a failed probe is not repeated at once', async () => {
    const { fake, gw } = await setup([
      { value: A, status: 'invalid' },
      { value: B, status: 'invalid' },
    ]);
    fake.setDefaultBehaviour({ status: 401 });
    const first = await chat(gw);
    expect(first.status).toBe(401);
    expect(fake.requests).toHaveLength(1);
    // Within PROBE_INTERVAL_MS no further probe: 503 without contacting the upstream.
    const second = await chat(gw);
    expect(second.status).toBe(503);
    expect(fake.requests).toHaveLength(1);
  });
});
