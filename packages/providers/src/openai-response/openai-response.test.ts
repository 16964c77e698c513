import { classifyOutcome } from '@keyway/core';
import { describe, expect, it } from 'vitest';
import type { HeaderMap, RequestView, Usage } from '../provider';
import { openaiResponse } from './openai-response';

const req = (over: Partial<RequestView>): RequestView => ({
  method: 'POST',
  path: '/v1/responses',
  query: '',
  headers: {},
  body: null,
  ...over,
});
const json = (v: unknown) => Buffer.from(JSON.stringify(v));

describe('openaiResponse.applyKey', () => {
  it.each<[string, HeaderMap]>([
    ['no credential', { accept: 'text/event-stream' }],
    [
      'stale credentials',
      { authorization: 'Bearer proxy', 'x-api-key': 'a', 'x-goog-api-key': 'g', accept: 'text/event-stream' },
    ],
  ])('Bearer only (%s)', (_name, headers) => {
    const target = { path: '/v1/responses', query: '' };
    expect(openaiResponse.applyKey(headers, 'sk-r', target)).toBe(target);
    expect(headers).toEqual({ authorization: 'Bearer sk-r', accept: 'text/event-stream' });
  });
});

describe('openaiResponse.isStream / extractModel', () => {
  it.each<[string, Partial<RequestView>, boolean]>([
    ['stream: true', { body: json({ model: 'gpt-4.1', input: 'hi', stream: true }) }, true],
    ['stream: false', { body: json({ model: 'gpt-4.1', input: 'hi', stream: false }) }, false],
    [
      'escaped "stream": true in the input',
      { body: json({ input: 'say "stream": true', stream: false }) },
      false,
    ],
    ['Accept header', { headers: { accept: 'text/event-stream' } }, true],
    ['?stream=true', { method: 'GET', path: '/v1/responses/resp_1', query: 'stream=true' }, true],
  ])('isStream: %s → %s', (_name, over, expected) => {
    expect(openaiResponse.isStream(req(over))).toBe(expected);
  });

  it('extractModel reads the body model', () => {
    expect(openaiResponse.extractModel(req({ body: json({ input: 'hi', model: 'o4-mini' }) }))).toBe(
      'o4-mini',
    );
    expect(openaiResponse.extractModel(req({ body: null }))).toBeNull();
  });
});

describe('openaiResponse.renderError', () => {
  it.each([
    [401, 'authentication_error'],
    [404, 'invalid_request_error'],
    [413, 'invalid_request_error'],
    [429, 'rate_limit_error'],
    [503, 'server_error'],
  ])('%i → %s', (status, type) => {
    expect(JSON.parse(openaiResponse.renderError(status, 'X', 'm'))).toEqual({
      error: { message: 'm', type, param: null, code: 'x' },
    });
  });
});

describe('openaiResponse classification (OpenAI rules)', () => {
  it.each([
    [{ status: 429, body: '{"error":{"type":"insufficient_quota","code":"insufficient_quota"}}' }, 'quota'],
    [
      { status: 429, body: '{"error":{"code":"rate_limit_exceeded"}}', headers: { 'retry-after': '2' } },
      'rate',
    ],
    [{ status: 401, body: '{"error":{"code":"invalid_api_key"}}' }, 'auth'],
  ])('%j → %s', (outcome, cls) => {
    expect(classifyOutcome(outcome, openaiResponse.classifierRules).class).toBe(cls);
  });

  it('cools the key for the model a rate limit names only, until the stated time', () => {
    const body = JSON.stringify({
      error: {
        message:
          'Rate limit reached for gpt-4.1 in organization org-testfixture on tokens per min (TPM): Limit 30000, ' +
          'Used 28039, Requested 3906. Please try again in 3.89s.',
        type: 'tokens',
        code: 'rate_limit_exceeded',
      },
    });
    expect(
      classifyOutcome({ status: 429, body, model: 'gpt-4.1' }, openaiResponse.classifierRules),
    ).toMatchObject({ class: 'rate', retryAfterMs: 3890, model: 'gpt-4.1' });
  });
});

describe('openaiResponse.validationRequest', () => {
  it('POSTs a minimal response request naming the test model', () => {
    const r = openaiResponse.validationRequest({ testModel: 'gpt-5-nano', validationEndpoint: '' }, 'sk-v');
    expect(r).toMatchObject({ method: 'POST', path: '/v1/responses', query: '' });
    expect(r.headers).toEqual({ 'content-type': 'application/json', authorization: 'Bearer sk-v' });
    expect(JSON.parse(r.body ?? '')).toEqual({ model: 'gpt-5-nano', input: 'hi', max_output_tokens: 16 });
  });

  it('defaults the model and GETs a model-list endpoint', () => {
    const r = openaiResponse.validationRequest({ testModel: '', validationEndpoint: '' }, 'k');
    expect(JSON.parse(r.body ?? '')).toMatchObject({ model: 'gpt-4.1-nano' });
    const list = openaiResponse.validationRequest({ testModel: '', validationEndpoint: '/v1/models/' }, 'k');
    expect(list).toEqual({
      method: 'GET',
      path: '/v1/models/',
      query: '',
      headers: { authorization: 'Bearer k' },
      body: null,
    });
  });
});

describe('openaiResponse usage', () => {
  const completed = {
    type: 'response.completed',
    sequence_number: 42,
    response: {
      id: 'resp_1',
      object: 'response',
      status: 'completed',
      usage: {
        input_tokens: 31,
        output_tokens: 7,
        total_tokens: 38,
        output_tokens_details: { reasoning_tokens: 0 },
      },
    },
  };
  it.each<[string, unknown, Usage | null]>([
    ['response.completed', completed, { promptTokens: 31, completionTokens: 7, cachedTokens: null }],
    [
      'response.created (usage null)',
      { type: 'response.created', response: { id: 'resp_1', usage: null } },
      null,
    ],
    ['output_text.delta', { type: 'response.output_text.delta', delta: 'Hi' }, null],
  ])('usageFromEvent: %s', (_name, event, expected) => {
    expect(openaiResponse.usageFromEvent(event)).toEqual(expected);
  });

  it('usageFromJson reads a Response object', () => {
    expect(openaiResponse.usageFromJson(completed.response)).toEqual({
      promptTokens: 31,
      completionTokens: 7,
      cachedTokens: null,
    });
  });
});
