import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { defaultSettings } from '@keyway/contracts';
import type { EffectiveSettings } from '@keyway/contracts';
import { startFakeUpstream, startHttpProxy, startSocks5Proxy } from '@keyway/testing';
import type { FakeUpstream, TestProxy } from '@keyway/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { errorText } from './upstream-call';
import { isProxyFailureText } from './egress-proxy';
import { createUpstreamClients } from './upstream-clients';
import type { UpstreamClients } from './upstream-clients';

const settings = (proxyUrl: string | null): EffectiveSettings => ({
  ...defaultSettings,
  connectTimeoutSeconds: 2,
  proxyUrl,
});

const open: Array<{ close: () => Promise<void> }> = [];
let clients: UpstreamClients;
afterEach(async () => {
  await clients?.close();
  for (const o of open.splice(0)) await o.close();
});

async function started<T extends { close: () => Promise<void> }>(p: Promise<T>): Promise<T> {
  const it = await p;
  open.push(it);
  return it;
}

/** One chat request to the fake through `proxy`; the error text as the attempt would log it, if it failed. */
async function chat(fake: FakeUpstream, proxy: string | null, key = 'sk-test-egress-0001') {
  clients ??= createUpstreamClients();
  try {
    const res = await clients.get(fake.url, settings(proxy)).request({
      method: 'POST',
      path: '/v1/chat/completions',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] }),
    });
    await res.body.text();
    return { status: res.statusCode, error: null };
  } catch (error) {
    return { status: 0, error: errorText(error) };
  }
}

describe.each([
  ['http', startHttpProxy],
  ['socks5', startSocks5Proxy],
  ['socks5h', startSocks5Proxy],
] as const)('an upstream reached through a %s proxy', (scheme, start) => {
  it('carries the request through the proxy, with the credentials of the proxy URL', async () => {
    clients = createUpstreamClients();
    const fake = await started(startFakeUpstream());
    const proxy: TestProxy = await started(start({ user: 'egress-user', pass: 'p@ss:w0rd' }));
    const url = `${scheme}://egress-user:${encodeURIComponent('p@ss:w0rd')}@127.0.0.1:${proxy.port}`;
    expect(await chat(fake, url)).toEqual({ status: 200, error: null });
    expect(fake.keysSeen()).toEqual(['sk-test-egress-0001']);
    expect(proxy.seen.targets).toEqual([`127.0.0.1:${fake.port}`]);
    expect(proxy.seen.credentials).toEqual(['egress-user:p@ss:w0rd']);
    expect(proxy.seen.bytes).toContain('POST /v1/chat/completions');
  });

  it('is a proxy failure, naming the proxy masked, when the proxy refuses the credentials', async () => {
    clients = createUpstreamClients();
    const fake = await started(startFakeUpstream());
    const proxy = await started(start({ user: 'egress-user', pass: 'right-pass' }));
    const r = await chat(fake, `${scheme}://egress-user:wrong-pass@127.0.0.1:${proxy.port}`);
    expect(r.status).toBe(0);
    expect(isProxyFailureText(r.error ?? '')).toBe(true);
    expect(r.error).toContain(`${scheme}://…@127.0.0.1:${proxy.port}`);
    expect(r.error).not.toContain('wrong-pass');
    expect(fake.requests).toHaveLength(0);
  });

  it('is a proxy failure when nothing listens where the proxy should be', async () => {
    clients = createUpstreamClients();
    const fake = await started(startFakeUpstream());
    const proxy = await start();
    await proxy.close();
    const r = await chat(fake, `${scheme}://127.0.0.1:${proxy.port}`);
    expect(isProxyFailureText(r.error ?? '')).toBe(true);
  });
});

describe('the connection an upstream sees', () => {
  it('comes from the proxy, not from the gateway', async () => {
    const remotePorts: number[] = [];
    const server = createServer((req, res) => {
      remotePorts.push(req.socket.remotePort ?? 0);
      res.end('{}');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    open.push({ close: () => new Promise((r) => server.close(() => r())) });
    const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const proxy = await started(startSocks5Proxy());
    clients = createUpstreamClients();
    const res = await clients
      .get(origin, settings(`socks5://127.0.0.1:${proxy.port}`))
      .request({ method: 'GET', path: '/' });
    await res.body.text();
    expect(remotePorts).toEqual(proxy.seen.outgoingPorts);
    expect(remotePorts).toHaveLength(1);
  });

  it('goes direct when no proxy is set', async () => {
    clients = createUpstreamClients();
    const fake = await started(startFakeUpstream());
    const proxy = await started(startHttpProxy());
    expect(await chat(fake, null)).toEqual({ status: 200, error: null });
    expect(proxy.seen.targets).toEqual([]);
  });
});

describe('a pool of three proxies', () => {
  const group = (proxies: string[]) => ({ proxies });
  // Proxy ports are random, so which proxy a key lands on is too: with n keys the chance that one of three proxies
  // gets none is about 3·(2/3)^n — 2% at twelve keys (it happened in CI), 3·10⁻⁷ at forty.
  const keys = Array.from({ length: 40 }, (_, i) => i + 1);

  /** Sends one request per key through the proxy `proxyFor` picks; returns which proxy port carried each key. */
  async function sendAll(fake: FakeUpstream, proxies: TestProxy[], pool: string[]) {
    const via = new Map<number, number>();
    for (const k of keys) {
      const before = proxies.map((p) => p.seen.bytes.length);
      const proxy = clients.proxyFor(group(pool), k);
      const res = await clients.get(fake.url, settings(null), proxy).request({
        method: 'POST',
        path: '/v1/chat/completions',
        headers: { authorization: `Bearer sk-test-pool-key-${k}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'gpt-4o', messages: [] }),
      });
      await res.body.text();
      const carrier = proxies.findIndex((p, i) => p.seen.bytes.length > (before[i] ?? 0));
      via.set(k, proxies[carrier]?.port ?? -1);
    }
    return via;
  }

  it('pins each key to one proxy, and removing one moves only its keys', async () => {
    clients = createUpstreamClients();
    const fake = await started(startFakeUpstream());
    const proxies = [
      await started(startHttpProxy()),
      await started(startSocks5Proxy()),
      await started(startHttpProxy()),
    ];
    const pool = proxies.map((p, i) => `${i === 1 ? 'socks5' : 'http'}://127.0.0.1:${p.port}`);
    const first = await sendAll(fake, proxies, pool);
    expect(await sendAll(fake, proxies, pool)).toEqual(first);
    expect(new Set(first.values()).size).toBe(3);
    const after = await sendAll(fake, proxies, pool.slice(0, 2));
    for (const k of keys)
      if (first.get(k) !== proxies[2]?.port) expect(after.get(k)).toBe(first.get(k));
      else expect(after.get(k)).not.toBe(proxies[2]?.port);
  });

  it("sends a key whose proxy is penalised through the key's next proxy until the penalty ends", () => {
    clients = createUpstreamClients();
    const pool = ['http://127.0.0.1:1', 'http://127.0.0.1:2', 'http://127.0.0.1:3'];
    const own = clients.proxyFor(group(pool), 7) as string;
    clients.proxyHealth.fail(own);
    const next = clients.proxyFor(group(pool), 7);
    expect(next).not.toBe(own);
    clients.proxyHealth.succeed(own);
    expect(clients.proxyFor(group(pool), 7)).toBe(own);
  });
});
