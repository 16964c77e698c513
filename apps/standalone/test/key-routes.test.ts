import { connect } from 'node:net';
import { startFakeUpstream } from '@keyway/testing';
import type { FakeUpstream, ManagedProcess } from '@keyway/testing';
import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { adminClient, startStandalone, tempDir } from './harness';

const AUTH_KEY = 'key-routes-admin-Key-9c7e5a3b1d2f';
const PROXY_KEY = 'key-routes-proxy-Key-4f6a8c0e2b1d';
const UPSTREAM_KEY = 'sk-key-routes-standalone-upstream-0001';

/**
 * The key-routed endpoints on standalone's one port, served with the console built: the server hands `/v1` and
 * `/v1beta` to the data plane before the router, and the console's history fallback never answers them.
 */
describe('standalone × key-routed endpoints (/v1, /v1beta at the root)', () => {
  let fake: FakeUpstream;
  let app: { proc: ManagedProcess; url: string; port: number };
  let tmp: ReturnType<typeof tempDir>;

  beforeAll(async () => {
    fake = await startFakeUpstream();
    tmp = tempDir('key-routes');
    app = await startStandalone(tmp.dir, { AUTH_KEY });
    const admin = adminClient(app.url, AUTH_KEY);
    const created = await admin.post('/groups', {
      name: 'oa',
      channel: 'openai',
      upstreams: [{ url: fake.url, weight: 1 }],
      proxyKeys: [PROXY_KEY],
    });
    expect(created.status).toBe(201);
    const added = await admin.post(`/groups/${created.body.id as number}/keys`, { keys: UPSTREAM_KEY });
    expect(added.body).toMatchObject({ added: 1 });
  }, 60_000);

  afterAll(async () => {
    await app?.proc.stop();
    await fake?.close();
    tmp?.cleanup();
  });

  beforeEach(() => fake.reset());

  it('the openai SDK with base URL http://HOST/v1 and a group proxy key is served by that group', async () => {
    const openai = new OpenAI({ apiKey: PROXY_KEY, baseURL: `${app.url}/v1`, maxRetries: 0 });
    const res = await openai.chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'hi' }],
    });
    expect(res.choices[0]?.message.content).toBe('Hello from fake upstream');
    let text = '';
    const stream = await openai.chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'hi' }],
      stream: true,
    });
    for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? '';
    expect(text).toBe('Hello from fake upstream');
    expect(fake.requests.map((r) => r.key)).toEqual([UPSTREAM_KEY, UPSTREAM_KEY]);
  });

  it('answers /v1 and /v1beta paths with the gateway’s JSON, never the console page', async () => {
    for (const path of ['/v1/models', '/v1/nothing-here', '/v1beta/models', '/v1']) {
      const res = await fetch(`${app.url}${path}`);
      const body = await res.text();
      expect(res.headers.get('content-type'), path).toContain('application/json');
      expect(body, path).not.toContain('<html');
      expect(res.status, path).toBe(401);
    }
    // The console still owns its own deep links.
    const page = await fetch(`${app.url}/groups`);
    expect(page.headers.get('content-type')).toContain('text/html');
  });

  it('refuses a dot segment on the direct path instead of reaching /proxy', async () => {
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = connect(app.port, '127.0.0.1');
      let text = '';
      socket.on('data', (d: Buffer) => (text += d.toString('latin1')));
      socket.on('error', reject);
      socket.on('close', () => resolve(text));
      socket.write(
        `GET /v1/../proxy/oa/v1/models HTTP/1.1\r\nhost: 127.0.0.1:${app.port}\r\n` +
          `authorization: Bearer ${PROXY_KEY}\r\nconnection: close\r\n\r\n`,
      );
    });
    expect(answer).toMatch(/^HTTP\/1\.1 400 /);
    expect(fake.requests).toHaveLength(0);
  });
});
