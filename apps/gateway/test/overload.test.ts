import { startFakeUpstream } from '@keyway/testing';
import type { FakeUpstream } from '@keyway/testing';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { PROXY_KEY, chatBody, postJson, send, startGateway } from './harness';
import type { SimpleResponse, TestGateway } from './harness';

describe('overload protection (settings.maxConcurrentRequests)', { timeout: 20_000 }, () => {
  let fake: FakeUpstream;
  let gw: TestGateway;

  beforeAll(async () => {
    fake = await startFakeUpstream();
    gw = await startGateway({
      settings: { maxConcurrentRequests: 2 },
      groups: [
        { name: 'oa', upstreams: [fake.url], keys: ['sk-over-openai-aaaaaaaaaa0001'] },
        {
          name: 'claude',
          channel: 'anthropic',
          upstreams: [fake.url],
          keys: ['sk-ant-over-bbbbbbbbbbb0002'],
        },
      ],
    });
  });
  afterAll(async () => {
    await gw.close();
    await fake.close();
  });
  beforeEach(() => fake.reset());

  const claude = (): Promise<SimpleResponse> =>
    send(`${gw.base('claude')}/v1/messages`, {
      method: 'POST',
      headers: { 'x-api-key': PROXY_KEY, 'content-type': 'application/json' },
      body: JSON.stringify({
        model: 'claude-3-5-haiku-latest',
        max_tokens: 5,
        messages: [{ role: 'user', content: 'hi' }],
      }),
    });

  it('a third concurrent request gets 429 with Retry-After in the Anthropic dialect; the slots free up afterwards', async () => {
    fake.setDefaultBehaviour({ delayMs: 2000 });
    const first = claude();
    const second = claude();
    await fake.waitFor(() => fake.requests.length >= 2, 3000);
    const third = await claude();
    expect(third.status).toBe(429);
    expect(third.headers['retry-after']).toBe('1');
    expect(third.json()).toMatchObject({ type: 'error', error: { type: 'rate_limit_error' } });
    expect(fake.requests).toHaveLength(2);
    // Refused requests are logged like any request, with no attempt and no key (API.md, proxy statuses).
    expect(gw.records.find((r) => r.statusCode === 429)).toMatchObject({ attempts: [], keyId: null });
    expect((await first).status).toBe(200);
    expect((await second).status).toBe(200);
    fake.setDefaultBehaviour(undefined);
    expect((await claude()).status).toBe(200);
  });

  it('answers the overload 429 in the OpenAI dialect on an openai group', async () => {
    fake.setDefaultBehaviour({ delayMs: 2000 });
    const slow = [
      postJson(`${gw.base('oa')}/v1/chat/completions`, chatBody()),
      postJson(`${gw.base('oa')}/v1/chat/completions`, chatBody()),
    ];
    await fake.waitFor(() => fake.requests.length >= 2, 3000);
    const res = await postJson(`${gw.base('oa')}/v1/chat/completions`, chatBody());
    expect(res.status).toBe(429);
    expect(res.headers['retry-after']).toBe('1');
    expect(res.json<{ error: { type: string } }>().error.type).toBe('rate_limit_error');
    for (const r of await Promise.all(slow)) expect(r.status).toBe(200);
  });
});
