import { ApiError, GoogleGenAI } from '@google/genai';
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

const genai = (apiKey = 'AIza-test-gemini'): GoogleGenAI =>
  new GoogleGenAI({ apiKey, httpOptions: { baseUrl: fake.url, timeout: 5000 } });

describe('fake upstream × @google/genai', () => {
  it('answers generateContent and records the x-goog-api-key', async () => {
    const res = await genai().models.generateContent({ model: 'gemini-2.5-flash', contents: 'Say hello' });
    expect(res.text).toBe(TEXT);
    expect(res.candidates?.[0]?.finishReason).toBe('STOP');
    expect(res.modelVersion).toBe('gemini-2.5-flash');
    expect(res.usageMetadata?.candidatesTokenCount).toBe(4);

    const [req] = fake.requests;
    expect(req?.path).toBe('/v1beta/models/gemini-2.5-flash:generateContent');
    expect(req?.provider).toBe('gemini');
    expect(req?.key).toBe('AIza-test-gemini');
    expect(req?.headers['x-goog-api-key']).toBe('AIza-test-gemini');
  });

  it('streams SSE chunks separately, usage in the last', async () => {
    fake.setKeyBehaviour('AIza-slow', { streamChunkDelayMs: 20 });
    const stream = await genai('AIza-slow').models.generateContentStream({
      model: 'gemini-2.0-flash',
      contents: 'hi',
    });
    const texts: string[] = [];
    const arrivals: number[] = [];
    let lastUsage: number | undefined;
    for await (const chunk of stream) {
      arrivals.push(performance.now());
      texts.push(chunk.text ?? '');
      lastUsage = chunk.usageMetadata?.totalTokenCount;
    }
    expect(texts).toEqual(['Hello', ' from', ' fake', ' upstream']);
    expect(lastUsage).toBeGreaterThan(4);
    const gaps = arrivals.slice(1).map((t, i) => t - (arrivals[i] ?? t));
    expect(gaps.filter((g) => g >= 8).length).toBeGreaterThanOrEqual(gaps.length - 1);
    expect(fake.requests[0]?.query.get('alt')).toBe('sse');
  });

  it('counts tokens, embeds, and pages through the model list', async () => {
    const count = await genai().models.countTokens({ model: 'gemini-2.5-flash', contents: 'hello there' });
    expect(count.totalTokens).toBeGreaterThan(0);

    const emb = await genai().models.embedContent({ model: 'gemini-embedding-001', contents: ['a', 'b'] });
    expect(emb.embeddings).toHaveLength(2);
    expect(emb.embeddings?.[0]?.values).toHaveLength(8);

    const names: string[] = [];
    const pager = await genai().models.list({ config: { pageSize: 2 } });
    for await (const model of pager) names.push(model.name ?? '');
    expect(names).toEqual([
      'models/gemini-2.5-flash',
      'models/gemini-2.5-pro',
      'models/gemini-2.0-flash',
      'models/gemini-embedding-001',
      'models/text-embedding-004',
    ]);
    const listCalls = fake.requests.filter((r) => r.path === '/v1beta/models');
    expect(listCalls).toHaveLength(3);
    expect(listCalls[1]?.query.get('pageToken')).toBeTruthy();
  });

  it('surfaces scripted 429 and a bad key as ApiError with status', async () => {
    fake.setKeyBehaviour('AIza-limited', { status: 429 });
    const limited = await rejection(
      genai('AIza-limited').models.generateContent({ model: 'gemini-2.5-flash', contents: 'hi' }),
    );
    expect(limited).toBeInstanceOf(ApiError);
    expect((limited as ApiError).status).toBe(429);
    const body = JSON.parse((limited as ApiError).message) as unknown;
    expect(body).toMatchObject({
      error: {
        code: 429,
        status: 'RESOURCE_EXHAUSTED',
        details: [{ '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: '30s' }],
      },
    });

    const bad = await rejection(
      genai('not-a-key').models.generateContent({ model: 'gemini-2.5-flash', contents: 'hi' }),
    );
    expect(bad).toBeInstanceOf(ApiError);
    expect((bad as ApiError).status).toBe(401);
  });

  it('makes the SDK stream raise when the stream is cut', async () => {
    fake.setKeyBehaviour('AIza-cut', { breakStreamAfterChunks: 2 });
    const stream = await genai('AIza-cut').models.generateContentStream({
      model: 'gemini-2.5-flash',
      contents: 'hi',
    });
    const texts: string[] = [];
    await expect(
      (async () => {
        for await (const chunk of stream) texts.push(chunk.text ?? '');
      })(),
    ).rejects.toThrow();
    expect(texts).toEqual(['Hello', ' from']);
  });

  it('accepts the key as ?key= and answers non-SSE streams as a JSON array', async () => {
    const res = await fetch(
      `${fake.url}/v1beta/models/gemini-2.5-flash:streamGenerateContent?key=AIza-query`,
      {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ contents: [{ role: 'user', parts: [{ text: 'hi' }] }] }),
      },
    );
    expect(res.status).toBe(200);
    const chunks = (await res.json()) as unknown[];
    expect(chunks).toHaveLength(4);
    expect(fake.requests[0]?.key).toBe('AIza-query');
    expect(fake.requests[0]?.query.get('key')).toBe('AIza-query');
  });
});
