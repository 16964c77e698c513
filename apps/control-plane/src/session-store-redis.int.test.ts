import { randomPrefix, requireService } from '@keyway/testing';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { sessionRecord, sessionStoreContract } from './session-store-contract';
import { RedisSessionStore } from './session-store-redis';

const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const hasRedis = await requireService('redis', url);
const redis = new Redis(url);
const base = `${randomPrefix('sessions')}:`;
let n = 0;

afterAll(async () => {
  const names = await redis.keys(`${base}*`);
  if (names.length > 0) await redis.del(...names);
  redis.disconnect();
});

describe.skipIf(!hasRedis)('RedisSessionStore (real Redis)', () => {
  sessionStoreContract('redis', () => Promise.resolve(new RedisSessionStore(redis, `${base}${++n}:`)));

  it('keeps nothing of a session in Redis past its expiry', async () => {
    const prefix = `${base}ttl:`;
    const store = new RedisSessionStore(redis, prefix);
    const s = sessionRecord({ expiresAt: new Date(Date.now() + 60_000) });
    await store.create(s);
    expect(await redis.pttl(`${prefix}session:${s.id}`)).toBeGreaterThan(55_000);
    expect(await redis.pttl(`${prefix}session-token:${s.tokenHash}`)).toBeGreaterThan(55_000);
  });
});
