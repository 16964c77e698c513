import type { ReadableStream } from 'node:stream/web';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startFakeUpstream, type FakeUpstream } from './fake-upstream';

let fake: FakeUpstream;
beforeAll(async () => {
  fake = await startFakeUpstream();
});
afterAll(async () => {
  await fake.close();
});
beforeEach(() => {
  fake.reset();
  fake.options.gzip = false;
});

const chatBody = (stream = false): string =>
  JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }], stream });

const chat = (key: string | undefined, init: RequestInit & { stream?: boolean } = {}): Promise<Response> =>
  fetch(`${fake.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(key ? { authorization: `Bearer ${key}` } : {}) },
    body: chatBody(init.stream),
    ...init,
  });

async function readAll(res: Response): Promise<{ reads: string[]; error: unknown }> {
  const reader = (res.body as ReadableStream<Uint8Array> | null)?.getReader();
  const decoder = new TextDecoder();
  const reads: string[] = [];
  if (!reader) return { reads, error: new Error('no body') };
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return { reads, error: undefined };
      reads.push(decoder.decode(value, { stream: true }));
    }
  } catch (error) {
    return { reads, error };
  }
}

describe('startFakeUpstream', () => {
  it('listens on 127.0.0.1 and records method, path, query, headers, key, body', async () => {
    expect(fake.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const res = await fetch(`${fake.url}/v1/chat/completions?trace=1`, {
      method: 'POST',
      headers: { authorization: 'Bearer sk-rec', 'content-type': 'application/json', 'X-Custom': 'yes' },
      body: chatBody(),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-request-id')).toMatch(/^req_/);
    const req = await fake.waitFor((r) => r.key === 'sk-rec');
    expect(req).toMatchObject({
      method: 'POST',
      path: '/v1/chat/completions',
      key: 'sk-rec',
      aborted: false,
    });
    expect(req.query.get('trace')).toBe('1');
    expect(req.headers['x-custom']).toBe('yes');
    expect(req.body).toBe(chatBody());
    expect(req.time).toBeLessThanOrEqual(Date.now());
  });

  it('sends each SSE event as its own write', async () => {
    fake.setKeyBehaviour('sk-sse', { streamChunkDelayMs: 20 });
    const res = await chat('sk-sse', { stream: true });
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    const { reads, error } = await readAll(res);
    expect(error).toBeUndefined();
    // role + 4 deltas + finish + [DONE] = 7 events; allow one coalesced read on a loaded machine.
    expect(reads.length).toBeGreaterThanOrEqual(6);
    expect(reads.every((r) => r.startsWith('data: ') && r.endsWith('\n\n'))).toBe(true);
    expect(reads.at(-1)).toBe('data: [DONE]\n\n');
  });

  it('answers provider-shaped 401s for missing keys and 404s for unknown routes', async () => {
    const openai = await chat(undefined);
    expect(openai.status).toBe(401);
    expect(await openai.json()).toEqual({
      error: {
        message: expect.stringContaining("didn't provide an API key") as unknown,
        type: 'invalid_request_error',
        param: null,
        code: null,
      },
    });

    const anthropic = await fetch(`${fake.url}/v1/messages`, {
      method: 'POST',
      headers: { 'anthropic-version': '2023-06-01' },
      body: '{}',
    });
    expect(anthropic.status).toBe(401);
    expect(await anthropic.json()).toMatchObject({ type: 'error', error: { type: 'authentication_error' } });

    const gemini = await fetch(`${fake.url}/v1beta/models/gemini-2.5-flash:generateContent`, {
      method: 'POST',
      body: '{}',
    });
    expect(gemini.status).toBe(401);
    expect(await gemini.json()).toMatchObject({ error: { code: 401, status: 'UNAUTHENTICATED' } });

    const unknown = await fetch(`${fake.url}/v1/nope`, { headers: { authorization: 'Bearer sk-x' } });
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toMatchObject({ error: { type: 'invalid_request_error', param: null } });
  });

  it('honours validKeys', async () => {
    const strict = await startFakeUpstream({ validKeys: ['only-this'] });
    try {
      const post = (key: string): Promise<Response> =>
        fetch(`${strict.url}/v1/models`, { headers: { authorization: `Bearer ${key}` } });
      expect((await post('only-this')).status).toBe(200);
      const denied = await post('sk-other');
      expect(denied.status).toBe(401);
      expect(await denied.json()).toMatchObject({ error: { code: 'invalid_api_key' } });
      expect(strict.keysSeen()).toEqual(['only-this', 'sk-other']);
    } finally {
      await strict.close();
    }
  });

  it('runs `times` sequences, then falls back to the default behaviour', async () => {
    fake.setKeyBehaviour('sk-seq', { status: 500, times: 2 });
    fake.setKeyBehaviour('sk-chain', { status: 429, times: 1, then: { status: 503, times: 1 } });
    const statuses = async (key: string, n: number): Promise<number[]> => {
      const out: number[] = [];
      for (let i = 0; i < n; i++) out.push((await chat(key)).status);
      return out;
    };
    expect(await statuses('sk-seq', 3)).toEqual([500, 500, 200]);
    expect(await statuses('sk-chain', 3)).toEqual([429, 503, 200]);

    fake.setDefaultBehaviour({ status: 503 });
    fake.setKeyBehaviour('sk-fine', {});
    expect(await statuses('sk-any', 1)).toEqual([503]);
    expect(await statuses('sk-fine', 1)).toEqual([200]);
    fake.reset();
    expect(await statuses('sk-any', 1)).toEqual([200]);
  });

  it('sends custom bodies and headers', async () => {
    fake.setKeyBehaviour('sk-html', {
      status: 502,
      body: '<html>bad gateway</html>',
      headers: { 'x-extra': '1' },
    });
    const res = await chat('sk-html');
    expect(res.status).toBe(502);
    expect(res.headers.get('content-type')).toContain('text/plain');
    expect(res.headers.get('x-extra')).toBe('1');
    expect(await res.text()).toBe('<html>bad gateway</html>');

    fake.setKeyBehaviour('sk-suspended', { status: 403, message: 'Your account has been suspended.' });
    const suspended = await chat('sk-suspended');
    expect(suspended.status).toBe(403);
    expect(await suspended.json()).toMatchObject({ error: { message: 'Your account has been suspended.' } });
  });

  it('delays headers with delayMs', async () => {
    fake.setKeyBehaviour('sk-delay', { delayMs: 150 });
    const started = performance.now();
    const res = await chat('sk-delay');
    expect(res.status).toBe(200);
    expect(performance.now() - started).toBeGreaterThanOrEqual(140);
  });

  it('counts a client abort of a hanging request', async () => {
    fake.setKeyBehaviour('sk-hang', { hangHeaders: true });
    const controller = new AbortController();
    const pending = chat('sk-hang', { signal: controller.signal });
    const req = await fake.waitFor((r) => r.key === 'sk-hang');
    controller.abort();
    await expect(pending).rejects.toThrow();
    await fake.waitForAborted(1);
    expect(fake.aborted).toBe(1);
    expect(req.aborted).toBe(true);
  });

  it('counts a client abort in the middle of a stream', async () => {
    fake.setKeyBehaviour('sk-slowstream', { streamChunkDelayMs: 100 });
    const controller = new AbortController();
    const res = await chat('sk-slowstream', { stream: true, signal: controller.signal });
    const reader = res.body?.getReader();
    await reader?.read();
    controller.abort();
    await fake.waitForAborted(1);
    expect(fake.requests[0]?.aborted).toBe(true);
  });

  it('drops the connection with destroy, and cuts streams / bodies with breakStreamAfterChunks', async () => {
    fake.setKeyBehaviour('sk-destroy', { destroy: true });
    await expect(chat('sk-destroy')).rejects.toThrow();

    fake.setKeyBehaviour('sk-cut', { breakStreamAfterChunks: 2 });
    const res = await chat('sk-cut', { stream: true });
    expect(res.status).toBe(200);
    const { reads, error } = await readAll(res);
    expect(error).toBeDefined();
    expect(reads.join('').match(/^data: /gm)).toHaveLength(2);

    const plain = await chat('sk-cut');
    await expect(plain.json()).rejects.toThrow();
    expect(fake.aborted).toBe(0);
  });

  it('gzips JSON only when options.gzip is set and the client accepts it', async () => {
    const models = (): Promise<Response> =>
      fetch(`${fake.url}/v1/models`, {
        headers: { authorization: 'Bearer sk-z', 'accept-encoding': 'gzip' },
      });
    expect((await models()).headers.get('content-encoding')).toBeNull();
    fake.options.gzip = true;
    const zipped = await models();
    expect(zipped.headers.get('content-encoding')).toBe('gzip');
    expect(await zipped.json()).toMatchObject({ object: 'list' }); // fetch decompresses
  });

  it('close() ends hanging requests and open keep-alive sockets promptly', async () => {
    const other = await startFakeUpstream();
    other.setDefaultBehaviour({ hangHeaders: true });
    const pending = fetch(`${other.url}/v1/models`, { headers: { authorization: 'Bearer sk-h' } });
    await other.waitFor((r) => r.key === 'sk-h');
    const started = performance.now();
    await other.close();
    expect(performance.now() - started).toBeLessThan(1000);
    await expect(pending).rejects.toThrow();
    expect(other.aborted).toBe(0);
  });

  it('rejects waitFor after the timeout', async () => {
    await expect(fake.waitFor((r) => r.path === '/never', 50)).rejects.toThrow(/timed out after 50 ms/);
  });
});
