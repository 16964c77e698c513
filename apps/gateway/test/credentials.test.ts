import { startFakeUpstream } from '@keyway/testing';
import type { FakeUpstream, RecordedRequest } from '@keyway/testing';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { PROXY_KEY, chatBody, postJson, send, startGateway } from './harness';
import type { TestGateway } from './harness';
import { trustedProxyMatcher } from '../src/index';

const OA_KEY = 'sk-cred-openai-aaaaaaaaaaaa0001';
const RESP_KEY = 'sk-cred-resp-bbbbbbbbbbbbbb0002';
const ANT_KEY = 'sk-ant-cred-cccccccccccccc0003';
const GEM_KEY = 'AIzaCredGeminiDDDDDDDDDDDDDDDD0004';
const LOOPBACK = /^(::ffff:)?127\.0\.0\.1$/;

const groups = (url: string) => [
  { name: 'oa', channel: 'openai' as const, upstreams: [url], keys: [OA_KEY] },
  { name: 'resp', channel: 'openai-response' as const, upstreams: [url], keys: [RESP_KEY] },
  { name: 'claude', channel: 'anthropic' as const, upstreams: [url], keys: [ANT_KEY] },
  { name: 'gem', channel: 'gemini' as const, upstreams: [url], keys: [GEM_KEY] },
];

function only(fake: FakeUpstream): RecordedRequest {
  expect(fake.requests).toHaveLength(1);
  return fake.requests[0] as RecordedRequest;
}

describe('credential injection and header hygiene', { timeout: 20_000 }, () => {
  let fake: FakeUpstream;
  let gw: TestGateway;

  beforeAll(async () => {
    fake = await startFakeUpstream();
    gw = await startGateway({ groups: groups(fake.url) });
  });
  afterAll(async () => {
    await gw.close();
    await fake.close();
  });
  beforeEach(() => fake.reset());

  it('openai: sends the pooled key as a Bearer token', async () => {
    const res = await postJson(`${gw.base('oa')}/v1/chat/completions`, chatBody());
    expect(res.status).toBe(200);
    const r = only(fake);
    expect(r.headers.authorization).toBe(`Bearer ${OA_KEY}`);
    expect(r.headers['x-api-key']).toBeUndefined();
    expect(r.headers['x-goog-api-key']).toBeUndefined();
  });

  it('openai-response: sends the pooled key as a Bearer token to /v1/responses', async () => {
    const res = await postJson(`${gw.base('resp')}/v1/responses`, { model: 'gpt-4o-mini', input: 'hi' });
    expect(res.status).toBe(200);
    const r = only(fake);
    expect(r.path).toBe('/v1/responses');
    expect(r.headers.authorization).toBe(`Bearer ${RESP_KEY}`);
  });

  it('anthropic: sends x-api-key and a default anthropic-version when the client sent none', async () => {
    const res = await send(`${gw.base('claude')}/v1/messages`, {
      method: 'POST',
      headers: { 'x-api-key': PROXY_KEY, 'content-type': 'application/json' },
      body: JSON.stringify({
        model: 'claude-3-5-haiku-latest',
        max_tokens: 5,
        messages: [{ role: 'user', content: 'hi' }],
      }),
    });
    expect(res.status).toBe(200);
    const r = only(fake);
    expect(r.headers['x-api-key']).toBe(ANT_KEY);
    expect(r.headers['anthropic-version']).toBe('2023-06-01');
    expect(r.headers.authorization).toBeUndefined();
  });

  it("anthropic: keeps the client's anthropic-version and anthropic-beta", async () => {
    const res = await send(`${gw.base('claude')}/v1/messages`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${PROXY_KEY}`,
        'anthropic-version': '2024-10-22',
        'anthropic-beta': 'prompt-caching-2024-07-31,output-128k-2025-02-19',
        'content-type': 'application/json',
      },
      body: JSON.stringify({
        model: 'claude-3-5-haiku-latest',
        max_tokens: 5,
        messages: [{ role: 'user', content: 'hi' }],
      }),
    });
    expect(res.status).toBe(200);
    const r = only(fake);
    expect(r.headers['x-api-key']).toBe(ANT_KEY);
    expect(r.headers['anthropic-version']).toBe('2024-10-22');
    expect(r.headers['anthropic-beta']).toBe('prompt-caching-2024-07-31,output-128k-2025-02-19');
    // The client authenticated with a Bearer proxy key: it must not reach Anthropic.
    expect(r.headers.authorization).toBeUndefined();
  });

  it('gemini native: sends x-goog-api-key and never a key in the query', async () => {
    const res = await send(
      `${gw.base('gem')}/v1beta/models/gemini-2.5-flash:generateContent?key=${PROXY_KEY}`,
      {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ contents: [{ parts: [{ text: 'hi' }] }] }),
      },
    );
    expect(res.status).toBe(200);
    const r = only(fake);
    expect(r.path).toBe('/v1beta/models/gemini-2.5-flash:generateContent');
    expect(r.headers['x-goog-api-key']).toBe(GEM_KEY);
    expect(r.query.has('key')).toBe(false);
    expect(r.headers.authorization).toBeUndefined();
  });

  it('gemini native: streaming keeps alt=sse while the proxy key is stripped from the query', async () => {
    const res = await send(
      `${gw.base('gem')}/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse&key=${PROXY_KEY}`,
      {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ contents: [{ parts: [{ text: 'hi' }] }] }),
      },
    );
    expect(res.status).toBe(200);
    const r = only(fake);
    expect([...r.query.entries()]).toEqual([['alt', 'sse']]);
    expect(r.headers['x-goog-api-key']).toBe(GEM_KEY);
  });

  it('gemini OpenAI surface (v1beta/openai): sends the pooled key as a Bearer token', async () => {
    const res = await send(`${gw.base('gem')}/v1beta/openai/chat/completions`, {
      method: 'POST',
      headers: { 'x-goog-api-key': PROXY_KEY, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gemini-2.5-flash', messages: [{ role: 'user', content: 'hi' }] }),
    });
    expect(res.status).toBe(200);
    const r = only(fake);
    expect(r.headers.authorization).toBe(`Bearer ${GEM_KEY}`);
    expect(r.headers['x-goog-api-key']).toBeUndefined();
  });

  it('never forwards client credentials (authorization, x-api-key, x-goog-api-key, cookie)', async () => {
    const res = await postJson(`${gw.base('oa')}/v1/chat/completions`, chatBody(), {
      'x-api-key': 'client-x-api-key-value',
      'x-goog-api-key': 'client-goog-key-value',
      cookie: 'kw_session=secret-session-cookie',
      'x-custom-header': 'kept',
    });
    expect(res.status).toBe(200);
    const r = only(fake);
    expect(r.headers.authorization).toBe(`Bearer ${OA_KEY}`);
    expect(r.headers['x-api-key']).toBeUndefined();
    expect(r.headers['x-goog-api-key']).toBeUndefined();
    expect(r.headers.cookie).toBeUndefined();
    expect(r.headers['x-custom-header']).toBe('kept');
    const all = JSON.stringify(r.headers);
    for (const secret of [
      PROXY_KEY,
      'client-x-api-key-value',
      'client-goog-key-value',
      'secret-session-cookie',
    ])
      expect(all).not.toContain(secret);
  });

  it('on an anthropic group, the proxy key sent as x-api-key is replaced, not forwarded next to the pooled key', async () => {
    const res = await send(`${gw.base('claude')}/v1/messages`, {
      method: 'POST',
      headers: {
        'x-api-key': PROXY_KEY,
        'x-goog-api-key': 'client-goog-key-value',
        cookie: 'a=b',
        'content-type': 'application/json',
      },
      body: JSON.stringify({
        model: 'claude-3-5-haiku-latest',
        max_tokens: 5,
        messages: [{ role: 'user', content: 'hi' }],
      }),
    });
    expect(res.status).toBe(200);
    const r = only(fake);
    expect(r.headers['x-api-key']).toBe(ANT_KEY);
    expect(r.headers['x-goog-api-key']).toBeUndefined();
    expect(r.headers.cookie).toBeUndefined();
    expect(JSON.stringify(r.headers)).not.toContain(PROXY_KEY);
  });

  it('never forwards hop-by-hop headers', async () => {
    const res = await send(`${gw.base('oa')}/v1/chat/completions`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${PROXY_KEY}`,
        'content-type': 'application/json',
        connection: 'keep-alive',
        'keep-alive': 'timeout=5, max=100',
        te: 'trailers',
        trailer: 'x-checksum',
        upgrade: 'h2c',
        'proxy-authorization': 'Basic cHJveHk6c2VjcmV0',
        'proxy-connection': 'keep-alive',
        'x-end-to-end': 'kept',
      },
      body: JSON.stringify(chatBody()),
      // Chunked, so transfer-encoding is sent too (and `trailer` is allowed by node's client).
      chunkSize: 16,
    });
    expect(res.status).toBe(200);
    const r = only(fake);
    for (const name of [
      'keep-alive',
      'te',
      'trailer',
      'upgrade',
      'proxy-authorization',
      'proxy-connection',
      'transfer-encoding',
    ])
      expect({ name, value: r.headers[name] }).toEqual({ name, value: undefined });
    expect(r.headers['x-end-to-end']).toBe('kept');
    // The gateway read the whole body: it frames it with its own content-length.
    expect(r.headers['content-length']).toBe(String(Buffer.byteLength(JSON.stringify(chatBody()))));
    expect(r.body).toBe(JSON.stringify(chatBody()));
  });

  it('never forwards the headers a client lists in Connection (RFC 9110 §7.6.1)', async () => {
    const res = await send(`${gw.base('oa')}/v1/chat/completions`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${PROXY_KEY}`,
        'content-type': 'application/json',
        connection: 'keep-alive, x-hop-secret',
        'x-hop-secret': 'internal-only',
      },
      body: JSON.stringify(chatBody()),
    });
    expect(res.status).toBe(200);
    expect(only(fake).headers['x-hop-secret']).toBeUndefined();
  });

  it('drops X-Forwarded-For and friends from an untrusted peer and logs the peer address', async () => {
    const before = gw.records.length;
    const res = await postJson(`${gw.base('oa')}/v1/chat/completions`, chatBody(), {
      'x-forwarded-for': '203.0.113.7',
      'x-real-ip': '203.0.113.7',
      forwarded: 'for=203.0.113.7',
      'x-forwarded-host': 'evil.example',
      'x-forwarded-proto': 'https',
    });
    expect(res.status).toBe(200);
    const r = only(fake);
    for (const name of ['x-forwarded-for', 'x-real-ip', 'forwarded', 'x-forwarded-host', 'x-forwarded-proto'])
      expect({ name, value: r.headers[name] }).toEqual({ name, value: undefined });
    const [record] = (await gw.waitForRecords(before + 1)).slice(before);
    expect(record?.clientIp).toMatch(LOOPBACK);
  });
});

describe('behind a trusted reverse proxy', { timeout: 20_000 }, () => {
  let fake: FakeUpstream;
  let gw: TestGateway;

  beforeAll(async () => {
    fake = await startFakeUpstream();
    // The peer (loopback) is a trusted proxy, and so is an internal hop in 10.0.0.0/8.
    gw = await startGateway({
      groups: groups(fake.url),
      isTrustedProxy: trustedProxyMatcher(['127.0.0.1', '::1', '10.0.0.0/8']),
    });
  });
  afterAll(async () => {
    await gw.close();
    await fake.close();
  });
  beforeEach(() => fake.reset());

  async function clientIpFor(xff: string | undefined): Promise<string | null | undefined> {
    const before = gw.records.length;
    const res = await postJson(
      `${gw.base('oa')}/v1/chat/completions`,
      chatBody(),
      xff === undefined ? {} : { 'x-forwarded-for': xff },
    );
    expect(res.status).toBe(200);
    const [record] = (await gw.waitForRecords(before + 1)).slice(before);
    return record?.clientIp;
  }

  it('logs the client address from X-Forwarded-For and keeps the header', async () => {
    expect(await clientIpFor('198.51.100.23')).toBe('198.51.100.23');
    expect(only(fake).headers['x-forwarded-for']).toContain('198.51.100.23');
  });

  it('skips trusted hops in X-Forwarded-For', async () => {
    expect(await clientIpFor('198.51.100.23, 10.0.0.2')).toBe('198.51.100.23');
  });

  it('a client cannot spoof its address by sending its own X-Forwarded-For through the proxy', async () => {
    // The client sent "X-Forwarded-For: 6.6.6.6"; the trusted proxy appended the real client address.
    expect(await clientIpFor('6.6.6.6, 198.51.100.23')).toBe('198.51.100.23');
  });

  it('falls back to the peer address when a trusted peer sends no X-Forwarded-For', async () => {
    expect(await clientIpFor(undefined)).toMatch(LOOPBACK);
  });
});
