import type { Group, ProxyHealthList } from '@keyway/contracts';
import { redisProxyPenalties } from '@keyway/server';
import { randomPrefix, requireService } from '@keyway/testing';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Fixture } from './testing/fixture';
import { createFixture, standardGroup } from './testing/fixture';

const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const hasRedis = await requireService('redis', url);

const PASS = 'proxy-secret-int-8b3d';
const POOL = [`http://u:${PASS}@10.2.0.1:3128`, 'socks5h://10.2.0.2:1080'];

describe.skipIf(!hasRedis)('GET /api/groups/{id}/proxies over the penalties gateways share in Redis', () => {
  let fx: Fixture;
  const redis = new Redis(url);
  const prefix = `${randomPrefix('kwcp')}:`;
  const gateways = redisProxyPenalties({ redis, prefix });

  beforeAll(async () => {
    fx = await createFixture();
    fx.deps.proxyPenalties = redisProxyPenalties({ redis, prefix }).read;
  });
  afterAll(async () => {
    await fx.close();
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
  });

  const items = async (id: number) => {
    const res = await fx.req<ProxyHealthList>('GET', `/api/groups/${id}/proxies`);
    expect(res.status, res.text).toBe(200);
    expect(res.text).not.toContain(PASS);
    return res.json.items;
  };

  it('shows a proxy unhealthy while any gateway penalises it, with the longest penalty', async () => {
    const group = (await fx.req<Group>('POST', '/api/groups', standardGroup('shared', { proxyPool: POOL })))
      .json;
    const soon = Date.now() + 5_000;
    const later = Date.now() + 40_000;
    await gateways.write('gw-1', POOL[0] as string, {
      until: soon,
      error: 'proxy http://…@10.2.0.1:3128 failed: 407',
    });
    await gateways.write('gw-2', POOL[0] as string, {
      until: later,
      error: 'proxy http://…@10.2.0.1:3128 failed: EHOSTUNREACH',
    });
    expect(await items(group.id)).toEqual([
      {
        proxy: 'http://…@10.2.0.1:3128',
        healthy: false,
        penalizedUntil: new Date(later).toISOString(),
        lastError: 'proxy http://…@10.2.0.1:3128 failed: EHOSTUNREACH',
        keys: 0,
      },
      { proxy: 'socks5h://10.2.0.2:1080', healthy: true, penalizedUntil: null, lastError: null, keys: 0 },
    ]);

    await gateways.write('gw-2', POOL[0] as string, null);
    expect((await items(group.id))[0]).toMatchObject({
      healthy: false,
      penalizedUntil: new Date(soon).toISOString(),
    });
    await gateways.write('gw-1', POOL[0] as string, null);
    expect((await items(group.id))[0]).toMatchObject({ healthy: true, lastError: null });
  });
});
