import { request } from 'node:http';
import { startFakeUpstream } from '@keyway/testing';
import type { FakeUpstream } from '@keyway/testing';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { PROXY_KEY, chatBody, readTimed, startGateway } from './harness';
import type { TestGateway } from './harness';

const KEY = 'sk-stream-aaaaaaaaaaaaaaaa0001';

describe('streaming', { timeout: 20_000 }, () => {
  let fake: FakeUpstream;
  let gw: TestGateway;

  beforeAll(async () => {
    fake = await startFakeUpstream();
    gw = await startGateway({
      groups: [{ name: 'g', upstreams: [fake.url], keys: [KEY], config: { maxRetries: 0 } }],
    });
  });
  afterAll(async () => {
    await gw.close();
    await fake.close();
  });
  beforeEach(() => {
    fake.reset();
    gw.records.length = 0;
    gw.logs.length = 0;
  });

  const stream = (signal?: AbortSignal, body = chatBody({ stream: true })) =>
    fetch(`${gw.base('g')}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${PROXY_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
      ...(signal ? { signal } : {}),
    });

  it('relays SSE chunks as they come: the first arrives before the upstream sent the last', async () => {
    fake.setKeyBehaviour(KEY, { streamChunkDelayMs: 100 });
    const res = await stream();
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    expect(res.headers.get('x-accel-buffering')).toBe('no');
    const { chunks, text, error } = await readTimed(res);
    expect(error).toBeUndefined();
    expect(chunks.length).toBeGreaterThanOrEqual(3);
    expect(chunks[0]?.text).not.toContain('[DONE]');
    // 7 events 100 ms apart: a buffering proxy would deliver everything at once at the end.
    const first = chunks[0]?.at ?? 0;
    const last = chunks.at(-1)?.at ?? 0;
    expect(last - first).toBeGreaterThanOrEqual(300);
    for (const word of ['Hello', ' from', ' fake', ' upstream'])
      expect(text).toContain(JSON.stringify(word).slice(1, -1));
    expect(text).toContain('data: [DONE]');
    const [record] = await gw.waitForRecords(1);
    expect(record).toMatchObject({ stream: true, success: true, statusCode: 200 });
    expect(record?.ttfbMs).not.toBeNull();
  });

  it('a client disconnecting mid-stream aborts the upstream request at once (499, key untouched)', async () => {
    fake.setKeyBehaviour(KEY, { streamChunkDelayMs: 1000 });
    const abort = new AbortController();
    const res = await stream(abort.signal);
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    await reader.read();
    abort.abort();
    await fake.waitForAborted(1, 2000);
    const [record] = await gw.waitForRecords(1);
    expect(record).toMatchObject({ statusCode: 499, success: false });
    expect(gw.health(KEY)).toMatchObject({ status: 'active', failureCount: 0 });
  });

  it('a client disconnecting while the upstream prepares its answer aborts the upstream request (non-streamed)', async () => {
    fake.setKeyBehaviour(KEY, { delayMs: 5000 });
    const abort = new AbortController();
    const pending = stream(abort.signal, chatBody()).catch((e: unknown) => e);
    await fake.waitFor(() => true, 2000);
    abort.abort();
    await pending;
    await fake.waitForAborted(1, 2000);
    const [record] = await gw.waitForRecords(1);
    expect(record).toMatchObject({ statusCode: 499, success: false });
    expect(record?.attempts.map((a) => a.class)).toEqual(['aborted']);
    expect(gw.health(KEY)).toMatchObject({ status: 'active', failureCount: 0 });
  });

  it('an upstream breaking mid-stream breaks the client connection (no clean end) and is logged with an error', async () => {
    fake.setKeyBehaviour(KEY, { breakStreamAfterChunks: 2 });
    const res = await stream();
    expect(res.status).toBe(200);
    const { text, error } = await readTimed(res);
    expect(error).toBeDefined();
    expect(text).not.toContain('[DONE]');
    const [record] = await gw.waitForRecords(1);
    expect(record?.success).toBe(false);
    expect(record?.statusCode).toBeGreaterThanOrEqual(500);
    expect(record?.error).toMatch(/broke|stream/i);
    expect(gw.logs.some((l) => l.level !== 'info' && /stream/i.test(l.msg ?? ''))).toBe(true);
    // Nothing can be retried once bytes went to the client.
    expect(fake.requests).toHaveLength(1);
  });

  it('a non-streamed body cut short by the upstream breaks the client connection instead of ending cleanly', async () => {
    fake.setKeyBehaviour(KEY, { breakStreamAfterChunks: 0 });
    const res = await stream(undefined, chatBody());
    const { error } = await readTimed(res).catch((e: unknown) => ({ error: e }));
    expect(error).toBeDefined();
    const [record] = await gw.waitForRecords(1);
    expect(record?.success).toBe(false);
    expect(record?.error).toBeTruthy();
  });

  it.each([false, true])(
    'a client that stops reading gets every byte once it reads again (stream: %s): the relay waits for the drain',
    async (streamed) => {
      // ~19 MiB: more than the loopback sockets of the client and the gateway can hold, so writes are refused.
      const chunks = Array.from({ length: 600 }, (_, i) => `${i}:`.padEnd(32 * 1024, 'x'));
      const saved = fake.options.responseChunks;
      fake.options.responseChunks = chunks;
      fake.options.streamChunkDelayMs = 0;
      try {
        const url = new URL(`${gw.base('g')}/v1/chat/completions`);
        const text = await new Promise<string>((resolve, reject) => {
          const req = request(url, {
            method: 'POST',
            headers: { authorization: `Bearer ${PROXY_KEY}`, 'content-type': 'application/json' },
          });
          req.on('error', reject);
          req.on('response', (res) => {
            res.pause();
            const parts: Buffer[] = [];
            setTimeout(() => {
              res.on('data', (c: Buffer) => parts.push(c));
              res.on('end', () => resolve(Buffer.concat(parts).toString('utf8')));
              res.on('error', reject);
              res.resume();
            }, 400);
          });
          req.end(JSON.stringify(chatBody(streamed ? { stream: true } : {})));
        });
        const content = streamed
          ? text
              .split('\n')
              .filter((l) => l.startsWith('data: {'))
              .map(
                (l) =>
                  (JSON.parse(l.slice(6)) as { choices: { delta: { content?: string } }[] }).choices[0]?.delta
                    .content ?? '',
              )
              .join('')
          : (JSON.parse(text) as { choices: { message: { content: string } }[] }).choices[0]?.message.content;
        expect(content?.length).toBe(chunks.join('').length);
        expect(content === chunks.join('')).toBe(true);
        const [record] = await gw.waitForRecords(1);
        expect(record?.success).toBe(true);
      } finally {
        fake.options.responseChunks = saved;
        fake.options.streamChunkDelayMs = 5;
      }
    },
  );
});
