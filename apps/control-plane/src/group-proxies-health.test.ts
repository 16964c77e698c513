import type { Group, Key, ProxyHealthList, ProxyPenalty } from '@keyway/contracts';
import { proxyForKey, proxyHealthListSchema } from '@keyway/contracts';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { ErrorBody, Fixture } from './testing/fixture';
import { createFixture, standardGroup } from './testing/fixture';

let fx: Fixture;
beforeAll(async () => {
  fx = await createFixture();
});
afterAll(() => fx.close());

const PASS = 'proxy-secret-pass-4d2b';
const POOL = [
  `socks5://alice:${PASS}@10.1.0.1:1080`,
  'http://10.1.0.2:3128',
  `http://bob:${PASS}@10.1.0.3:3128`,
];
/** What the gateways report: read by full URL, as the control plane asks. */
let penalties = new Map<string, ProxyPenalty>();
const asked: string[][] = [];

beforeEach(async () => {
  await fx.reset();
  penalties = new Map();
  asked.length = 0;
  fx.deps.proxyPenalties = (urls) => {
    asked.push([...urls]);
    return Promise.resolve(new Map([...penalties].filter(([u]) => urls.includes(u))));
  };
});

async function groupWithKeys(extra: Record<string, unknown>, count: number): Promise<Group> {
  const res = await fx.req<Group>('POST', '/api/groups', standardGroup('egress', extra));
  expect(res.status, res.text).toBe(201);
  const keys = Array.from({ length: count }, (_, i) => `sk-test-proxy-health-${i}-aaaaaaaa`);
  expect((await fx.req('POST', `/api/groups/${res.json.id}/keys`, { keys })).status).toBe(200);
  return res.json;
}

async function proxiesOf(id: number) {
  const res = await fx.req<ProxyHealthList>('GET', `/api/groups/${id}/proxies`);
  expect(res.status, res.text).toBe(200);
  expect(res.text).not.toContain(PASS);
  return { ...proxyHealthListSchema.parse(res.json), text: res.text };
}

describe('GET /api/groups/{id}/proxies', () => {
  it('shows each pool proxy masked, a penalised one unhealthy with why, and the keys pinned to each', async () => {
    const group = await groupWithKeys({ proxyPool: POOL }, 9);
    const until = Date.now() + 30_000;
    penalties.set(POOL[0] as string, { until, error: 'proxy socks5://…@10.1.0.1:1080 failed: ECONNREFUSED' });
    const { items } = await proxiesOf(group.id);
    expect(asked).toEqual([POOL]);
    expect(items.map((i) => i.proxy)).toEqual(group.proxyPool);
    expect(items[0]).toMatchObject({
      healthy: false,
      penalizedUntil: new Date(until).toISOString(),
      lastError: 'proxy socks5://…@10.1.0.1:1080 failed: ECONNREFUSED',
    });
    for (const i of items.slice(1))
      expect(i).toMatchObject({ healthy: true, penalizedUntil: null, lastError: null });

    const keys = (await fx.req<{ items: Key[] }>('GET', `/api/groups/${group.id}/keys`)).json.items;
    const expected = POOL.map((p) => keys.filter((k) => proxyForKey(POOL, k.id) === p).length);
    expect(items.map((i) => i.keys)).toEqual(expected);
    expect(expected.reduce((a, b) => a + b)).toBe(9);
  });

  it("shows the group's proxyUrl, else the global one, carrying every key; none for a direct group", async () => {
    const own = await groupWithKeys({ config: { proxyUrl: `http://carol:${PASS}@10.1.0.9:3128` } }, 2);
    expect((await proxiesOf(own.id)).items).toEqual([
      { proxy: 'http://…@10.1.0.9:3128', healthy: true, penalizedUntil: null, lastError: null, keys: 2 },
    ]);

    const plain = await fx.req<Group>('POST', '/api/groups', standardGroup('plain'));
    expect((await proxiesOf(plain.json.id)).items).toEqual([]);
    const put = await fx.req('PATCH', '/api/settings', { proxyUrl: `socks5h://dave:${PASS}@10.1.0.8:1080` });
    expect(put.status, put.text).toBe(200);
    expect((await proxiesOf(plain.json.id)).items.map((i) => i.proxy)).toEqual(['socks5h://…@10.1.0.8:1080']);
  });

  it('answers 404 for an unknown group and 503 where no gateway health is readable', async () => {
    expect((await fx.req<ErrorBody>('GET', '/api/groups/9999/proxies')).status).toBe(404);
    const group = await groupWithKeys({ proxyPool: POOL }, 1);
    delete fx.deps.proxyPenalties;
    expect((await fx.req<ErrorBody>('GET', `/api/groups/${group.id}/proxies`)).status).toBe(503);
  });
});
