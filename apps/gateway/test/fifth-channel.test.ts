/**
 * A channel is one folder plus one registry line: this test build registers a fifth channel the gateway has never
 * heard of — its own credential header and query slot, its own paths (model named in the path, its own
 * model-list shape), its own error dialect and usage field — and drives real requests through the gateway to a
 * local upstream that speaks only that dialect.
 */
import { createServer } from 'node:http';
import type { IncomingHttpHeaders, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Channel } from '@keyway/contracts';
import { genericRules } from '@keyway/core';
import {
  extractProxyKey,
  modelListFormat,
  num,
  field,
  providerForPath,
  registerProvider,
  setCredential,
} from '@keyway/providers';
import type { CredentialHeader, PathModel, Provider } from '@keyway/providers';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { PROXY_KEY, send, startGateway } from './harness';
import type { TestGateway } from './harness';

const TOKEN: CredentialHeader = { name: 'x-fifth-token', scheme: 'Token' };
const ENGINE_PATH = /^(\/fifth\/v2\/engines\/)([^/]+)(\/chat)$/;
const UPSTREAM_KEY = 'fifth-upstream-key-0000000000000001';
const ACCOUNT = 'acct-behind-the-pool';

function engineInPath(path: string): PathModel | null {
  const m = ENGINE_PATH.exec(path);
  if (!m?.[2]) return null;
  return {
    model: decodeURIComponent(m[2]),
    withModel: (other) => `${m[1]}${encodeURIComponent(other)}${m[3]}`,
  };
}

const engineList = modelListFormat({
  field: 'engines',
  entry: (name) => ({ engine: name }),
  nameOf: (e) => (typeof e === 'string' ? e : ((field(e, 'engine') as string | undefined) ?? null)),
  pageParams: ['cursor'],
  lastPage: ({ cursor: _dropped, ...rest }) => rest,
});

const meterUsage = (body: unknown) => {
  const meter = field(body, 'meter');
  return meter
    ? { promptTokens: num(meter, 'in'), completionTokens: num(meter, 'out'), cachedTokens: null }
    : null;
};

/** The fake fifth channel, as its folder would export it. */
const fifth: Provider = {
  id: 'fifth' as Channel,
  credentials: { headers: [TOKEN], query: ['fifth_key'] },
  accountHeaders: ['x-fifth-account'],
  rootPaths: ['/fifth'],
  modelInPath: engineInPath,
  modelList: (method, path) => (method === 'GET' && path === '/fifth/v2/engines' ? engineList : null),
  applyKey(headers, key, target) {
    setCredential(headers, TOKEN, key);
    return target;
  },
  isStream: () => false,
  extractModel: (req) => engineInPath(req.path)?.model ?? null,
  renderError: (status, code, message) => JSON.stringify({ fault: { status, code, text: message } }),
  classifierRules: genericRules,
  validationRequest: (_group, key) => ({
    method: 'GET',
    path: '/fifth/v2/engines',
    query: '',
    headers: { 'x-fifth-token': `Token ${key}` },
    body: null,
  }),
  usageFromJson: meterUsage,
  usageFromEvent: () => null,
};

registerProvider(fifth);

interface Seen {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
}

/** An upstream that speaks only the fifth dialect and refuses any other credential. */
async function startFifthUpstream(): Promise<{ url: string; seen: Seen[]; close(): Promise<void> }> {
  const seen: Seen[] = [];
  const server: Server = createServer((req, res) => {
    req.resume();
    req.once('end', () => {
      seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers });
      const reply = (status: number, body: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json', 'x-fifth-account': ACCOUNT });
        res.end(JSON.stringify(body));
      };
      if (req.headers['x-fifth-token'] !== `Token ${UPSTREAM_KEY}`)
        return reply(401, { fault: { status: 401, code: 'BAD_TOKEN', text: 'token refused' } });
      const path = (req.url ?? '').split('?')[0] ?? '';
      if (path === '/fifth/v2/engines') return reply(200, { engines: [{ engine: 'e-real' }], cursor: 'c2' });
      const m = ENGINE_PATH.exec(path);
      if (req.method === 'POST' && m) return reply(200, { answer: `from ${m[2]}`, meter: { in: 7, out: 3 } });
      reply(404, { fault: { status: 404, code: 'NO_ROUTE', text: path } });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    seen,
    close: () => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

describe('a fifth channel registered in a test build', { timeout: 20_000 }, () => {
  let upstream: Awaited<ReturnType<typeof startFifthUpstream>>;
  let gw: TestGateway;

  beforeAll(async () => {
    upstream = await startFifthUpstream();
    gw = await startGateway({
      groups: [
        {
          name: 'five',
          channel: 'fifth' as Channel,
          upstreams: [upstream.url],
          keys: [UPSTREAM_KEY],
          modelRedirects: { fast: 'e-real' },
        },
      ],
    });
  });
  afterAll(async () => {
    await gw.close();
    await upstream.close();
  });
  beforeEach(() => {
    upstream.seen.length = 0;
  });

  const chat = (engine: string, headers: Record<string, string>, query = '') =>
    send(`${gw.base('five')}/fifth/v2/engines/${engine}/chat${query}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify({ prompt: 'hi' }),
    });

  it('reads the proxy key from its own header and sends the pooled key in the same slot', async () => {
    const res = await chat('e-real', { 'x-fifth-token': `Token ${PROXY_KEY}` });
    expect(res.status).toBe(200);
    expect(res.json()).toEqual({ answer: 'from e-real', meter: { in: 7, out: 3 } });
    const [seen] = upstream.seen;
    expect(seen?.headers['x-fifth-token']).toBe(`Token ${UPSTREAM_KEY}`);
    expect(JSON.stringify(seen)).not.toContain(PROXY_KEY);
    // The account behind the pool stays hidden, as for the built-in channels.
    expect(res.headers['x-fifth-account']).toBeUndefined();
    const [record] = await gw.waitForRecords(1);
    expect(record).toMatchObject({ model: 'e-real', promptTokens: 7, completionTokens: 3, statusCode: 200 });
  });

  it('takes the proxy key from its query slot and never forwards it', async () => {
    const res = await chat('e-real', {}, `?fifth_key=${PROXY_KEY}&trace=1`);
    expect(res.status).toBe(200);
    expect(upstream.seen[0]?.url).toBe('/fifth/v2/engines/e-real/chat?trace=1');
  });

  it('drops a client credential of another channel instead of forwarding it', async () => {
    const res = await chat('e-real', { authorization: `Bearer ${PROXY_KEY}` });
    expect(res.status).toBe(200);
    expect(upstream.seen[0]?.headers.authorization).toBeUndefined();
  });

  it('redirects a model named in its path', async () => {
    const res = await chat('fast', { 'x-fifth-token': `Token ${PROXY_KEY}` });
    expect(res.status).toBe(200);
    expect(upstream.seen[0]?.url).toBe('/fifth/v2/engines/e-real/chat');
  });

  it('shows the redirected models in its own model-list shape', async () => {
    const res = await send(`${gw.base('five')}/fifth/v2/engines`, {
      headers: { 'x-fifth-token': `Token ${PROXY_KEY}` },
    });
    expect(res.status).toBe(200);
    expect(res.json()).toEqual({ engines: [{ engine: 'e-real' }, { engine: 'fast' }], cursor: 'c2' });
  });

  it('answers gateway errors in its own dialect', async () => {
    const res = await chat('e-real', { 'x-fifth-token': 'Token not-the-proxy-key' });
    expect(res.status).toBe(401);
    expect(res.json()).toEqual({ fault: { status: 401, code: 'UNAUTHORIZED', text: 'Invalid proxy key' } });
    expect(upstream.seen).toHaveLength(0);
  });

  it('owns its root paths and reads its slots in the shared proxy-key lookup', () => {
    expect(providerForPath('/fifth/v2/engines')?.id).toBe('fifth');
    expect(providerForPath('/v1/chat/completions')?.id).toBe('openai');
    expect(extractProxyKey({ 'x-fifth-token': 'Token abc' }, '')).toEqual({ key: 'abc', query: '' });
  });
});
