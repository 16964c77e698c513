import { defaultSettings } from '@keyway/contracts';
import type { EffectiveSettings } from '@keyway/contracts';
import { proxyHealthKey, redisProxyPenalties } from '@keyway/server';
import { freePort, randomPrefix, requireService, startFakeUpstream } from '@keyway/testing';
import { Redis } from 'ioredis';
import { request } from 'undici';
import { afterAll, describe, expect, it } from 'vitest';
import { shareProxyHealth } from './proxy-health-share';
import { createUpstreamClients } from './upstream-clients';

const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const hasRedis = await requireService('redis', url);

const settings: EffectiveSettings = { ...defaultSettings, proxyKeys: [], connectTimeoutSeconds: 2 };
const PASS = 'proxy-secret-share-7e1f';

/** Polls `read` until `done` holds (the share writes in the background). */
async function until<T>(read: () => Promise<T>, done: (v: T) => boolean): Promise<T> {
  for (let i = 0; ; i++) {
    const v = await read();
    if (done(v) || i >= 100) return v;
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe.skipIf(!hasRedis)('proxy penalties shared through Redis', () => {
  const redis = new Redis(url);
  const prefix = `${randomPrefix('kwph')}:`;
  afterAll(async () => {
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
  });

  it("publishes a gateway's proxy penalty with why, masked, and clears it once the proxy answers", async () => {
    const fake = await startFakeUpstream();
    const clients = createUpstreamClients();
    const errors: unknown[] = [];
    const store = redisProxyPenalties({ redis, prefix });
    const share = shareProxyHealth(clients.proxyHealth, store, { onError: (e) => errors.push(e) });
    try {
      const proxy = `http://user:${PASS}@127.0.0.1:${await freePort()}`;
      const origin = new URL(fake.url).origin;
      // Nothing listens there: the request fails as the proxy's, the recorder penalises the proxy.
      await expect(
        request(`${origin}/v1/models`, { dispatcher: clients.get(origin, settings, proxy) }),
      ).rejects.toMatchObject({ code: 'KW_PROXY_FAILED' });
      const started = Date.now();
      clients.proxyHealth.fail(proxy);

      const seen = await until(
        () => store.read([proxy]),
        (m) => m.has(proxy),
      );
      const penalty = seen.get(proxy);
      expect(penalty?.until).toBeGreaterThanOrEqual(started + 1000);
      expect(penalty?.error).toMatch(/^proxy http:\/\/…@127\.0\.0\.1:\d+ failed: ECONNREFUSED/);
      const keys = await redis.keys(`${prefix}*`);
      expect(keys).toHaveLength(1);
      expect(keys[0]).not.toContain('127.0.0.1');
      expect(JSON.stringify(await redis.hgetall(keys[0] as string))).not.toContain(PASS);
      // The hash goes by itself when the penalty would have ended.
      expect(await redis.pttl(keys[0] as string)).toBeLessThanOrEqual(1000);

      clients.proxyHealth.succeed(proxy);
      expect(
        await until(
          () => store.read([proxy]),
          (m) => !m.has(proxy),
        ),
      ).toEqual(new Map());
      expect(errors).toEqual([]);
    } finally {
      await share.close();
      await clients.close();
      await fake.close();
    }
  });

  it('shows the longest penalty any gateway holds, until it ends', async () => {
    let now = 1_000_000;
    const store = redisProxyPenalties({ redis, prefix, now: () => now });
    const proxy = 'socks5h://10.9.0.1:1080';
    await store.write('gw-a', proxy, { until: now + 60_000, error: 'a' });
    await store.write('gw-b', proxy, { until: now + 2_000, error: 'b' });
    expect((await store.read([proxy, 'http://10.9.0.2:3128'])).get(proxy)).toEqual({
      until: now + 60_000,
      error: 'a',
    });
    // A shorter penalty written last does not cut the longer one's time in Redis.
    expect(await redis.pttl(proxyHealthKey(prefix, proxy))).toBeGreaterThan(50_000);
    now += 10_000;
    await store.write('gw-a', proxy, null);
    expect(await store.read([proxy])).toEqual(new Map());
  });
});
