import { statSync } from 'node:fs';
import { join } from 'node:path';
import { startFakeUpstream } from '@keyway/testing';
import type { FakeUpstream, ManagedProcess } from '@keyway/testing';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminClient, startStandalone, tempDir } from './harness';

const AUTH_KEY = 'e2e-admin-Key-7f3a9c2d1b8e4f60';
const PROXY_KEY = 'team-a-proxy-Key-5c1e9b7d3a2f';
const UPSTREAM_KEYS = [
  'sk-e2e-upstream-aaaaaaaaaaaaaaaaaaaa1111',
  'sk-e2e-upstream-bbbbbbbbbbbbbbbbbbbb2222',
  'sk-e2e-upstream-cccccccccccccccccccc3333',
];

describe('standalone end to end with the official OpenAI SDK', () => {
  let fake: FakeUpstream;
  let app: { proc: ManagedProcess; url: string };
  let tmp: ReturnType<typeof tempDir>;
  let admin: ReturnType<typeof adminClient>;
  let groupId: number;
  let client: OpenAI;

  beforeAll(async () => {
    fake = await startFakeUpstream();
    tmp = tempDir('e2e');
    app = await startStandalone(tmp.dir, { AUTH_KEY });
    admin = adminClient(app.url, AUTH_KEY);
    const created = await admin.post('/groups', {
      name: 'openai',
      channel: 'openai',
      upstreams: [{ url: fake.url, weight: 1 }],
      testModel: 'gpt-4.1-nano',
      proxyKeys: [PROXY_KEY],
      config: { maxRetries: 2, blacklistThreshold: 1 },
    });
    expect(created.status).toBe(201);
    groupId = created.body.id as number;
    const added = await admin.post(`/groups/${groupId}/keys`, { keys: UPSTREAM_KEYS.join('\n') });
    expect(added.body).toEqual({ added: 3, ignored: 0, total: 3 });
    client = new OpenAI({ baseURL: `${app.url}/proxy/openai/v1`, apiKey: PROXY_KEY, maxRetries: 0 });
  }, 60_000);

  afterAll(async () => {
    await app?.proc.stop();
    await fake?.close();
    tmp?.cleanup();
  });

  it('answers /health and shows the group endpoint and masked proxy keys', async () => {
    expect(await (await fetch(`${app.url}/health`)).json()).toEqual({ status: 'ok' });
    const g = await admin.get(`/groups/${groupId}`);
    expect(g.body.endpoint).toBe('http://localhost:3001/proxy/openai');
    expect(JSON.stringify(g.body)).not.toContain(PROXY_KEY);
    expect(g.body.keyStats).toMatchObject({ total: 3, active: 3 });
  });

  it('serves chat completions with the pooled keys in rotation, never forwarding the proxy key', async () => {
    fake.reset();
    for (let i = 0; i < 6; i++) {
      const r = await client.chat.completions.create({
        model: 'gpt-4.1-nano',
        messages: [{ role: 'user', content: 'hi' }],
      });
      expect(r.choices[0]?.message.content).toBe('Hello from fake upstream');
    }
    const keys = fake.requests.map((r) => r.key);
    expect(new Set(keys)).toEqual(new Set(UPSTREAM_KEYS));
    for (const k of UPSTREAM_KEYS) expect(keys.filter((x) => x === k)).toHaveLength(2);
    expect(keys[0]).not.toBe(keys[1]);
    for (const r of fake.requests) expect(JSON.stringify(r.headers)).not.toContain(PROXY_KEY);
  });

  it('streams chunk by chunk through the SDK', async () => {
    fake.reset();
    const stream = await client.chat.completions.create({
      model: 'gpt-4.1-nano',
      messages: [{ role: 'user', content: 'hi' }],
      stream: true,
      stream_options: { include_usage: true },
    });
    const deltas: string[] = [];
    let usage: unknown = null;
    for await (const chunk of stream) {
      const d = chunk.choices[0]?.delta.content;
      if (d) deltas.push(d);
      if (chunk.usage) usage = chunk.usage;
    }
    expect(deltas).toEqual(['Hello', ' from', ' fake', ' upstream']);
    expect(usage).toMatchObject({ completion_tokens: expect.any(Number) as number });
    expect(fake.requests).toHaveLength(1);
    expect(UPSTREAM_KEYS).toContain(fake.requests[0]?.key);
  });

  it('refuses a wrong proxy key with 401 in OpenAI error shape', async () => {
    const bad = new OpenAI({
      baseURL: `${app.url}/proxy/openai/v1`,
      apiKey: 'not-the-proxy-key',
      maxRetries: 0,
    });
    await expect(bad.chat.completions.create({ model: 'x', messages: [] })).rejects.toMatchObject({
      status: 401,
    });
    const res = await fetch(`${app.url}/proxy/openai/v1/models`, {
      headers: { authorization: 'Bearer nope' },
    });
    expect(res.status).toBe(401);
    const body = (await res.json()) as { error: { message: string; type: string } };
    expect(body.error.type).toBe('authentication_error');
    expect(res.headers.get('x-request-id')).toMatch(/.+/);
  });

  it('answers 404 for an unknown group', async () => {
    const res = await fetch(`${app.url}/proxy/nope/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${PROXY_KEY}` },
    });
    expect(res.status).toBe(404);
    expect(((await res.json()) as { error: { message: string } }).error.message).toContain('nope');
  });

  it('accepts the proxy key from x-api-key and ?key= too, and strips ?key= before forwarding', async () => {
    fake.reset();
    const viaHeader = await fetch(`${app.url}/proxy/openai/v1/models`, {
      headers: { 'x-api-key': PROXY_KEY },
    });
    expect(viaHeader.status).toBe(200);
    const viaQuery = await fetch(`${app.url}/proxy/openai/v1/models?key=${PROXY_KEY}&limit=2`);
    expect(viaQuery.status).toBe(200);
    const last = fake.requests[fake.requests.length - 1];
    expect(last?.query.get('key')).toBeNull();
    expect(last?.query.get('limit')).toBe('2');
  });

  it('retries a failing key on another one, then blacklists it at the threshold', async () => {
    fake.reset();
    const [bad] = UPSTREAM_KEYS as [string];
    fake.setKeyBehaviour(bad, { status: 500, message: 'upstream exploded' });
    for (let i = 0; i < 4; i++) {
      const r = await client.chat.completions.create({
        model: 'gpt-4.1-nano',
        messages: [{ role: 'user', content: 'hi' }],
      });
      expect(r.choices[0]?.message.content).toBe('Hello from fake upstream');
    }
    expect(fake.requests.filter((r) => r.key === bad)).toHaveLength(1);
    const list = await admin.get(`/groups/${groupId}/keys?status=invalid`);
    expect(list.body.total).toBe(1);
    const item = (list.body.items as Array<{ key: string; failureCount: number }>)[0];
    expect(item?.key).not.toContain(bad);
    expect(item?.failureCount).toBe(1);
    fake.setKeyBehaviour(bad, undefined);
    const restored = await admin.post(`/groups/${groupId}/keys/restore`, {});
    expect(restored.body).toEqual({ restored: 1 });
  });

  it('does not retry a request the upstream calls wrong (400) and passes the error through', async () => {
    fake.reset();
    fake.setDefaultBehaviour({ status: 400, message: 'bad model name' });
    await expect(
      client.chat.completions.create({ model: 'nope', messages: [{ role: 'user', content: 'hi' }] }),
    ).rejects.toMatchObject({
      status: 400,
      message: expect.stringContaining('bad model name') as string,
    });
    expect(fake.requests).toHaveLength(1);
    fake.setDefaultBehaviour(undefined);
  });

  it('records each request with its attempt trail in the request log', async () => {
    const deadline = Date.now() + 10_000;
    let items: Array<Record<string, unknown>> = [];
    while (Date.now() < deadline) {
      const logs = await admin.get(`/logs?groupId=${groupId}&pageSize=100`);
      items = logs.body.items as Array<Record<string, unknown>>;
      if (items.some((i) => (i.retries as number) > 0)) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    const retried = items.find((i) => (i.retries as number) > 0);
    expect(retried).toBeDefined();
    const attempts = retried?.attempts as Array<{ class: string; statusCode: number; key: string }>;
    expect(attempts[0]).toMatchObject({ class: 'upstream', statusCode: 500 });
    expect(JSON.stringify(items)).not.toMatch(/sk-e2e-upstream-[a-c]{20}/);
  });

  it('applies a settings change without a restart (a new global proxy key works at once)', async () => {
    const globalKey = 'global-proxy-Key-9d8c7b6a5f4e';
    const bad = new OpenAI({ baseURL: `${app.url}/proxy/openai/v1`, apiKey: globalKey, maxRetries: 0 });
    await expect(bad.models.list()).rejects.toMatchObject({ status: 401 });
    const patched = await admin.patch('/settings', { proxyKeys: [globalKey] });
    expect(patched.status).toBe(200);
    expect(JSON.stringify(patched.body)).not.toContain(globalKey);
    const models = await bad.models.list();
    expect(models.data.length).toBeGreaterThan(0);
  });

  it('rejects a non-JSON admin body with 400 VALIDATION_FAILED and an unauthenticated call with 401', async () => {
    const res = await admin.raw('POST', '/groups', '{not json');
    expect(res.status).toBe(400);
    expect(res.body.error?.code).toBe('VALIDATION_FAILED');
    const anon = await fetch(`${app.url}/api/groups`);
    expect(anon.status).toBe(401);
    expect(((await anon.json()) as { error: { code: string } }).error.code).toBe('UNAUTHORIZED');
  });

  it('never prints an upstream key, the proxy key or the admin key in its logs', () => {
    const output = app.proc.stdout + app.proc.stderr;
    expect(output.length).toBeGreaterThan(0);
    for (const secret of [...UPSTREAM_KEYS, PROXY_KEY, AUTH_KEY]) expect(output).not.toContain(secret);
  });

  it('keeps the SQLite file and the generated key file private', () => {
    expect(statSync(join(tmp.dir, 'keyway.db')).isFile()).toBe(true);
  });
});
