import { randomBytes } from 'node:crypto';
import { startFakeUpstream } from '@keyway/testing';
import type { FakeUpstream, RecordedRequest } from '@keyway/testing';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { PROXY_KEY, chatBody, postJson, send, sha256, startEchoUpstream, startGateway } from './harness';
import type { TestGateway } from './harness';

const KEY = 'sk-body-aaaaaaaaaaaaaaaa0001';
const GEM_KEY = 'AIzaBodyGeminiBBBBBBBBBBBBBBBB0002';
const ANT_KEY = 'sk-ant-body-cccccccccccccc0003';

function only(fake: FakeUpstream): RecordedRequest {
  expect(fake.requests).toHaveLength(1);
  return fake.requests[0] as RecordedRequest;
}

describe('request body rules', { timeout: 20_000 }, () => {
  let fake: FakeUpstream;
  let echo: Awaited<ReturnType<typeof startEchoUpstream>>;
  let gw: TestGateway;

  beforeAll(async () => {
    fake = await startFakeUpstream();
    echo = await startEchoUpstream();
    gw = await startGateway({
      groups: [
        {
          name: 'ovr',
          upstreams: [fake.url],
          keys: [KEY],
          paramOverrides: { temperature: 0.1, max_tokens: 7, metadata: { a: 1 } },
        },
        { name: 'redir', upstreams: [fake.url], keys: [KEY], modelRedirects: { 'gpt-alias': 'gpt-4o-mini' } },
        {
          name: 'strict',
          upstreams: [fake.url],
          keys: [KEY],
          modelRedirects: { allowed: 'gpt-4o-mini' },
          modelRedirectStrict: true,
        },
        {
          name: 'gem',
          channel: 'gemini',
          upstreams: [fake.url],
          keys: [GEM_KEY],
          modelRedirects: { 'gemini-alias': 'gemini-2.5-flash' },
        },
        {
          name: 'gem-strict',
          channel: 'gemini',
          upstreams: [fake.url],
          keys: [GEM_KEY],
          modelRedirects: { 'gemini-alias': 'gemini-2.5-flash' },
          modelRedirectStrict: true,
        },
        {
          name: 'ant-strict',
          channel: 'anthropic',
          upstreams: [fake.url],
          keys: [ANT_KEY],
          modelRedirects: { 'claude-alias': 'claude-3-5-haiku-latest' },
          modelRedirectStrict: true,
        },
        {
          // Rules configured, but the bodies sent here are not JSON objects: they must pass untouched.
          name: 'raw',
          upstreams: [echo.url],
          keys: [KEY],
          paramOverrides: { temperature: 0 },
          modelRedirects: { a: 'b' },
          config: { maxRequestBodyMb: 1 },
        },
        {
          name: 'ant-raw',
          channel: 'anthropic',
          upstreams: [echo.url],
          keys: [ANT_KEY],
          config: { maxRequestBodyMb: 1 },
        },
      ],
    });
  });
  afterAll(async () => {
    await gw.close();
    await fake.close();
    await echo.close();
  });
  beforeEach(() => {
    fake.reset();
    echo.requests.length = 0;
  });

  it('applies param overrides shallowly, keeping every other field', async () => {
    const res = await postJson(
      `${gw.base('ovr')}/v1/chat/completions`,
      chatBody({ temperature: 1, metadata: { b: 2 }, user: 'u-1' }),
    );
    expect(res.status).toBe(200);
    const sent = JSON.parse(only(fake).body) as Record<string, unknown>;
    expect(sent).toEqual({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'hello there' }],
      temperature: 0.1,
      max_tokens: 7,
      // Shallow: the override replaces the object, it is not merged into it.
      metadata: { a: 1 },
      user: 'u-1',
    });
  });

  it('redirects a model named in the body, and forwards other models unchanged byte for byte', async () => {
    expect(
      (await postJson(`${gw.base('redir')}/v1/chat/completions`, chatBody({ model: 'gpt-alias' }))).status,
    ).toBe(200);
    expect(JSON.parse(only(fake).body)).toMatchObject({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'hello there' }],
    });

    fake.reset();
    const raw = '{ "model" :  "gpt-4o",\n  "messages": [{"role":"user","content":"hi"}] }';
    const res = await send(`${gw.base('redir')}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${PROXY_KEY}`, 'content-type': 'application/json' },
      body: raw,
    });
    expect(res.status).toBe(200);
    expect(only(fake).body).toBe(raw);
  });

  it('redirects a Gemini model named in the path (models/x:generateContent)', async () => {
    const res = await send(`${gw.base('gem')}/v1beta/models/gemini-alias:generateContent`, {
      method: 'POST',
      headers: { 'x-goog-api-key': PROXY_KEY, 'content-type': 'application/json' },
      body: JSON.stringify({ contents: [{ parts: [{ text: 'hi' }] }] }),
    });
    expect(res.status).toBe(200);
    expect(only(fake).path).toBe('/v1beta/models/gemini-2.5-flash:generateContent');
  });

  it('redirects a Gemini streaming path and keeps its query', async () => {
    const res = await send(`${gw.base('gem')}/v1beta/models/gemini-alias:streamGenerateContent?alt=sse`, {
      method: 'POST',
      headers: { 'x-goog-api-key': PROXY_KEY, 'content-type': 'application/json' },
      body: JSON.stringify({ contents: [{ parts: [{ text: 'hi' }] }] }),
    });
    expect(res.status).toBe(200);
    const r = only(fake);
    expect(r.path).toBe('/v1beta/models/gemini-2.5-flash:streamGenerateContent');
    expect(r.query.get('alt')).toBe('sse');
  });

  it("redirects the body's model on Gemini's OpenAI surface", async () => {
    const res = await send(`${gw.base('gem')}/v1beta/openai/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${PROXY_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gemini-alias', messages: [{ role: 'user', content: 'hi' }] }),
    });
    expect(res.status).toBe(200);
    expect(JSON.parse(only(fake).body)).toMatchObject({ model: 'gemini-2.5-flash' });
  });

  it('strict mode: refuses an unlisted model with 400 in OpenAI shape without contacting the upstream', async () => {
    const res = await postJson(
      `${gw.base('strict')}/v1/chat/completions`,
      chatBody({ model: 'forbidden-model' }),
    );
    expect(res.status).toBe(400);
    const body = res.json<{ error: { type: string; message: string; code: string } }>();
    expect(body.error.type).toBe('invalid_request_error');
    expect(body.error.message).toContain('forbidden-model');
    expect(fake.requests).toHaveLength(0);
    // A listed model goes through, redirected.
    expect(
      (await postJson(`${gw.base('strict')}/v1/chat/completions`, chatBody({ model: 'allowed' }))).status,
    ).toBe(200);
    expect(JSON.parse(only(fake).body)).toMatchObject({ model: 'gpt-4o-mini' });
  });

  it('strict mode: refuses an unlisted Gemini path model with 400 in Gemini shape', async () => {
    const res = await send(`${gw.base('gem-strict')}/v1beta/models/gemini-2.5-pro:generateContent`, {
      method: 'POST',
      headers: { 'x-goog-api-key': PROXY_KEY, 'content-type': 'application/json' },
      body: JSON.stringify({ contents: [{ parts: [{ text: 'hi' }] }] }),
    });
    expect(res.status).toBe(400);
    const body = res.json<{ error: { code: number; status: string; message: string } }>();
    expect(body.error).toMatchObject({ code: 400, status: 'INVALID_ARGUMENT' });
    expect(body.error.message).toContain('gemini-2.5-pro');
    expect(fake.requests).toHaveLength(0);
  });

  it('strict mode: refuses an unlisted model with 400 in Anthropic shape', async () => {
    const res = await send(`${gw.base('ant-strict')}/v1/messages`, {
      method: 'POST',
      headers: { 'x-api-key': PROXY_KEY, 'content-type': 'application/json' },
      body: JSON.stringify({
        model: 'claude-opus-4',
        max_tokens: 5,
        messages: [{ role: 'user', content: 'hi' }],
      }),
    });
    expect(res.status).toBe(400);
    const body = res.json<{ type: string; error: { type: string; message: string } }>();
    expect(body).toMatchObject({ type: 'error', error: { type: 'invalid_request_error' } });
    expect(body.error.message).toContain('claude-opus-4');
    expect(fake.requests).toHaveLength(0);
  });

  it('strict mode does not block requests that name no model (GET /v1/models)', async () => {
    const res = await send(`${gw.base('strict')}/v1/models`, {
      headers: { authorization: `Bearer ${PROXY_KEY}` },
    });
    expect(res.status).toBe(200);
    expect(fake.requests).toHaveLength(1);
  });

  it('passes a non-JSON body through untouched, byte for byte, even with rules configured', async () => {
    const bytes = Buffer.concat([
      Buffer.from('{"model":"a", not json '),
      randomBytes(4096),
      Buffer.from([0, 255, 254]),
    ]);
    const res = await send(`${gw.base('raw')}/v1/whatever`, {
      method: 'POST',
      headers: { authorization: `Bearer ${PROXY_KEY}`, 'content-type': 'application/octet-stream' },
      body: bytes,
    });
    expect(res.status).toBe(200);
    expect(echo.requests).toHaveLength(1);
    expect(sha256(echo.requests[0]?.body ?? Buffer.alloc(0))).toBe(sha256(bytes));
    // A JSON array is JSON but not an object: untouched too.
    const array = '[{"model":"a"}, 1]';
    await send(`${gw.base('raw')}/v1/whatever`, {
      method: 'POST',
      headers: { authorization: `Bearer ${PROXY_KEY}`, 'content-type': 'application/json' },
      body: array,
    });
    expect(echo.requests[1]?.body.toString('utf8')).toBe(array);
  });

  it('forwards a multipart upload under the limit byte-identical, boundary and all', async () => {
    const boundary = '----KeywayTestBoundary7MA4YWxkTrZu0gW';
    const file = randomBytes(600 * 1024);
    const body = Buffer.concat([
      Buffer.from(
        `--${boundary}\r\nContent-Disposition: form-data; name="model"\r\n\r\nwhisper-1\r\n` +
          `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="audio.bin"\r\n` +
          'Content-Type: application/octet-stream\r\n\r\n',
      ),
      file,
      Buffer.from(`\r\n--${boundary}--\r\n`),
    ]);
    const contentType = `multipart/form-data; boundary=${boundary}`;
    const res = await send(`${gw.base('raw')}/v1/audio/transcriptions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${PROXY_KEY}`, 'content-type': contentType },
      body,
    });
    expect(res.status).toBe(200);
    expect(res.json()).toMatchObject({ sha256: sha256(body), length: body.length });
    const seen = echo.requests[0];
    expect(seen?.headers['content-type']).toBe(contentType);
    expect(seen?.headers['content-length']).toBe(String(body.length));
    expect(sha256(seen?.body ?? Buffer.alloc(0))).toBe(sha256(body));
  });

  it('refuses a body over maxRequestBodyMb with 413 (declared content-length), without contacting the upstream', async () => {
    const res = await send(`${gw.base('raw')}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${PROXY_KEY}`, 'content-type': 'application/json' },
      body: Buffer.alloc(2 * 1024 * 1024, 'a'),
    });
    expect(res.status).toBe(413);
    expect(res.json<{ error: { type: string; message: string } }>().error.message).toContain('1 MiB');
    expect(echo.requests).toHaveLength(0);
  });

  it('refuses a chunked body that grows over the limit with 413', async () => {
    const res = await send(`${gw.base('raw')}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${PROXY_KEY}`, 'content-type': 'application/json' },
      body: Buffer.alloc(2 * 1024 * 1024, 'a'),
      chunkSize: 64 * 1024,
    });
    expect(res.status).toBe(413);
    expect(echo.requests).toHaveLength(0);
  });

  it('answers 413 in the Anthropic dialect on an anthropic group', async () => {
    const res = await send(`${gw.base('ant-raw')}/v1/messages`, {
      method: 'POST',
      headers: { 'x-api-key': PROXY_KEY, 'content-type': 'application/json' },
      body: Buffer.alloc(2 * 1024 * 1024, 'a'),
    });
    expect(res.status).toBe(413);
    expect(res.json()).toMatchObject({ type: 'error', error: { type: 'request_too_large' } });
    expect(echo.requests).toHaveLength(0);
  });
});
