import { ApiError, GoogleGenAI } from '@google/genai';
import type { RequestLog } from '@keyway/contracts';
import { startFakeUpstream } from '@keyway/testing';
import type { FakeUpstream, ManagedProcess } from '@keyway/testing';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { adminClient, startStandalone, tempDir } from './harness';

const AUTH_KEY = 'sdk-gemini-admin-Key-1c9e7a5b3d2f';
const PROXY_KEY = 'sdk-gemini-proxy-Key-6a4c2e0f8b1d';
const UPSTREAM_KEYS = ['AIzaSdkGeminiUpstreamAAAAAAAAAAAAAA111', 'AIzaSdkGeminiUpstreamBBBBBBBBBBBBBB222'];
const TEXT = 'Hello from fake upstream';

describe('standalone × @google/genai', () => {
  let fake: FakeUpstream;
  let app: { proc: ManagedProcess; url: string };
  let tmp: ReturnType<typeof tempDir>;
  let admin: ReturnType<typeof adminClient>;
  let groupId: number;
  let ai: GoogleGenAI;

  beforeAll(async () => {
    fake = await startFakeUpstream();
    tmp = tempDir('sdk-gemini');
    app = await startStandalone(tmp.dir, { AUTH_KEY });
    admin = adminClient(app.url, AUTH_KEY);
    const created = await admin.post('/groups', {
      name: 'gemini',
      channel: 'gemini',
      upstreams: [{ url: fake.url, weight: 1 }],
      proxyKeys: [PROXY_KEY],
      config: { maxRetries: 1 },
    });
    expect(created.status).toBe(201);
    groupId = created.body.id as number;
    const added = await admin.post(`/groups/${groupId}/keys`, { keys: UPSTREAM_KEYS.join('\n') });
    expect(added.body).toMatchObject({ added: 2 });
    ai = new GoogleGenAI({
      apiKey: PROXY_KEY,
      httpOptions: { baseUrl: `${app.url}/proxy/gemini`, timeout: 15_000 },
    });
  }, 60_000);

  afterAll(async () => {
    await app?.proc.stop();
    await fake?.close();
    tmp?.cleanup();
  });

  beforeEach(() => fake.reset());

  /** Every request the fake saw carried a pooled key in x-goog-api-key, and never the proxy key. */
  function expectPooledKeysOnly(): void {
    expect(fake.requests.length).toBeGreaterThan(0);
    for (const r of fake.requests) {
      expect(UPSTREAM_KEYS).toContain(r.headers['x-goog-api-key']);
      expect(r.query.has('key')).toBe(false);
      expect(r.headers.authorization).toBeUndefined();
      expect(JSON.stringify(r.headers) + r.query.toString() + r.body).not.toContain(PROXY_KEY);
    }
  }

  it('generateContent answers through the gateway, rotating the pooled keys', async () => {
    for (let i = 0; i < 2; i++) {
      const res = await ai.models.generateContent({ model: 'gemini-2.5-flash', contents: 'Say hello' });
      expect(res.text).toBe(TEXT);
      expect(res.usageMetadata?.candidatesTokenCount).toBe(4);
    }
    expectPooledKeysOnly();
    expect(fake.requests[0]?.path).toBe('/v1beta/models/gemini-2.5-flash:generateContent');
    expect(new Set(fake.requests.map((r) => r.key))).toEqual(new Set(UPSTREAM_KEYS));
  });

  it('generateContentStream delivers the chunks, usage in the last', async () => {
    const stream = await ai.models.generateContentStream({
      model: 'gemini-2.5-flash',
      contents: 'Say hello',
    });
    const texts: string[] = [];
    let usage: number | undefined;
    for await (const chunk of stream) {
      texts.push(chunk.text ?? '');
      usage = chunk.usageMetadata?.candidatesTokenCount ?? usage;
    }
    expect(texts).toEqual(['Hello', ' from', ' fake', ' upstream']);
    expect(usage).toBe(4);
    expectPooledKeysOnly();
    expect(fake.requests[0]?.path).toBe('/v1beta/models/gemini-2.5-flash:streamGenerateContent');
    expect(fake.requests[0]?.query.get('alt')).toBe('sse');
  });

  it('embedContent and models.list work through the gateway', async () => {
    const emb = await ai.models.embedContent({ model: 'gemini-embedding-001', contents: 'hello' });
    expect(emb.embeddings?.[0]?.values?.length).toBeGreaterThan(0);
    const pager = await ai.models.list();
    const names: string[] = [];
    for await (const m of pager) names.push(m.name ?? '');
    expect(names).toContain('models/gemini-2.5-flash');
    expectPooledKeysOnly();
  });

  it('a wrong proxy key raises an ApiError 401 without reaching the upstream', async () => {
    const bad = new GoogleGenAI({
      apiKey: 'not-the-proxy-key',
      httpOptions: { baseUrl: `${app.url}/proxy/gemini`, timeout: 15_000 },
    });
    const error = await bad.models.generateContent({ model: 'gemini-2.5-flash', contents: 'hi' }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).status).toBe(401);
    expect(fake.requests).toHaveLength(0);
  });

  it('/api/logs shows the requests with token counts and masked keys', async () => {
    await ai.models.generateContent({ model: 'gemini-2.5-flash', contents: 'Say hello' });
    for await (const _ of await ai.models.generateContentStream({
      model: 'gemini-2.5-flash',
      contents: 'hi',
    })) {
      // drain
    }
    const deadline = Date.now() + 15_000;
    let items: RequestLog[] = [];
    for (;;) {
      const logs = await admin.get(`/logs?groupId=${groupId}&result=success&pageSize=100`);
      items = logs.body.items as RequestLog[];
      const counted = items.filter((i) => i.promptTokens !== null && i.completionTokens !== null);
      if ((counted.some((i) => i.stream) && counted.some((i) => !i.stream)) || Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    const json = items.find((i) => !i.stream && i.model === 'gemini-2.5-flash');
    const streamed = items.find((i) => i.stream);
    expect(json).toMatchObject({ groupName: 'gemini', completionTokens: 4 });
    expect(json?.promptTokens).toBeGreaterThan(0);
    expect(streamed).toMatchObject({ model: 'gemini-2.5-flash', completionTokens: 4 });
    expect(streamed?.promptTokens).toBeGreaterThan(0);
    const text = JSON.stringify(items);
    for (const secret of [...UPSTREAM_KEYS, PROXY_KEY]) expect(text).not.toContain(secret);
  });
});
