import { startFakeUpstream } from '@keyway/testing';
import type { FakeUpstream } from '@keyway/testing';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { PROXY_KEY, chatBody, readTimed, send, sseData, startGateway } from './harness';
import type { TestGateway } from './harness';
import { scopedAccessKey } from './key-routes-fixtures';

/**
 * Format translation (API.md "Format translation") through the gateway: callers speaking OpenAI chat or Anthropic
 * messages served by groups of another channel, against a fake upstream that speaks each provider's own format
 * only. What the translators convert is tested beside them in `@keyway/providers`; here: that the gateway picks
 * one, sends the native request, answers in the caller's dialect, and keeps everything else native.
 */

const ANT_KEY = 'sk-ant-translate-0001-abcdefgh';
const ANT_KEY_2 = 'sk-ant-translate-0002-abcdefgh';
const OA_KEY = 'sk-oa-translate-0001-abcdefghij';
const OA_BAD = 'sk-oa-translate-bad-0001-abcdefg';
const GEM_KEY = 'AIzaTranslateGemini0001abcdefghijklmnop';
const GLOBAL = 'kw-global-translate-1a2b3c4d5e6f';
/** An access key trying the translated candidate first (group ids follow the order of the groups below). */
const TRANSLATED_FIRST = 'kw-ak-translate-first-0123456789';

interface OpenAiCompletion {
  model: string;
  object: string;
  choices: Array<{ message: { role: string; content: string | null }; finish_reason: string }>;
  usage: { prompt_tokens: number; completion_tokens: number };
}
interface AnthropicMessage {
  type: string;
  model: string;
  role: string;
  content: Array<{ type: string; text?: string }>;
  stop_reason: string;
  usage: { input_tokens: number; output_tokens: number };
}
interface OpenAiError {
  error: { message: string; type: string };
}
interface AnthropicError {
  type: 'error';
  error: { type: string; message: string };
}

describe('format translation through the gateway', { timeout: 30_000 }, () => {
  let fake: FakeUpstream;
  let gw: TestGateway;

  beforeAll(async () => {
    fake = await startFakeUpstream({ responseChunks: ['Hello', ' from', ' fake', ' upstream'] });
    gw = await startGateway({
      groups: [
        {
          name: 'claude',
          channel: 'anthropic',
          upstreams: [fake.url],
          keys: [ANT_KEY],
          translate: ['openai'],
          modelRedirects: { 'gpt-4o-mini': 'claude-sonnet-4-5' },
          models: ['gpt-4o*'],
          config: { maxRequestBodyMb: 1 },
        },
        { name: 'oa', upstreams: [fake.url], keys: [OA_KEY], translate: ['anthropic'], models: ['gpt-*'] },
        { name: 'oa-plain', upstreams: [fake.url], keys: [OA_KEY], models: ['gpt-*'] },
        {
          name: 'claude-empty',
          channel: 'anthropic',
          upstreams: [fake.url],
          keys: [],
          translate: ['openai'],
          models: ['none-*'],
        },
        // Key-routed candidates for `/v1/chat/completions`: a native OpenAI group whose key fails, then a
        // translated Anthropic group.
        { name: 'kr-oa', upstreams: [fake.url], keys: [OA_BAD], models: ['kr-*'] },
        {
          name: 'kr-claude',
          channel: 'anthropic',
          upstreams: [fake.url],
          keys: [ANT_KEY_2],
          translate: ['openai'],
          models: ['kr-*'],
        },
        {
          name: 'gem',
          channel: 'gemini',
          upstreams: [fake.url],
          keys: [GEM_KEY],
          translate: ['openai', 'anthropic'],
          modelRedirects: { 'gpt-4o-mini': 'gemini-2.5-flash' },
          models: ['gem-*'],
        },
      ],
      globalProxyKeys: [GLOBAL],
      accessKeys: [scopedAccessKey(1, 'translated-first', TRANSLATED_FIRST, [6, 5])],
    });
  });
  afterAll(async () => {
    await gw.close();
    await fake.close();
  });
  beforeEach(() => {
    fake.reset();
    gw.records.length = 0;
  });

  const post = (url: string, body: unknown, headers: Record<string, string> = {}) =>
    send(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
  const openaiCall = (group: string, body: unknown, key = PROXY_KEY) =>
    post(`${gw.base(group)}/v1/chat/completions`, body, { authorization: `Bearer ${key}` });
  const anthropicBody = (extra: Record<string, unknown> = {}) => ({
    model: 'gpt-4o-mini',
    max_tokens: 64,
    messages: [{ role: 'user', content: 'hello there' }],
    ...extra,
  });
  const anthropicCall = (group: string, body: unknown, key = PROXY_KEY) =>
    post(`${gw.base(group)}/v1/messages`, body, { 'x-api-key': key, 'anthropic-version': '2023-06-01' });
  const lastRecord = async () => (await gw.waitForRecords(1)).at(-1);

  it('serves an OpenAI chat request from an Anthropic group: native request upstream, OpenAI answer, redirect applied, model kept', async () => {
    const res = await openaiCall('claude', chatBody({ max_tokens: 50 }));
    expect(res.status, res.text).toBe(200);
    const body = res.json<OpenAiCompletion>();
    expect(body.object).toBe('chat.completion');
    expect(body.model).toBe('gpt-4o-mini');
    expect(body.choices[0]?.message).toMatchObject({
      role: 'assistant',
      content: 'Hello from fake upstream',
    });
    expect(body.choices[0]?.finish_reason).toBe('stop');

    const upstream = fake.requests[0];
    expect(upstream?.path).toBe('/v1/messages');
    expect(upstream?.key).toBe(ANT_KEY);
    expect(upstream?.headers['anthropic-version']).toBeDefined();
    expect(upstream?.headers.authorization).toBeUndefined();
    const sent = JSON.parse(upstream?.body ?? '{}') as { model: string; max_tokens: number };
    expect(sent).toMatchObject({ model: 'claude-sonnet-4-5', max_tokens: 50 });

    expect(await lastRecord()).toMatchObject({
      groupName: 'claude',
      statusCode: 200,
      translatedFrom: 'openai',
      promptTokens: body.usage.prompt_tokens,
      completionTokens: 4,
    });
  });

  it('streams an OpenAI chat request from an Anthropic group event by event, ending with [DONE]', async () => {
    fake.options.streamChunkDelayMs = 150;
    try {
      const res = await fetch(`${gw.base('claude')}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${PROXY_KEY}` },
        body: JSON.stringify(chatBody({ stream: true })),
      });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toContain('text/event-stream');
      const { chunks, text, error } = await readTimed(res);
      expect(error).toBeUndefined();
      const deltas = sseData(text) as Array<{ choices: Array<{ delta: { content?: string } }> }>;
      expect(deltas.map((d) => d.choices[0]?.delta.content ?? '').join('')).toBe('Hello from fake upstream');
      expect(text.trimEnd().endsWith('data: [DONE]')).toBe(true);
      // Incremental: the first text arrived well before the upstream finished (6 events × 150 ms).
      const first = chunks.find((c) => c.text.includes('Hello'));
      expect(first).toBeDefined();
      expect((chunks.at(-1)?.at ?? 0) - (first?.at ?? 0)).toBeGreaterThan(300);
    } finally {
      fake.options.streamChunkDelayMs = 5;
    }
    expect(await lastRecord()).toMatchObject({ stream: true, translatedFrom: 'openai', completionTokens: 4 });
  });

  it('serves an Anthropic messages request from an OpenAI group, JSON and stream, with usage metered', async () => {
    const res = await anthropicCall('oa', anthropicBody());
    expect(res.status, res.text).toBe(200);
    const msg = res.json<AnthropicMessage>();
    expect(msg).toMatchObject({
      type: 'message',
      role: 'assistant',
      model: 'gpt-4o-mini',
      stop_reason: 'end_turn',
    });
    expect(msg.content).toEqual([{ type: 'text', text: 'Hello from fake upstream' }]);
    expect(fake.requests[0]?.path).toBe('/v1/chat/completions');
    expect(fake.requests[0]?.key).toBe(OA_KEY);
    expect(await lastRecord()).toMatchObject({ translatedFrom: 'anthropic', completionTokens: 4 });

    gw.records.length = 0;
    const streamed = await anthropicCall('oa', anthropicBody({ stream: true }));
    expect(streamed.status, streamed.text).toBe(200);
    const events = sseData(streamed.text) as Array<{ type: string; usage?: { output_tokens: number } }>;
    expect(events[0]?.type).toBe('message_start');
    expect(events.at(-1)?.type).toBe('message_stop');
    // The caller gets the usage the gateway's stream-usage request made the upstream send…
    expect(events.find((e) => e.type === 'message_delta')?.usage?.output_tokens).toBe(4);
    // …and metering saw it.
    const sent = JSON.parse(fake.requests[1]?.body ?? '{}') as {
      stream_options?: { include_usage?: boolean };
    };
    expect(sent.stream_options?.include_usage).toBe(true);
    expect(await lastRecord()).toMatchObject({
      stream: true,
      translatedFrom: 'anthropic',
      completionTokens: 4,
    });
  });

  it('serves OpenAI and Anthropic callers from a Gemini group: model in the path (redirected), SSE streams', async () => {
    const res = await openaiCall('gem', chatBody());
    expect(res.status, res.text).toBe(200);
    expect(res.json<OpenAiCompletion>()).toMatchObject({
      object: 'chat.completion',
      model: 'gpt-4o-mini',
      choices: [{ message: { content: 'Hello from fake upstream' }, finish_reason: 'stop' }],
    });
    expect(fake.requests[0]?.path).toBe('/v1beta/models/gemini-2.5-flash:generateContent');
    expect(fake.requests[0]?.key).toBe(GEM_KEY);

    const streamed = await anthropicCall('gem', anthropicBody({ stream: true }));
    expect(streamed.status, streamed.text).toBe(200);
    const events = sseData(streamed.text) as Array<{ type: string; delta?: { text?: string } }>;
    expect(events.map((e) => e.delta?.text ?? '').join('')).toBe('Hello from fake upstream');
    expect(events.at(-1)?.type).toBe('message_stop');
    expect(fake.requests[1]?.path).toBe('/v1beta/models/gemini-2.5-flash:streamGenerateContent');
    expect(fake.requests[1]?.query.get('alt')).toBe('sse');
    const records = await gw.waitForRecords(2);
    expect(records.map((r) => [r.translatedFrom, r.completionTokens])).toEqual([
      ['openai', 4],
      ['anthropic', 4],
    ]);
  });

  it('carries tool calls both ways: an OpenAI tool loop on an Anthropic group, streamed arguments in pieces', async () => {
    const tools = [
      {
        type: 'function',
        function: {
          name: 'get_weather',
          parameters: { type: 'object', properties: { city: { type: 'string' } } },
        },
      },
    ];
    const streamed = await openaiCall('claude', chatBody({ tools, stream: true }));
    expect(streamed.status, streamed.text).toBe(200);
    type Chunk = {
      choices: Array<{
        delta: { tool_calls?: Array<{ id?: string; function?: { name?: string; arguments?: string } }> };
        finish_reason: string | null;
      }>;
    };
    const chunks = sseData(streamed.text) as Chunk[];
    const calls = chunks.flatMap((c) => c.choices[0]?.delta.tool_calls ?? []);
    expect(calls[0]?.function?.name).toBe('get_weather');
    expect(calls.map((c) => c.function?.arguments ?? '').join('')).toBe('{"city":"Paris"}');
    expect(chunks.map((c) => c.choices[0]?.finish_reason).filter(Boolean)).toEqual(['tool_calls']);
    const sent = JSON.parse(fake.requests[0]?.body ?? '{}') as { tools: Array<{ name: string }> };
    expect(sent.tools[0]?.name).toBe('get_weather');

    // The tool result goes back as Anthropic's tool_result with the same id; the answer is text again.
    const id = calls[0]?.id ?? '';
    const after = await openaiCall(
      'claude',
      chatBody({
        tools,
        messages: [
          { role: 'user', content: 'Weather in Paris?' },
          {
            role: 'assistant',
            content: null,
            tool_calls: [
              { id, type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } },
            ],
          },
          { role: 'tool', tool_call_id: id, content: 'sunny' },
        ],
      }),
    );
    expect(after.status, after.text).toBe(200);
    expect(after.json<OpenAiCompletion>().choices[0]?.message.content).toBe('Hello from fake upstream');
    const turns = (JSON.parse(fake.requests[1]?.body ?? '{}') as { messages: Array<{ content: unknown }> })
      .messages;
    expect(JSON.stringify(turns.at(-1)?.content)).toContain(`"tool_use_id":"${id}"`);
  });

  it('translates a compressed upstream answer (the caller asked for gzip; the translated body goes out plain)', async () => {
    fake.options.gzip = true;
    try {
      const res = await post(`${gw.base('claude')}/v1/chat/completions`, chatBody(), {
        authorization: `Bearer ${PROXY_KEY}`,
        'accept-encoding': 'gzip',
      });
      expect(res.status, res.text).toBe(200);
      expect(res.headers['content-encoding']).toBeUndefined();
      expect(res.json<OpenAiCompletion>().choices[0]?.message.content).toBe('Hello from fake upstream');
    } finally {
      fake.options.gzip = false;
    }
  });

  it('answers an upstream error in the caller dialect with the upstream status and message', async () => {
    fake.setKeyBehaviour(ANT_KEY, {
      status: 429,
      message: 'Number of requests has exceeded your rate limit.',
    });
    const res = await openaiCall('claude', chatBody());
    expect(res.status).toBe(429);
    const body = res.json<OpenAiError>();
    expect(body.error.message).toContain('Number of requests has exceeded your rate limit.');
    expect(body.error.type).toBeDefined();
    expect(await lastRecord()).toMatchObject({ statusCode: 429, translatedFrom: 'openai' });
    gw.restoreKeys();
  });

  it('refuses what cannot be translated with 400 naming the field, before any upstream call', async () => {
    const res = await openaiCall('claude', chatBody({ logprobs: true }));
    expect(res.status).toBe(400);
    expect(res.json<OpenAiError>().error.message).toContain('logprobs');
    expect(fake.requests).toHaveLength(0);
    expect(await lastRecord()).toMatchObject({ statusCode: 400, keyId: null });
  });

  it('answers gateway-made errors in the caller dialect: missing key, no usable key, bad JSON', async () => {
    const missing = await post(`${gw.base('claude')}/v1/chat/completions`, chatBody());
    expect(missing.status).toBe(401);
    expect(missing.json<OpenAiError>().error.message).toBe('Missing proxy key');

    const none = await openaiCall('claude-empty', chatBody());
    expect(none.status).toBe(503);
    expect(none.json<OpenAiError>().error.message).toContain('No usable API key');

    const bad = await anthropicCall('oa', '{"model": "x", ');
    expect(bad.status).toBe(400);
    expect(bad.json<AnthropicError>()).toMatchObject({
      type: 'error',
      error: { type: 'invalid_request_error' },
    });
    expect(fake.requests).toHaveLength(0);
  });

  it('refuses deeply nested and oversized bodies on a translated path as on a native one', async () => {
    const deep = `{"model":"gpt-4o-mini","messages":[{"role":"user","content":"x"}],"metadata":${'['.repeat(5000)}${']'.repeat(5000)}}`;
    const nested = await openaiCall('claude', deep);
    expect(nested.status).toBe(400);
    expect(nested.json<OpenAiError>().error.message).toMatch(/deeper than/);

    const huge = await openaiCall('claude', chatBody({ user: 'x'.repeat(2 * 1024 * 1024) }));
    expect(huge.status).toBe(413);
    expect(huge.json<OpenAiError>().error).toBeDefined();
    expect(fake.requests).toHaveLength(0);
  });

  it('breaks the caller stream when the upstream stream breaks (no fake end)', async () => {
    fake.setKeyBehaviour(ANT_KEY, { breakStreamAfterChunks: 3 });
    const res = await fetch(`${gw.base('claude')}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${PROXY_KEY}` },
      body: JSON.stringify(chatBody({ stream: true })),
    });
    expect(res.status).toBe(200);
    const { text, error } = await readTimed(res);
    expect(error).toBeDefined();
    expect(text).not.toContain('[DONE]');
    expect(await lastRecord()).toMatchObject({ statusCode: 502, translatedFrom: 'openai' });
  });

  it('leaves groups without translate and native paths as they were', async () => {
    // `/v1/messages` on an OpenAI group that does not translate goes upstream as sent, as before.
    await anthropicCall('oa-plain', anthropicBody());
    expect(fake.requests[0]?.path).toBe('/v1/messages');
    expect(fake.requests[0]?.key).toBe(OA_KEY);
    expect(JSON.parse(fake.requests[0]?.body ?? '{}')).toEqual(anthropicBody());
    expect(await lastRecord()).toMatchObject({ groupName: 'oa-plain', translatedFrom: null });

    // The translating group's own dialect stays native.
    gw.records.length = 0;
    const native = await anthropicCall('claude', { ...anthropicBody(), model: 'claude-sonnet-4-5' });
    expect(native.status).toBe(200);
    expect(native.json<AnthropicMessage>().type).toBe('message');
    expect(await lastRecord()).toMatchObject({ translatedFrom: null });
  });

  it('key-routed: a translated group is a candidate for the dialect, and fail-over moves from a native to a translated one', async () => {
    fake.setKeyBehaviour(OA_BAD, { status: 500 });
    const res = await post(`${gw.url}/v1/chat/completions`, chatBody({ model: 'kr-model' }), {
      authorization: `Bearer ${GLOBAL}`,
    });
    expect(res.status, res.text).toBe(200);
    expect(res.json<OpenAiCompletion>()).toMatchObject({ object: 'chat.completion', model: 'kr-model' });
    expect(fake.requests.map((r) => [r.path, r.key])).toEqual([
      ['/v1/chat/completions', OA_BAD],
      ['/v1/messages', ANT_KEY_2],
    ]);
    expect(await lastRecord()).toMatchObject({ groupName: 'kr-claude', translatedFrom: 'openai' });

    // The other way round: the translated candidate fails, the native one serves the caller's own body.
    gw.records.length = 0;
    fake.reset();
    fake.setKeyBehaviour(ANT_KEY_2, { status: 500 });
    const body = chatBody({ model: 'kr-model', stream: true });
    const back = await post(`${gw.url}/v1/chat/completions`, body, {
      authorization: `Bearer ${TRANSLATED_FIRST}`,
    });
    expect(back.status).toBe(200);
    expect(back.text.trimEnd().endsWith('data: [DONE]')).toBe(true);
    expect(fake.requests.map((r) => [r.path, r.key])).toEqual([
      ['/v1/messages', ANT_KEY_2],
      ['/v1/chat/completions', OA_BAD],
    ]);
    expect(JSON.parse(fake.requests[1]?.body ?? '{}')).toMatchObject({ model: 'kr-model', stream: true });
    expect(await lastRecord()).toMatchObject({
      groupName: 'kr-oa',
      translatedFrom: null,
      accessKeyName: 'translated-first',
    });
  });
});
