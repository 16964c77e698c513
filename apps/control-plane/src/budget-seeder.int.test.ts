// Distributed budgets outlive Redis: gateways never reach the database, so the control plane pushes the database's
// day, month and total figures under the shared counters (real Redis, a real SQLite database).
import { NO_LIMITS } from '@keyway/contracts';
import { applyUsageBatch, createAccessKey } from '@keyway/db';
import { accessKeyRules, RedisCounters } from '@keyway/limits';
import { randomPrefix, requireService } from '@keyway/testing';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBudgetSeeder } from './budget-seeder';
import { createFixture, type Fixture } from './testing/fixture';

const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const hasRedis = await requireService('redis', url);
const quiet = { info: () => {}, warn: () => {}, error: () => {} };

describe.skipIf(!hasRedis)('budget seeder (real Redis)', () => {
  let fx: Fixture;
  const redis = new Redis(url);
  const prefix = `${randomPrefix('seed')}:`;
  beforeAll(async () => {
    fx = await createFixture();
  });
  afterAll(async () => {
    const names = await redis.keys(`${prefix}*`);
    if (names.length > 0) await redis.del(...names);
    redis.disconnect();
    await fx.close();
  });

  it('a spent total budget is refused by a gateway whose Redis lost everything, once the seeder ran', async () => {
    const limits = { ...NO_LIMITS, costUsdTotal: 5, tokensPerDay: 1_000_000 };
    const key = await createAccessKey(fx.db, {
      name: 'spent',
      keyHash: 'a'.repeat(64),
      keyMasked: 'sk-kw…aaaa',
      groups: '*',
      models: [],
      limits,
      expiresAt: null,
      enabled: true,
      notes: '',
    });
    const hour = new Date(Math.floor(Date.now() / 3_600_000) * 3_600_000).toISOString();
    await applyUsageBatch(fx.db, {
      id: 'batch-spent-1',
      buckets: [
        {
          time: hour,
          groupId: 1,
          model: 'gpt-4o',
          accessKeyId: key.id,
          requests: 3,
          failures: 0,
          promptTokens: 1000,
          completionTokens: 500,
          cachedTokens: 0,
          costUsd: 6,
        },
      ],
      keys: [],
      accessKeys: [{ id: key.id, requests: 3, tokens: 1500, costUsd: 6, last: new Date().toISOString() }],
    });

    // A gateway on an empty Redis (data lost): nothing known, so it admits.
    const rules = accessKeyRules(limits);
    const gateway = new RedisCounters({ redis, prefix, syncIntervalMs: 0 });
    const before = await gateway.admit(`ak:${key.id}`, rules);
    expect(before.ok).toBe(true);

    const cp = new RedisCounters({ redis, prefix, syncIntervalMs: 0 });
    const seeder = startBudgetSeeder({ db: fx.db, counters: cp, logger: quiet, intervalMs: 60_000 });
    await seeder.seedNow();
    const total = rules.find((r) => r.name === 'costUsdTotal');
    const perDay = rules.find((r) => r.name === 'tokensPerDay');
    expect(total && (await cp.read(`ak:${key.id}`, total)).used).toBeCloseTo(6);
    expect(perDay && (await cp.read(`ak:${key.id}`, perDay)).used).toBe(1500);

    // Seeding again counts nothing twice (the larger figure is kept).
    await seeder.seedNow();
    expect(total && (await cp.read(`ak:${key.id}`, total)).used).toBeCloseTo(6);

    await gateway.sync();
    const after = await gateway.admit(`ak:${key.id}`, rules);
    expect(after).toMatchObject({ ok: false, rule: { name: 'costUsdTotal' } });
    await seeder.stop();
    await Promise.all([gateway.close(), cp.close()]);
  });
});
