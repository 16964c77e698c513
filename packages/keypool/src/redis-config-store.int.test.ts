import type { ConfigSnapshot } from '@keyway/contracts';
import { defaultSettings } from '@keyway/contracts';
import { randomPrefix, requireService } from '@keyway/testing';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { RedisConfigStore } from './redis-config-store';

const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const hasRedis = await requireService('redis', url);

const snapshot = (version: number, maxRetries = 3): ConfigSnapshot => {
  const { proxyKeys: _omit, ...settings } = defaultSettings;
  return {
    version,
    settings: { ...settings, maxRetries },
    proxyKeyHashes: [],
    groups: [],
    accessKeys: [],
    prices: [],
  };
};

describe.skipIf(!hasRedis)('RedisConfigStore (real Redis)', () => {
  const redis = new Redis(url);
  const prefix = `${randomPrefix('config')}:`;
  afterAll(async () => {
    const names = await redis.keys(`${prefix}*`);
    if (names.length > 0) await redis.del(...names);
    redis.disconnect();
  });

  it('stores a snapshot with a growing version that gateways can poll and read', async () => {
    const store = new RedisConfigStore(redis, prefix);
    expect(await store.version()).toBeNull();
    expect(await store.read()).toBeNull();
    const v1 = await store.publish((v) => Promise.resolve(snapshot(v, 1)));
    const v2 = await store.publish((v) => Promise.resolve(snapshot(v, 2)));
    expect(v2).toBeGreaterThan(v1);
    expect(await store.version()).toBe(v2);
    expect(await store.read()).toMatchObject({ version: v2, settings: { maxRetries: 2 } });
  });

  it('never lets a snapshot built earlier overwrite a newer one', async () => {
    const store = new RedisConfigStore(redis, `${prefix}race:`);
    let releaseSlow: () => void = () => undefined;
    const slowGate = new Promise<void>((resolve) => (releaseSlow = resolve));
    const slow = store.publish(async (v) => {
      await slowGate;
      return snapshot(v, 1);
    });
    await new Promise((resolve) => setTimeout(resolve, 20));
    const fast = await store.publish((v) => Promise.resolve(snapshot(v, 2)));
    releaseSlow();
    expect(await slow).toBe(fast);
    expect(await store.read()).toMatchObject({ version: fast, settings: { maxRetries: 2 } });
  });

  it('hands out versions above any earlier one even after Redis lost the counter', async () => {
    const p = `${prefix}flush:`;
    const store = new RedisConfigStore(redis, p);
    const before = await store.publish((v) => Promise.resolve(snapshot(v)));
    await redis.del(`${p}config`, `${p}config:version`, `${p}config:counter`);
    const after = await store.publish((v) => Promise.resolve(snapshot(v)));
    expect(after).toBeGreaterThanOrEqual(before);
    expect(await store.version()).toBe(after);
  });
});
