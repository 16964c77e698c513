import Anthropic from '@anthropic-ai/sdk';
import type { RequestLog } from '@keyway/contracts';
import { startFakeUpstream } from '@keyway/testing';
import type { FakeUpstream, ManagedProcess } from '@keyway/testing';
import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { adminClient, startStandalone, tempDir } from './harness';

const AUTH_KEY = 'sdk-translate-admin-Key-6a1c3e5b7d9f';
const PROXY_KEY = 'sdk-translate-proxy-Key-0e2c4a6b8d1f';
const KEYS = {
  claude: 'sk-ant-sdk-translate-aaaaaaaaaaaa1111',
  limited: 'sk-ant-sdk-translate-limited-bbbb2222',
  gem: 'AIzaSdkTranslateGemini0001abcdefghijklmn',
  oa: 'sk-sdk-translate-oa-cccccccccccccc3333',
  plain: 'sk-sdk-translate-plain-dddddddddddd4444',
  krBad: 'sk-sdk-translate-kr-bad-eeeeeeeeee5555',
  krClaude: 'sk-ant-sdk-translate-kr-ffffffffff6666',
};
const TEXT = 'Hello from fake upstream';
const QUESTION = 'What is the weather in Paris?';

/**
 * Format translation end to end: the official SDKs against the built standalone, each speaking its own dialect to
 * groups of another channel, while the fake upstream speaks only each provider's native format.
 */
describe('standalone × format translation (openai and @anthropic-ai/sdk on other channels)', () => {
  let fake: FakeUpstream;
  let app: { proc: ManagedProcess; url: string };
  let tmp: ReturnType<typeof tempDir>;
  let admin: ReturnType<typeof adminClient>;
  const ids: Record<string, number> = {};
  let accessKey = '';

  const group = async (name: string, channel: string, key: string, extra: Record<string, unknown>) => {
    const created = await admin.post('/groups', {
      name,
      channel,
      upstreams: [{ url: fake.url, weight: 1 }],
      proxyKeys: [PROXY_KEY],
      ...extra,
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    ids[name] = created.body.id as number;
    const added = await admin.post(`/groups/${ids[name]}/keys`, { keys: key });
    expect(added.body).toMatchObject({ added: 1 });
  };

  beforeAll(async () => {
    fake = await startFakeUpstream();
    tmp = tempDir('sdk-translation');
    app = await startStandalone(tmp.dir, { AUTH_KEY });
    admin = adminClient(app.url, AUTH_KEY);
    await group('claude', 'anthropic', KEYS.claude, { translate: { from: ['openai'] } });
    await group('limited', 'anthropic', KEYS.limited, {
      translate: { from: ['openai'] },
      config: { maxRequestBodyMb: 1 },
    });
    await group('gem', 'gemini', KEYS.gem, {
      translate: { from: ['openai', 'anthropic'] },
      modelRedirects: { 'gpt-4o-mini': 'gemini-2.5-flash', 'claude-test-model': 'gemini-2.5-flash' },
    });
    await group('oa', 'openai', KEYS.oa, { translate: { from: ['anthropic'] } });
    await group('oa-plain', 'openai', KEYS.plain, {});
    await group('kr-oa', 'openai', KEYS.krBad, { models: ['kr-*'] });
    await group('kr-claude', 'anthropic', KEYS.krClaude, {
      translate: { from: ['openai'] },
      models: ['kr-*'],
    });
    const ak = await admin.post('/access-keys', { name: 'kr', groups: [ids['kr-oa'], ids['kr-claude']] });
    expect(ak.status, JSON.stringify(ak.body)).toBe(201);
    accessKey = ak.body.key as string;
  }, 60_000);

  afterAll(async () => {
    await app?.proc.stop();
    await fake?.close();
    tmp?.cleanup();
  });

  beforeEach(() => fake.reset());

  const openai = (group: string) =>
    new OpenAI({
      apiKey: PROXY_KEY,
      baseURL: `${app.url}/proxy/${group}/v1`,
      maxRetries: 0,
      timeout: 15_000,
    });
  const anthropic = (group: string) =>
    new Anthropic({
      apiKey: PROXY_KEY,
      authToken: null,
      baseURL: `${app.url}/proxy/${group}`,
      maxRetries: 0,
      timeout: 15_000,
    });
  const openaiTool = {
    type: 'function' as const,
    function: {
      name: 'get_weather',
      description: 'Current weather of a city',
      parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
    },
  };
  const anthropicTool = {
    name: 'get_weather',
    description: 'Current weather of a city',
    input_schema: {
      type: 'object' as const,
      properties: { city: { type: 'string' } },
      required: ['city'],
    },
  };

  /** Polls the admin API for a group's logs until `ready` holds. */
  async function logsOf(group: string, ready: (items: RequestLog[]) => boolean): Promise<RequestLog[]> {
    const deadline = Date.now() + 15_000;
    for (;;) {
      const res = await admin.get(`/logs?groupId=${ids[group]}&pageSize=100`);
      const items = res.body.items as RequestLog[];
      if (ready(items) || Date.now() > deadline) return items;
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  for (const [group, native] of [
    ['claude', '/v1/messages'],
    ['gem', '/v1beta/models/gemini-2.5-flash:'],
  ] as const) {
    it(`openai SDK on the ${group} group: chat, stream and a tool loop`, async () => {
      const client = openai(group);
      const messages = [{ role: 'user' as const, content: QUESTION }];
      const chat = await client.chat.completions.create({ model: 'gpt-4o-mini', messages, max_tokens: 64 });
      expect(chat.choices[0]?.message.content).toBe(TEXT);
      expect(chat.choices[0]?.finish_reason).toBe('stop');
      expect(chat.model).toBe('gpt-4o-mini');
      expect(chat.usage?.completion_tokens).toBe(4);

      let text = '';
      const stream = await client.chat.completions.create({
        model: 'gpt-4o-mini',
        messages,
        stream: true,
        stream_options: { include_usage: true },
      });
      let usage: OpenAI.CompletionUsage | null | undefined;
      for await (const chunk of stream) {
        text += chunk.choices[0]?.delta?.content ?? '';
        if (chunk.usage) usage = chunk.usage;
      }
      expect(text).toBe(TEXT);
      expect(usage?.completion_tokens).toBe(4);

      const called = await client.chat.completions.create({
        model: 'gpt-4o-mini',
        messages,
        tools: [openaiTool],
      });
      expect(called.choices[0]?.finish_reason).toBe('tool_calls');
      const call = called.choices[0]?.message.tool_calls?.[0];
      expect(call?.type === 'function' && call.function.name).toBe('get_weather');
      expect(call?.type === 'function' && JSON.parse(call.function.arguments)).toEqual({ city: 'Paris' });
      const streamed = await client.chat.completions
        .stream({ model: 'gpt-4o-mini', messages, tools: [openaiTool] })
        .finalChatCompletion();
      const streamedCall = streamed.choices[0]?.message.tool_calls?.[0];
      expect(streamedCall?.type === 'function' && JSON.parse(streamedCall.function.arguments)).toEqual({
        city: 'Paris',
      });
      const answered = await client.chat.completions.create({
        model: 'gpt-4o-mini',
        tools: [openaiTool],
        messages: [
          ...messages,
          { role: 'assistant', content: null, tool_calls: called.choices[0]?.message.tool_calls ?? [] },
          { role: 'tool', tool_call_id: call?.id ?? '', content: 'Sunny, 21 °C' },
        ],
      });
      expect(answered.choices[0]?.message.content).toBe(TEXT);

      // The upstream only ever saw its own format, with the pooled key.
      expect(fake.requests.length).toBe(5);
      for (const r of fake.requests) {
        expect(r.path.startsWith(native)).toBe(true);
        expect(r.key).toBe(group === 'claude' ? KEYS.claude : KEYS.gem);
        expect(JSON.stringify(r.headers) + r.body).not.toContain(PROXY_KEY);
      }
      const logs = await logsOf(group, (items) => items.length >= 5);
      expect(logs.length).toBeGreaterThanOrEqual(5);
      for (const l of logs) expect(l.translatedFrom).toBe('openai');
    });
  }

  for (const [group, native] of [
    ['oa', '/v1/chat/completions'],
    ['gem', '/v1beta/models/gemini-2.5-flash:'],
  ] as const) {
    it(`@anthropic-ai/sdk on the ${group} group: messages, stream and a tool loop`, async () => {
      const client = anthropic(group);
      const params = {
        model: 'claude-test-model',
        max_tokens: 64,
        messages: [{ role: 'user' as const, content: QUESTION }],
      };
      const msg = await client.messages.create(params);
      expect(msg.content).toEqual([{ type: 'text', text: TEXT }]);
      expect(msg.stop_reason).toBe('end_turn');
      expect(msg.model).toBe('claude-test-model');
      expect(msg.usage.output_tokens).toBe(4);

      const final = await client.messages.stream(params).finalMessage();
      expect(final.content).toEqual([{ type: 'text', text: TEXT }]);
      expect(final.usage.output_tokens).toBe(4);

      const called = await client.messages.create({ ...params, tools: [anthropicTool] });
      expect(called.stop_reason).toBe('tool_use');
      const use = called.content.find((b) => b.type === 'tool_use');
      expect(use).toMatchObject({ name: 'get_weather', input: { city: 'Paris' } });
      const streamed = await client.messages.stream({ ...params, tools: [anthropicTool] }).finalMessage();
      expect(streamed.content.find((b) => b.type === 'tool_use')).toMatchObject({ input: { city: 'Paris' } });
      const answered = await client.messages.create({
        ...params,
        tools: [anthropicTool],
        messages: [
          ...params.messages,
          { role: 'assistant', content: called.content },
          {
            role: 'user',
            content: [
              { type: 'tool_result', tool_use_id: use?.type === 'tool_use' ? use.id : '', content: 'Sunny' },
            ],
          },
        ],
      });
      expect(answered.content).toEqual([{ type: 'text', text: TEXT }]);

      expect(fake.requests.length).toBe(5);
      for (const r of fake.requests) expect(r.path.startsWith(native)).toBe(true);
      const logs = await logsOf(
        group,
        (items) => items.filter((i) => i.translatedFrom === 'anthropic').length >= 5,
      );
      expect(logs.filter((i) => i.translatedFrom === 'anthropic').length).toBeGreaterThanOrEqual(5);
    });
  }

  it('refuses what cannot be translated with a 400 naming the field, before any upstream call', async () => {
    const error = await openai('claude')
      .chat.completions.create({
        model: 'gpt-4o-mini',
        messages: [{ role: 'user', content: QUESTION }],
        logprobs: true,
      })
      .then(
        () => null,
        (e: unknown) => e,
      );
    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
    expect((error as Error).message).toContain('logprobs');
    expect(fake.requests).toHaveLength(0);
  });

  it('surfaces an upstream 429 in the caller’s dialect with its status', async () => {
    fake.setKeyBehaviour(KEYS.limited, {
      status: 429,
      message: 'Number of request tokens has exceeded your rate limit.',
    });
    const error = await openai('limited')
      .chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: QUESTION }] })
      .then(
        () => null,
        (e: unknown) => e,
      );
    expect(error).toBeInstanceOf(OpenAI.RateLimitError);
    expect((error as InstanceType<typeof OpenAI.RateLimitError>).status).toBe(429);
    expect((error as Error).message).toContain('exceeded your rate limit');
    expect(fake.requests[0]?.path).toBe('/v1/messages');
  });

  it('refuses deeply nested and oversized bodies on a translated path as on a native one, in the caller’s dialect', async () => {
    const post = (body: string) =>
      fetch(`${app.url}/proxy/limited/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${PROXY_KEY}` },
        body,
      });
    const deep = await post(
      `{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}],"user":${'['.repeat(100_000)}${']'.repeat(100_000)}}`,
    );
    expect(deep.status).toBe(400);
    expect(((await deep.json()) as { error: { message: string } }).error.message).toMatch(/deeper than/);
    const huge = await post(
      JSON.stringify({ model: 'gpt-4o-mini', messages: [], user: 'x'.repeat(2 * 1024 * 1024) }),
    );
    expect(huge.status).toBe(413);
    expect(((await huge.json()) as { error: { message: string } }).error.message).toMatch(/exceeds/);
    expect(fake.requests).toHaveLength(0);
    // The process is still serving.
    const ok = await openai('claude').chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: QUESTION }],
    });
    expect(ok.choices[0]?.message.content).toBe(TEXT);
  });

  it('a group without translate answers /v1/messages as before (forwarded untouched)', async () => {
    const body = {
      model: 'claude-test-model',
      max_tokens: 64,
      messages: [{ role: 'user', content: QUESTION }],
    };
    await fetch(`${app.url}/proxy/oa-plain/v1/messages`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-api-key': PROXY_KEY,
        'anthropic-version': '2023-06-01',
      },
      body: JSON.stringify(body),
    });
    expect(fake.requests[0]?.path).toBe('/v1/messages');
    expect(fake.requests[0]?.key).toBe(KEYS.plain);
    expect(JSON.parse(fake.requests[0]?.body ?? '{}')).toEqual(body);
    const logs = await logsOf('oa-plain', (items) => items.length >= 1);
    expect(logs[0]?.translatedFrom).toBeNull();
  });

  it('key-routed /v1/chat/completions fails over from a native OpenAI group to a translated Anthropic one', async () => {
    fake.setKeyBehaviour(KEYS.krBad, { status: 500 });
    const client = new OpenAI({
      apiKey: accessKey,
      baseURL: `${app.url}/v1`,
      maxRetries: 0,
      timeout: 15_000,
    });
    const chat = await client.chat.completions.create({
      model: 'kr-model',
      messages: [{ role: 'user', content: QUESTION }],
    });
    expect(chat.choices[0]?.message.content).toBe(TEXT);
    expect(chat.model).toBe('kr-model');
    expect(fake.requests.map((r) => [r.path, r.key])).toEqual([
      ['/v1/chat/completions', KEYS.krBad],
      ['/v1/messages', KEYS.krClaude],
    ]);
    const logs = await logsOf('kr-claude', (items) => items.length >= 1);
    expect(logs[0]).toMatchObject({ translatedFrom: 'openai', accessKeyName: 'kr', retries: 1 });
  });
});
