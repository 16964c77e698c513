// Usage from streams: an OpenAI chat stream whose client did not ask for usage is asked for it upstream (token
// limits, budgets and cost must see it) and reaches the client exactly as if nobody had asked; compressed event
// streams yield their tokens too. The upstream here answers like OpenAI, byte for byte reproducibly, so the
// client's bytes can be compared with what an upstream asked nothing would have sent.
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { PROXY_KEY, send, startGateway } from './harness';
import type { TestGateway } from './harness';

const PROMPT_TOKENS = 17;
/** A content chunk quoting what the gateway removes: it must reach the client untouched. */
const DELTAS = ['Hello', ' there', ' "usage":null, {"choices":[],"usage":{}}'];

/** An OpenAI chat stream: with `includeUsage`, `"usage":null` in every chunk and a last usage-only chunk. */
function chatStream(includeUsage: boolean): string {
  const chunk = (choices: unknown[], extra: Record<string, unknown> = {}) =>
    `data: ${JSON.stringify({
      id: 'chatcmpl-fixed',
      object: 'chat.completion.chunk',
      created: 1_764_000_000,
      model: 'gpt-4o-mini-2024-07-18',
      choices,
      ...(includeUsage ? { usage: null } : {}),
      ...extra,
    })}\n\n`;
  const choice = (delta: Record<string, unknown>, finish: string | null) => ({
    index: 0,
    delta,
    finish_reason: finish,
  });
  let out = chunk([choice({ role: 'assistant', content: '' }, null)]);
  for (const d of DELTAS) out += chunk([choice({ content: d }, null)]);
  out += chunk([choice({}, 'stop')]);
  if (includeUsage)
    out += chunk([], {
      usage: {
        prompt_tokens: PROMPT_TOKENS,
        completion_tokens: DELTAS.length,
        total_tokens: PROMPT_TOKENS + DELTAS.length,
        prompt_tokens_details: { cached_tokens: 8 },
      },
    });
  return `${out}data: [DONE]\n\n`;
}

interface Upstream {
  url: string;
  /** Bodies the upstream received. */
  bodies: Array<Record<string, unknown>>;
  /** Gzip the stream when the request accepts it. */
  gzip: boolean;
  /** The exact bytes of the last answer. */
  sent: Buffer | null;
  close(): Promise<void>;
}

async function startOpenAiLike(): Promise<Upstream> {
  const up: Upstream = {
    url: '',
    bodies: [],
    gzip: false,
    sent: null,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
      up.bodies.push(body);
      const options = body.stream_options as { include_usage?: unknown } | undefined;
      const text = chatStream(options?.include_usage === true);
      const zipped = up.gzip && /gzip/.test(req.headers['accept-encoding'] ?? '');
      const headers: Record<string, string> = { 'content-type': 'text/event-stream; charset=utf-8' };
      if (zipped) headers['content-encoding'] = 'gzip';
      res.writeHead(200, headers);
      const bytes = zipped ? gzipSync(text) : Buffer.from(text);
      up.sent = bytes;
      // In several writes, events split across them: the relay must not depend on chunk boundaries.
      for (let i = 0; i < bytes.length; i += 37) res.write(bytes.subarray(i, i + 37));
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  up.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return up;
}

describe('usage of streamed answers', { timeout: 20_000 }, () => {
  let upstream: Upstream;
  let gw: TestGateway;

  beforeAll(async () => {
    upstream = await startOpenAiLike();
    gw = await startGateway({
      groups: [{ name: 'oa', channel: 'openai', upstreams: [upstream.url], keys: ['sk-stream-usage-0001'] }],
      prices: [{ model: 'gpt-4o-mini', inputPerMTok: 0.15, outputPerMTok: 0.6, cachedInputPerMTok: 0.075 }],
    });
  });
  afterAll(async () => {
    await gw.close();
    await upstream.close();
  });
  beforeEach(() => {
    upstream.bodies.length = 0;
    upstream.gzip = false;
    gw.records.length = 0;
  });

  async function stream(extra: Record<string, unknown>, headers: Record<string, string> = {}) {
    const res = await send(`${gw.base('oa')}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${PROXY_KEY}`, 'content-type': 'application/json', ...headers },
      body: JSON.stringify({
        model: 'gpt-4o-mini',
        messages: [{ role: 'user', content: 'hi' }],
        stream: true,
        ...extra,
      }),
    });
    expect(res.status).toBe(200);
    const [record] = await gw.waitForRecords(1);
    return { res, record };
  }

  it('asks a chat stream for usage upstream, yet the client gets exactly the stream it asked for', async () => {
    const { res, record } = await stream({ stream_options: { include_obfuscation: false } });
    expect(res.text).toBe(chatStream(false));
    expect(upstream.bodies[0]?.stream_options).toEqual({ include_obfuscation: false, include_usage: true });
    expect(record).toMatchObject({
      promptTokens: PROMPT_TOKENS,
      completionTokens: DELTAS.length,
      cachedTokens: 8,
    });
    // (17 − 8) × 0.15 + 8 × 0.075 + 3 × 0.6, per million.
    expect(record?.costUsd).toBeCloseTo((9 * 0.15 + 8 * 0.075 + 3 * 0.6) / 1e6, 15);
    expect(gw.usage.at(-1)?.promptTokens).toBe(PROMPT_TOKENS);
  });

  it('leaves a stream whose client asked for usage as the upstream sent it', async () => {
    const { res, record } = await stream({ stream_options: { include_usage: true } });
    expect(res.body.equals(upstream.sent as Buffer)).toBe(true);
    expect(res.text).toBe(chatStream(true));
    expect(record?.completionTokens).toBe(DELTAS.length);
  });

  it('reads the tokens of a gzip-compressed event stream while the client gets the compressed bytes', async () => {
    upstream.gzip = true;
    const { res, record } = await stream(
      { stream_options: { include_usage: true } },
      { 'accept-encoding': 'gzip' },
    );
    expect(res.headers['content-encoding']).toBe('gzip');
    expect(res.body.equals(upstream.sent as Buffer)).toBe(true);
    expect(gunzipSync(res.body).toString('utf8')).toBe(chatStream(true));
    expect(record).toMatchObject({ promptTokens: PROMPT_TOKENS, completionTokens: DELTAS.length });
  });

  it('removes the added usage from a compressed stream too, relaying it decoded', async () => {
    upstream.gzip = true;
    const { res, record } = await stream({}, { 'accept-encoding': 'gzip' });
    expect(res.headers['content-encoding']).toBeUndefined();
    expect(res.text).toBe(chatStream(false));
    expect(record).toMatchObject({ promptTokens: PROMPT_TOKENS, completionTokens: DELTAS.length });
  });

  it('does not touch requests that are not chat streams', async () => {
    const res = await send(`${gw.base('oa')}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${PROXY_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] }),
    });
    expect(res.status).toBe(200);
    expect(upstream.bodies[0]).not.toHaveProperty('stream_options');
  });
});
