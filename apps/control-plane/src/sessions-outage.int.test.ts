import { freePort, startProcess } from '@keyway/testing';
import type { ManagedProcess } from '@keyway/testing';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createApp } from './app';
import type { LogPort } from '@keyway/core';
import { RedisSessionStore } from './session-store-redis';
import { SESSION_CACHE_MS, SESSION_STORE_UNAVAILABLE } from './sessions';
import type { ErrorBody, Fixture, Requester } from './testing/fixture';
import { createFixture, createRequester } from './testing/fixture';

const REDIS_SERVER = process.env.REDIS_SERVER_BIN ?? 'redis-server';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * A redis-server of this file's own, stopped and restarted by the test (the shared one must stay up for everyone
 * else). Nothing persisted: what it held is gone after a restart, as after a real crash without persistence.
 */
async function startRedis(port: number): Promise<ManagedProcess> {
  return startProcess({
    command: REDIS_SERVER,
    args: ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    readyLine: /Ready to accept connections/,
  });
}

describe('admin sessions while Redis is down (a private redis-server, stopped and restarted)', () => {
  let fx: Fixture;
  let port: number;
  let server: ManagedProcess;
  let redis: Redis;
  let req: Requester;
  const logger = { info: vi.fn(), warn: vi.fn(), error: vi.fn() } satisfies LogPort;

  beforeAll(async () => {
    fx = await createFixture();
    port = await freePort();
    server = await startRedis(port);
    // The control plane's client options (packages/server connectRedis): it reconnects on its own.
    redis = new Redis(`redis://127.0.0.1:${port}`, {
      maxRetriesPerRequest: 2,
      connectTimeout: 5000,
      retryStrategy: (times) => Math.min(100 * times, 1000),
    });
    redis.on('error', () => undefined);
    req = createRequester(
      createApp({ ...fx.deps, logger, sessionStore: new RedisSessionStore(redis, 'kw:') }),
    );
  });
  afterAll(async () => {
    redis.disconnect();
    await server.stop('SIGKILL');
    await fx.close();
  });

  const asCookie = (cookie: string) =>
    ({ auth: false, cookie, headers: { origin: 'http://localhost' } }) as const;

  async function login(): Promise<string> {
    const res = await req('POST', '/api/auth/login', { authKey: fx.authKey }, { auth: false });
    expect(res.status).toBe(204);
    return (res.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
  }

  it('answers cookie callers 503 UNAVAILABLE with Retry-After (not 500), keeps bearer callers working, logs the outage once, and recovers', async () => {
    const cookie = await login();
    expect((await req('GET', '/api/groups', undefined, asCookie(cookie))).status).toBe(200);

    await server.stop('SIGKILL');
    await sleep(SESSION_CACHE_MS + 100);

    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) {
      const started = Date.now();
      const res = await req<ErrorBody>('GET', '/api/groups', undefined, asCookie(cookie));
      statuses.push(res.status);
      expect(res.json.error).toMatchObject({ code: 'UNAVAILABLE', message: SESSION_STORE_UNAVAILABLE });
      expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
      // Not stuck behind ioredis' reconnect loop either.
      expect(Date.now() - started).toBeLessThan(3000);
    }
    expect(statuses).toEqual([503, 503, 503, 503, 503]);
    const failedLogin = await req<ErrorBody>(
      'POST',
      '/api/auth/login',
      { authKey: fx.authKey },
      { auth: false },
    );
    expect(failedLogin.status).toBe(503);
    expect(failedLogin.headers.get('set-cookie')).toBeNull();
    expect((await req('GET', '/api/auth/sessions')).status).toBe(503);

    // The admin key still opens everything that does not need the session store.
    expect((await req('GET', '/api/groups')).status).toBe(200);
    expect((await req('GET', '/api/auth/session')).status).toBe(200);
    // A request without credentials is still a 401: it never asks the store.
    expect((await req('GET', '/api/groups', undefined, { auth: false })).status).toBe(401);

    const outageLines = logger.error.mock.calls.filter(([, msg]) => String(msg).includes('session store'));
    expect(outageLines).toHaveLength(1);
    expect(JSON.stringify(logger.error.mock.calls)).not.toContain(fx.authKey);

    server = await startRedis(port);
    const t0 = Date.now();
    while (redis.status !== 'ready') {
      expect(Date.now() - t0).toBeLessThan(10_000);
      await sleep(50);
    }
    // The restarted Redis lost the session (it was in memory only): the old cookie is simply no longer valid.
    expect((await req('GET', '/api/groups', undefined, asCookie(cookie))).status).toBe(401);
    const fresh = await login();
    expect((await req('GET', '/api/groups', undefined, asCookie(fresh))).status).toBe(200);
    expect(logger.info).toHaveBeenCalledWith({}, 'session store available again');
  });
});
