import { startFakeUpstream } from '@keyway/testing';
import type { FakeUpstream } from '@keyway/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { chatBody, closedPortUrl, postJson, startGateway } from './harness';
import type { TestGateway } from './harness';

const A = 'sk-up-aaaaaaaaaaaaaaaaaa0001';
const B = 'sk-up-bbbbbbbbbbbbbbbbbb0002';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function fakeUpstream(): Promise<FakeUpstream> {
  const f = await startFakeUpstream();
  cleanups.push(() => f.close());
  return f;
}

async function gateway(...args: Parameters<typeof startGateway>): Promise<TestGateway> {
  const g = await startGateway(...args);
  cleanups.push(() => g.close());
  return g;
}

/** Sends `total` chat requests, `concurrency` at a time; returns the statuses. */
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

describe('upstreams', { timeout: 30_000 }, () => {
  it('one upstream refusing connections: requests still succeed via the other, and no key is charged', async () => {
    const fake = await fakeUpstream();
    const dead = await closedPortUrl();
    const gw = await gateway({
      groups: [{ name: 'g', upstreams: [dead, fake.url], keys: [A, B], config: { blacklistThreshold: 1 } }],
    });
    const statuses = await burst(`${gw.base('g')}/v1/chat/completions`, 20, 1);
    expect(statuses.every((s) => s === 200)).toBe(true);
    expect(fake.requests).toHaveLength(20);
    for (const k of [A, B]) expect(gw.health(k)).toMatchObject({ status: 'active', failureCount: 0 });
    const records = await gw.waitForRecords(20);
    const deadAttempts = records.flatMap((r) => r.attempts).filter((a) => a.upstreamUrl === dead);
    expect(deadAttempts.length).toBeGreaterThan(0);
    // The dead upstream is penalised: far fewer attempts than the 10 a blind 1:1 rotation would send it.
    expect(deadAttempts.length).toBeLessThan(10);
    for (const a of deadAttempts) expect(a).toMatchObject({ class: 'upstream', statusCode: 502 });
  });

  it('the only upstream refusing connections: 502 in the dialect, keys not charged', async () => {
    const dead = await closedPortUrl();
    const gw = await gateway({
      groups: [
        { name: 'g', upstreams: [dead], keys: [A, B], config: { blacklistThreshold: 1, maxRetries: 1 } },
      ],
    });
    const res = await postJson(`${gw.base('g')}/v1/chat/completions`, chatBody());
    expect(res.status).toBe(502);
    const body = res.json<{ error: { type: string; message: string } }>();
    expect(body.error.type).toBe('server_error');
    expect(body.error.message).toMatch(/unreachable/i);
    for (const k of [A, B]) expect(gw.health(k)).toMatchObject({ status: 'active', failureCount: 0 });
  });

  it('weighted upstreams 3:1 get 3:1 of the traffic (400 requests, ±5%)', async () => {
    const heavy = await fakeUpstream();
    const light = await fakeUpstream();
    const gw = await gateway({
      groups: [
        {
          name: 'g',
          upstreams: [
            { url: heavy.url, weight: 3 },
            { url: light.url, weight: 1 },
          ],
          keys: [A, B],
        },
      ],
    });
    const statuses = await burst(`${gw.base('g')}/v1/chat/completions`, 400);
    expect(statuses.every((s) => s === 200)).toBe(true);
    expect(heavy.requests.length + light.requests.length).toBe(400);
    expect(Math.abs(heavy.requests.length / 400 - 0.75)).toBeLessThanOrEqual(0.05);
    expect(Math.abs(light.requests.length / 400 - 0.25)).toBeLessThanOrEqual(0.05);
  });

  it('an upstream with weight 0 gets no traffic', async () => {
    const used = await fakeUpstream();
    const unused = await fakeUpstream();
    const gw = await gateway({
      groups: [
        {
          name: 'g',
          upstreams: [
            { url: used.url, weight: 1 },
            { url: unused.url, weight: 0 },
          ],
          keys: [A],
        },
      ],
    });
    expect((await burst(`${gw.base('g')}/v1/chat/completions`, 20)).every((s) => s === 200)).toBe(true);
    expect(unused.requests).toHaveLength(0);
    expect(used.requests).toHaveLength(20);
  });
});
