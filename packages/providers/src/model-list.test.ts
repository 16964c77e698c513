import { describe, expect, it } from 'vitest';
import { geminiModelList } from './gemini/gemini';
import { openAiModelList } from './model-list';
import type { ModelListOptions } from './model-list';
import { registeredProviders } from './registry';

/** Whether any channel lists models at this path. */
function isModelListRequest(method: string, path: string): boolean {
  return registeredProviders().some((p) => p.modelList(method, path) !== null);
}

/** The OpenAI-style and Gemini formats applied in turn (each leaves the other's shape alone). */
function rewriteModelList(body: unknown, opts: ModelListOptions): unknown {
  return openAiModelList.rewrite(geminiModelList.rewrite(body, opts), opts);
}

describe('isModelListRequest', () => {
  it.each([
    ['GET', '/v1/models', true],
    ['GET', '/v1/models/', true],
    ['get', '/v1/models', true],
    ['GET', '/v1beta/models', true],
    ['GET', '/v1beta/models/', true],
    ['GET', '/v1beta/openai/models', true],
    ['GET', '/v1beta/openai/models/', true],
    ['GET', '/prefix/v1/models', true],
    ['GET', '/v1/models?limit=10', true],
    ['POST', '/v1/models', false],
    ['HEAD', '/v1/models', false],
    ['GET', '/v1/models/gpt-4o', false],
    ['GET', '/v1beta/models/gemini-2.0-flash', false],
    ['GET', '/v1beta/openai/models/gemini-2.0-flash', false],
    ['GET', '/v1/chat/completions', false],
    ['GET', '/v2/models', false],
    ['GET', '/v1/modelsx', false],
    ['GET', '/models', false],
  ])('%s %s → %s', (method, path, expected) => {
    expect(isModelListRequest(method, path)).toBe(expected);
  });
});

const entry = (id: string) => ({ id, object: 'model', created: 0, owned_by: 'system' });
const gEntry = (key: string) => ({
  name: `models/${key}`,
  displayName: key,
  supportedGenerationMethods: ['generateContent'],
});

describe('rewriteModelList: OpenAI-style data', () => {
  const upstream = {
    object: 'list',
    data: [
      { id: 'gpt-4o', object: 'model', created: 1715367049, owned_by: 'system' },
      { id: 'gpt-4o-mini', object: 'model', created: 1721172741, owned_by: 'system' },
    ],
  };
  const redirects = { 'gpt-4o': 'gpt-4o-2024-08-06', fast: 'gpt-4o-mini' };

  it.each([
    [
      'strict: exactly the redirect keys',
      { strict: true, firstPage: true },
      { object: 'list', data: [entry('gpt-4o'), entry('fast')] },
    ],
    [
      'strict on a later page: still exactly the keys',
      { strict: true, firstPage: false },
      { object: 'list', data: [entry('gpt-4o'), entry('fast')] },
    ],
    [
      'non-strict: upstream plus keys it lacks',
      { strict: false, firstPage: true },
      { object: 'list', data: [...upstream.data, entry('fast')] },
    ],
    ['non-strict on a later page: unchanged', { strict: false, firstPage: false }, upstream],
  ])('%s', (_name, opts, expected) => {
    expect(rewriteModelList(upstream, { redirects, ...opts })).toEqual(expected);
  });

  it('does not mutate the input', () => {
    const copy = structuredClone(upstream);
    rewriteModelList(upstream, { redirects, strict: true, firstPage: true });
    rewriteModelList(upstream, { redirects, strict: false, firstPage: true });
    expect(upstream).toEqual(copy);
  });

  it('works on any channel, e.g. Anthropic: strict ends its paging', () => {
    const anthropic = {
      data: [{ type: 'model', id: 'claude-haiku-4-5', display_name: 'Claude Haiku 4.5', created_at: 'x' }],
      has_more: true,
      first_id: 'claude-haiku-4-5',
      last_id: 'claude-haiku-4-5',
    };
    const strict = rewriteModelList(anthropic, { redirects: { claude: 'x' }, strict: true, firstPage: true });
    expect(strict).toMatchObject({ data: [entry('claude')], has_more: false });
    const merged = rewriteModelList(anthropic, {
      redirects: { claude: 'x' },
      strict: false,
      firstPage: true,
    });
    expect(merged).toMatchObject({ data: [anthropic.data[0], entry('claude')], has_more: true });
  });

  it('strict with no redirects: an empty list', () => {
    expect(rewriteModelList(upstream, { redirects: {}, strict: true, firstPage: true })).toEqual({
      object: 'list',
      data: [],
    });
  });

  it('non-strict, nothing missing: the same object', () => {
    expect(rewriteModelList(upstream, { redirects: { 'gpt-4o': 'x' }, strict: false, firstPage: true })).toBe(
      upstream,
    );
  });
});

describe('rewriteModelList: Gemini native models', () => {
  const upstream = {
    models: [
      { name: 'models/gemini-2.5-flash', displayName: 'Gemini 2.5 Flash', supportedGenerationMethods: ['x'] },
      { name: 'models/gemini-2.5-pro', displayName: 'Gemini 2.5 Pro', supportedGenerationMethods: ['x'] },
    ],
    nextPageToken: 'page-2',
  };

  it('strict: exactly the keys, no next page', () => {
    const out = rewriteModelList(upstream, {
      redirects: { flash: 'gemini-2.5-flash', 'gemini-2.5-pro': 'gemini-2.5-pro-002' },
      strict: true,
      firstPage: true,
    });
    expect(out).toEqual({ models: [gEntry('flash'), gEntry('gemini-2.5-pro')] });
  });

  it('non-strict first page: merged, deduped with and without the models/ prefix', () => {
    const out = rewriteModelList(upstream, {
      redirects: { 'gemini-2.5-flash': 'a', 'models/gemini-2.5-pro': 'b', flash: 'c', 'models/pro': 'd' },
      strict: false,
      firstPage: true,
    });
    expect(out).toEqual({
      models: [...upstream.models, gEntry('flash'), gEntry('pro')],
      nextPageToken: 'page-2',
    });
  });

  it('non-strict later page: unchanged', () => {
    const out = rewriteModelList(upstream, { redirects: { flash: 'c' }, strict: false, firstPage: false });
    expect(out).toBe(upstream);
  });
});

describe('rewriteModelList: leaves other bodies alone', () => {
  const redirects = { a: 'b' };
  it.each([
    ['no data/models', { object: 'list', items: [] }],
    ['data is not an array', { data: { id: 'x' } }],
    ['an array', [{ id: 'x' }]],
    ['a string', 'hello'],
    ['null', null],
  ])('%s', (_name, body) => {
    expect(rewriteModelList(body, { redirects, strict: true, firstPage: true })).toBe(body);
  });

  it('empty redirects, not strict: unchanged', () => {
    const body = { data: [{ id: 'x' }] };
    expect(rewriteModelList(body, { redirects: {}, strict: false, firstPage: true })).toBe(body);
    const gemini = { models: [{ name: 'models/x' }], nextPageToken: 't' };
    expect(rewriteModelList(gemini, { redirects: {}, strict: false, firstPage: true })).toBe(gemini);
  });
});

describe('ModelListFormat.union', () => {
  it('merges several OpenAI lists, each model once, keeping only accepted names, as a complete page', () => {
    const merged = openAiModelList.union(
      [
        { object: 'list', data: [{ id: 'gpt-4o' }, { id: 'gpt-4.1' }], has_more: true },
        { object: 'list', data: [{ id: 'gpt-4o' }, { id: 'o3' }, { id: 'secret-model' }] },
        'not a list',
      ],
      (name) => name !== 'secret-model',
    );
    expect(merged).toEqual({
      object: 'list',
      data: [{ id: 'gpt-4o' }, { id: 'gpt-4.1' }, { id: 'o3' }],
      has_more: false,
    });
  });

  it('compares Gemini names without the models/ prefix and drops the page token', () => {
    const merged = geminiModelList.union(
      [
        { models: [{ name: 'models/gemini-2.0-flash' }], nextPageToken: 'abc' },
        { models: [{ name: 'models/gemini-2.0-flash' }, { name: 'models/gemini-2.5-pro' }] },
      ],
      (name) => name.startsWith('gemini-'),
    );
    expect(merged).toEqual({
      models: [{ name: 'models/gemini-2.0-flash' }, { name: 'models/gemini-2.5-pro' }],
    });
  });

  it('answers null when no body is a list of its format', () => {
    expect(openAiModelList.union([{ models: [] }, null], () => true)).toBeNull();
  });
});
