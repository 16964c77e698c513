import Anthropic from '@anthropic-ai/sdk';
import type { RequestLog } from '@keyway/contracts';
import { startFakeUpstream } from '@keyway/testing';
import type { FakeUpstream, ManagedProcess } from '@keyway/testing';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { adminClient, startStandalone, tempDir } from './harness';

const AUTH_KEY = 'sdk-anthropic-admin-Key-4b7e1a9c2d3f';
const PROXY_KEY = 'sdk-anthropic-proxy-Key-8d2f6c0e5a1b';
const UPSTREAM_KEYS = [
  'sk-ant-sdk-upstream-aaaaaaaaaaaaaaaa1111',
  'sk-ant-sdk-upstream-bbbbbbbbbbbbbbbb2222',
];
const TEXT = 'Hello from fake upstream';
const PARAMS = {
  model: 'claude-3-5-haiku-latest',
  max_tokens: 64,
  messages: [{ role: 'user' as const, content: 'Say hello to the gateway test' }],
};

describe('standalone × @anthropic-ai/sdk', () => {
  let fake: FakeUpstream;
  let app: { proc: ManagedProcess; url: string };
  let tmp: ReturnType<typeof tempDir>;
  let admin: ReturnType<typeof adminClient>;
  let groupId: number;
  let client: Anthropic;

  beforeAll(async () => {
    fake = await startFakeUpstream();
    tmp = tempDir('sdk-anthropic');
    app = await startStandalone(tmp.dir, { AUTH_KEY });
    admin = adminClient(app.url, AUTH_KEY);
    const created = await admin.post('/groups', {
      name: 'claude',
      channel: 'anthropic',
      upstreams: [{ url: fake.url, weight: 1 }],
      proxyKeys: [PROXY_KEY],
      config: { maxRetries: 1 },
    });
    expect(created.status).toBe(201);
    groupId = created.body.id as number;
    const added = await admin.post(`/groups/${groupId}/keys`, { keys: UPSTREAM_KEYS.join('\n') });
    expect(added.body).toMatchObject({ added: 2 });
    client = new Anthropic({
      apiKey: PROXY_KEY,
      authToken: null,
      baseURL: `${app.url}/proxy/claude`,
      maxRetries: 0,
      timeout: 15_000,
    });
  }, 60_000);

  afterAll(async () => {
    await app?.proc.stop();
    await fake?.close();
    tmp?.cleanup();
  });

  beforeEach(() => fake.reset());

  /** Every request the fake saw carried a pooled key in x-api-key, and never the proxy key. */
  function expectPooledKeysOnly(): void {
    expect(fake.requests.length).toBeGreaterThan(0);
    for (const r of fake.requests) {
      expect(r.path).toBe('/v1/messages');
      expect(UPSTREAM_KEYS).toContain(r.headers['x-api-key']);
      expect(r.headers.authorization).toBeUndefined();
      expect(r.headers['anthropic-version']).toBeTruthy();
      expect(JSON.stringify(r.headers) + r.query.toString() + r.body).not.toContain(PROXY_KEY);
    }
  }

  it('messages.create answers through the gateway, rotating the pooled keys', async () => {
    for (let i = 0; i < 2; i++) {
      const msg = await client.messages.create(PARAMS);
      expect(msg.type).toBe('message');
      expect(msg.content).toEqual([{ type: 'text', text: TEXT }]);
      expect(msg.usage.output_tokens).toBe(4);
    }
    expectPooledKeysOnly();
    expect(new Set(fake.requests.map((r) => r.key))).toEqual(new Set(UPSTREAM_KEYS));
  });

  it('messages.stream delivers the text deltas and the final message', async () => {
    const stream = client.messages.stream(PARAMS);
    const deltas: string[] = [];
    stream.on('text', (t) => deltas.push(t));
    const final = await stream.finalMessage();
    expect(deltas).toEqual(['Hello', ' from', ' fake', ' upstream']);
    expect(final.content).toEqual([{ type: 'text', text: TEXT }]);
    expect(final.usage.output_tokens).toBe(4);
    expectPooledKeysOnly();
  });

  it('messages.create with stream: true yields the raw event sequence', async () => {
    const stream = await client.messages.create({ ...PARAMS, stream: true });
    const types: string[] = [];
    for await (const event of stream) types.push(event.type);
    expect(types[0]).toBe('message_start');
    expect(types.at(-1)).toBe('message_stop');
    expect(types.filter((t) => t === 'content_block_delta')).toHaveLength(4);
    expectPooledKeysOnly();
  });

  it("a wrong proxy key raises the SDK's AuthenticationError without reaching the upstream", async () => {
    const bad = new Anthropic({
      apiKey: 'not-the-proxy-key',
      authToken: null,
      baseURL: `${app.url}/proxy/claude`,
      maxRetries: 0,
    });
    const error = await bad.messages.create(PARAMS).then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(Anthropic.AuthenticationError);
    expect((error as InstanceType<typeof Anthropic.AuthenticationError>).status).toBe(401);
    expect(fake.requests).toHaveLength(0);
  });

  it('/api/logs shows the requests with token counts and masked keys', async () => {
    await client.messages.create(PARAMS);
    const s = client.messages.stream(PARAMS);
    await s.finalMessage();
    const deadline = Date.now() + 15_000;
    let items: RequestLog[] = [];
    for (;;) {
      const logs = await admin.get(`/logs?groupId=${groupId}&result=success&pageSize=100`);
      items = logs.body.items as RequestLog[];
      const counted = items.filter((i) => i.promptTokens !== null && i.completionTokens !== null);
      if ((counted.some((i) => i.stream) && counted.some((i) => !i.stream)) || Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    const json = items.find((i) => !i.stream);
    const streamed = items.find((i) => i.stream);
    expect(json).toMatchObject({ groupName: 'claude', model: PARAMS.model, completionTokens: 4 });
    expect(json?.promptTokens).toBeGreaterThan(0);
    // The stream's output count comes from message_delta (4), not message_start's placeholder (1).
    expect(streamed).toMatchObject({ completionTokens: 4 });
    expect(streamed?.promptTokens).toBeGreaterThan(0);
    const text = JSON.stringify(items);
    for (const secret of [...UPSTREAM_KEYS, PROXY_KEY]) expect(text).not.toContain(secret);
  });
});
