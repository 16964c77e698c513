import { classifyOutcome } from '@keyway/core';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startJsonServer, type JsonServer } from '../../test/json-server';
import { itClassifiesEach } from '../classify-fixtures';
import type { HeaderMap, RequestView, Usage } from '../provider';
import { openAiErrorFixtures } from './classify-fixtures';
import { delayInText, openai } from './openai';

const req = (over: Partial<RequestView>): RequestView => ({
  method: 'POST',
  path: '/v1/chat/completions',
  query: '',
  headers: {},
  body: null,
  ...over,
});
const json = (v: unknown) => Buffer.from(JSON.stringify(v));

describe('openai.applyKey', () => {
  it.each<[string, HeaderMap]>([
    ['no credential', { 'content-type': 'application/json' }],
    ['the client Bearer', { authorization: 'Bearer proxy-key', 'content-type': 'application/json' }],
    [
      'other providers’ headers',
      { 'x-api-key': 'a', 'x-goog-api-key': 'g', 'content-type': 'application/json' },
    ],
    ['mixed-case names', { Authorization: 'Bearer p', 'X-Api-Key': 'a', 'content-type': 'application/json' }],
  ])('sets only the Bearer credential (%s)', (_name, headers) => {
    const target = { path: '/v1/chat/completions', query: 'a=1' };
    expect(openai.applyKey(headers, 'sk-upstream', target)).toBe(target);
    expect(headers).toEqual({ authorization: 'Bearer sk-upstream', 'content-type': 'application/json' });
  });
});

describe('openai.isStream', () => {
  it.each<[string, Partial<RequestView>, boolean]>([
    ['body stream: true', { body: json({ model: 'm', stream: true }) }, true],
    ['body stream: false', { body: json({ model: 'm', stream: false }) }, false],
    ['no stream field', { body: json({ model: 'm' }) }, false],
    [
      '"stream": true only inside a message',
      { body: json({ messages: [{ content: '"stream": true' }] }) },
      false,
    ],
    ['stream_options only', { body: json({ stream_options: { include_usage: true } }) }, false],
    ['Accept: text/event-stream', { headers: { accept: 'text/event-stream' } }, true],
    ['?stream=true', { method: 'GET', query: 'stream=true', body: null }, true],
    ['?stream=false', { query: 'stream=false' }, false],
  ])('%s → %s', (_name, over, expected) => {
    expect(openai.isStream(req(over))).toBe(expected);
  });
});

describe('openai.extractModel', () => {
  it.each<[string, Buffer | null, string | null]>([
    ['body model', json({ model: 'gpt-4o', messages: [] }), 'gpt-4o'],
    [
      'model after the messages',
      json({ messages: [{ role: 'user', content: 'x'.repeat(70_000) }], model: 'late' }),
      'late',
    ],
    ['no body', null, null],
    ['no model', json({ input: 'hi' }), null],
  ])('%s', (_name, body, expected) => {
    expect(openai.extractModel(req({ body }))).toBe(expected);
  });
});

describe('openai.renderError', () => {
  it.each([
    [401, 'authentication_error'],
    [404, 'invalid_request_error'],
    [413, 'invalid_request_error'],
    [429, 'rate_limit_error'],
    [503, 'server_error'],
  ])('%i → %s', (status, type) => {
    const body = JSON.parse(openai.renderError(status, 'NO_KEYS', 'No "key" left')) as unknown;
    expect(body).toEqual({ error: { message: 'No "key" left', type, param: null, code: 'no_keys' } });
  });

  describe('as the openai SDK reads it', () => {
    let server: JsonServer;
    beforeAll(async () => {
      server = await startJsonServer();
    });
    afterAll(() => server.close());

    it.each([
      [401, OpenAI.AuthenticationError],
      [404, OpenAI.NotFoundError],
      [413, OpenAI.APIError],
      [429, OpenAI.RateLimitError],
      [503, OpenAI.InternalServerError],
    ])('%i', async (status, errorClass) => {
      server.respond(status, openai.renderError(status, 'GATEWAY_ERROR', `failed with ${status}`));
      const client = new OpenAI({
        apiKey: 'sk-x',
        baseURL: `${server.url}/v1`,
        maxRetries: 0,
        timeout: 5000,
      });
      const error = await client.models.list().then(
        () => null,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(errorClass);
      const e = error as InstanceType<typeof OpenAI.APIError>;
      expect(e.status).toBe(status);
      expect(e.code).toBe('gateway_error');
      expect(e.message).toContain(`failed with ${status}`);
    });
  });
});

describe('openai classification of documented error bodies', () => {
  itClassifiesEach(openAiErrorFixtures, openai.classifierRules);
});

describe('openai classification', () => {
  const body = (message: string, type: string, code: string | null) =>
    JSON.stringify({ error: { message, type, param: null, code } });

  it('keeps a free-tier rate limit whose message links the billing page a rate limit', () => {
    const c = classifyOutcome(
      {
        status: 429,
        model: 'gpt-4o-mini',
        body: body(
          'Rate limit reached for gpt-4o-mini on requests per min (RPM): Limit 3. You can increase your rate limit by ' +
            'adding a payment method to your account at https://platform.openai.com/account/billing.',
          'requests',
          'rate_limit_exceeded',
        ),
      },
      openai.classifierRules,
    );
    expect(c.class).toBe('rate');
  });

  it('leaves a 400 bad request to the client', () => {
    const c = classifyOutcome(
      { status: 400, body: body('messages is required', 'invalid_request_error', null) },
      openai.classifierRules,
    );
    expect(c).toMatchObject({ class: 'client', retryable: false });
  });
});

describe('delayInText', () => {
  it.each([
    ['please try again in 1m30s. visit https://platform.openai.com/account/rate-limits', 90_000],
    ['please try again in 7m12s.', 432_000],
    ['please try again in 644ms.', 644],
    ['please retry in 20.04466179s.', 20_045],
  ])('reads the delay stated in %j', (text, ms) => {
    expect(delayInText(text)).toBe(ms);
  });

  it.each(['rate limit reached for requests', 'please try again in a moment.'])(
    'finds none in %j',
    (text) => {
      expect(delayInText(text)).toBeUndefined();
    },
  );
});

describe('openai.validationRequest', () => {
  it.each([
    [
      'defaults',
      { testModel: '', validationEndpoint: '' },
      'POST',
      '/v1/chat/completions',
      '',
      'gpt-4.1-nano',
    ],
    [
      'custom',
      { testModel: 'gpt-4o-mini', validationEndpoint: '/v1/chat/completions' },
      'POST',
      '/v1/chat/completions',
      '',
      'gpt-4o-mini',
    ],
    [
      'with a query',
      { testModel: 'm', validationEndpoint: '/openai/chat?api-version=2024' },
      'POST',
      '/openai/chat',
      'api-version=2024',
      'm',
    ],
    ['model list → GET', { testModel: 'm', validationEndpoint: '/v1/models' }, 'GET', '/v1/models', '', null],
  ])('%s', (_name, group, method, path, query, model) => {
    const r = openai.validationRequest(group, 'sk-test');
    expect(r).toMatchObject({ method, path, query });
    expect(r.headers.authorization).toBe('Bearer sk-test');
    expect(r.headers['x-api-key']).toBeUndefined();
    if (model === null) expect(r.body).toBeNull();
    else {
      expect(r.headers['content-type']).toBe('application/json');
      expect(JSON.parse(r.body ?? '')).toMatchObject({ model, messages: [{ role: 'user', content: 'hi' }] });
    }
  });
});

describe('openai usage', () => {
  it.each<[string, unknown, Usage | null]>([
    [
      'chat completion',
      { object: 'chat.completion', usage: { prompt_tokens: 12, completion_tokens: 5, total_tokens: 17 } },
      { promptTokens: 12, completionTokens: 5, cachedTokens: null },
    ],
    ['no usage', { object: 'chat.completion' }, null],
    ['usage: null', { usage: null }, null],
    ['not an object', 'hello', null],
  ])('usageFromJson: %s', (_name, body, expected) => {
    expect(openai.usageFromJson(body)).toEqual(expected);
  });

  it.each<[string, unknown, Usage | null]>([
    [
      'content chunk',
      { object: 'chat.completion.chunk', choices: [{ delta: { content: 'hi' } }], usage: null },
      null,
    ],
    [
      'final usage chunk',
      {
        object: 'chat.completion.chunk',
        choices: [],
        usage: { prompt_tokens: 9, completion_tokens: 3, total_tokens: 12 },
      },
      { promptTokens: 9, completionTokens: 3, cachedTokens: null },
    ],
  ])('usageFromEvent: %s', (_name, event, expected) => {
    expect(openai.usageFromEvent(event)).toEqual(expected);
  });
});
