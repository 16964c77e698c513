/**
 * `firstTokenTimeoutSeconds` (issue 15): a stream whose first content event is late is abandoned (the upstream call
 * aborted) and retried on another key, since nothing reached the client yet; the head and the events before the
 * first content event are held until it comes. The upstream is a tiny scripted server: a stalling key sends its
 * head and the events that come before content at once, then waits; a fast key sends everything at once.
 */
import { createServer } from 'node:http';
import type { IncomingHttpHeaders, Server } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { PROXY_KEY, listenLocal, send, sleep, startGateway } from './harness';
import type { GroupOverrides, SimpleResponse, TestGateway } from './harness';

const STALLS = 'sk-test-stalls-aaaaaaaaaaaa0001';
const STALLS_TOO = 'sk-test-stalls-bbbbbbbbbbbb0002';
const FAST = 'sk-test-fast-eeeeeeeeeeeeeeee0005';
/** Answer 500 at once. */
const FAILS = 'sk-test-fails-111111111111111a';
const FAILS_TOO = 'sk-test-fails-222222222222222b';
const FAILS_THREE = 'sk-test-fails-333333333333333c';
const FAILS_FOUR = 'sk-test-fails-444444444444444d';
/** Sends nothing at all, not even its head, until the stall is over. */
const MUTE = 'sk-test-mute-ffffffffffffffff0006';

type Channel = 'openai' | 'anthropic' | 'gemini';

const sse = (events: unknown[]) => events.map((e) => `data: ${JSON.stringify(e)}\n\n`);
const named = (events: Array<{ type: string; [field: string]: unknown }>) =>
  events.map((e) => `event: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`);
const geminiChunk = (text: string) => ({
  candidates: [{ content: { role: 'model', parts: [{ text }] }, index: 0 }],
});

/** Each channel's stream as the wire chunks a key writes: `before` at once, `after` once its stall is over. */
const STREAMS: Record<Channel | 'gemini-array', { before: string[]; after: string[] }> = {
  openai: {
    before: sse([{ choices: [{ index: 0, delta: { role: 'assistant', content: '' } }] }]),
    after: [
      ...sse([
        { choices: [{ index: 0, delta: { content: 'Hel' } }] },
        { choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] },
      ]),
      'data: [DONE]\n\n',
    ],
  },
  anthropic: {
    before: named([
      { type: 'message_start', message: { id: 'msg_1', content: [], usage: { input_tokens: 5 } } },
    ]),
    after: named([
      { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } },
      { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'Hello' } },
      { type: 'content_block_stop', index: 0 },
      { type: 'message_stop' },
    ]),
  },
  // A first chunk with an empty text part carries no content yet.
  gemini: {
    before: [`data: ${JSON.stringify(geminiChunk(''))}\r\n\r\n`],
    after: [`data: ${JSON.stringify(geminiChunk('Hello'))}\r\n\r\n`],
  },
  // `streamGenerateContent` without `alt=sse`: one JSON array, its elements written as they come.
  'gemini-array': {
    before: ['[', JSON.stringify(geminiChunk(''))],
    after: [',\r\n', JSON.stringify(geminiChunk('Hello')), ']'],
  },
};

/** The upstream key a request carries, in whichever slot its channel uses. */
function keyOf(headers: IncomingHttpHeaders): string {
  const bearer = headers.authorization?.replace(/^Bearer /, '');
  return String(headers['x-api-key'] ?? headers['x-goog-api-key'] ?? bearer ?? '');
}

interface Scripted {
  url: string;
  /** Keys in the order requests arrived. */
  keys: string[];
  /** Per key: ms from its request's arrival until the gateway closed the connection before the reply's end. */
  abortedAfter: Map<string, number>;
  close(): Promise<void>;
}

/** How long stalling keys wait before their content (changed by tests that need a key to come back in time). */
let stallMs = 5000;

/** An upstream of `channel`: FAST answers at once, FAILS… fail at once, STALLS… stall before their first content event, MUTE before its head. */
async function scriptedUpstream(channel: Channel): Promise<Scripted> {
  const keys: string[] = [];
  const abortedAfter = new Map<string, number>();
  const server: Server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      void (async () => {
        const key = keyOf(req.headers);
        const at = performance.now();
        keys.push(key);
        res.on('close', () => {
          if (!res.writableFinished) abortedAfter.set(key, performance.now() - at);
        });
        if (key.startsWith('sk-test-fails')) {
          res.writeHead(500, { 'content-type': 'application/json' });
          return res.end(JSON.stringify({ error: { message: 'internal error', type: 'server_error' } }));
        }
        const array = channel === 'gemini' && !(req.url ?? '').includes('alt=sse');
        const { before, after } = STREAMS[array ? 'gemini-array' : channel];
        const stalls = key !== FAST;
        if (key === MUTE) await sleep(stallMs);
        if (res.destroyed) return;
        res.writeHead(200, {
          'content-type': array ? 'application/json' : 'text/event-stream',
          'x-upstream': key.slice(8, 14),
        });
        for (const chunk of before) res.write(chunk);
        if (stalls && key !== MUTE) await sleep(stallMs);
        if (res.destroyed) return;
        for (const chunk of after) res.write(chunk);
        res.end();
      })();
    });
  });
  return { ...(await listenLocal(server)), keys, abortedAfter };
}

let upstream: Scripted | undefined;
let gw: TestGateway | undefined;

afterEach(async () => {
  await gw?.close();
  await upstream?.close();
  gw = undefined;
  upstream = undefined;
  stallMs = 5000;
});

async function setup(
  channel: Channel,
  keys: string[],
  config: GroupOverrides = { firstTokenTimeoutSeconds: 1 },
) {
  upstream = await scriptedUpstream(channel);
  gw = await startGateway({ groups: [{ name: 'g', channel, upstreams: [upstream.url], keys, config }] });
  return { upstream, gw };
}

/** The channel's streamed generation call (Gemini as SSE unless `sse` is false). */
function generate(g: TestGateway, channel: Channel, sse = true): Promise<SimpleResponse> {
  const headers = { authorization: `Bearer ${PROXY_KEY}`, 'content-type': 'application/json' };
  if (channel === 'gemini') {
    const action = `streamGenerateContent${sse ? '?alt=sse' : ''}`;
    const body = JSON.stringify({ contents: [{ role: 'user', parts: [{ text: 'hello there' }] }] });
    return send(`${g.base('g')}/v1beta/models/gemini-2.5-flash:${action}`, { method: 'POST', headers, body });
  }
  const path = channel === 'anthropic' ? '/v1/messages' : '/v1/chat/completions';
  const body = JSON.stringify({
    model: 'm-1',
    max_tokens: 64,
    messages: [{ role: 'user', content: 'hello there' }],
    stream: true,
  });
  return send(`${g.base('g')}${path}`, { method: 'POST', headers, body });
}

const whole = (s: { before: string[]; after: string[] }) => [...s.before, ...s.after].join('');

describe('firstTokenTimeoutSeconds', { timeout: 30_000 }, () => {
  it.each([
    ['openai', true],
    ['anthropic', true],
    ['gemini', true],
    ['gemini', false],
  ] as Array<[Channel, boolean]>)(
    '%s (SSE: %s): a stream stalled before its first content event is abandoned for the next key',
    async (channel, sse) => {
      const { upstream, gw } = await setup(channel, [STALLS, FAST]);
      const t0 = performance.now();
      const res = await generate(gw, channel, sse);
      const took = performance.now() - t0;
      expect(res.status).toBe(200);
      // The fast key's stream byte for byte: nothing of the abandoned one (its early events included) leaked.
      expect(res.text).toBe(whole(STREAMS[channel === 'gemini' && !sse ? 'gemini-array' : channel]));
      expect(res.headers['x-upstream']).toBe('fast-e');
      expect(upstream.keys).toEqual([STALLS, FAST]);
      expect(took).toBeGreaterThanOrEqual(950);
      expect(took).toBeLessThan(3000);
      // The stalled call was aborted at the timeout, not left to run on.
      expect(upstream.abortedAfter.get(STALLS)).toBeGreaterThanOrEqual(900);
      expect(upstream.abortedAfter.get(STALLS)).toBeLessThan(2500);
      const [record] = await gw.waitForRecords(1);
      expect(record?.attempts.map((a) => a.class)).toEqual(['slow', 'ok']);
      expect(record?.attempts[0]?.error).toContain('no first token within 1s');
      expect(record?.keyId).toBe(gw.keyId(FAST));
    },
  );

  it('one slow start does not charge the key: it stays active and in rotation', async () => {
    const { gw } = await setup('openai', [STALLS, FAST]);
    await generate(gw, 'openai');
    const health = gw.health(STALLS);
    expect(health.status).toBe('active');
    expect(health.failureCount).toBe(1);
    expect(health.lastError).toBeNull();
    const gid = gw.groupId('g');
    const picked = new Set<number>();
    for (let i = 0; i < 4; i++) {
      const p = gw.pool.pick(gid);
      if (p.ok) picked.add(p.key.id);
    }
    expect(picked).toEqual(new Set([gw.keyId(STALLS), gw.keyId(FAST)]));
  });

  it('a slow start that repeats counts as a failure of the key', async () => {
    const { gw } = await setup('openai', [STALLS], { firstTokenTimeoutSeconds: 1, maxRetries: 0 });
    await generate(gw, 'openai');
    expect(gw.health(STALLS).failureCount).toBe(1);
    await generate(gw, 'openai');
    expect(gw.health(STALLS).failureCount).toBe(2);
    expect(gw.health(STALLS).lastError).toContain('no first token within 1s');
  });

  it('with the setting off the client waits for the slow key', async () => {
    stallMs = 1500;
    const { upstream, gw } = await setup('openai', [STALLS, FAST], {});
    const t0 = performance.now();
    const res = await generate(gw, 'openai');
    expect(performance.now() - t0).toBeGreaterThanOrEqual(1400);
    expect(res.status).toBe(200);
    expect(res.headers['x-upstream']).toBe('stalls');
    expect(res.text).toBe(whole(STREAMS.openai));
    expect(upstream.keys).toEqual([STALLS]);
    const [record] = await gw.waitForRecords(1);
    expect(record?.attempts.map((a) => a.class)).toEqual(['ok']);
  });

  it('content in time is relayed whole: the held head and early events first, in order', async () => {
    stallMs = 300;
    const { upstream, gw } = await setup('anthropic', [STALLS, FAST]);
    const res = await generate(gw, 'anthropic');
    expect(res.status).toBe(200);
    expect(res.headers['x-upstream']).toBe('stalls');
    expect(res.text).toBe(whole(STREAMS.anthropic));
    expect(upstream.keys).toEqual([STALLS]);
    expect(upstream.abortedAfter.size).toBe(0);
  });

  it('a head later than the timeout is as slow as a late first token', async () => {
    const { upstream, gw } = await setup('openai', [MUTE, FAST]);
    const res = await generate(gw, 'openai');
    expect(res.status).toBe(200);
    expect(res.text).toBe(whole(STREAMS.openai));
    expect(upstream.keys).toEqual([MUTE, FAST]);
    const [record] = await gw.waitForRecords(1);
    expect(record?.attempts.map((a) => a.class)).toEqual(['slow', 'ok']);
  });

  it.each([
    ['openai', (body: unknown) => (body as { error: { code: string } }).error.code, 'upstream_timeout'],
    ['anthropic', (body: unknown) => (body as { type: string }).type, 'error'],
    ['gemini', (body: unknown) => (body as { error: { code: number } }).error.code, 504],
  ] as Array<[Channel, (body: unknown) => unknown, unknown]>)(
    '%s: when every key is slow the client gets a 504 in its dialect naming the first-token timeout',
    async (channel, field, expected) => {
      const { upstream, gw } = await setup(channel, [STALLS, STALLS_TOO], {
        firstTokenTimeoutSeconds: 1,
        maxRetries: 1,
      });
      const res = await generate(gw, channel);
      expect(res.status).toBe(504);
      expect(field(JSON.parse(res.text))).toBe(expected);
      expect(res.text).toContain('no first token within 1s');
      expect(upstream.keys).toEqual([STALLS, STALLS_TOO]);
      const [record] = await gw.waitForRecords(1);
      expect(record?.statusCode).toBe(504);
      expect(record?.error).toContain('no first token within 1s');
      expect(record?.attempts.map((a) => [a.class, a.statusCode])).toEqual([
        ['slow', 504],
        ['slow', 504],
      ]);
      // Neither key was charged for it.
      expect(gw.health(STALLS).status).toBe('active');
      expect(gw.health(STALLS_TOO).status).toBe('active');
    },
  );

  it('a slow start neither counts towards a storm nor ends one building', async () => {
    const keys = [FAILS, FAILS_TOO, STALLS, FAILS_THREE, FAILS_FOUR];
    const { upstream, gw } = await setup('openai', keys, { firstTokenTimeoutSeconds: 1, maxRetries: 4 });
    const res = await generate(gw, 'openai');
    expect(res.status).toBe(500);
    expect(upstream.keys).toEqual(keys);
    const [record] = await gw.waitForRecords(1);
    expect(record?.attempts.map((a) => a.class)).toEqual([
      'upstream',
      'upstream',
      'slow',
      'upstream',
      'upstream',
    ]);
    // Four keys failing the same way are a storm, the slow start among them notwithstanding: the group's circuit
    // opens and answers the next request itself, without trying a key.
    const next = await generate(gw, 'openai');
    expect(next.status).toBe(503);
    expect(upstream.keys).toHaveLength(keys.length);
    expect(gw.health(STALLS).status).toBe('active');
  });
});
