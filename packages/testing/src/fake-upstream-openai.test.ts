import OpenAI from 'openai';
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

const openai = (apiKey = 'sk-test-openai', path = '/v1'): OpenAI =>
  new OpenAI({ apiKey, baseURL: `${fake.url}${path}`, maxRetries: 0, timeout: 5000 });

/** Gaps between consecutive arrival times. */
const gaps = (times: readonly number[]): number[] => times.slice(1).map((t, i) => t - (times[i] ?? t));

describe('fake upstream × openai SDK', () => {
  it('answers a chat completion and records the key', async () => {
    const res = await openai().chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'Say hello' }],
    });
    expect(res.object).toBe('chat.completion');
    expect(res.model).toBe('gpt-4o-mini');
    expect(res.choices[0]?.message.content).toBe(TEXT);
    expect(res.choices[0]?.finish_reason).toBe('stop');
    expect(res.usage?.total_tokens).toBe((res.usage?.prompt_tokens ?? 0) + 4);

    const [req] = fake.requests;
    expect(req?.method).toBe('POST');
    expect(req?.path).toBe('/v1/chat/completions');
    expect(req?.key).toBe('sk-test-openai');
    expect(req?.provider).toBe('openai');
    expect(req?.headers.authorization).toBe('Bearer sk-test-openai');
    expect(JSON.parse(req?.body ?? '{}')).toMatchObject({ model: 'gpt-4o-mini' });
    expect(fake.keysSeen()).toEqual(['sk-test-openai']);
  });

  it('streams chat completion chunks as separate events, with a usage chunk', async () => {
    fake.setKeyBehaviour('sk-slow', { streamChunkDelayMs: 25 });
    const stream = await openai('sk-slow').chat.completions.create({
      model: 'gpt-4o',
      messages: [{ role: 'user', content: 'hi' }],
      stream: true,
      stream_options: { include_usage: true },
    });
    const arrivals: number[] = [];
    const deltas: string[] = [];
    let roleSeen = false;
    let finish: string | null | undefined;
    let usage: OpenAI.CompletionUsage | null | undefined;
    for await (const chunk of stream) {
      arrivals.push(performance.now());
      expect(chunk.object).toBe('chat.completion.chunk');
      expect(chunk.model).toBe('gpt-4o');
      const choice = chunk.choices[0];
      if (choice?.delta.role) roleSeen = true;
      if (choice?.delta.content) deltas.push(choice.delta.content);
      if (choice?.finish_reason) finish = choice.finish_reason;
      if (chunk.usage) usage = chunk.usage;
    }
    expect(roleSeen).toBe(true);
    expect(deltas).toEqual(['Hello', ' from', ' fake', ' upstream']);
    expect(finish).toBe('stop');
    expect(usage?.completion_tokens).toBe(4);
    expect(arrivals).toHaveLength(7); // role, 4 deltas, finish, usage
    // Each event arrived on its own (~25 ms apart), not coalesced into one read.
    expect(gaps(arrivals).filter((g) => g >= 10).length).toBeGreaterThanOrEqual(5);
  });

  it('works with the chat stream helper', async () => {
    const stream = openai().chat.completions.stream({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'hi' }],
    });
    const final = await stream.finalChatCompletion();
    expect(final.choices[0]?.message.content).toBe(TEXT);
  });

  it('answers the Responses API, plain and streamed', async () => {
    const res = await openai().responses.create({ model: 'gpt-4.1', input: 'hi' });
    expect(res.status).toBe('completed');
    expect(res.model).toBe('gpt-4.1');
    expect(res.output_text).toBe(TEXT);
    expect(res.usage?.output_tokens).toBe(4);

    const raw = await openai().responses.create({ model: 'gpt-4.1', input: 'hi', stream: true });
    const types: string[] = [];
    const sequence: number[] = [];
    let text = '';
    for await (const event of raw) {
      types.push(event.type);
      sequence.push(event.sequence_number);
      if (event.type === 'response.output_text.delta') text += event.delta;
    }
    expect(types[0]).toBe('response.created');
    expect(types.at(-1)).toBe('response.completed');
    expect(types.filter((t) => t === 'response.output_text.delta')).toHaveLength(4);
    expect(sequence).toEqual(sequence.map((_, i) => i));
    expect(text).toBe(TEXT);

    const helper = openai().responses.stream({ model: 'gpt-4.1', input: 'hi' });
    const final = await helper.finalResponse();
    // (The SDK only derives `output_text` on non-streamed responses; read the accumulated item instead.)
    const item = final.output[0];
    expect(item?.type === 'message' ? item.content[0] : undefined).toMatchObject({
      type: 'output_text',
      text: TEXT,
    });
    expect(final.usage?.total_tokens).toBeGreaterThan(4);
  });

  it('lists models and creates embeddings (base64 default and float)', async () => {
    const ids: string[] = [];
    for await (const model of openai().models.list()) ids.push(model.id);
    expect(ids).toContain('gpt-4o-mini');

    const emb = await openai().embeddings.create({ model: 'text-embedding-3-small', input: ['a', 'b'] });
    expect(emb.data).toHaveLength(2);
    expect(emb.data[0]?.embedding).toHaveLength(8);
    expect(emb.usage.prompt_tokens).toBeGreaterThan(0);

    const floats = await openai().embeddings.create({
      model: 'text-embedding-3-small',
      input: 'a',
      encoding_format: 'float',
      dimensions: 4,
    });
    expect(floats.data[0]?.embedding).toHaveLength(4);
    // Deterministic: same text, same vector (modulo float32 rounding of the base64 form).
    expect(floats.data[0]?.embedding[0]).toBeCloseTo(emb.data[0]?.embedding[0] ?? NaN, 5);
  });

  it('surfaces a scripted 429 as RateLimitError with retry-after', async () => {
    fake.setKeyBehaviour('sk-limited', { status: 429, headers: { 'retry-after': '7' } });
    const error = await rejection(
      openai('sk-limited').chat.completions.create({
        model: 'gpt-4o-mini',
        messages: [{ role: 'user', content: 'hi' }],
      }),
    );
    expect(error).toBeInstanceOf(OpenAI.RateLimitError);
    const apiError = error as InstanceType<typeof OpenAI.RateLimitError>;
    expect(apiError.status).toBe(429);
    expect(apiError.headers.get('retry-after')).toBe('7');
    expect(apiError.code).toBe('rate_limit_exceeded');
    expect(apiError.type).toBe('requests');
  });

  it('surfaces an unknown key as AuthenticationError, and a quota 429 with its code', async () => {
    const error = await rejection(openai('bogus-key').models.list());
    expect(error).toBeInstanceOf(OpenAI.AuthenticationError);
    expect((error as InstanceType<typeof OpenAI.APIError>).status).toBe(401);
    expect((error as InstanceType<typeof OpenAI.APIError>).code).toBe('invalid_api_key');

    fake.setKeyBehaviour('sk-broke', {
      status: 429,
      message: 'You exceeded your current quota.',
      errorType: 'insufficient_quota',
      errorCode: 'insufficient_quota',
    });
    const quota = (await rejection(openai('sk-broke').models.list())) as InstanceType<typeof OpenAI.APIError>;
    expect(quota.status).toBe(429);
    expect(quota.code).toBe('insufficient_quota');
    expect(quota.message).toContain('exceeded your current quota');
  });

  it('makes the SDK stream raise when the stream is cut', async () => {
    fake.setKeyBehaviour('sk-cut', { breakStreamAfterChunks: 3 });
    const stream = await openai('sk-cut').chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'hi' }],
      stream: true,
    });
    let received = 0;
    await expect(
      (async () => {
        for await (const _chunk of stream) received++;
      })(),
    ).rejects.toThrow();
    expect(received).toBe(3);
    expect(fake.aborted).toBe(0); // the fake cut it, not the client
  });

  it("speaks Gemini's OpenAI-compatible surface", async () => {
    const gemini = openai('AIza-compat', '/v1beta/openai/');
    const res = await gemini.chat.completions.create({
      model: 'gemini-2.5-flash',
      messages: [{ role: 'user', content: 'hi' }],
    });
    expect(res.choices[0]?.message.content).toBe(TEXT);
    const ids: string[] = [];
    for await (const model of gemini.models.list()) ids.push(model.id);
    expect(ids).toContain('models/gemini-2.5-flash');
    expect(fake.requests.map((r) => [r.path, r.provider, r.key])).toEqual([
      ['/v1beta/openai/chat/completions', 'gemini-openai', 'AIza-compat'],
      ['/v1beta/openai/models', 'gemini-openai', 'AIza-compat'],
    ]);
  });
});
