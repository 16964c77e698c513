import type { Group, Key } from '@keyway/contracts';
import { proxyForKey } from '@keyway/contracts';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { buildSnapshot } from './snapshot';
import type { ErrorBody, Fixture } from './testing/fixture';
import { createFixture, standardGroup } from './testing/fixture';

let fx: Fixture;
beforeAll(async () => {
  fx = await createFixture();
});
afterAll(() => fx.close());
beforeEach(async () => {
  await fx.reset();
});

const PASS = 'proxy-secret-pass-9c1e';
const POOL = [
  `socks5://alice:${PASS}@10.1.0.1:1080`,
  'http://10.1.0.2:3128',
  `https://bob:${PASS}@proxy.example:8443`,
];

async function create(extra: Record<string, unknown>): Promise<{ group: Group; text: string }> {
  const res = await fx.req<Group>('POST', '/api/groups', standardGroup('egress', extra));
  expect(res.status, res.text).toBe(201);
  return { group: res.json, text: res.text };
}

async function snapshotGroup(id: number) {
  return (await buildSnapshot(fx.db, 1)).groups.find((g) => g.id === id);
}

describe('group egress proxies', () => {
  it('shows the proxy pool and proxyUrl masked, and hands the gateways the full URLs', async () => {
    const { group, text } = await create({
      proxyPool: POOL,
      config: { proxyUrl: `http://carol:${PASS}@10.1.0.9:3128` },
    });
    expect(text).not.toContain(PASS);
    expect(group.proxyPool).toEqual([
      'socks5://…@10.1.0.1:1080',
      'http://10.1.0.2:3128',
      'https://…@proxy.example:8443',
    ]);
    expect(group.config.proxyUrl).toBe('http://…@10.1.0.9:3128');
    const got = await fx.req<Group>('GET', `/api/groups/${group.id}`);
    expect(got.text).not.toContain(PASS);
    const snap = await snapshotGroup(group.id);
    expect(snap?.proxyPool).toEqual(POOL);
    expect(snap?.config.proxyUrl).toBe(`http://carol:${PASS}@10.1.0.9:3128`);
  });

  it('keeps the stored URLs a group sent back masked stands for, and refuses a masked one it does not know', async () => {
    const { group } = await create({
      proxyPool: POOL,
      config: { proxyUrl: `http://carol:${PASS}@10.1.0.9:3128` },
    });
    const back = {
      proxyPool: [...group.proxyPool.slice(0, 2), 'socks5h://10.1.0.4:1080'],
      config: group.config,
    };
    const res = await fx.req<Group>('PATCH', `/api/groups/${group.id}`, back);
    expect(res.status, res.text).toBe(200);
    const snap = await snapshotGroup(group.id);
    expect(snap?.proxyPool).toEqual([POOL[0], POOL[1], 'socks5h://10.1.0.4:1080']);
    expect(snap?.config.proxyUrl).toBe(`http://carol:${PASS}@10.1.0.9:3128`);

    const unknown = await fx.req<ErrorBody>('PATCH', `/api/groups/${group.id}`, {
      proxyPool: ['socks5://…@10.9.9.9:1080'],
    });
    expect(unknown.status).toBe(400);
    expect(unknown.json.error.details?.[0]?.path).toBe('proxyPool.0');
  });

  it('refuses a proxy the egress policy refuses, and a URL that is not a proxy URL', async () => {
    const metadata = await fx.req<ErrorBody>(
      'POST',
      '/api/groups',
      standardGroup('egress', { proxyPool: ['http://169.254.169.254:80'] }),
    );
    expect(metadata.status).toBe(400);
    expect(metadata.json.error.details?.[0]).toMatchObject({ path: 'proxyPool.0' });
    const ftp = await fx.req<ErrorBody>(
      'POST',
      '/api/groups',
      standardGroup('egress', { proxyPool: ['ftp://p:21'] }),
    );
    expect(ftp.status).toBe(400);
  });

  it("shows each key's proxy (masked) when the group has a pool, and none without one", async () => {
    const { group } = await create({ proxyPool: POOL });
    const keys = Array.from({ length: 6 }, (_, i) => `sk-test-egress-key-${i}-aaaaaaaa`);
    expect((await fx.req('POST', `/api/groups/${group.id}/keys`, { keys })).status).toBe(200);
    const list = await fx.req<{ items: Key[] }>('GET', `/api/groups/${group.id}/keys`);
    expect(list.text).not.toContain(PASS);
    for (const k of list.json.items) {
      const pinned = proxyForKey(POOL, k.id) as string;
      expect((k as Key & { proxy?: string }).proxy).toBe(group.proxyPool[POOL.indexOf(pinned)]);
    }

    const plain = await fx.req<Group>('POST', '/api/groups', standardGroup('direct'));
    await fx.req('POST', `/api/groups/${plain.json.id}/keys`, { keys: ['sk-test-direct-key-aaaaaaaa'] });
    const direct = await fx.req<{ items: Key[] }>('GET', `/api/groups/${plain.json.id}/keys`);
    expect(direct.json.items[0]).not.toHaveProperty('proxy');
  });
});
