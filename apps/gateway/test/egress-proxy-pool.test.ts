import { maskProxyUrl } from '@keyway/contracts';
import { startFakeUpstream, startProxyPool } from '@keyway/testing';
import type { TestProxy } from '@keyway/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { chatBody, postJson, startGateway } from './harness';
import type { TestGateway } from './harness';

// Twelve keys over three proxies: the chance that rendezvous hashing (the proxies' ports differ from run to run)
// pins them all to one proxy is 3 × (1/3)^12, where six keys made it 0.4% (it happened once).
const KEYS = Array.from({ length: 12 }, (_, i) => `sk-test-pool-${String(i).padStart(2, '0')}-aaaaaaaaaaaa`);

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function started<T extends { close: () => Promise<void> }>(p: Promise<T>): Promise<T> {
  const it = await p;
  cleanups.push(() => it.close());
  return it;
}

/** The gateway with `pool` as the group's proxy pool (as a config reload brings it). */
function withPool(gw: TestGateway, pool: string[]): void {
  const s = gw.snapshot;
  gw.reconfigure({
    ...s,
    version: s.version + 1,
    groups: s.groups.map((g) => ({ ...g, proxyPool: pool })),
  });
}

/** Which proxies carried each key (by the key's bytes in their tunnels). */
function carriers(proxies: TestProxy[]): Map<string, number[]> {
  return new Map(KEYS.map((k) => [k, proxies.flatMap((p, i) => (p.seen.bytes.includes(k) ? [i] : []))]));
}

describe('a group proxy pool on the request path', { timeout: 30_000 }, () => {
  it('sends each key through one proxy of the pool, and a dead proxy costs no key', async () => {
    const fake = await started(startFakeUpstream());
    const { proxies, pool } = await started(startProxyPool());
    const gw = await started(
      startGateway({
        groups: [
          {
            name: 'g',
            upstreams: [fake.url],
            keys: KEYS,
            config: { blacklistThreshold: 1 },
          },
        ],
      }),
    );
    withPool(gw, pool);
    for (let i = 0; i < 3 * KEYS.length; i++)
      expect((await postJson(`${gw.base('g')}/v1/chat/completions`, chatBody())).status).toBe(200);
    const pinned = carriers(proxies);
    for (const k of KEYS) expect(pinned.get(k)).toHaveLength(1);
    expect(new Set([...pinned.values()].flat()).size).toBeGreaterThan(1);

    // The proxy that carried the first key goes away: its keys fail over, none is charged, requests still succeed.
    const deadIndex = pinned.get(KEYS[0] as string)?.[0] as number;
    await proxies[deadIndex]?.close();
    gw.records.length = 0;
    for (let i = 0; i < 2 * KEYS.length; i++)
      expect((await postJson(`${gw.base('g')}/v1/chat/completions`, chatBody())).status).toBe(200);
    for (const k of KEYS) expect(gw.health(k)).toMatchObject({ status: 'active', failureCount: 0 });
    const attempts = (await gw.waitForRecords(2 * KEYS.length)).flatMap((r) => r.attempts);
    expect(attempts.some((a) => a.class === 'proxy')).toBe(true);
    // Every attempt names the proxy it left through, credentials masked; the failed ones name the dead proxy.
    const shown = new Set(pool.map(maskProxyUrl));
    expect(shown.has('http://…@127.0.0.1:' + String(proxies[2]?.port))).toBe(true);
    for (const a of attempts) expect(shown.has(a.proxy ?? '')).toBe(true);
    const deadPort = new URL(pool[deadIndex] as string).port;
    for (const a of attempts.filter((x) => x.class === 'proxy')) expect(a.proxy).toContain(`:${deadPort}`);
    expect(JSON.stringify(attempts)).not.toContain('pool-pass-1');
    expect(gw.clients.proxyHealth.isPenalized(pool[deadIndex] as string)).toBe(true);
  });
});
