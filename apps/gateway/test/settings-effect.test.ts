// Settings whose effect no other gateway test shows (issue 11 item 10: a setting that does nothing is a defect).
// Each test changes the setting and watches what an upstream or a client would notice.
import { createServer as createTcpServer } from 'node:net';
import type { Server as TcpServer, Socket } from 'node:net';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startFakeUpstream } from '@keyway/testing';
import type { FakeUpstream } from '@keyway/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { chatBody, postJson, sleep, startGateway } from './harness';
import type { TestGateway } from './harness';

const A = 'sk-effect-aaaaaaaaaaaaaaaa0001';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function gateway(options: Parameters<typeof startGateway>[0]): Promise<TestGateway> {
  const gw = await startGateway(options);
  cleanups.push(() => gw.close());
  return gw;
}

/** An upstream that notes which client port (= which connection) each request came on and how many overlap. */
async function startCountingUpstream(answerAfterMs = 0): Promise<{
  url: string;
  ports: number[];
  maxInFlight: () => number;
}> {
  const ports: number[] = [];
  let inFlight = 0;
  let max = 0;
  const server: Server = createServer((req, res) => {
    ports.push(req.socket.remotePort ?? 0);
    inFlight++;
    max = Math.max(max, inFlight);
    req.resume();
    req.on('end', () => {
      setTimeout(() => {
        inFlight--;
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end('{"ok":true}');
      }, answerAfterMs);
    });
  });
  // Long enough that the upstream's own keep-alive hint never decides when an idle connection closes.
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  cleanups.push(async () => {
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeAllConnections();
    await closed;
  });
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    ports,
    maxInFlight: () => max,
  };
}

const chat = (gw: TestGateway, group: string) =>
  postJson(`${gw.base(group)}/v1/chat/completions`, chatBody());

describe('connection settings', { timeout: 20_000 }, () => {
  it('connectTimeoutSeconds: an upstream that accepts TCP but never completes TLS fails after that many seconds', async () => {
    // Accepts connections and stays silent: the TLS handshake (part of "connect") never finishes.
    const sockets = new Set<Socket>();
    const silent: TcpServer = createTcpServer((s) => {
      sockets.add(s);
      s.on('error', () => {});
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', () => resolve()));
    cleanups.push(async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    });
    const port = (silent.address() as AddressInfo).port;
    const gw = await gateway({
      groups: [
        {
          name: 'g',
          upstreams: [`https://127.0.0.1:${port}`],
          keys: [A],
          config: {
            connectTimeoutSeconds: 1,
            maxRetries: 0,
            responseHeaderTimeoutSeconds: 60,
            requestTimeoutSeconds: 60,
          },
        },
      ],
    });
    const t0 = Date.now();
    const res = await chat(gw, 'g');
    const elapsed = Date.now() - t0;
    expect([502, 504]).toContain(res.status);
    // The default (15 s) or the header timeout (60 s) would have held the request far longer.
    expect(elapsed).toBeGreaterThanOrEqual(900);
    expect(elapsed).toBeLessThan(4000);
  });

  it('idleConnTimeoutSeconds: an upstream connection idle for longer is closed, a shorter pause reuses it', async () => {
    const short = await startCountingUpstream();
    const long = await startCountingUpstream();
    const gw = await gateway({
      groups: [
        { name: 'short', upstreams: [short.url], keys: [A], config: { idleConnTimeoutSeconds: 1 } },
        { name: 'long', upstreams: [long.url], keys: [A], config: { idleConnTimeoutSeconds: 120 } },
      ],
    });
    for (const group of ['short', 'long']) expect((await chat(gw, group)).status).toBe(200);
    await sleep(1800);
    for (const group of ['short', 'long']) expect((await chat(gw, group)).status).toBe(200);
    expect(short.ports).toHaveLength(2);
    expect(short.ports[1]).not.toBe(short.ports[0]);
    expect(long.ports).toHaveLength(2);
    expect(long.ports[1]).toBe(long.ports[0]);
  });

  it('maxConnsPerUpstream: no more requests reach one upstream at once than the setting allows, none fails', async () => {
    const one = await startCountingUpstream(150);
    const many = await startCountingUpstream(150);
    const gw = await gateway({
      groups: [
        { name: 'one', upstreams: [one.url], keys: [A], config: { maxConnsPerUpstream: 1 } },
        { name: 'many', upstreams: [many.url], keys: [A], config: { maxConnsPerUpstream: 4 } },
      ],
    });
    const results = await Promise.all(
      ['one', 'many'].flatMap((group) => Array.from({ length: 4 }, () => chat(gw, group))),
    );
    expect(results.map((r) => r.status)).toEqual(Array(8).fill(200));
    expect(one.maxInFlight()).toBe(1);
    expect(new Set(one.ports).size).toBe(1);
    expect(many.maxInFlight()).toBe(4);
  });
});

describe('rate-limit cooldown settings', { timeout: 20_000 }, () => {
  it('rateLimitCooldownSeconds sets the first cooldown of a 429 without Retry-After; rateLimitMaxCooldownSeconds caps its doubling', async () => {
    const fake: FakeUpstream = await startFakeUpstream();
    cleanups.push(() => fake.close());
    const CAPPED = 'sk-effect-capped-00000000001';
    const DOUBLING = 'sk-effect-double-00000000002';
    fake.setKeyBehaviour(CAPPED, { status: 429 });
    fake.setKeyBehaviour(DOUBLING, { status: 429 });
    const gw = await gateway({
      groups: [
        {
          name: 'capped',
          upstreams: [fake.url],
          keys: [CAPPED],
          config: { maxRetries: 0, rateLimitCooldownSeconds: 1, rateLimitMaxCooldownSeconds: 1 },
        },
        {
          name: 'doubling',
          upstreams: [fake.url],
          keys: [DOUBLING],
          config: { maxRetries: 0, rateLimitCooldownSeconds: 1, rateLimitMaxCooldownSeconds: 300 },
        },
      ],
    });
    const strike = async (group: string, key: string): Promise<number> => {
      const t0 = Date.now();
      expect((await chat(gw, group)).status).toBe(429);
      const h = gw.health(key, group);
      expect(h.status).toBe('cooling');
      // Cooldown length, measured from the request's start (so at most the request's duration too long).
      return (h.cooldownUntil ?? 0) - t0;
    };
    const first = await Promise.all([strike('capped', CAPPED), strike('doubling', DOUBLING)]);
    for (const ms of first) expect(ms).toBeGreaterThanOrEqual(1000 - 50);
    for (const ms of first) expect(ms).toBeLessThan(1500);
    await sleep(1150);
    const [capped, doubling] = await Promise.all([strike('capped', CAPPED), strike('doubling', DOUBLING)]);
    expect(capped).toBeLessThan(1500);
    expect(doubling).toBeGreaterThanOrEqual(2000 - 50);
    expect(doubling).toBeLessThan(2500);
  });
});
