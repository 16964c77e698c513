// Distributed mode for real: two gateways built by the gateway's own composition root (`startGateway` in
// deps.ts) on one Redis prefix and one NATS subject prefix, fed the config snapshot the way a control plane
// publishes it (RedisConfigStore + `config.changed` on NATS). Only the upstream is a fake.
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { AccessKeySnapshot, ConfigSnapshot } from '@keyway/contracts';
import { NatsBus } from '@keyway/bus';
import { RedisConfigStore, RedisKeyPool, createKeyCipher } from '@keyway/keypool';
import { createLogger } from '@keyway/observability';
import { busPrefixOf } from '@keyway/server/infra';
import { freePort, randomPrefix, requireService, startFakeUpstream } from '@keyway/testing';
import type { FakeUpstream } from '@keyway/testing';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createProxyHandler } from '../src/index';
import { startGateway as startGatewayProcess } from '../src/deps';
import type { GatewayProcess } from '../src/deps';
import { readEnv } from '../src/env';
import { accessKeySnapshot, buildSnapshot, chatBody, eventually, send, sleep } from './harness';

const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const natsUrl = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';
const available = (await requireService('redis', redisUrl)) && (await requireService('nats', natsUrl));

const SECRET = 'kw-ak-distributed-0123456789abcdef';
const SECOND = 'kw-ak-distributed-second-0123456789';
const UPSTREAM_KEY = 'sk-distributed-upstream-aaaa0001';

interface Replica {
  process: GatewayProcess;
  server: Server;
  url: string;
}

describe.skipIf(!available)('access-key changes across distributed gateways', { timeout: 60_000 }, () => {
  const prefix = `${randomPrefix('akdist')}:`;
  const redis = new Redis(redisUrl);
  const store = new RedisConfigStore(redis, prefix);
  const logger = createLogger({ level: 'silent', format: 'json' });
  let fake: FakeUpstream;
  let bus: NatsBus;
  let base: ConfigSnapshot;
  const replicas: Replica[] = [];

  /** Publishes a snapshot as the control plane does: stored in Redis, then announced on NATS. */
  async function publish(accessKeys: AccessKeySnapshot[]): Promise<void> {
    await store.publish((version) => Promise.resolve({ ...base, version, accessKeys }));
    const version = (await store.version()) ?? 0;
    await bus.publish('config.changed', { version });
  }

  async function startReplica(): Promise<Replica> {
    const env = readEnv({
      REDIS_URL: redisUrl,
      REDIS_PREFIX: prefix,
      NATS_URL: natsUrl,
      ENCRYPTION_KEY: 'off',
      PORT: String(await freePort()),
      LOG_LEVEL: 'error',
    });
    const process = startGatewayProcess(env, logger);
    await eventually(() => process.proxy() !== null, 15_000, 'the gateway to load its pool and snapshot');
    const handler = createProxyHandler(process.proxy() as NonNullable<ReturnType<GatewayProcess['proxy']>>);
    const server = createServer((req, res) => void handler(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    return { process, server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
  }

  const call = (r: Replica, secret = SECRET) =>
    send(`${r.url}/proxy/oa/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
      body: JSON.stringify(chatBody()),
    });

  beforeAll(async () => {
    fake = await startFakeUpstream();
    base = buildSnapshot({
      groups: [{ name: 'oa', channel: 'openai', upstreams: [fake.url], proxyKeys: [] }],
    }).snapshot;
    const pool = await RedisKeyPool.create({ redis, prefix, codec: createKeyCipher(undefined) });
    await pool.load(1, [
      {
        id: 1,
        groupId: 1,
        value: UPSTREAM_KEY,
        status: 'active',
        failureCount: 0,
        cooldownUntil: null,
        lastError: null,
      },
    ]);
    await pool.close();
    bus = await NatsBus.connect({ url: natsUrl, prefix: busPrefixOf(prefix) });
    await publish([accessKeySnapshot(1, 'team-a', SECRET)]);
    replicas.push(await startReplica(), await startReplica());
  });

  afterAll(async () => {
    for (const r of replicas) {
      await new Promise<void>((resolve) => {
        r.server.close(() => resolve());
        r.server.closeAllConnections();
      });
      await r.process.close();
    }
    await bus?.close();
    await fake?.close();
    const names = await redis.keys(`${prefix}*`);
    if (names.length > 0) await redis.del(...names);
    redis.disconnect();
  });

  it('refuses a disabled access key on every gateway within 1 s of the change', async () => {
    for (const r of replicas) expect((await call(r)).status).toBe(200);
    const started = Date.now();
    await publish([accessKeySnapshot(1, 'team-a', SECRET, { enabled: false })]);
    const refusedAfter = await Promise.all(
      replicas.map(async (r) => {
        for (;;) {
          const res = await call(r);
          if (res.status === 401) {
            expect(res.json<{ error: { message: string } }>().error.message).toBe(
              "Access key 'team-a' is disabled",
            );
            return Date.now() - started;
          }
          expect(res.status).toBe(200);
          if (Date.now() - started > 5000) throw new Error('still served 5 s after the revoke');
          await sleep(25);
        }
      }),
    );
    console.log(`[access-revoke] disabled key refused after ${refusedAfter.join(' ms, ')} ms`);
    for (const ms of refusedAfter) expect(ms).toBeLessThan(1000);
  });

  it('shares a new key’s rpm limit between gateways: one request a minute across both', async () => {
    const started = Date.now();
    await publish([
      accessKeySnapshot(1, 'team-a', SECRET, { enabled: false }),
      accessKeySnapshot(2, 'team-b', SECOND, { limits: { rpm: 1 } }),
    ]);
    const [a, b] = replicas as [Replica, Replica];
    // Unknown (401) until the snapshot arrives; refusals do not count against the limit.
    let first = await call(a, SECOND);
    while (first.status === 401 && Date.now() - started < 1000) {
      await sleep(25);
      first = await call(a, SECOND);
    }
    expect(first.status).toBe(200);
    expect(first.headers['x-ratelimit-limit-requests']).toBe('1');
    expect(first.headers['x-ratelimit-remaining-requests']).toBe('0');
    // Within 1 s of the change every gateway has it; b must see a's admission, not a fresh limit.
    await sleep(1000 - (Date.now() - started));
    const second = await call(b, SECOND);
    expect(second.status).toBe(429);
    expect(Number(second.headers['retry-after'])).toBeGreaterThan(0);
    expect(second.json<{ error: { message: string } }>().error.message).toMatch(
      /^Access key 'team-b' reached its rpm limit \(1 requests per minute\)/,
    );
    expect((await call(a, SECOND)).status).toBe(429);
  });
});
