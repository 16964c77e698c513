import Anthropic from '@anthropic-ai/sdk';
import { classifyOutcome } from '@keyway/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startJsonServer, type JsonServer } from '../../test/json-server';
import { itClassifiesEach } from '../classify-fixtures';
import type { HeaderMap, RequestView, Usage } from '../provider';
import { anthropic, DEFAULT_ANTHROPIC_VERSION } from './anthropic';
import { anthropicErrorFixtures } from './classify-fixtures';

const req = (over: Partial<RequestView>): RequestView => ({
  method: 'POST',
  path: '/v1/messages',
  query: '',
  headers: {},
  body: null,
  ...over,
});
const json = (v: unknown) => Buffer.from(JSON.stringify(v));

describe('anthropic.applyKey', () => {
  it.each<[string, HeaderMap, HeaderMap]>([
    [
      'sets x-api-key and the default version when absent',
      { 'content-type': 'application/json' },
      {
        'content-type': 'application/json',
        'x-api-key': 'sk-ant',
        'anthropic-version': DEFAULT_ANTHROPIC_VERSION,
      },
    ],
    [
      'keeps the client version and beta flags',
      {
        'anthropic-version': '2099-01-01',
        'anthropic-beta': 'context-1m-2025-08-07,fine-grained-tool-streaming',
      },
      {
        'anthropic-version': '2099-01-01',
        'anthropic-beta': 'context-1m-2025-08-07,fine-grained-tool-streaming',
        'x-api-key': 'sk-ant',
      },
    ],
    [
      'drops every other credential',
      {
        authorization: 'Bearer proxy',
        'X-Api-Key': 'old',
        'x-goog-api-key': 'g',
        'anthropic-version': '2023-06-01',
      },
      { 'x-api-key': 'sk-ant', 'anthropic-version': '2023-06-01' },
    ],
  ])('%s', (_name, headers, expected) => {
    const target = { path: '/v1/messages', query: '' };
    expect(anthropic.applyKey(headers, 'sk-ant', target)).toBe(target);
    expect(headers).toEqual(expected);
  });
});

describe('anthropic.isStream / extractModel', () => {
  it.each<[string, Partial<RequestView>, boolean]>([
    ['stream: true', { body: json({ model: 'claude', max_tokens: 5, stream: true }) }, true],
    ['stream: false', { body: json({ model: 'claude', stream: false }) }, false],
    ['absent', { body: json({ model: 'claude' }) }, false],
    [
      'only inside a message',
      { body: json({ messages: [{ role: 'user', content: '{"stream": true}' }] }) },
      false,
    ],
    ['Accept header', { headers: { accept: 'text/event-stream' } }, true],
  ])('isStream: %s → %s', (_name, over, expected) => {
    expect(anthropic.isStream(req(over))).toBe(expected);
  });

  it.each<[string, Buffer | null, string | null]>([
    ['body model', json({ model: 'claude-sonnet-4-5', max_tokens: 5 }), 'claude-sonnet-4-5'],
    [
      'model after a system prompt mentioning "model"',
      json({ system: 'the "model": "x"', model: 'claude-opus-4-5' }),
      'claude-opus-4-5',
    ],
    ['none', null, null],
  ])('extractModel: %s', (_name, body, expected) => {
    expect(anthropic.extractModel(req({ body }))).toBe(expected);
  });
});

describe('anthropic.renderError', () => {
  const cases = [
    [401, 'authentication_error'],
    [404, 'not_found_error'],
    [413, 'request_too_large'],
    [429, 'rate_limit_error'],
    [503, 'overloaded_error'],
  ] as const;

  it.each<readonly [number, string]>([
    ...cases,
    [400, 'invalid_request_error'],
    [402, 'billing_error'],
    [403, 'permission_error'],
    [500, 'api_error'],
    [504, 'timeout_error'],
    [529, 'overloaded_error'],
  ])('%i → %s', (status, type) => {
    expect(JSON.parse(anthropic.renderError(status, 'NO_KEYS', 'no "keys"'))).toEqual({
      type: 'error',
      error: { type, message: 'no "keys"' },
    });
  });

  describe('as @anthropic-ai/sdk reads it', () => {
    let server: JsonServer;
    beforeAll(async () => {
      server = await startJsonServer();
    });
    afterAll(() => server.close());

    it.each(cases)('%i', async (status, type) => {
      server.respond(status, anthropic.renderError(status, 'GATEWAY', `failed with ${status}`));
      const client = new Anthropic({ apiKey: 'sk-ant-x', baseURL: server.url, maxRetries: 0, timeout: 5000 });
      const error = await client.messages
        .create({ model: 'claude-haiku-4-5', max_tokens: 1, messages: [{ role: 'user', content: 'hi' }] })
        .then(
          () => null,
          (e: unknown) => e,
        );
      expect(error).toBeInstanceOf(Anthropic.APIError);
      const e = error as InstanceType<typeof Anthropic.APIError>;
      expect(e.status).toBe(status);
      expect(e.type).toBe(type);
      expect(e.message).toContain(`failed with ${status}`);
    });
  });
});

describe('anthropic classification of documented error bodies', () => {
  itClassifiesEach(anthropicErrorFixtures, anthropic.classifierRules);
});

describe('anthropic classification', () => {
  const body = (type: string, message: string) => JSON.stringify({ type: 'error', error: { type, message } });

  it('prefers retry-after to the rate limit reset headers', () => {
    const c = classifyOutcome(
      {
        status: 429,
        headers: {
          'retry-after': '3',
          'anthropic-ratelimit-requests-remaining': '0',
          'anthropic-ratelimit-requests-reset': new Date(Date.now() + 60_000).toISOString(),
        },
        body: body('rate_limit_error', 'Number of requests has exceeded your per-minute rate limit'),
      },
      anthropic.classifierRules,
    );
    expect(c).toMatchObject({ class: 'rate', retryAfterMs: 3000 });
  });

  it('reads the same billing words on a 403 or 429 as a quota', () => {
    const credit = body(
      'invalid_request_error',
      'Your credit balance is too low to access the Anthropic API.',
    );
    expect(classifyOutcome({ status: 403, body: credit }, anthropic.classifierRules).class).toBe('quota');
    expect(classifyOutcome({ status: 429, body: credit }, anthropic.classifierRules).class).toBe('quota');
  });
});

describe('anthropic.validationRequest', () => {
  it.each([
    ['defaults', { testModel: '', validationEndpoint: '' }, '/v1/messages', 'claude-haiku-4-5'],
    [
      'custom model',
      { testModel: 'claude-sonnet-4-5', validationEndpoint: '' },
      '/v1/messages',
      'claude-sonnet-4-5',
    ],
  ])('%s', (_name, group, path, model) => {
    const r = anthropic.validationRequest(group, 'sk-ant-v');
    expect(r).toMatchObject({ method: 'POST', path, query: '' });
    expect(r.headers).toEqual({
      'content-type': 'application/json',
      'x-api-key': 'sk-ant-v',
      'anthropic-version': DEFAULT_ANTHROPIC_VERSION,
    });
    expect(JSON.parse(r.body ?? '')).toEqual({
      model,
      max_tokens: 1,
      messages: [{ role: 'user', content: 'hi' }],
    });
  });

  it('GETs a model-list endpoint', () => {
    expect(anthropic.validationRequest({ testModel: '', validationEndpoint: '/v1/models' }, 'k')).toEqual({
      method: 'GET',
      path: '/v1/models',
      query: '',
      headers: { 'x-api-key': 'k', 'anthropic-version': DEFAULT_ANTHROPIC_VERSION },
      body: null,
    });
  });
});

describe('anthropic usage', () => {
  const messageStart = {
    type: 'message_start',
    message: {
      id: 'msg_1',
      type: 'message',
      role: 'assistant',
      content: [],
      model: 'claude-haiku-4-5',
      usage: { input_tokens: 25, output_tokens: 1 },
    },
  };
  const messageDelta = {
    type: 'message_delta',
    delta: { stop_reason: 'end_turn', stop_sequence: null },
    usage: { output_tokens: 15 },
  };

  it.each<[string, unknown, Usage | null]>([
    [
      'message_start: input (and a provisional output)',
      messageStart,
      { promptTokens: 25, completionTokens: 1, cachedTokens: 0 },
    ],
    [
      'message_delta: output only',
      messageDelta,
      { promptTokens: null, completionTokens: 15, cachedTokens: null },
    ],
    [
      'message_delta with input: null',
      { ...messageDelta, usage: { input_tokens: null, output_tokens: 20 } },
      { promptTokens: null, completionTokens: 20, cachedTokens: null },
    ],
    [
      'content_block_delta',
      { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'Hi' } },
      null,
    ],
    ['ping', { type: 'ping' }, null],
  ])('usageFromEvent: %s', (_name, event, expected) => {
    expect(anthropic.usageFromEvent(event)).toEqual(expected);
  });

  it('merging a stream "last non-null wins" per field gives the final counts', () => {
    const merged: Usage = { promptTokens: null, completionTokens: null, cachedTokens: null };
    for (const e of [messageStart, { type: 'content_block_delta' }, messageDelta, { type: 'message_stop' }]) {
      const u = anthropic.usageFromEvent(e);
      merged.promptTokens = u?.promptTokens ?? merged.promptTokens;
      merged.completionTokens = u?.completionTokens ?? merged.completionTokens;
      merged.cachedTokens = u?.cachedTokens ?? merged.cachedTokens;
    }
    expect(merged).toEqual({ promptTokens: 25, completionTokens: 15, cachedTokens: 0 });
  });

  it('usageFromJson: a message, cache reads and writes counted as prompt', () => {
    expect(
      anthropic.usageFromJson({ type: 'message', usage: { input_tokens: 10, output_tokens: 4 } }),
    ).toEqual({
      promptTokens: 10,
      completionTokens: 4,
      cachedTokens: 0,
    });
    expect(
      anthropic.usageFromJson({
        type: 'message',
        usage: {
          input_tokens: 3,
          cache_creation_input_tokens: 100,
          cache_read_input_tokens: 2000,
          output_tokens: 9,
        },
      }),
    ).toEqual({ promptTokens: 2103, completionTokens: 9, cachedTokens: 2000 });
    expect(anthropic.usageFromJson({ type: 'error', error: {} })).toBeNull();
  });
});
