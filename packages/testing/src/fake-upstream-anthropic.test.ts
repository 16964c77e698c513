import Anthropic from '@anthropic-ai/sdk';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startFakeUpstream, type FakeUpstream } from './fake-upstream';

const TEXT = 'Hello from fake upstream';

/** The rejection reason of `promise` (fails if it resolves). */
async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected the promise to reject');
}

let fake: FakeUpstream;
beforeAll(async () => {
  fake = await startFakeUpstream();
});
afterAll(async () => {
  await fake.close();
});
beforeEach(() => fake.reset());

const anthropic = (apiKey = 'sk-ant-test'): Anthropic =>
  new Anthropic({ apiKey, baseURL: fake.url, maxRetries: 0, timeout: 5000 });

const params = {
  model: 'claude-fake-model',
  max_tokens: 64,
  messages: [{ role: 'user' as const, content: 'Say hello' }],
};

describe('fake upstream × @anthropic-ai/sdk', () => {
  it('lists Claude models in Anthropic’s shape when the key comes as x-api-key (as the gateway sends it)', async () => {
    const res = await fetch(`${fake.url}/v1/models`, {
      headers: { 'x-api-key': 'sk-ant-test', 'anthropic-version': '2023-06-01' },
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { data: Array<{ type: string; id: string }>; has_more: boolean };
    expect(body.data.map((m) => m.type)).toEqual(['model', 'model']);
    expect(body.has_more).toBe(false);
  });

  it('answers a message and records the key', async () => {
    const msg = await anthropic().messages.create(params);
    expect(msg.type).toBe('message');
    expect(msg.role).toBe('assistant');
    expect(msg.model).toBe('claude-fake-model');
    expect(msg.content).toEqual([{ type: 'text', text: TEXT }]);
    expect(msg.stop_reason).toBe('end_turn');
    expect(msg.usage.output_tokens).toBe(4);

    const req = await fake.waitFor((r) => r.path === '/v1/messages');
    expect(req.key).toBe('sk-ant-test');
    expect(req.provider).toBe('anthropic');
    // @anthropic-ai/sdk 1.x sends the API key as `Authorization: Bearer`, older ones as `x-api-key`.
    expect([req.headers['x-api-key'], req.headers.authorization]).toContain(
      req.headers['x-api-key'] ? 'sk-ant-test' : 'Bearer sk-ant-test',
    );
    expect(req.headers['anthropic-version']).toBeTruthy();
  });

  it('streams the full event sequence, deltas as separate events', async () => {
    fake.setKeyBehaviour('sk-ant-slow', { streamChunkDelayMs: 20 });
    const stream = await anthropic('sk-ant-slow').messages.create({ ...params, stream: true });
    const types: string[] = [];
    const arrivals: number[] = [];
    let text = '';
    for await (const event of stream) {
      types.push(event.type);
      arrivals.push(performance.now());
      if (event.type === 'content_block_delta' && event.delta.type === 'text_delta') text += event.delta.text;
    }
    // (The SDK swallows `ping` events; the raw-HTTP test checks the fake sends one.)
    expect(types).toEqual([
      'message_start',
      'content_block_start',
      'content_block_delta',
      'content_block_delta',
      'content_block_delta',
      'content_block_delta',
      'content_block_stop',
      'message_delta',
      'message_stop',
    ]);
    expect(text).toBe(TEXT);
    const gaps = arrivals.slice(1).map((t, i) => t - (arrivals[i] ?? t));
    expect(gaps.filter((g) => g >= 8).length).toBeGreaterThanOrEqual(gaps.length - 1);
  });

  it('works with the MessageStream helper', async () => {
    const stream = anthropic().messages.stream(params);
    const final = await stream.finalMessage();
    expect(final.content[0]).toMatchObject({ type: 'text', text: TEXT });
    expect(final.stop_reason).toBe('end_turn');
    expect(final.usage.output_tokens).toBe(4);
    expect(await stream.finalText()).toBe(TEXT);
  });

  it('surfaces scripted 429 / 529 / bad key as the SDK error classes', async () => {
    fake.setKeyBehaviour('sk-ant-limited', { status: 429, headers: { 'retry-after': '3' } });
    const limited = await rejection(anthropic('sk-ant-limited').messages.create(params));
    expect(limited).toBeInstanceOf(Anthropic.RateLimitError);
    expect((limited as InstanceType<typeof Anthropic.APIError>).status).toBe(429);
    expect((limited as InstanceType<typeof Anthropic.APIError>).headers?.get('retry-after')).toBe('3');
    expect((limited as InstanceType<typeof Anthropic.APIError>).error).toMatchObject({
      type: 'error',
      error: { type: 'rate_limit_error' },
    });

    fake.setKeyBehaviour('sk-ant-busy', { status: 529 });
    const busy = (await rejection(anthropic('sk-ant-busy').messages.create(params))) as InstanceType<
      typeof Anthropic.APIError
    >;
    expect(busy).toBeInstanceOf(Anthropic.APIError);
    expect(busy.status).toBe(529);
    expect(busy.error).toMatchObject({ error: { type: 'overloaded_error', message: 'Overloaded' } });

    const bad = await rejection(anthropic('nope').messages.create(params));
    expect(bad).toBeInstanceOf(Anthropic.AuthenticationError);
    expect((bad as InstanceType<typeof Anthropic.APIError>).status).toBe(401);
  });

  it('makes the SDK stream raise when the stream is cut', async () => {
    fake.setKeyBehaviour('sk-ant-cut', { breakStreamAfterChunks: 4 });
    const stream = anthropic('sk-ant-cut').messages.stream(params);
    const seen: string[] = [];
    stream.on('streamEvent', (event) => seen.push(event.type));
    await expect(stream.finalMessage()).rejects.toThrow();
    expect(seen).toEqual(['message_start', 'content_block_start', 'content_block_delta']); // + a swallowed ping
  });

  it('accepts x-api-key and sends ping events on the wire', async () => {
    const res = await fetch(`${fake.url}/v1/messages`, {
      method: 'POST',
      headers: {
        'x-api-key': 'sk-ant-raw',
        'anthropic-version': '2023-06-01',
        'content-type': 'application/json',
      },
      body: JSON.stringify({ ...params, stream: true }),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    const text = await res.text();
    expect(text).toContain('event: ping\ndata: {"type":"ping"}\n\n');
    expect(text.match(/^event: /gm)).toHaveLength(10);
    expect(fake.requests[0]?.key).toBe('sk-ant-raw');
  });

  it('requires anthropic-version (400 in Anthropic shape)', async () => {
    const res = await fetch(`${fake.url}/v1/messages`, {
      method: 'POST',
      headers: { 'x-api-key': 'sk-ant-test', 'content-type': 'application/json' },
      body: JSON.stringify(params),
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({
      type: 'error',
      error: {
        type: 'invalid_request_error',
        message: expect.stringContaining('anthropic-version') as unknown,
      },
    });
  });
});
