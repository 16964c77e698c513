import { startFakeUpstream } from '@keyway/testing';
import type { FakeUpstream } from '@keyway/testing';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { PROXY_KEY, chatBody, countBy, postJson, send, sha256, startGateway } from './harness';
import type { TestGateway } from './harness';

const KEYS = [
  'sk-rot-aaaaaaaaaaaaaaaa0001',
  'sk-rot-bbbbbbbbbbbbbbbb0002',
  'sk-rot-cccccccccccccccc0003',
  'sk-rot-dddddddddddddddd0004',
];
const GROUP_ONLY = 'kw-group-only-proxy-key-111';
const OTHER_GROUP_ONLY = 'kw-other-group-proxy-key-222';
const GLOBAL = 'kw-global-proxy-key-333333';

describe('routing and proxy-key authentication', { timeout: 20_000 }, () => {
  let fake: FakeUpstream;
  let gw: TestGateway;

  beforeAll(async () => {
    fake = await startFakeUpstream();
    gw = await startGateway({
      globalProxyKeys: [GLOBAL],
      groups: [
        {
          name: 'oa',
          channel: 'openai',
          upstreams: [fake.url],
          keys: KEYS,
          proxyKeys: [PROXY_KEY, GROUP_ONLY],
        },
        {
          name: 'other',
          channel: 'openai',
          upstreams: [fake.url],
          keys: ['sk-other-eeeeeeeeeeee0005'],
          proxyKeys: [OTHER_GROUP_ONLY],
        },
        {
          name: 'claude',
          channel: 'anthropic',
          upstreams: [fake.url],
          keys: ['sk-ant-ffffffffffffffff0006'],
        },
        {
          name: 'gem',
          channel: 'gemini',
          upstreams: [fake.url],
          keys: ['AIzaGemKeyGGGGGGGGGGGGGGGGGGG0007'],
        },
      ],
    });
  });
  afterAll(async () => {
    await gw.close();
    await fake.close();
  });
  beforeEach(() => fake.reset());

  it('rotates sequential requests evenly across every key of the group', async () => {
    for (let i = 0; i < 40; i++)
      expect((await postJson(`${gw.base('oa')}/v1/chat/completions`, chatBody())).status).toBe(200);
    const counts = countBy(fake.requests.map((r) => r.key));
    expect([...counts.keys()].sort()).toEqual([...KEYS].sort());
    for (const k of KEYS) expect(counts.get(k)).toBe(10);
    // Round robin, not "same key until it fails": consecutive requests use different keys.
    for (let i = 1; i < fake.requests.length; i++)
      expect(fake.requests[i]?.key).not.toBe(fake.requests[i - 1]?.key);
  });

  it('rotates concurrent requests evenly too', async () => {
    const all = await Promise.all(
      Array.from({ length: 40 }, () => postJson(`${gw.base('oa')}/v1/chat/completions`, chatBody())),
    );
    expect(all.every((r) => r.status === 200)).toBe(true);
    const counts = countBy(fake.requests.map((r) => r.key));
    for (const k of KEYS) expect(counts.get(k)).toBe(10);
  });

  it('accepts the proxy key as a Bearer token, x-api-key, x-goog-api-key or ?key=', async () => {
    const url = `${gw.base('oa')}/v1/models`;
    const ways = [
      { name: 'bearer', r: () => send(url, { headers: { authorization: `Bearer ${PROXY_KEY}` } }) },
      {
        name: 'bearer (lower-case scheme)',
        r: () => send(url, { headers: { authorization: `bearer ${PROXY_KEY}` } }),
      },
      { name: 'x-api-key', r: () => send(url, { headers: { 'x-api-key': PROXY_KEY } }) },
      { name: 'x-goog-api-key', r: () => send(url, { headers: { 'x-goog-api-key': PROXY_KEY } }) },
      { name: '?key=', r: () => send(`${url}?key=${PROXY_KEY}`) },
    ];
    for (const way of ways)
      expect({ way: way.name, status: (await way.r()).status }).toEqual({ way: way.name, status: 200 });
    expect(fake.requests).toHaveLength(ways.length);
    for (const r of fake.requests) {
      expect(KEYS).toContain(r.key);
      expect(JSON.stringify(r.headers)).not.toContain(PROXY_KEY);
      expect(r.query.toString()).not.toContain(PROXY_KEY);
    }
  });

  it('strips ?key= before forwarding and keeps the other query parameters in order', async () => {
    const url = `${gw.base('oa')}/v1/models`;
    expect((await send(`${url}?limit=2&key=${PROXY_KEY}&order=desc&after=m1`)).status).toBe(200);
    expect((await send(`${url}?key=${PROXY_KEY}&zeta=1&alpha=2`)).status).toBe(200);
    expect((await send(`${url}?b=1&a=2`, { headers: { authorization: `Bearer ${PROXY_KEY}` } })).status).toBe(
      200,
    );
    const [first, second, third] = fake.requests;
    expect([...(first?.query.entries() ?? [])]).toEqual([
      ['limit', '2'],
      ['order', 'desc'],
      ['after', 'm1'],
    ]);
    expect([...(second?.query.entries() ?? [])]).toEqual([
      ['zeta', '1'],
      ['alpha', '2'],
    ]);
    expect([...(third?.query.entries() ?? [])]).toEqual([
      ['b', '1'],
      ['a', '2'],
    ]);
    for (const r of fake.requests) expect(r.query.has('key')).toBe(false);
  });

  it('accepts group proxy keys on their own group and global proxy keys on every group', async () => {
    const status = async (group: string, key: string) =>
      (await send(`${gw.base(group)}/v1/models`, { headers: { authorization: `Bearer ${key}` } })).status;
    expect(await status('oa', GROUP_ONLY)).toBe(200);
    expect(await status('other', GROUP_ONLY)).toBe(401);
    expect(await status('other', OTHER_GROUP_ONLY)).toBe(200);
    expect(await status('oa', OTHER_GROUP_ONLY)).toBe(401);
    expect(await status('oa', GLOBAL)).toBe(200);
    expect(await status('other', GLOBAL)).toBe(200);
    expect(await status('other', PROXY_KEY)).toBe(401);
    expect(fake.requests).toHaveLength(4);
  });

  it('refuses a wrong or missing proxy key with 401 in OpenAI shape, without contacting the upstream', async () => {
    const wrong = await postJson(`${gw.base('oa')}/v1/chat/completions`, chatBody(), {
      authorization: 'Bearer wrong-key-123456',
    });
    expect(wrong.status).toBe(401);
    expect(wrong.headers['content-type']).toContain('application/json');
    const body = wrong.json<{ error: { message: string; type: string; param: unknown; code: unknown } }>();
    expect(body.error).toMatchObject({ type: 'authentication_error', param: null });
    expect(typeof body.error.message).toBe('string');
    const missing = await send(`${gw.base('oa')}/v1/models`);
    expect(missing.status).toBe(401);
    expect(missing.json<{ error: { type: string } }>().error.type).toBe('authentication_error');
    expect(fake.requests).toHaveLength(0);
  });

  it('refuses a wrong proxy key with 401 in Anthropic shape on an anthropic group', async () => {
    const res = await send(`${gw.base('claude')}/v1/messages`, {
      method: 'POST',
      headers: {
        'x-api-key': 'not-the-key-000000',
        'content-type': 'application/json',
        'anthropic-version': '2023-06-01',
      },
      body: JSON.stringify({
        model: 'claude-3-5-haiku-latest',
        max_tokens: 5,
        messages: [{ role: 'user', content: 'hi' }],
      }),
    });
    expect(res.status).toBe(401);
    const body = res.json<{ type: string; error: { type: string; message: string } }>();
    expect(body.type).toBe('error');
    expect(body.error.type).toBe('authentication_error');
    expect(typeof body.error.message).toBe('string');
    expect(fake.requests).toHaveLength(0);
  });

  it('refuses a wrong proxy key with 401 in Gemini shape on a gemini group', async () => {
    const res = await send(`${gw.base('gem')}/v1beta/models/gemini-2.5-flash:generateContent`, {
      method: 'POST',
      headers: { 'x-goog-api-key': 'not-the-key-000000', 'content-type': 'application/json' },
      body: JSON.stringify({ contents: [{ parts: [{ text: 'hi' }] }] }),
    });
    expect(res.status).toBe(401);
    const body = res.json<{ error: { code: number; message: string; status: string } }>();
    expect(body.error.code).toBe(401);
    expect(body.error.status).toBe('UNAUTHENTICATED');
    expect(typeof body.error.message).toBe('string');
    expect(fake.requests).toHaveLength(0);
  });

  it('answers 404 for an unknown group, naming it, without contacting any upstream', async () => {
    const res = await postJson(`${gw.url}/proxy/does-not-exist/v1/chat/completions`, chatBody());
    expect(res.status).toBe(404);
    expect(res.json<{ error: { message: string } }>().error.message).toContain('does-not-exist');
    expect(res.headers['x-request-id']).toBeTruthy();
    expect(fake.requests).toHaveLength(0);
  });

  it('echoes a client x-request-id, generates one otherwise, and logs it', async () => {
    const before = gw.records.length;
    const given = await postJson(`${gw.base('oa')}/v1/chat/completions`, chatBody(), {
      'x-request-id': 'client-req-42',
    });
    expect(given.status).toBe(200);
    expect(given.headers['x-request-id']).toBe('client-req-42');

    const generated = await postJson(`${gw.base('oa')}/v1/chat/completions`, chatBody());
    const id = generated.headers['x-request-id'];
    expect(id).toMatch(/^[0-9a-f-]{36}$/);

    // Not a safe id (spaces, too long): replaced by a generated one rather than reflected.
    const unsafe = await postJson(`${gw.base('oa')}/v1/chat/completions`, chatBody(), {
      'x-request-id': 'a b<script>',
    });
    expect(unsafe.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    const long = await postJson(`${gw.base('oa')}/v1/chat/completions`, chatBody(), {
      'x-request-id': 'x'.repeat(200),
    });
    expect(long.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);

    const records = (await gw.waitForRecords(before + 4)).slice(before);
    expect(records.map((r) => r.requestId)).toContain('client-req-42');
    expect(records.map((r) => r.requestId)).toContain(id);
  });

  it("does not forward the client's x-request-id upstream, and returns the provider's as x-upstream-request-id", async () => {
    const res = await postJson(`${gw.base('oa')}/v1/chat/completions`, chatBody(), {
      'x-request-id': 'client-req-43',
    });
    expect(res.status).toBe(200);
    expect(fake.requests[0]?.headers['x-request-id']).toBeUndefined();
    // The fake (like OpenAI) sends its own x-request-id: the client sees Keyway's, the provider's is kept apart.
    expect(res.headers['x-request-id']).toBe('client-req-43');
    expect(res.headers['x-upstream-request-id']).toMatch(/^req_/);
  });

  it('a proxy key accepted before (its hash remembered) is refused as soon as the configuration revokes it', async () => {
    const url = `${gw.base('oa')}/v1/chat/completions`;
    const auth = { authorization: `Bearer ${GROUP_ONLY}` };
    expect((await postJson(url, chatBody(), auth)).status).toBe(200);
    expect((await postJson(url, chatBody(), auth)).status).toBe(200);
    const before = gw.snapshot;
    gw.reconfigure({
      ...before,
      version: before.version + 1,
      groups: before.groups.map((g) =>
        g.name === 'oa'
          ? { ...g, proxyKeyHashes: g.proxyKeyHashes.filter((h) => h !== sha256(GROUP_ONLY)) }
          : g,
      ),
    });
    try {
      const refused = await postJson(url, chatBody(), auth);
      expect(refused.status).toBe(401);
      expect((await postJson(url, chatBody())).status).toBe(200);
    } finally {
      gw.reconfigure({ ...before, version: before.version + 2 });
    }
  });
});
