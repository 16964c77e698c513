import { randomPrefix, requireService } from '@keyway/testing';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from './app';
import { RedisSessionStore } from './session-store-redis';
import { SESSION_CACHE_MS } from './sessions';
import type { Fixture, Requester } from './testing/fixture';
import { createFixture, createRequester } from './testing/fixture';

const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const hasRedis = await requireService('redis', url);

describe.skipIf(!hasRedis)('sessions across control-plane replicas (real Redis)', () => {
  const redis = new Redis(url);
  const prefix = `${randomPrefix('cp-sessions')}:`;
  let fx: Fixture;
  let replicas: Requester[];
  beforeAll(async () => {
    fx = await createFixture();
    // Two replicas: their own process memory (cache), one Redis.
    replicas = [1, 2].map(() =>
      createRequester(createApp({ ...fx.deps, sessionStore: new RedisSessionStore(redis, prefix) })),
    );
  });
  afterAll(async () => {
    const names = await redis.keys(`${prefix}*`);
    if (names.length > 0) await redis.del(...names);
    redis.disconnect();
    await fx.close();
  });

  const asCookie = (cookie: string) =>
    ({ auth: false, cookie, headers: { origin: 'http://localhost' } }) as const;

  it('lets a session opened on one replica work on another, and ends it everywhere on logout within a second', async () => {
    const [a, b] = replicas as [Requester, Requester];
    const login = await a('POST', '/api/auth/login', { authKey: fx.authKey }, { auth: false });
    expect(login.status).toBe(204);
    const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
    expect((await b('GET', '/api/groups', undefined, asCookie(cookie))).status).toBe(200);
    const list = await b<{ items: Array<{ current: boolean }> }>(
      'GET',
      '/api/auth/sessions',
      undefined,
      asCookie(cookie),
    );
    expect(list.json.items).toEqual([expect.objectContaining({ current: true })]);
    // Nothing in the database: distributed sessions live in Redis.
    expect(await fx.db.session.count()).toBe(0);

    expect((await a('POST', '/api/auth/logout', undefined, asCookie(cookie))).status).toBe(204);
    expect((await a('GET', '/api/groups', undefined, asCookie(cookie))).status).toBe(401);
    const t0 = Date.now();
    while ((await b('GET', '/api/groups', undefined, asCookie(cookie))).status !== 401) {
      expect(Date.now() - t0).toBeLessThan(1000);
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(Date.now() - t0).toBeLessThanOrEqual(SESSION_CACHE_MS + 100);
  });
});
