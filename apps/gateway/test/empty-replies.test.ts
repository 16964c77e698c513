/**
 * `retryOnEmpty` (issue 14): a 2xx reply without content is retried on another key before anything reaches the
 * client; streams are held until their first content event and then relayed byte for byte. The upstream is a tiny
 * scripted server: each key answers empty, with content, or breaks, in the channel's own wire format.
 */
import { createServer } from 'node:http';
import type { IncomingHttpHeaders, Server } from 'node:http';
import { gzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { PROXY_KEY, listenLocal, send, sleep, startGateway } from './harness';
import type { GroupOverrides, SimpleResponse, TestGateway } from './harness';

const EMPTY = 'sk-test-empty-aaaaaaaaaaaa0001';
const EMPTY_TOO = 'sk-test-empty-bbbbbbbbbbbb0002';
const CONTENT = 'sk-test-content-cccccccccc0003';
const BREAKS = 'sk-test-breaks-dddddddddddd0004';
const GZIP = 'sk-test-gzip-eeeeeeeeeeeeee0005';
const HANGS = 'sk-test-hangs-ffffffffffff0006';

type Kind = 'empty' | 'content';

const sse = (events: unknown[], done = '') => [...events.map((e) => `data: ${JSON.stringify(e)}\n\n`), done];
const named = (events: Array<{ type: string; [field: string]: unknown }>) =>
  events.map((e) => `event: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`);
/** Gemini's SSE ends events with CRLF pairs. */
const geminiSse = (events: unknown[]) => events.map((e) => `data: ${JSON.stringify(e)}\r\n\r\n`);

const role = { choices: [{ index: 0, delta: { role: 'assistant', content: '' } }] };
const stop = { choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] };
const start = { type: 'message_start', message: { id: 'msg_1', content: [], usage: { input_tokens: 5 } } };
const textBlock = { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } };
const anthropicEnd = [
  { type: 'message_delta', delta: { stop_reason: 'end_turn' }, usage: { output_tokens: 0 } },
  { type: 'message_stop' },
];
const blocked = {
  promptFeedback: { blockReason: 'PROHIBITED_CONTENT' },
  usageMetadata: { promptTokenCount: 5 },
};
const geminiText = (text: string) => ({
  candidates: [{ content: { role: 'model', parts: [{ text }] }, index: 0 }],
});

/** Each channel's replies, as the wire chunks the upstream writes. */
const REPLIES: Record<
  'openai' | 'openai-response' | 'anthropic' | 'gemini',
  Record<'json' | 'stream', Record<Kind, string[]>>
> = {
  openai: {
    json: {
      empty: [
        JSON.stringify({
          id: 'chatcmpl-e',
          object: 'chat.completion',
          choices: [{ index: 0, message: { role: 'assistant', content: '' }, finish_reason: 'stop' }],
        }),
      ],
      content: [
        JSON.stringify({
          id: 'chatcmpl-c',
          object: 'chat.completion',
          choices: [{ index: 0, message: { role: 'assistant', content: 'Hello' }, finish_reason: 'stop' }],
        }),
      ],
    },
    stream: {
      empty: sse([role, stop], 'data: [DONE]\n\n'),
      content: sse(
        [
          role,
          { choices: [{ index: 0, delta: { content: 'Hel' } }] },
          { choices: [{ delta: { content: 'lo' } }] },
          stop,
        ],
        'data: [DONE]\n\n',
      ),
    },
  },
  'openai-response': {
    json: {
      empty: [JSON.stringify({ id: 'resp_e', object: 'response', status: 'completed', output: [] })],
      content: [
        JSON.stringify({
          id: 'resp_c',
          object: 'response',
          output: [{ type: 'message', content: [{ type: 'output_text', text: 'Hello' }] }],
        }),
      ],
    },
    stream: {
      empty: named([
        { type: 'response.created', response: { output: [] } },
        { type: 'response.completed', response: { output: [] } },
      ]),
      content: named([
        { type: 'response.created', response: { output: [] } },
        { type: 'response.output_item.added', item: { type: 'message', content: [] } },
        { type: 'response.output_text.delta', delta: 'Hello' },
        { type: 'response.completed', response: { output: [] } },
      ]),
    },
  },
  anthropic: {
    json: {
      empty: [JSON.stringify({ id: 'msg_e', type: 'message', content: [], stop_reason: 'end_turn' })],
      content: [JSON.stringify({ id: 'msg_c', type: 'message', content: [{ type: 'text', text: 'Hello' }] })],
    },
    stream: {
      empty: named([start, textBlock, { type: 'content_block_stop', index: 0 }, ...anthropicEnd]),
      content: named([
        start,
        textBlock,
        { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'Hello' } },
        { type: 'content_block_stop', index: 0 },
        ...anthropicEnd,
      ]),
    },
  },
  gemini: {
    json: {
      empty: [JSON.stringify({ candidates: [{ finishReason: 'SAFETY', index: 0 }], usageMetadata: {} })],
      content: [JSON.stringify(geminiText('Hello'))],
    },
    stream: {
      empty: geminiSse([blocked]),
      content: geminiSse([geminiText('Hel'), geminiText('lo')]),
    },
  },
};

type TestChannel = keyof typeof REPLIES;

/** Gemini's `streamGenerateContent` without `alt=sse`: one JSON array, its elements written as they come. */
const GEMINI_ARRAY: Record<Kind, string[]> = {
  empty: ['[', JSON.stringify(blocked), ']'],
  content: ['[', JSON.stringify(geminiText('Hel')), ',\r\n', JSON.stringify(geminiText('lo')), ']'],
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
  close(): Promise<void>;
}

/** An upstream of `channel` answering by key: EMPTY… empty, CONTENT content, BREAKS an empty start then a reset. */
async function scriptedUpstream(channel: TestChannel): Promise<Scripted> {
  const keys: string[] = [];
  const server: Server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      void (async () => {
        const key = keyOf(req.headers);
        keys.push(key);
        const url = req.url ?? '';
        const stream = url.includes('stream') || req.headers['x-test-stream'] === '1';
        // Gemini streams a JSON array unless asked for SSE.
        const array = url.includes(':streamGenerateContent') && !url.includes('alt=sse');
        const kind = key === CONTENT || key === GZIP ? 'content' : 'empty';
        const chunks = array ? GEMINI_ARRAY[kind] : REPLIES[channel][stream ? 'stream' : 'json'][kind];
        const type = stream && !array ? 'text/event-stream' : 'application/json';
        if (key === GZIP) {
          const body = gzipSync(chunks.join(''));
          res.writeHead(200, { 'content-type': type, 'content-encoding': 'gzip', 'x-upstream': 'gz' });
          return res.end(body);
        }
        res.writeHead(200, { 'content-type': type, 'x-upstream': key.slice(8, 13) });
        for (const [i, chunk] of chunks.entries()) {
          if (key === BREAKS && i === 1) return res.destroy();
          if (key === HANGS && i === 1) return;
          res.write(chunk);
          await sleep(5);
        }
        res.end();
      })();
    });
  });
  return { ...(await listenLocal(server)), keys };
}

let upstream: Scripted | undefined;
let gw: TestGateway | undefined;

afterEach(async () => {
  await gw?.close();
  await upstream?.close();
  gw = undefined;
  upstream = undefined;
});

async function setup(channel: TestChannel, keys: string[], config: GroupOverrides = { retryOnEmpty: true }) {
  upstream = await scriptedUpstream(channel);
  gw = await startGateway({
    groups: [{ name: 'g', channel: channel, upstreams: [upstream.url], keys, config }],
  });
  return { upstream, gw };
}

/** The channel's generation call, streamed or not (the stream flag travels as a header the upstream reads). */
function generate(
  g: TestGateway,
  channel: TestChannel,
  stream: boolean,
  sse = true,
): Promise<SimpleResponse> {
  const headers = {
    authorization: `Bearer ${PROXY_KEY}`,
    'content-type': 'application/json',
    ...(stream ? { 'x-test-stream': '1' } : {}),
  };
  const messages = [{ role: 'user', content: 'hello there' }];
  if (channel === 'gemini') {
    const action = stream ? `streamGenerateContent${sse ? '?alt=sse' : ''}` : 'generateContent';
    const body = JSON.stringify({ contents: [{ role: 'user', parts: [{ text: 'hello there' }] }] });
    return send(`${g.base('g')}/v1beta/models/gemini-2.5-flash:${action}`, { method: 'POST', headers, body });
  }
  const path = {
    anthropic: '/v1/messages',
    'openai-response': '/v1/responses',
    openai: '/v1/chat/completions',
  }[channel];
  const body = JSON.stringify({
    model: 'm-1',
    max_tokens: 64,
    messages,
    ...(stream ? { stream: true } : {}),
  });
  return send(`${g.base('g')}${path}`, { method: 'POST', headers, body });
}

const CASES: Array<[TestChannel, boolean]> = [
  ['openai', false],
  ['openai', true],
  ['anthropic', false],
  ['anthropic', true],
  ['gemini', false],
  ['gemini', true],
  ['openai-response', false],
  ['openai-response', true],
];

describe('retryOnEmpty', { timeout: 20_000 }, () => {
  it.each(CASES)('%s (stream: %s): an empty reply is retried on the next key', async (channel, stream) => {
    const { upstream, gw } = await setup(channel, [EMPTY, CONTENT]);
    const res = await generate(gw, channel, stream);
    expect(res.status).toBe(200);
    // Every byte the content key sent, and nothing of the empty reply.
    expect(res.text).toBe(REPLIES[channel][stream ? 'stream' : 'json'].content.join(''));
    expect(res.headers['x-upstream']).toBe('conte');
    expect(upstream.keys).toEqual([EMPTY, CONTENT]);
    const [record] = await gw.waitForRecords(1);
    expect(record?.attempts.map((a) => [a.class, a.statusCode])).toEqual([
      ['empty', 200],
      ['ok', 200],
    ]);
    expect(record?.keyId).toBe(gw.keyId(CONTENT));
    // Not the key's fault: it stays in the pool untouched.
    expect(gw.health(EMPTY).status).toBe('active');
    expect(gw.health(EMPTY).failureCount).toBe(0);
  });

  it.each(CASES)(
    '%s (stream: %s): with the setting off the empty reply passes unchanged',
    async (channel, stream) => {
      const { upstream, gw } = await setup(channel, [EMPTY, CONTENT], {});
      const res = await generate(gw, channel, stream);
      expect(res.status).toBe(200);
      expect(res.text).toBe(REPLIES[channel][stream ? 'stream' : 'json'].empty.join(''));
      expect(upstream.keys).toEqual([EMPTY]);
      const [record] = await gw.waitForRecords(1);
      expect(record?.attempts.map((a) => a.class)).toEqual(['ok']);
    },
  );

  it.each(CASES)(
    '%s (stream: %s): when every key answers empty, the last empty reply is relayed',
    async (channel, stream) => {
      const { upstream, gw } = await setup(channel, [EMPTY, EMPTY_TOO], {
        retryOnEmpty: true,
        maxRetries: 1,
      });
      const res = await generate(gw, channel, stream);
      expect(res.status).toBe(200);
      expect(res.text).toBe(REPLIES[channel][stream ? 'stream' : 'json'].empty.join(''));
      expect(upstream.keys).toEqual([EMPTY, EMPTY_TOO]);
      const [record] = await gw.waitForRecords(1);
      expect(record?.attempts.map((a) => a.class)).toEqual(['empty', 'empty']);
      expect(record?.statusCode).toBe(200);
    },
  );

  it('relays a compressed reply with content as the upstream sent it (bytes and encoding untouched)', async () => {
    const { gw } = await setup('openai', [GZIP]);
    const res = await generate(gw, 'openai', false);
    expect(res.status).toBe(200);
    expect(res.headers['content-encoding']).toBe('gzip');
    expect(res.body.equals(gzipSync(REPLIES.openai.json.content.join('')))).toBe(true);
    const [record] = await gw.waitForRecords(1);
    expect(record?.attempts.map((a) => a.class)).toEqual(['ok']);
  });

  it('judges a compressed stream by its decoded events, retrying an empty one', async () => {
    const { upstream, gw } = await setup('anthropic', [EMPTY, GZIP]);
    const res = await generate(gw, 'anthropic', true);
    expect(res.headers['content-encoding']).toBe('gzip');
    expect(res.body.equals(gzipSync(REPLIES.anthropic.stream.content.join('')))).toBe(true);
    expect(upstream.keys).toEqual([EMPTY, GZIP]);
  });

  it('a stream that breaks while held is retried like a transport failure', async () => {
    const { upstream, gw } = await setup('openai', [BREAKS, CONTENT]);
    const res = await generate(gw, 'openai', true);
    expect(res.status).toBe(200);
    expect(res.text).toBe(REPLIES.openai.stream.content.join(''));
    expect(upstream.keys).toEqual([BREAKS, CONTENT]);
    const [record] = await gw.waitForRecords(1);
    expect(record?.attempts[0]?.class).toBe('upstream');
    expect(record?.attempts[1]?.class).toBe('ok');
  });

  it("Gemini's JSON-array stream is judged element by element", async () => {
    const { upstream, gw } = await setup('gemini', [EMPTY, CONTENT]);
    const res = await generate(gw, 'gemini', true, false);
    expect(res.status).toBe(200);
    expect(res.text).toBe(GEMINI_ARRAY.content.join(''));
    expect(upstream.keys).toEqual([EMPTY, CONTENT]);
  });

  it('a client that leaves while the reply is held ends the request as aborted, and the upstream call too', async () => {
    const { upstream, gw } = await setup('openai', [HANGS, CONTENT]);
    const abort = new AbortController();
    const pending = fetch(`${gw.base('g')}/v1/chat/completions`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${PROXY_KEY}`,
        'content-type': 'application/json',
        'x-test-stream': '1',
      },
      body: JSON.stringify({ model: 'm-1', messages: [{ role: 'user', content: 'hi' }], stream: true }),
      signal: abort.signal,
    });
    await sleep(150);
    // fetch resolves at the response head: while the reply is held, none was sent.
    abort.abort();
    await expect(pending).rejects.toThrow();
    const [record] = await gw.waitForRecords(1);
    expect(record?.statusCode).toBe(499);
    expect(record?.attempts.map((a) => a.class)).toEqual(['aborted']);
    expect(upstream.keys).toEqual([HANGS]);
  });
});
