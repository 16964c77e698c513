import type { RequestLog } from '@keyway/contracts';
import { startFakeUpstream } from '@keyway/testing';
import type { FakeUpstream, ManagedProcess } from '@keyway/testing';
import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { adminClient, startStandalone, tempDir } from './harness';

const AUTH_KEY = 'sdk-openai-admin-Key-3e5a7c9b1d0f';
const PROXY_KEY = 'sdk-openai-proxy-Key-2b4d6f8a0c9e';
const RESP_KEYS = ['sk-sdk-resp-upstream-aaaaaaaaaaaaaaaa1111', 'sk-sdk-resp-upstream-bbbbbbbbbbbbbbbb2222'];
const OA_KEYS = ['sk-sdk-oa-upstream-cccccccccccccccccc3333'];
const TEXT = 'Hello from fake upstream';

describe('standalone × openai SDK: Responses API, models, embeddings', () => {
  let fake: FakeUpstream;
  let app: { proc: ManagedProcess; url: string };
  let tmp: ReturnType<typeof tempDir>;
  let admin: ReturnType<typeof adminClient>;
  const ids: Record<string, number> = {};
  let responses: OpenAI;
  let openai: OpenAI;

  beforeAll(async () => {
    fake = await startFakeUpstream();
    tmp = tempDir('sdk-openai');
    app = await startStandalone(tmp.dir, { AUTH_KEY });
    admin = adminClient(app.url, AUTH_KEY);
    for (const [name, channel, keys] of [
      ['resp', 'openai-response', RESP_KEYS],
      ['oa', 'openai', OA_KEYS],
    ] as const) {
      const created = await admin.post('/groups', {
        name,
        channel,
        upstreams: [{ url: fake.url, weight: 1 }],
        proxyKeys: [PROXY_KEY],
      });
      expect(created.status).toBe(201);
      ids[name] = created.body.id as number;
      const added = await admin.post(`/groups/${ids[name]}/keys`, { keys: keys.join('\n') });
      expect(added.body).toMatchObject({ added: keys.length });
    }
    responses = new OpenAI({ apiKey: PROXY_KEY, baseURL: `${app.url}/proxy/resp/v1`, maxRetries: 0 });
    openai = new OpenAI({ apiKey: PROXY_KEY, baseURL: `${app.url}/proxy/oa/v1`, maxRetries: 0 });
  }, 60_000);

  afterAll(async () => {
    await app?.proc.stop();
    await fake?.close();
    tmp?.cleanup();
  });

  beforeEach(() => fake.reset());

  function expectPooledKeysOnly(keys: readonly string[]): void {
    expect(fake.requests.length).toBeGreaterThan(0);
    for (const r of fake.requests) {
      expect(keys.map((k) => `Bearer ${k}`)).toContain(r.headers.authorization);
      expect(JSON.stringify(r.headers) + r.query.toString() + r.body).not.toContain(PROXY_KEY);
    }
  }

  it('responses.create answers through the gateway, rotating the pooled keys', async () => {
    for (let i = 0; i < 2; i++) {
      const r = await responses.responses.create({ model: 'gpt-4o-mini', input: 'Say hello' });
      expect(r.output_text).toBe(TEXT);
      expect(r.usage?.output_tokens).toBe(4);
    }
    expectPooledKeysOnly(RESP_KEYS);
    expect(fake.requests[0]?.path).toBe('/v1/responses');
    expect(new Set(fake.requests.map((r) => r.key))).toEqual(new Set(RESP_KEYS));
  });

  it('responses.create with stream: true yields the deltas and response.completed', async () => {
    const stream = await responses.responses.create({
      model: 'gpt-4o-mini',
      input: 'Say hello',
      stream: true,
    });
    const deltas: string[] = [];
    const types: string[] = [];
    for await (const event of stream) {
      types.push(event.type);
      if (event.type === 'response.output_text.delta') deltas.push(event.delta);
    }
    expect(deltas.join('')).toBe(TEXT);
    expect(types[0]).toBe('response.created');
    expect(types.at(-1)).toBe('response.completed');
    expectPooledKeysOnly(RESP_KEYS);
  });

  it('responses.stream helper resolves the final response', async () => {
    const stream = responses.responses.stream({ model: 'gpt-4o-mini', input: 'Say hello' });
    const final = await stream.finalResponse();
    // (The helper does not fill the `output_text` convenience field; the output items carry the text.)
    expect(final.output).toMatchObject([{ type: 'message', content: [{ type: 'output_text', text: TEXT }] }]);
    expectPooledKeysOnly(RESP_KEYS);
  });

  it('models.list and embeddings.create work on an openai group', async () => {
    const models = await openai.models.list();
    expect(models.data.map((m) => m.id)).toContain('gpt-4o-mini');
    const emb = await openai.embeddings.create({
      model: 'text-embedding-3-small',
      input: ['hello', 'world'],
    });
    expect(emb.data).toHaveLength(2);
    expect(emb.data[0]?.embedding.length).toBe(8);
    expect(emb.usage.prompt_tokens).toBeGreaterThan(0);
    expectPooledKeysOnly(OA_KEYS);
  });

  it('a wrong proxy key raises AuthenticationError without reaching the upstream', async () => {
    const bad = new OpenAI({
      apiKey: 'not-the-proxy-key',
      baseURL: `${app.url}/proxy/resp/v1`,
      maxRetries: 0,
    });
    await expect(bad.responses.create({ model: 'gpt-4o-mini', input: 'hi' })).rejects.toBeInstanceOf(
      OpenAI.AuthenticationError,
    );
    expect(fake.requests).toHaveLength(0);
  });

  it('/api/logs shows token counts for Responses (JSON and stream) and embeddings', async () => {
    await responses.responses.create({ model: 'gpt-4o-mini', input: 'Say hello' });
    for await (const _ of await responses.responses.create({
      model: 'gpt-4o-mini',
      input: 'hi',
      stream: true,
    })) {
      // drain
    }
    await openai.embeddings.create({ model: 'text-embedding-3-small', input: 'hello' });
    const deadline = Date.now() + 15_000;
    let resp: RequestLog[] = [];
    let oa: RequestLog[] = [];
    for (;;) {
      resp = (await admin.get(`/logs?groupId=${ids.resp}&result=success&pageSize=100`)).body
        .items as RequestLog[];
      oa = (await admin.get(`/logs?groupId=${ids.oa}&result=success&pageSize=100`)).body
        .items as RequestLog[];
      const counted = resp.filter((i) => i.promptTokens !== null && i.completionTokens !== null);
      const embedded = oa.some((i) => i.model === 'text-embedding-3-small' && i.promptTokens !== null);
      if (
        (counted.some((i) => i.stream) && counted.some((i) => !i.stream) && embedded) ||
        Date.now() > deadline
      )
        break;
      await new Promise((r) => setTimeout(r, 200));
    }
    const json = resp.find((i) => !i.stream);
    const streamed = resp.find((i) => i.stream);
    expect(json).toMatchObject({ groupName: 'resp', model: 'gpt-4o-mini', completionTokens: 4 });
    expect(json?.promptTokens).toBeGreaterThan(0);
    expect(streamed).toMatchObject({ completionTokens: 4 });
    expect(streamed?.promptTokens).toBeGreaterThan(0);
    const embedding = oa.find((i) => i.model === 'text-embedding-3-small');
    expect(embedding?.promptTokens).toBeGreaterThan(0);
    const text = JSON.stringify([...resp, ...oa]);
    for (const secret of [...RESP_KEYS, ...OA_KEYS, PROXY_KEY]) expect(text).not.toContain(secret);
  });
});
