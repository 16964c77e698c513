import { startFakeUpstream } from '@keyway/testing';
import type { FakeUpstream } from '@keyway/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { chatBody, postJson, startGateway } from './harness';
import type { GroupSpec, KeySpec, TestGateway } from './harness';

const SA = ['sk-agg-sa-aaaaaaaaaaaaaaaa0001', 'sk-agg-sa-aaaaaaaaaaaaaaaa0002'];
const SB = ['sk-agg-sb-bbbbbbbbbbbbbbbb0003'];

let fake: FakeUpstream | undefined;
let gw: TestGateway | undefined;
afterEach(async () => {
  await gw?.close();
  await fake?.close();
  gw = undefined;
  fake = undefined;
});

async function setup(
  opts: {
    sa?: ReadonlyArray<string | KeySpec>;
    sb?: ReadonlyArray<string | KeySpec>;
    weights?: [number, number];
    sub?: Partial<GroupSpec>;
  } = {},
): Promise<{ fake: FakeUpstream; gw: TestGateway }> {
  fake = await startFakeUpstream();
  const [wa, wb] = opts.weights ?? [3, 1];
  gw = await startGateway({
    groups: [
      { name: 'sa', upstreams: [fake.url], keys: opts.sa ?? SA, proxyKeys: [], ...opts.sub },
      { name: 'sb', upstreams: [fake.url], keys: opts.sb ?? SB, proxyKeys: [], ...opts.sub },
      {
        name: 'agg',
        type: 'aggregate',
        subGroups: [
          { group: 'sa', weight: wa },
          { group: 'sb', weight: wb },
        ],
      },
    ],
  });
  return { fake, gw };
}

const sub = (key: string | undefined) =>
  key && SA.includes(key) ? 'sa' : key && SB.includes(key) ? 'sb' : 'other';

async function burst(url: string, total: number, concurrency = 20): Promise<number[]> {
  const statuses: number[] = [];
  for (let i = 0; i < total; i += concurrency) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(concurrency, total - i) }, () => postJson(url, chatBody())),
    );
    statuses.push(...batch.map((r) => r.status));
  }
  return statuses;
}

describe('aggregate groups', { timeout: 30_000 }, () => {
  it('honours sub-group weights (3:1 over 400 requests, ±5%)', async () => {
    const { fake, gw } = await setup();
    const statuses = await burst(`${gw.base('agg')}/v1/chat/completions`, 400);
    expect(statuses.every((s) => s === 200)).toBe(true);
    const a = fake.requests.filter((r) => sub(r.key) === 'sa').length;
    const b = fake.requests.filter((r) => sub(r.key) === 'sb').length;
    expect(a + b).toBe(400);
    expect(Math.abs(a / 400 - 0.75)).toBeLessThanOrEqual(0.05);
    expect(Math.abs(b / 400 - 0.25)).toBeLessThanOrEqual(0.05);
  });

  it('logs the parent and the serving sub-group', async () => {
    const { fake, gw } = await setup();
    for (let i = 0; i < 4; i++)
      expect((await postJson(`${gw.base('agg')}/v1/chat/completions`, chatBody())).status).toBe(200);
    const records = await gw.waitForRecords(4);
    for (const [i, r] of records.entries()) {
      const servedBy = sub(fake.requests[i]?.key);
      expect(r).toMatchObject({
        parentGroupName: 'agg',
        parentGroupId: gw.groupId('agg'),
        groupName: servedBy,
        groupId: gw.groupId(servedBy),
      });
    }
    expect(new Set(records.map((r) => r.groupName))).toEqual(new Set(['sa', 'sb']));
  });

  it('skips a sub-group with no usable key', async () => {
    const { fake, gw } = await setup({ sb: SB.map((value) => ({ value, status: 'disabled' as const })) });
    const statuses = await burst(`${gw.base('agg')}/v1/chat/completions`, 40);
    expect(statuses.every((s) => s === 200)).toBe(true);
    expect(fake.requests.every((r) => sub(r.key) === 'sa')).toBe(true);
  });

  it('skips a sub-group whose keys are all cooling', async () => {
    const until = Date.now() + 60_000;
    const { fake, gw } = await setup({
      sa: SA.map((value) => ({ value, status: 'cooling' as const, cooldownUntil: until })),
    });
    const statuses = await burst(`${gw.base('agg')}/v1/chat/completions`, 20);
    expect(statuses.every((s) => s === 200)).toBe(true);
    expect(fake.requests.every((r) => sub(r.key) === 'sb')).toBe(true);
  });

  it("fails over to another sub-group when the chosen one's keys are blacklisted mid-request", async () => {
    const { fake, gw } = await setup({ weights: [10, 1] });
    for (const k of SA) fake.setKeyBehaviour(k, { status: 401 });
    const res = await postJson(`${gw.base('agg')}/v1/chat/completions`, chatBody());
    expect(res.status).toBe(200);
    expect(fake.requests.map((r) => sub(r.key))).toEqual(['sa', 'sa', 'sb']);
    const [record] = await gw.waitForRecords(1);
    expect(record).toMatchObject({ parentGroupName: 'agg', groupName: 'sb', success: true });
    expect(record?.attempts.map((a) => a.class)).toEqual(['auth', 'auth', 'ok']);
  });

  it("fails over to another sub-group when the chosen one's keys all answer 500 mid-request", async () => {
    const { fake, gw } = await setup({
      weights: [10, 1],
      sub: { config: { blacklistThreshold: 3, maxRetries: 3 } },
    });
    for (const k of SA) fake.setKeyBehaviour(k, { status: 500 });
    const res = await postJson(`${gw.base('agg')}/v1/chat/completions`, chatBody());
    expect(res.status).toBe(200);
    expect(fake.requests.at(-1)?.key).toBe(SB[0]);
    const [record] = await gw.waitForRecords(1);
    expect(record).toMatchObject({ parentGroupName: 'agg', groupName: 'sb' });
  });

  it('applies the serving sub-group’s header rules and credentials', async () => {
    const { fake, gw } = await setup({
      sub: { headerRules: [{ action: 'set', key: 'x-served-by', value: '${GROUP_NAME}' }] },
    });
    for (let i = 0; i < 4; i++)
      expect((await postJson(`${gw.base('agg')}/v1/chat/completions`, chatBody())).status).toBe(200);
    for (const r of fake.requests) {
      expect(r.headers['x-served-by']).toBe(sub(r.key));
      expect(r.headers.authorization).toBe(`Bearer ${r.key}`);
    }
  });

  it('a sub-group’s own proxy key does not open the aggregate, the aggregate’s does', async () => {
    fake = await startFakeUpstream();
    gw = await startGateway({
      groups: [
        { name: 'sa', upstreams: [fake.url], keys: SA, proxyKeys: ['kw-sub-only-proxy-key-1'] },
        { name: 'agg', type: 'aggregate', subGroups: [{ group: 'sa', weight: 1 }] },
      ],
    });
    const viaSubKey = await postJson(`${gw.base('agg')}/v1/chat/completions`, chatBody(), {
      authorization: 'Bearer kw-sub-only-proxy-key-1',
    });
    expect(viaSubKey.status).toBe(401);
    expect((await postJson(`${gw.base('agg')}/v1/chat/completions`, chatBody())).status).toBe(200);
  });
});
