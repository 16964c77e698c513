import { createServer, type AddressInfo } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { freePort } from './process';
import { isServiceReachable, randomPrefix, redactUrl, requireService, serviceAddress } from './services';

afterEach(() => {
  vi.unstubAllEnvs();
  vi.restoreAllMocks();
});

describe('requireService', () => {
  it('returns true when something listens', async () => {
    const srv = createServer((socket) => socket.end()).listen(0, '127.0.0.1');
    await new Promise((resolve) => srv.once('listening', resolve));
    const { port } = srv.address() as AddressInfo;
    try {
      expect(await requireService('redis', `redis://127.0.0.1:${port}`)).toBe(true);
    } finally {
      srv.close();
    }
  });

  it('warns loudly and returns false when unreachable outside CI', async () => {
    vi.stubEnv('CI', undefined);
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    const port = await freePort();
    expect(await requireService('nats', `nats://127.0.0.1:${port}`)).toBe(false);
    expect(warn).toHaveBeenCalledWith(expect.stringContaining('SKIPPING nats integration tests'));
  });

  it('throws when unreachable in CI', async () => {
    vi.stubEnv('CI', 'true');
    const port = await freePort();
    await expect(requireService('postgres', `postgresql://u:hunter2@127.0.0.1:${port}/db`)).rejects.toThrow(
      /postgres is required in CI.*u:\*\*\*@127/,
    );
  });

  it('never throws from isServiceReachable', async () => {
    expect(await isServiceReachable('unknownscheme://host', 100)).toBe(false);
  });
});

describe('service URLs', () => {
  it('parses host/port with scheme defaults', () => {
    expect(serviceAddress('redis://127.0.0.1:6380')).toEqual({ host: '127.0.0.1', port: 6380 });
    expect(serviceAddress('postgresql://u:p@db.local/keyway')).toEqual({ host: 'db.local', port: 5432 });
    expect(serviceAddress('nats://a:4223,nats://b:4224')).toEqual({ host: 'a', port: 4223 });
    expect(serviceAddress('mysql://[::1]/x')).toEqual({ host: '::1', port: 3306 });
    expect(serviceAddress('localhost:6379')).toEqual({ host: 'localhost', port: 6379 });
  });

  it('redacts passwords', () => {
    expect(redactUrl('redis://:s3cret@h:6379/0')).toBe('redis://:***@h:6379/0');
    expect(redactUrl('postgres://user:pw@h/db')).toBe('postgres://user:***@h/db');
    expect(redactUrl('nats://h:4222')).toBe('nats://h:4222');
  });
});

describe('randomPrefix', () => {
  it('is unique and safe for Redis, NATS and SQL identifiers', () => {
    const a = randomPrefix('Key Pool/redis');
    const b = randomPrefix('Key Pool/redis');
    expect(a).toMatch(/^t_key_pool_redis_[a-z0-9]+_[0-9a-f]{8}$/);
    expect(a).not.toBe(b);
    expect(randomPrefix('')).toMatch(/^t_test_/);
    expect(randomPrefix('x'.repeat(100)).length).toBeLessThan(63);
  });
});
