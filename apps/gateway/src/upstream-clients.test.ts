import { createServer } from 'node:http';
import type { IncomingHttpHeaders, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { LookupAddress } from 'node:dns';
import { defaultAffinity, defaultSettings } from '@keyway/contracts';
import type { EffectiveSettings, GroupSnapshot } from '@keyway/contracts';
import { EGRESS_REFUSED_CODE } from '@keyway/core';
import type { Resolve } from '@keyway/server';
import { startFakeUpstream } from '@keyway/testing';
import type { Dispatcher, Pool } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { compileRuntime } from './runtime';
import { createUpstreamClients, liveUpstreams } from './upstream-clients';
import type { UpstreamClients } from './upstream-clients';

/** A local listener that records every connection and request it gets. */
async function listener(answer?: (res: ServerResponse) => void) {
  const seen = { connections: 0, headers: [] as IncomingHttpHeaders[] };
  const server: Server = createServer((req, res) => {
    seen.headers.push(req.headers);
    if (answer) answer(res);
    else res.writeHead(200, { 'content-type': 'application/json', connection: 'close' }).end('{}');
  });
  server.on('connection', () => seen.connections++);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return { seen, port, close: () => new Promise<void>((r) => server.close(() => r())) };
}

/** A resolver that answers each lookup with the next address of `answers` (a name rebinding between calls). */
function rebinding(...answers: string[]): Resolve & { calls: number } {
  const state = { calls: 0 };
  const fn = ((_host: string, options: { all?: boolean }, cb: (...args: unknown[]) => void) => {
    const address = answers[Math.min(state.calls, answers.length - 1)] as string;
    state.calls++;
    const entry: LookupAddress = { address, family: address.includes(':') ? 6 : 4 };
    setImmediate(() => (options.all ? cb(null, [entry]) : cb(null, address, entry.family)));
  }) as unknown as Resolve & { calls: number };
  Object.defineProperty(fn, 'calls', { get: () => state.calls });
  return fn;
}

const settings = (over: Partial<EffectiveSettings> = {}): EffectiveSettings => ({
  ...defaultSettings,
  connectTimeoutSeconds: 2,
  ...over,
});

const open: Array<{ close: () => Promise<void> }> = [];
let clients: UpstreamClients | undefined;
afterEach(async () => {
  await clients?.close();
  clients = undefined;
  for (const o of open.splice(0)) await o.close();
});

async function send(origin: string, s: EffectiveSettings) {
  return (clients as UpstreamClients).get(origin, s).request({
    method: 'POST',
    path: '/v1/chat/completions',
    headers: { authorization: 'Bearer sk-upstream-secret', 'content-type': 'application/json' },
    body: '{}',
  });
}

async function failure(p: Promise<unknown>): Promise<{ code?: string; message: string }> {
  try {
    await p;
  } catch (e) {
    return e as { code?: string; message: string };
  }
  throw new Error('expected the request to fail');
}

describe('egress policy at connect time', () => {
  it('refuses a name that resolves to the metadata address, before a byte is sent', async () => {
    clients = createUpstreamClients({ resolve: rebinding('169.254.169.254') });
    const e = await failure(send('http://rebind.example:80', settings()));
    expect(e.code).toBe(EGRESS_REFUSED_CODE);
    expect(e.message).toMatch(/169\.254\.169\.254 is a cloud metadata service address/);
  });

  it('refuses a name that rebinds to the metadata address between two connections', async () => {
    const up = await listener();
    open.push(up);
    // First it resolves to a loopback listener (allowed by default), then to the metadata address.
    const resolve = rebinding('127.0.0.1', '169.254.169.254');
    clients = createUpstreamClients({ resolve });
    const first = await send(`http://rebind.example:${up.port}`, settings());
    expect(first.statusCode).toBe(200);
    await first.body.dump();
    // The listener closed that connection: the next request connects again and resolves again.
    const e = await failure(send(`http://rebind.example:${up.port}`, settings()));
    expect(e.code).toBe(EGRESS_REFUSED_CODE);
    expect(resolve.calls).toBe(2);
    expect(up.seen.connections).toBe(1);
  });

  it('with egressBlockPrivate, a name resolving to a local listener never reaches it and the key is not sent', async () => {
    const up = await listener();
    open.push(up);
    clients = createUpstreamClients({ resolve: rebinding('127.0.0.1') });
    const e = await failure(
      send(`http://looks-public.example:${up.port}`, settings({ egressBlockPrivate: true })),
    );
    expect(e.code).toBe(EGRESS_REFUSED_CODE);
    expect(e.message).toMatch(/egressBlockPrivate/);
    expect(up.seen.connections).toBe(0);
    expect(up.seen.headers).toEqual([]);
  });

  it('with egressBlockPrivate, refuses a loopback IP origin without connecting; without it, connects', async () => {
    const up = await listener();
    open.push(up);
    clients = createUpstreamClients();
    const e = await failure(send(`http://127.0.0.1:${up.port}`, settings({ egressBlockPrivate: true })));
    expect(e.code).toBe(EGRESS_REFUSED_CODE);
    expect(up.seen.connections).toBe(0);
    const ok = await send(`http://127.0.0.1:${up.port}`, settings());
    expect(ok.statusCode).toBe(200);
    await ok.body.dump();
    expect(up.seen.connections).toBe(1);
  });

  it("refuses the gateway's own port on this machine, by address or by name", async () => {
    const up = await listener();
    open.push(up);
    clients = createUpstreamClients({ selfPort: up.port });
    for (const origin of [`http://127.0.0.1:${up.port}`, `http://localhost:${up.port}`]) {
      const e = await failure(send(origin, settings()));
      expect(e.code).toBe(EGRESS_REFUSED_CODE);
      expect(e.message).toMatch(/this gateway itself/);
    }
    expect(up.seen.connections).toBe(0);
  });

  it('does not follow a redirect towards another address', async () => {
    const target = await listener();
    open.push(target);
    const redirector = await listener((res) =>
      res.writeHead(302, { location: `http://127.0.0.1:${target.port}/steal` }).end(),
    );
    open.push(redirector);
    clients = createUpstreamClients();
    const res = await send(`http://127.0.0.1:${redirector.port}`, settings());
    expect(res.statusCode).toBe(302);
    await res.body.dump();
    expect(target.seen.connections).toBe(0);
  });
});

/** A streamed chat completion through `dispatcher`: the body arrives one event every `streamChunkDelayMs`. */
function stream(dispatcher: Dispatcher) {
  return dispatcher.request({
    method: 'POST',
    path: '/v1/chat/completions',
    headers: { authorization: 'Bearer sk-upstream-secret', 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: 'hi' }] }),
  });
}

describe('pools after a config reload', () => {
  it('leaves one pool per origin after a settings change, closing the old one only once its request is done', async () => {
    const fake = await startFakeUpstream({ streamChunkDelayMs: 60 });
    open.push(fake);
    clients = createUpstreamClients();
    const before = settings({ maxConnsPerUpstream: 4 });
    const after = settings({ maxConnsPerUpstream: 8 });
    const old = clients.get(fake.url, before) as Pool;
    const inFlight = await stream(old);
    expect(inFlight.statusCode).toBe(200);

    const fresh = clients.get(fake.url, after);
    expect(fresh).not.toBe(old);
    let closed = false;
    const retained = clients.retain([{ origin: fake.url, settings: after }]).then(() => (closed = true));
    expect(clients.openPools()).toBe(1);
    expect(clients.get(fake.url, after)).toBe(fresh);

    // The old pool takes no new request but lets the stream in flight finish.
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(closed).toBe(false);
    expect(old.destroyed).toBe(false);
    const body = await inFlight.body.text();
    expect(body).toContain('data: [DONE]');
    expect(body.split(' fake').length).toBe(2);
    await retained;
    expect(old.destroyed).toBe(true);
    expect(fake.aborted).toBe(0);

    const next = await stream(clients.get(fake.url, after));
    expect(next.statusCode).toBe(200);
    await next.body.dump();
    expect(clients.openPools()).toBe(1);
  });

  it('closes the pools of origins no group uses any more, keeping those of the live config', async () => {
    const kept = await startFakeUpstream();
    const dropped = await startFakeUpstream();
    open.push(kept, dropped);
    clients = createUpstreamClients();
    const s = settings();
    for (const origin of [kept.url, dropped.url]) await (await stream(clients.get(origin, s))).body.dump();
    const keptPool = clients.get(kept.url, s) as Pool;
    const droppedPool = clients.get(dropped.url, s) as Pool;
    expect(clients.openPools()).toBe(2);

    const { proxyKeys: _omit, ...global } = s;
    const runtime = compileRuntime({
      version: 2,
      settings: global,
      proxyKeyHashes: [],
      groups: [groupSnapshot(1, `${kept.url}/v1`)],
      accessKeys: [],
      prices: [],
    });
    const live = liveUpstreams(runtime);
    expect(live.map((u) => u.origin)).toEqual([kept.url]);
    await clients.retain(live);
    expect(droppedPool.destroyed).toBe(true);
    expect(keptPool.destroyed).toBe(false);
    expect(clients.openPools()).toBe(1);
    const again = await stream(clients.get(kept.url, s));
    expect(again.statusCode).toBe(200);
    await again.body.dump();
    expect(clients.get(kept.url, s)).toBe(keptPool);
    // Asked for again with the same settings object, a dropped origin gets a fresh pool, never the closed one.
    const reopened = clients.get(dropped.url, s);
    expect(reopened).not.toBe(droppedPool);
    const back = await stream(reopened);
    expect(back.statusCode).toBe(200);
    await back.body.dump();
  });
});

function groupSnapshot(id: number, url: string): GroupSnapshot {
  return {
    id,
    name: `group-${id}`,
    type: 'standard',
    channel: 'openai',
    upstreams: [{ url, weight: 1 }],
    testModel: 'gpt-4o-mini',
    validationEndpoint: '/v1/chat/completions',
    models: [],
    keyLimits: null,
    affinity: defaultAffinity,
    dailyResetTimeZone: 'UTC',
    proxyKeyHashes: [],
    paramOverrides: {},
    modelRedirects: {},
    modelRedirectStrict: false,
    headerRules: [],
    config: {},
    subGroups: [],
  };
}
