import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { BodyDecodeError, decodeBody, isModelListRequest, rewriteModelList } from './model-list';

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

const fixture = (name: string) => readFileSync(new URL(`../test/fixtures/${name}`, import.meta.url));
const plain = fixture('model-list.json');

describe('decodeBody', () => {
  it.each([
    ['gzip', zlib.gzipSync(plain)],
    ['x-gzip', zlib.gzipSync(plain)],
    ['GZIP', zlib.gzipSync(plain)],
    ['br', zlib.brotliCompressSync(plain)],
    ['deflate', zlib.deflateSync(plain)],
    ['deflate', zlib.deflateRawSync(plain)],
    ['deflate', zlib.gzipSync(plain)],
    // Made by the zstd CLI: a frame with its content size, and two frames without (as a streaming server sends).
    ['zstd', fixture('model-list.json.zst')],
    ['zstd', fixture('model-list.frames.zst')],
    ['gzip, br', zlib.brotliCompressSync(zlib.gzipSync(plain))],
    [' identity , gzip ', zlib.gzipSync(plain)],
  ])('%s', async (encoding, encoded) => {
    const out = await decodeBody(encoded, encoding);
    expect(out.equals(plain)).toBe(true);
    expect(JSON.parse(out.toString('utf8'))).toMatchObject({ object: 'list' });
  });

  it('round-trips the async zlib encoders too', async () => {
    const big = Buffer.from(
      JSON.stringify({ data: Array.from({ length: 5000 }, (_, i) => ({ id: `m-${i}` })) }),
    );
    const gz = await promisify(zlib.gzip)(big);
    const br = await promisify(zlib.brotliCompress)(big);
    expect((await decodeBody(gz, 'gzip')).equals(big)).toBe(true);
    expect((await decodeBody(br, 'br')).equals(big)).toBe(true);
  });

  it.each([undefined, '', 'identity', 'compress', 'snappy', 'gzip, compress'])(
    'passes %j through unchanged',
    async (encoding) => {
      const buf = zlib.gzipSync(plain);
      expect(await decodeBody(buf, encoding)).toBe(buf);
    },
  );

  it('passes an empty body through', async () => {
    const empty = Buffer.alloc(0);
    expect(await decodeBody(empty, 'gzip')).toBe(empty);
  });

  it.each([
    ['gzip', plain],
    ['br', Buffer.from('definitely not brotli')],
    // Raw deflate has no header or checksum, so only bytes that are invalid as a block fail for sure (BTYPE 11).
    ['deflate', Buffer.from([0xff, 0xff, 0xff, 0xff])],
    ['zstd', plain],
    ['zstd', fixture('model-list.json.zst').subarray(0, 40)],
    ['gzip', zlib.gzipSync(plain).subarray(0, 30)],
  ])('throws BodyDecodeError for undecodable %s', async (encoding, buf) => {
    const error = await decodeBody(buf, encoding).then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(BodyDecodeError);
    expect(error).toMatchObject({ name: 'BodyDecodeError', encoding });
  });

  it.each([
    ['gzip', zlib.gzipSync(plain)],
    ['br', zlib.brotliCompressSync(plain)],
    ['deflate', zlib.deflateSync(plain)],
    ['zstd', fixture('model-list.json.zst')],
  ])('refuses %s output past maxBytes', async (encoding, buf) => {
    await expect(decodeBody(buf, encoding, 100)).rejects.toBeInstanceOf(BodyDecodeError);
    expect((await decodeBody(buf, encoding, plain.length)).equals(plain)).toBe(true);
  });
});
