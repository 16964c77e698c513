import type { LookupAddress } from 'node:dns';
import type { Resolve } from '@keyway/server';
import { proxyForKey } from '@keyway/contracts';
import {
  freePort,
  startBystander,
  startFakeUpstream,
  startHttpProxy,
  startProxyPool,
  startSocks5Proxy,
} from '@keyway/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { validationDispatcher } from './egress-dispatcher';
import type { ValidationGroup } from './groups';
import { blamesKey, validateKey } from './validate-key';

const KEY = 'sk-validate-egress-0123456789abcdef';

/** A local listener that records connections and headers (it would accept the key as valid). */
function listener() {
  return startBystander('{"data":[]}');
}

const open: Array<{ close: () => Promise<void> }> = [];
afterEach(async () => {
  for (const o of open.splice(0)) await o.close();
});

/** Closed after the test. */
const opened = <T extends { close: () => Promise<void> }>(it: T): T => {
  open.push(it);
  return it;
};

const group = (url: string, extra: Partial<ValidationGroup> = {}): ValidationGroup => ({
  name: 'g',
  channel: 'openai',
  upstreams: [{ url, weight: 1 }],
  testModel: 'gpt-4.1-nano',
  validationEndpoint: '',
  headerRules: [],
  config: {},
  ...extra,
});

const deps = (
  settings: { egressBlockPrivate?: boolean; proxyUrl?: string | null } = {},
  extra: Record<string, unknown> = {},
) => ({
  loadSettings: () => Promise.resolve(settings),
  ...extra,
});

describe('key validation and the egress policy', () => {
  it('reaches a loopback upstream by default', async () => {
    const up = await listener();
    open.push(up);
    const r = await validateKey(deps(), group(`http://127.0.0.1:${up.port}`), KEY, { timeoutMs: 2000 });
    expect(r.valid).toBe(true);
  });

  it('with egressBlockPrivate, never connects to a loopback upstream and does not blame the key', async () => {
    const up = await listener();
    open.push(up);
    const r = await validateKey(
      deps({ egressBlockPrivate: true }),
      group(`http://127.0.0.1:${up.port}`),
      KEY,
      {
        timeoutMs: 2000,
      },
    );
    expect(r).toMatchObject({ valid: false, statusCode: 0, class: 'upstream' });
    expect(r.error).toMatch(/egress refused: .*egressBlockPrivate/);
    expect(blamesKey(r)).toBe(false);
    expect(up.seen.connections).toBe(0);
  });

  it('refuses a name that resolves to the metadata address when connecting', async () => {
    const resolve = ((_h: string, o: { all?: boolean }, cb: (...a: unknown[]) => void) => {
      const entry: LookupAddress = { address: '169.254.169.254', family: 4 };
      setImmediate(() => (o.all ? cb(null, [entry]) : cb(null, entry.address, 4)));
    }) as unknown as Resolve;
    const dispatcher = validationDispatcher({ blockPrivate: false, resolve });
    const r = await validateKey(deps({}, { dispatcher }), group('http://rebind.example'), KEY, {
      timeoutMs: 2000,
    });
    expect(r.valid).toBe(false);
    expect(r.error).toMatch(/169\.254\.169\.254 is a cloud metadata service address/);
    expect(r.error).not.toContain(KEY);
  });

  it("refuses this process's own /proxy port", async () => {
    const up = await listener();
    open.push(up);
    const r = await validateKey(deps({}, { selfPort: up.port }), group(`http://localhost:${up.port}`), KEY, {
      timeoutMs: 2000,
    });
    expect(r.error).toMatch(/this gateway itself/);
    expect(up.seen.connections).toBe(0);
  });
});

describe('key validation through the egress proxy', { timeout: 20_000 }, () => {
  it("leaves through the pool proxy the key is pinned to, as the gateway's traffic does", async () => {
    const fake = opened(await startFakeUpstream());
    const { proxies, pool } = opened(await startProxyPool());
    for (const keyId of [1, 2, 3, 4, 5, 6]) {
      const key = `${KEY}-${keyId}`;
      const r = await validateKey(deps(), group(fake.url, { proxyPool: pool }), key, { keyId });
      expect(r).toMatchObject({ valid: true, class: 'ok' });
      const pinned = pool.indexOf(proxyForKey(pool, keyId) ?? '');
      const carriers = proxies.flatMap((p, i) => (p.seen.bytes.includes(key) ? [i] : []));
      expect(carriers).toEqual([pinned]);
    }
    expect(fake.requests).toHaveLength(6);
  });

  it("takes the group's proxyUrl, else the global one", async () => {
    const fake = opened(await startFakeUpstream());
    const groupProxy = opened(await startHttpProxy());
    const globalProxy = opened(await startSocks5Proxy());
    const global = deps({ proxyUrl: `socks5://127.0.0.1:${globalProxy.port}` });
    const own = group(fake.url, { config: { proxyUrl: `http://127.0.0.1:${groupProxy.port}` } });
    expect(await validateKey(global, own, `${KEY}-own`, { keyId: 1 })).toMatchObject({ valid: true });
    expect(await validateKey(global, group(fake.url), `${KEY}-global`, { keyId: 1 })).toMatchObject({
      valid: true,
    });
    expect(groupProxy.seen.bytes).toContain(`${KEY}-own`);
    expect(groupProxy.seen.bytes).not.toContain(`${KEY}-global`);
    expect(globalProxy.seen.bytes).toContain(`${KEY}-global`);
  });

  it('never blames the key when its proxy is down or refuses, and never shows the proxy password', async () => {
    const fake = opened(await startFakeUpstream());
    // A port nothing listens on: a proxy that is down.
    const port = await freePort();
    const down = await validateKey(
      deps({ proxyUrl: `http://user:proxy-secret-1@127.0.0.1:${port}` }),
      group(fake.url),
      KEY,
      { keyId: 1 },
    );
    expect(down).toMatchObject({ valid: false, statusCode: 0, class: 'proxy' });
    expect(blamesKey(down)).toBe(false);
    expect(down.error).toContain(`http://…@127.0.0.1:${port}`);
    expect(down.error).not.toContain('proxy-secret-1');

    const strict = opened(await startHttpProxy({ user: 'u', pass: 'right-pass' }));
    const refused = await validateKey(
      deps(),
      group(fake.url, { config: { proxyUrl: `http://u:wrong-pass@127.0.0.1:${strict.port}` } }),
      KEY,
      { keyId: 1 },
    );
    expect(refused).toMatchObject({ valid: false, class: 'proxy' });
    expect(refused.error).toContain('407');
    expect(blamesKey(refused)).toBe(false);
    expect(fake.requests).toHaveLength(0);
  });

  it('validates a key whose pinned proxy a gateway penalised through the proxy the gateway uses instead', async () => {
    const fake = opened(await startFakeUpstream());
    const { proxies, pool } = opened(await startProxyPool());
    const dead = pool[0] as string;
    const keyId = [1, 2, 3, 4, 5, 6, 7, 8, 9].find((id) => proxyForKey(pool, id) === dead) as number;
    await proxies[0]?.close();
    const instead = proxyForKey(pool, keyId, (u) => u === dead);
    const penalised = {
      ...deps(),
      proxyPenalties: () => Promise.resolve(new Map([[dead, { until: Date.now() + 60_000, error: null }]])),
    };
    const r = await validateKey(penalised, group(fake.url, { proxyPool: pool }), KEY, { keyId });
    expect(r).toMatchObject({ valid: true });
    expect(proxies[pool.indexOf(instead as string)]?.seen.bytes).toContain(KEY);
    // Without the gateways' view it goes to its pinned proxy, which is down: not the key's fault.
    const pinned = await validateKey(deps(), group(fake.url, { proxyPool: pool }), KEY, { keyId });
    expect(pinned).toMatchObject({ valid: false, class: 'proxy' });
  });
});
