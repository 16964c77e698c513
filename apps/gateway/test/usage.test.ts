import { startFakeUpstream } from '@keyway/testing';
import type { FakeUpstream } from '@keyway/testing';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { PROXY_KEY, chatBody, send, sseData, startGateway } from './harness';
import type { SendOptions, TestGateway } from './harness';

const PROMPT =
  'Please count the tokens of this rather long prompt, which is long enough to be several tokens.';

interface Usage {
  promptTokens: number | null;
  completionTokens: number | null;
}

describe('token usage in the request log', { timeout: 20_000 }, () => {
  let fake: FakeUpstream;
  let gw: TestGateway;

  beforeAll(async () => {
    fake = await startFakeUpstream({ responseChunks: ['One', ' two', ' three', ' four', ' five'] });
    gw = await startGateway({
      groups: [
        { name: 'oa', channel: 'openai', upstreams: [fake.url], keys: ['sk-usage-openai-aaaaaaaa0001'] },
        {
          name: 'resp',
          channel: 'openai-response',
          upstreams: [fake.url],
          keys: ['sk-usage-resp-bbbbbbbbb0002'],
        },
        { name: 'claude', channel: 'anthropic', upstreams: [fake.url], keys: ['sk-ant-usage-ccccccccc0003'] },
        {
          name: 'gem',
          channel: 'gemini',
          upstreams: [fake.url],
          keys: ['AIzaUsageGeminiDDDDDDDDDDDDDD0004'],
        },
      ],
    });
  });
  afterAll(async () => {
    await gw.close();
    await fake.close();
  });
  beforeEach(() => {
    fake.reset();
    fake.options.gzip = false;
    gw.records.length = 0;
  });

  /** Sends one request and returns the response text and the usage the log recorded. */
  async function call(
    group: string,
    path: string,
    body: unknown,
    options: SendOptions = {},
  ): Promise<{ text: string; usage: Usage }> {
    const res = await send(`${gw.base(group)}${path}`, {
      method: 'POST',
      ...options,
      headers: {
        authorization: `Bearer ${PROXY_KEY}`,
        'content-type': 'application/json',
        ...options.headers,
      },
      body: JSON.stringify(body),
    });
    expect(res.status).toBe(200);
    const [record] = await gw.waitForRecords(1);
    return {
      text: res.text,
      usage: {
        promptTokens: record?.promptTokens ?? null,
        completionTokens: record?.completionTokens ?? null,
      },
    };
  }

  it('OpenAI chat, JSON: usage.prompt_tokens / completion_tokens', async () => {
    const { text, usage } = await call(
      'oa',
      '/v1/chat/completions',
      chatBody({ messages: [{ role: 'user', content: PROMPT }] }),
    );
    const u = (JSON.parse(text) as { usage: { prompt_tokens: number; completion_tokens: number } }).usage;
    expect(usage).toEqual({ promptTokens: u.prompt_tokens, completionTokens: u.completion_tokens });
    expect(usage.promptTokens).toBeGreaterThan(1);
    expect(usage.completionTokens).toBe(5);
  });

  it('OpenAI chat, SSE with stream_options.include_usage: the final usage chunk', async () => {
    const { text, usage } = await call(
      'oa',
      '/v1/chat/completions',
      chatBody({
        messages: [{ role: 'user', content: PROMPT }],
        stream: true,
        stream_options: { include_usage: true },
      }),
    );
    const last = sseData(text)
      .map((e) => (e as { usage?: { prompt_tokens: number; completion_tokens: number } | null }).usage)
      .filter((u) => u)
      .at(-1);
    expect(last).toBeDefined();
    expect(usage).toEqual({ promptTokens: last?.prompt_tokens, completionTokens: last?.completion_tokens });
    expect(usage.completionTokens).toBe(5);
  });

  it('OpenAI Responses, JSON and SSE (response.completed)', async () => {
    const json = await call('resp', '/v1/responses', { model: 'gpt-4o-mini', input: PROMPT });
    const u = (JSON.parse(json.text) as { usage: { input_tokens: number; output_tokens: number } }).usage;
    expect(json.usage).toEqual({ promptTokens: u.input_tokens, completionTokens: u.output_tokens });

    gw.records.length = 0;
    const sse = await call('resp', '/v1/responses', { model: 'gpt-4o-mini', input: PROMPT, stream: true });
    expect(sse.usage).toEqual({ promptTokens: u.input_tokens, completionTokens: 5 });
  });

  it('OpenAI embeddings, JSON: prompt tokens only', async () => {
    const { text, usage } = await call('oa', '/v1/embeddings', {
      model: 'text-embedding-3-small',
      input: PROMPT,
    });
    const u = (JSON.parse(text) as { usage: { prompt_tokens: number } }).usage;
    expect(usage.promptTokens).toBe(u.prompt_tokens);
    expect(usage.completionTokens).toBeNull();
  });

  it('Anthropic, JSON: usage.input_tokens / output_tokens', async () => {
    const { text, usage } = await call('claude', '/v1/messages', {
      model: 'claude-3-5-haiku-latest',
      max_tokens: 50,
      messages: [{ role: 'user', content: PROMPT }],
    });
    const u = (JSON.parse(text) as { usage: { input_tokens: number; output_tokens: number } }).usage;
    expect(usage).toEqual({ promptTokens: u.input_tokens, completionTokens: u.output_tokens });
    expect(usage.completionTokens).toBe(5);
  });

  it('Anthropic, SSE: input from message_start, output from message_delta', async () => {
    const { text, usage } = await call('claude', '/v1/messages', {
      model: 'claude-3-5-haiku-latest',
      max_tokens: 50,
      stream: true,
      messages: [{ role: 'user', content: PROMPT }],
    });
    const events = sseData(text) as Array<{
      type: string;
      message?: { usage: { input_tokens: number } };
      usage?: { output_tokens: number };
    }>;
    const start = events.find((e) => e.type === 'message_start');
    const delta = events.find((e) => e.type === 'message_delta');
    expect(usage).toEqual({
      promptTokens: start?.message?.usage.input_tokens,
      completionTokens: delta?.usage?.output_tokens,
    });
    // message_start says output_tokens: 1; the final count (message_delta) must win.
    expect(usage.completionTokens).toBe(5);
  });

  it('Gemini, JSON: usageMetadata', async () => {
    const { text, usage } = await call('gem', '/v1beta/models/gemini-2.5-flash:generateContent', {
      contents: [{ parts: [{ text: PROMPT }] }],
    });
    const u = (
      JSON.parse(text) as { usageMetadata: { promptTokenCount: number; candidatesTokenCount: number } }
    ).usageMetadata;
    expect(usage).toEqual({ promptTokens: u.promptTokenCount, completionTokens: u.candidatesTokenCount });
  });

  it('Gemini, SSE (alt=sse): usageMetadata of the last chunk', async () => {
    const { text, usage } = await call(
      'gem',
      '/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse',
      {
        contents: [{ parts: [{ text: PROMPT }] }],
      },
    );
    const u = (
      sseData(text) as Array<{ usageMetadata?: { promptTokenCount: number; candidatesTokenCount: number } }>
    )
      .map((e) => e.usageMetadata)
      .filter((m) => m)
      .at(-1);
    expect(u).toBeDefined();
    expect(usage).toEqual({ promptTokens: u?.promptTokenCount, completionTokens: u?.candidatesTokenCount });
  });

  // Without alt=sse Gemini streams one JSON array (application/json): the usage is in its last element.
  it('Gemini, streamed JSON array (no alt=sse): usageMetadata of the last element', async () => {
    const { text, usage } = await call('gem', '/v1beta/models/gemini-2.5-flash:streamGenerateContent', {
      contents: [{ parts: [{ text: PROMPT }] }],
    });
    const chunks = JSON.parse(text) as Array<{
      usageMetadata?: { promptTokenCount: number; candidatesTokenCount: number };
    }>;
    const u = chunks.at(-1)?.usageMetadata;
    expect(usage).toEqual({ promptTokens: u?.promptTokenCount, completionTokens: u?.candidatesTokenCount });
  });

  it('a gzip-compressed JSON answer still yields usage', async () => {
    fake.options.gzip = true;
    const res = await send(`${gw.base('oa')}/v1/chat/completions`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${PROXY_KEY}`,
        'content-type': 'application/json',
        'accept-encoding': 'gzip',
      },
      body: JSON.stringify(chatBody({ messages: [{ role: 'user', content: PROMPT }] })),
    });
    expect(res.status).toBe(200);
    expect(res.headers['content-encoding']).toBe('gzip');
    const [record] = await gw.waitForRecords(1);
    expect(record?.promptTokens).toBeGreaterThan(1);
    expect(record?.completionTokens).toBe(5);
  });
});
