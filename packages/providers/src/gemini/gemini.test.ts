import { ApiError, GoogleGenAI } from '@google/genai';
import { classifyOutcome } from '@keyway/core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startJsonServer, type JsonServer } from '../../test/json-server';
import { itClassifiesEach } from '../classify-fixtures';
import type { HeaderMap, RequestView, Usage } from '../provider';
import { geminiErrorFixtures } from './classify-fixtures';
import { gemini, msUntilPacificMidnight } from './gemini';

const req = (over: Partial<RequestView>): RequestView => ({
  method: 'POST',
  path: '/v1beta/models/gemini-2.5-flash:generateContent',
  query: '',
  headers: {},
  body: null,
  ...over,
});
const json = (v: unknown) => Buffer.from(JSON.stringify(v));

describe('gemini.applyKey', () => {
  it.each<[string, string, string, HeaderMap, HeaderMap, string]>([
    [
      'native: x-goog-api-key',
      '/v1beta/models/gemini-2.5-flash:generateContent',
      'alt=sse',
      { 'content-type': 'application/json' },
      { 'content-type': 'application/json', 'x-goog-api-key': 'AIza-up' },
      'alt=sse',
    ],
    [
      'native: drops other credentials and a stray ?key=',
      '/v1beta/models/gemini-2.5-flash:streamGenerateContent',
      'key=proxy&alt=sse',
      { authorization: 'Bearer proxy', 'x-api-key': 'a', 'X-Goog-Api-Key': 'old' },
      { 'x-goog-api-key': 'AIza-up' },
      'alt=sse',
    ],
    [
      'OpenAI surface: Bearer',
      '/v1beta/openai/chat/completions',
      '',
      { 'content-type': 'application/json', 'x-goog-api-key': 'old' },
      { 'content-type': 'application/json', authorization: 'Bearer AIza-up' },
      '',
    ],
    [
      'OpenAI surface: drops ?key= too',
      '/v1beta/openai/models',
      'key=x&foo=b%20c',
      { authorization: 'Bearer proxy' },
      { authorization: 'Bearer AIza-up' },
      'foo=b%20c',
    ],
  ])('%s', (_name, path, query, headers, expected, expectedQuery) => {
    const out = gemini.applyKey(headers, 'AIza-up', { path, query });
    expect(headers).toEqual(expected);
    expect(out).toEqual({ path, query: expectedQuery });
  });
});

describe('gemini.isStream', () => {
  it.each<[string, Partial<RequestView>, boolean]>([
    [':streamGenerateContent', { path: '/v1beta/models/gemini-2.5-flash:streamGenerateContent' }, true],
    [
      ':streamGenerateContent, URL-encoded colon',
      { path: '/v1beta/models/gemini-2.5-flash%3AstreamGenerateContent' },
      true,
    ],
    [':generateContent', { path: '/v1beta/models/gemini-2.5-flash:generateContent' }, false],
    ['alt=sse', { path: '/v1beta/models/gemini-2.5-flash:generateContent', query: 'alt=sse' }, true],
    ['alt=json', { query: 'alt=json' }, false],
    ['Accept header', { headers: { accept: 'text/event-stream' } }, true],
    ['?stream=true', { query: 'stream=true' }, true],
    [
      'OpenAI surface, body stream: true',
      { path: '/v1beta/openai/chat/completions', body: json({ model: 'gemini-2.5-flash', stream: true }) },
      true,
    ],
    [
      'OpenAI surface, body stream: false',
      { path: '/v1beta/openai/chat/completions', body: json({ model: 'gemini-2.5-flash', stream: false }) },
      false,
    ],
    [
      '"stream": true inside a prompt only',
      { path: '/v1beta/openai/chat/completions', body: json({ messages: [{ content: '"stream": true' }] }) },
      false,
    ],
  ])('%s → %s', (_name, over, expected) => {
    expect(gemini.isStream(req(over))).toBe(expected);
  });
});

describe('gemini.extractModel', () => {
  it.each<[string, Partial<RequestView>, string | null]>([
    ['path model:action', { path: '/v1beta/models/gemini-2.5-flash:generateContent' }, 'gemini-2.5-flash'],
    [
      'path model, stream action',
      { path: '/v1/models/gemini-2.5-pro:streamGenerateContent' },
      'gemini-2.5-pro',
    ],
    ['URL-encoded colon', { path: '/v1beta/models/gemini-2.5-flash%3AgenerateContent' }, 'gemini-2.5-flash'],
    ['URL-encoded name', { path: '/v1beta/models/my%20tuned%2Dmodel:generateContent' }, 'my tuned-model'],
    ['malformed escape does not throw', { path: '/v1beta/models/bad%zzname:generateContent' }, 'bad%zzname'],
    [
      'path wins over body',
      { path: '/v1beta/models/from-path:countTokens', body: json({ model: 'x' }) },
      'from-path',
    ],
    [
      'OpenAI surface: body model',
      { path: '/v1beta/openai/chat/completions', body: json({ model: 'gemini-2.0-flash', messages: [] }) },
      'gemini-2.0-flash',
    ],
    ['model list: none', { method: 'GET', path: '/v1beta/models' }, null],
  ])('%s', (_name, over, expected) => {
    expect(gemini.extractModel(req(over))).toBe(expected);
  });
});

describe('gemini.renderError', () => {
  const cases = [
    [401, 'UNAUTHENTICATED'],
    [404, 'NOT_FOUND'],
    [413, 'INVALID_ARGUMENT'],
    [429, 'RESOURCE_EXHAUSTED'],
    [503, 'UNAVAILABLE'],
  ] as const;

  it.each<readonly [number, string]>([
    ...cases,
    [400, 'INVALID_ARGUMENT'],
    [403, 'PERMISSION_DENIED'],
    [500, 'INTERNAL'],
    [504, 'DEADLINE_EXCEEDED'],
  ])('%i → %s', (status, statusText) => {
    expect(JSON.parse(gemini.renderError(status, 'NO_KEYS', 'no "keys"'))).toEqual({
      error: { code: status, message: 'no "keys"', status: statusText },
    });
  });

  describe('as @google/genai reads it', () => {
    let server: JsonServer;
    beforeAll(async () => {
      server = await startJsonServer();
    });
    afterAll(() => server.close());

    it.each(cases)('%i', async (status, statusText) => {
      server.respond(status, gemini.renderError(status, 'GATEWAY', `failed with ${status}`));
      const client = new GoogleGenAI({
        apiKey: 'AIza-x',
        httpOptions: { baseUrl: server.url, timeout: 5000 },
      });
      const error = await client.models.generateContent({ model: 'gemini-2.5-flash', contents: 'hi' }).then(
        () => null,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(ApiError);
      const e = error as ApiError;
      expect(e.status).toBe(status);
      expect(JSON.parse(e.message)).toEqual({
        error: { code: status, message: `failed with ${status}`, status: statusText },
      });
    });
  });
});

describe('gemini classification of documented error bodies', () => {
  itClassifiesEach(geminiErrorFixtures, gemini.classifierRules);
});

describe('gemini classification', () => {
  const err = (code: number, status: string, message: string) =>
    JSON.stringify({ error: { code, message, status } });

  it.each([
    [
      '400 API key expired → auth',
      err(400, 'INVALID_ARGUMENT', 'API key expired. Please renew the API key.'),
      400,
    ],
    [
      '403 denied access → auth',
      err(403, 'PERMISSION_DENIED', 'Your project has been denied access. Please contact support.'),
      403,
    ],
  ])('%s', (_name, body, status) => {
    expect(classifyOutcome({ status, body }, gemini.classifierRules).class).toBe('auth');
  });

  it('cools a daily quota until the next midnight Pacific time, a minute away at 23:59', () => {
    const body = err(429, 'RESOURCE_EXHAUSTED', 'Quota exceeded for quota metric GenerateRequestsPerDay');
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      vi.setSystemTime(Date.parse('2026-07-01T06:59:00Z')); // 23:59 PDT
      expect(classifyOutcome({ status: 429, body }, gemini.classifierRules).retryAfterMs).toBe(60_000);
    } finally {
      vi.useRealTimers();
    }
  });
});

describe('msUntilPacificMidnight', () => {
  it('loading the channels builds no Intl clock: ICU time zone data (~9 MiB resident) waits for first use', async () => {
    const Real = Intl.DateTimeFormat;
    let made = 0;
    const intl = Intl as unknown as { DateTimeFormat: unknown };
    intl.DateTimeFormat = class extends Real {
      constructor(...args: ConstructorParameters<typeof Real>) {
        super(...args);
        made++;
      }
    };
    vi.resetModules();
    try {
      const fresh = await import('../registry');
      expect(fresh.providers.gemini.id).toBe('gemini');
      expect(made).toBe(0);
      const module = await import('./gemini');
      expect(module.msUntilPacificMidnight(Date.parse('2026-01-15T20:00:00Z'))).toBe(12 * 3_600_000);
      expect(made).toBe(1);
    } finally {
      intl.DateTimeFormat = Real;
    }
  });

  it.each([
    ['noon PST', '2026-01-15T20:00:00Z', 12 * 3_600_000],
    ['noon PDT', '2026-07-15T19:00:00Z', 12 * 3_600_000],
    ['one second before midnight', '2026-01-16T07:59:59Z', 1000],
    ['exactly midnight: the next one', '2026-01-16T08:00:00Z', 24 * 3_600_000],
    // 2026-03-08 has 23 hours in Los Angeles (02:00 PST → 03:00 PDT), 2026-11-01 has 25.
    ['01:00 PST on the spring-forward day', '2026-03-08T09:00:00Z', 22 * 3_600_000],
    ['01:00 PDT on the fall-back day', '2026-11-01T08:00:00Z', 24 * 3_600_000],
    ['23:00 PST after the fall-back', '2026-11-02T07:00:00Z', 3_600_000],
  ])('%s (%s) → %i ms', (_name, at, ms) => {
    expect(msUntilPacificMidnight(Date.parse(at))).toBe(ms);
  });
});

describe('gemini.validationRequest', () => {
  it('native: generateContent on the test model with x-goog-api-key', () => {
    const r = gemini.validationRequest({ testModel: 'gemini-2.5-flash', validationEndpoint: '' }, 'AIza-v');
    expect(r).toMatchObject({
      method: 'POST',
      path: '/v1beta/models/gemini-2.5-flash:generateContent',
      query: '',
    });
    expect(r.headers).toEqual({ 'content-type': 'application/json', 'x-goog-api-key': 'AIza-v' });
    expect(JSON.parse(r.body ?? '')).toMatchObject({ contents: [{ role: 'user', parts: [{ text: 'hi' }] }] });
  });

  it('native default model', () => {
    expect(gemini.validationRequest({ testModel: '', validationEndpoint: '' }, 'k').path).toBe(
      '/v1beta/models/gemini-2.0-flash:generateContent',
    );
  });

  it('OpenAI surface: Bearer and the model in the body', () => {
    const r = gemini.validationRequest(
      { testModel: 'gemini-2.5-flash', validationEndpoint: '/v1beta/openai/chat/completions' },
      'AIza-v',
    );
    expect(r).toMatchObject({ method: 'POST', path: '/v1beta/openai/chat/completions' });
    expect(r.headers).toEqual({ 'content-type': 'application/json', authorization: 'Bearer AIza-v' });
    expect(JSON.parse(r.body ?? '')).toMatchObject({ model: 'gemini-2.5-flash' });
  });

  it.each([
    ['/v1beta/models', { 'x-goog-api-key': 'k' }],
    ['/v1beta/openai/models', { authorization: 'Bearer k' }],
  ])('model list %s → GET', (validationEndpoint, headers) => {
    expect(gemini.validationRequest({ testModel: 'm', validationEndpoint }, 'k')).toEqual({
      method: 'GET',
      path: validationEndpoint,
      query: '',
      headers,
      body: null,
    });
  });
});

describe('gemini usage', () => {
  const chunk = (usageMetadata: unknown) => ({
    candidates: [{ content: { role: 'model', parts: [{ text: 'Hi' }] } }],
    usageMetadata,
    modelVersion: 'gemini-2.5-flash',
  });
  it.each<[string, unknown, Usage | null]>([
    [
      'usageMetadata',
      chunk({ promptTokenCount: 8, candidatesTokenCount: 4, totalTokenCount: 12 }),
      { promptTokens: 8, completionTokens: 4, cachedTokens: 0 },
    ],
    [
      'thinking tokens are output',
      chunk({ promptTokenCount: 8, candidatesTokenCount: 4, thoughtsTokenCount: 20, totalTokenCount: 32 }),
      { promptTokens: 8, completionTokens: 24, cachedTokens: 0 },
    ],
    [
      'first chunk: prompt only',
      chunk({ promptTokenCount: 8, totalTokenCount: 8 }),
      { promptTokens: 8, completionTokens: null, cachedTokens: 0 },
    ],
    ['empty usageMetadata', chunk({}), null],
    ['no usage', { candidates: [] }, null],
    [
      'OpenAI surface',
      { object: 'chat.completion', usage: { prompt_tokens: 5, completion_tokens: 2 } },
      { promptTokens: 5, completionTokens: 2, cachedTokens: null },
    ],
    [
      'non-SSE stream array: the last chunk with usage',
      [
        chunk({ promptTokenCount: 8, candidatesTokenCount: 1 }),
        chunk({ promptTokenCount: 8, candidatesTokenCount: 6 }),
        { candidates: [] },
      ],
      { promptTokens: 8, completionTokens: 6, cachedTokens: 0 },
    ],
  ])('%s', (_name, body, expected) => {
    expect(gemini.usageFromJson(body)).toEqual(expected);
    expect(gemini.usageFromEvent(body)).toEqual(expected);
  });
});
