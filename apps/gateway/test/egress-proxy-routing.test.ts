import { startFakeUpstream, startHttpProxy, startSocks5Proxy } from '@keyway/testing';
import type { FakeUpstream, TestProxy } from '@keyway/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { chatBody, postJson, startGateway } from './harness';
import type { TestGateway } from './harness';

const A = 'sk-test-egress-aaaaaaaaaaaa0001';
const B = 'sk-test-egress-bbbbbbbbbbbb0002';
const PASS = 'proxy-pass-not-for-logs-7f3a';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function started<T extends { close: () => Promise<void> }>(p: Promise<T>): Promise<T> {
  const it = await p;
  cleanups.push(() => it.close());
  return it;
}

const gateway = (...args: Parameters<typeof startGateway>): Promise<TestGateway> =>
  started(startGateway(...args));

describe('egress proxies on the request path', { timeout: 30_000 }, () => {
  it('sends a group through its proxyUrl override, the global one elsewhere, and logs neither password', async () => {
    const fake: FakeUpstream = await started(startFakeUpstream());
    const groupProxy: TestProxy = await started(startSocks5Proxy({ user: 'grp', pass: PASS }));
    const globalProxy: TestProxy = await started(startHttpProxy({ user: 'glb', pass: PASS }));
    const gw = await gateway({
      settings: { proxyUrl: `http://glb:${PASS}@127.0.0.1:${globalProxy.port}` },
      groups: [
        {
          name: 'own',
          upstreams: [fake.url],
          keys: [A],
          config: { proxyUrl: `socks5h://grp:${PASS}@127.0.0.1:${groupProxy.port}` },
        },
        { name: 'global', upstreams: [fake.url], keys: [B] },
      ],
    });
    expect((await postJson(`${gw.base('own')}/v1/chat/completions`, chatBody())).status).toBe(200);
    expect((await postJson(`${gw.base('global')}/v1/chat/completions`, chatBody())).status).toBe(200);
    expect(fake.keysSeen()).toEqual([A, B]);
    expect(groupProxy.seen.bytes).toContain(A);
    expect(groupProxy.seen.bytes).not.toContain(B);
    expect(globalProxy.seen.bytes).toContain(B);
    expect(globalProxy.seen.credentials).toEqual([`glb:${PASS}`]);
    const records = await gw.waitForRecords(2);
    expect(JSON.stringify({ records, logs: gw.logs })).not.toContain(PASS);
  });

  it('a dead proxy is a proxy failure: the key stays active and uncharged, and the client gets a 502', async () => {
    const fake = await started(startFakeUpstream());
    const dead = await startHttpProxy();
    await dead.close();
    const proxyUrl = `http://user:${PASS}@127.0.0.1:${dead.port}`;
    const gw = await gateway({
      settings: { proxyUrl },
      groups: [{ name: 'g', upstreams: [fake.url], keys: [A, B], config: { blacklistThreshold: 1 } }],
    });
    for (let i = 0; i < 3; i++)
      expect((await postJson(`${gw.base('g')}/v1/chat/completions`, chatBody())).status).toBe(502);
    expect(fake.requests).toHaveLength(0);
    for (const k of [A, B]) expect(gw.health(k)).toMatchObject({ status: 'active', failureCount: 0 });
    const attempts = (await gw.waitForRecords(3)).flatMap((r) => r.attempts);
    expect(attempts.length).toBeGreaterThan(0);
    for (const a of attempts) expect(a.class).toBe('proxy');
    expect(JSON.stringify(attempts)).toContain(`http://…@127.0.0.1:${dead.port}`);
    expect(JSON.stringify(attempts)).not.toContain(PASS);
    expect(gw.clients.proxyHealth.isPenalized(proxyUrl)).toBe(true);
  });
});
