import Anthropic from '@anthropic-ai/sdk';
import { GoogleGenAI } from '@google/genai';
import { startFakeUpstream } from '@keyway/testing';
import type { FakeUpstream } from '@keyway/testing';
import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { scopedAccessKey } from './key-routes-fixtures';
import { startGateway } from './harness';
import type { TestGateway } from './harness';

const GLOBAL = 'kw-global-sdk-routes-0a1b2c3d4e5f';
const TEAM = 'kw-ak-sdk-routes-team-0123456789ab';
const RESPONSES_ONLY = 'kw-ak-sdk-routes-resp-0123456789ab';
const KEYS = {
  drained: 'sk-sdk-routes-drained-0001-abcdef',
  openai: 'sk-sdk-routes-openai-0001-abcdefg',
  responses: 'sk-sdk-routes-resp-0001-abcdefgh',
  claude: 'sk-ant-sdk-routes-claude-0001-abc',
  gemini: 'AIzaSdkRoutesGemini0001abcdefghijklmnop',
};

/**
 * The official SDKs with only the base URL and the key changed (OpenAI `http://HOST/v1`, Anthropic and Gemini
 * `http://HOST`), against the gateway root: the key picks the group.
 */
describe('key-routed endpoints with the official SDKs', { timeout: 30_000 }, () => {
  let fake: FakeUpstream;
  let gw: TestGateway;
  let openai: OpenAI;
  let anthropic: Anthropic;
  let gemini: GoogleGenAI;

  beforeAll(async () => {
    fake = await startFakeUpstream({
      openaiModels: ['gpt-4o-mini', 'gpt-4.1'],
      geminiModels: ['gemini-2.5-flash', 'gemini-2.5-pro'],
    });
    gw = await startGateway({
      groups: [
        // Its one key is invalid: a candidate with no usable key, first in the access key's order.
        { name: 'drained', upstreams: [fake.url], keys: [{ value: KEYS.drained, status: 'invalid' }] },
        { name: 'oa', upstreams: [fake.url], keys: [KEYS.openai] },
        { name: 'resp', channel: 'openai-response', upstreams: [fake.url], keys: [KEYS.responses] },
        { name: 'claude', channel: 'anthropic', upstreams: [fake.url], keys: [KEYS.claude] },
        { name: 'gem', channel: 'gemini', upstreams: [fake.url], keys: [KEYS.gemini] },
      ],
      globalProxyKeys: [GLOBAL],
      accessKeys: [
        scopedAccessKey(1, 'team', TEAM, [1, 2]),
        scopedAccessKey(2, 'responses-only', RESPONSES_ONLY, [3]),
      ],
    });
    openai = new OpenAI({ apiKey: TEAM, baseURL: `${gw.url}/v1`, maxRetries: 0 });
    anthropic = new Anthropic({ apiKey: GLOBAL, baseURL: gw.url, maxRetries: 0 });
    gemini = new GoogleGenAI({ apiKey: GLOBAL, httpOptions: { baseUrl: gw.url, timeout: 15_000 } });
  });
  afterAll(async () => {
    await gw.close();
    await fake.close();
  });
  beforeEach(() => {
    fake.reset();
    gw.records.length = 0;
  });

  const served = async () => (await gw.waitForRecords(1)).at(-1);

  describe('openai', () => {
    it('chat completions skip a candidate without a usable key and are served by the next', async () => {
      const res = await openai.chat.completions.create({
        model: 'gpt-4o-mini',
        messages: [{ role: 'user', content: 'hi' }],
      });
      expect(res.choices[0]?.message.content).toContain('Hello');
      expect(fake.requests.map((r) => r.key)).toEqual([KEYS.openai]);
      expect(await served()).toMatchObject({ groupName: 'oa', accessKeyName: 'team' });
    });

    it('streams chat completions', async () => {
      const stream = await openai.chat.completions.create({
        model: 'gpt-4o-mini',
        messages: [{ role: 'user', content: 'hi' }],
        stream: true,
      });
      let text = '';
      for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? '';
      expect(text).toBe('Hello from fake upstream');
    });

    it('lists the models of the key’s groups', async () => {
      const ids: string[] = [];
      for await (const m of openai.models.list()) ids.push(m.id);
      expect(ids).toEqual(['gpt-4o-mini', 'gpt-4.1']);
    });

    it('lists the models of openai-response groups too (same list format at /v1/models)', async () => {
      const client = new OpenAI({ apiKey: RESPONSES_ONLY, baseURL: `${gw.url}/v1`, maxRetries: 0 });
      const ids: string[] = [];
      for await (const m of client.models.list()) ids.push(m.id);
      expect(ids).toEqual(['gpt-4o-mini', 'gpt-4.1']);
      expect(fake.requests.map((r) => r.key)).toEqual([KEYS.responses]);
    });

    it('raises NotFoundError for a model no candidate serves', async () => {
      const narrow = gw.snapshot;
      gw.reconfigure({
        ...narrow,
        version: narrow.version + 1,
        groups: narrow.groups.map((g) => (g.channel === 'openai' ? { ...g, models: ['gpt-4o*'] } : g)),
      });
      try {
        const error = await openai.chat.completions
          .create({ model: 'gpt-4.1', messages: [{ role: 'user', content: 'hi' }] })
          .then(
            () => null,
            (e: unknown) => e,
          );
        expect(error).toBeInstanceOf(OpenAI.NotFoundError);
        expect((error as Error).message).toContain("'gpt-4.1'");
      } finally {
        gw.reconfigure({ ...narrow, version: narrow.version + 2 });
      }
    });

    it('sends /v1/responses to an openai-response group, streaming included', async () => {
      const global = new OpenAI({ apiKey: GLOBAL, baseURL: `${gw.url}/v1`, maxRetries: 0 });
      const res = await global.responses.create({ model: 'gpt-4.1', input: 'hi' });
      expect(res.output_text).toContain('Hello');
      const stream = await global.responses.create({ model: 'gpt-4.1', input: 'hi', stream: true });
      let text = '';
      for await (const event of stream) if (event.type === 'response.output_text.delta') text += event.delta;
      expect(text).toBe('Hello from fake upstream');
      expect(fake.requests.map((r) => r.key)).toEqual([KEYS.responses, KEYS.responses]);
    });

    it('an access key limited to openai groups does not reach the Anthropic group', async () => {
      const limited = new Anthropic({ apiKey: TEAM, baseURL: gw.url, maxRetries: 0 });
      const error = await limited.messages
        .create({ model: 'claude-sonnet-4-5', max_tokens: 8, messages: [{ role: 'user', content: 'hi' }] })
        .then(
          () => null,
          (e: unknown) => e,
        );
      expect(error).toBeInstanceOf(Anthropic.NotFoundError);
      expect(fake.requests).toHaveLength(0);
    });
  });

  describe('anthropic', () => {
    it('messages, JSON and streamed, reach the anthropic group with a global proxy key', async () => {
      const res = await anthropic.messages.create({
        model: 'claude-sonnet-4-5',
        max_tokens: 32,
        messages: [{ role: 'user', content: 'hi' }],
      });
      expect(res.content[0]?.type === 'text' && res.content[0].text).toContain('Hello');
      const stream = anthropic.messages.stream({
        model: 'claude-sonnet-4-5',
        max_tokens: 32,
        messages: [{ role: 'user', content: 'hi' }],
      });
      let text = '';
      stream.on('text', (t) => (text += t));
      await stream.finalMessage();
      expect(text).toBe('Hello from fake upstream');
      expect(fake.requests.map((r) => r.key)).toEqual([KEYS.claude, KEYS.claude]);
      expect(await served()).toMatchObject({ groupName: 'claude' });
    });

    it('lists models from the anthropic group (the SDK’s headers choose the channel at /v1/models)', async () => {
      const ids: string[] = [];
      for await (const m of anthropic.models.list()) ids.push(m.id);
      expect(ids).toEqual(['claude-sonnet-4-5', 'claude-haiku-4-5']);
      expect(fake.requests.map((r) => r.key)).toEqual([KEYS.claude]);
    });
  });

  describe('gemini', () => {
    it('generateContent and its stream reach the gemini group', async () => {
      const res = await gemini.models.generateContent({ model: 'gemini-2.5-flash', contents: 'hi' });
      expect(res.text).toContain('Hello');
      let text = '';
      for await (const chunk of await gemini.models.generateContentStream({
        model: 'gemini-2.5-flash',
        contents: 'hi',
      }))
        text += chunk.text ?? '';
      expect(text).toBe('Hello from fake upstream');
      expect(fake.requests.map((r) => r.key)).toEqual([KEYS.gemini, KEYS.gemini]);
    });

    it('serves Gemini’s OpenAI-compatible surface at /v1beta/openai with the openai SDK', async () => {
      const client = new OpenAI({ apiKey: GLOBAL, baseURL: `${gw.url}/v1beta/openai`, maxRetries: 0 });
      const res = await client.chat.completions.create({
        model: 'gemini-2.5-flash',
        messages: [{ role: 'user', content: 'hi' }],
      });
      expect(res.choices[0]?.message.content).toContain('Hello');
      expect(fake.requests.map((r) => [r.path, r.key])).toEqual([
        ['/v1beta/openai/chat/completions', KEYS.gemini],
      ]);
    });

    it('lists the gemini group’s models', async () => {
      const names: string[] = [];
      for await (const m of await gemini.models.list()) names.push(m.name ?? '');
      expect(names).toEqual(['models/gemini-2.5-flash', 'models/gemini-2.5-pro']);
    });
  });
});
