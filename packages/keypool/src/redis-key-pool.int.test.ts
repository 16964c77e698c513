import type { HealthPolicy } from '@keyway/core';
import { randomPrefix, requireService } from '@keyway/testing';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keyPoolContract, keyRecords } from './contract';
import { createKeyCipher } from './cipher';
import type { KeyPool, KeyStateChange, PoolKeyRecord } from './port';
import { RedisKeyPool } from './redis-key-pool';

const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const hasRedis = await requireService('redis', url);

const policy: HealthPolicy = {
  blacklistThreshold: 3,
  rateLimitCooldownSeconds: 5,
  rateLimitMaxCooldownSeconds: 300,
  quotaCooldownMinutes: 60,
};

/** Polls `check` until it holds or `timeoutMs` passes; returns the elapsed ms. */
async function eventually(check: () => boolean, timeoutMs = 1000): Promise<number> {
  const start = performance.now();
  while (!check()) {
    if (performance.now() - start > timeoutMs) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  return performance.now() - start;
}

describe.skipIf(!hasRedis)('RedisKeyPool (real Redis)', () => {
  const clients: Redis[] = [];
  const prefixes: string[] = [];
  const client = (): Redis => {
    const c = new Redis(url, { lazyConnect: false });
    clients.push(c);
    return c;
  };
  const newPrefix = (label: string): string => {
    const p = `${randomPrefix(label)}:`;
    prefixes.push(p);
    return p;
  };

  let admin: Redis;
  beforeAll(() => {
    admin = client();
  });

  afterAll(async () => {
    // Every key a test wrote lives under its prefix: SCAN + DEL leaves the shared Redis as it was.
    for (const prefix of prefixes) {
      let cursor = '0';
      do {
        const [next, names] = await admin.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
        cursor = next;
        if (names.length > 0) await admin.del(...names);
      } while (cursor !== '0');
    }
    for (const c of clients) c.disconnect();
  });

  keyPoolContract('redis', () => RedisKeyPool.create({ redis: admin, prefix: newPrefix('contract') }));

  describe('replicas', () => {
    const gid = 3;
    const pools: KeyPool[] = [];
    afterAll(async () => {
      for (const p of pools) await p.close();
    });
    const replica = async (prefix: string, origin: string): Promise<RedisKeyPool> => {
      const p = await RedisKeyPool.create({ redis: client(), prefix, origin });
      pools.push(p);
      return p;
    };

    it('shares a blacklisting and a restore between replicas within 1 s, and survives a cold start', async () => {
      const prefix = newPrefix('replicas');
      const a = await replica(prefix, 'a');
      await a.load(gid, keyRecords(gid, 3));
      const b = await replica(prefix, 'b');
      expect(b.keyCount(gid)).toBe(3);

      const seenByB: string[] = [];
      b.onChange((c) => seenByB.push(`${c.keyId}:${c.status}:${c.cause}`));

      a.report(gid, 1, { class: 'auth', reason: 'revoked' }, policy);
      const blacklistMs = await eventually(() => b.health(gid, 1)?.status === 'invalid');
      const picked = new Set(Array.from({ length: 20 }, () => b.pick(gid)).map((r) => (r.ok ? r.key.id : 0)));
      expect(picked).toEqual(new Set([2, 3]));
      expect(b.health(gid, 1)).toMatchObject({ status: 'invalid', lastError: 'revoked' });
      expect(seenByB).toContain('1:invalid:auth');

      b.setStatus(gid, 1, 'active');
      const restoreMs = await eventually(() => a.health(gid, 1)?.status === 'active');
      console.log(
        `[redis-key-pool] blacklist seen by the other replica after ${blacklistMs.toFixed(1)} ms, restore after ${restoreMs.toFixed(1)} ms`,
      );

      // Upstream failures on both replicas add up in Redis (compare-and-set + replay), not last-writer-wins.
      a.report(gid, 2, { class: 'upstream' }, policy);
      await a.flush();
      await eventually(() => b.health(gid, 2)?.failureCount === 1);
      b.report(gid, 2, { class: 'upstream' }, policy);
      a.report(gid, 2, { class: 'upstream' }, policy);
      await Promise.all([a.flush(), b.flush()]);
      await eventually(
        () => a.health(gid, 2)?.status === 'invalid' && b.health(gid, 2)?.status === 'invalid',
      );

      // A replica starting cold reads the live health from Redis.
      a.report(gid, 3, { class: 'quota', retryAfterMs: 60_000 }, policy);
      await a.flush();
      const c = await replica(prefix, 'c');
      expect(c.health(gid, 1)?.status).toBe('active');
      expect(c.health(gid, 2)).toMatchObject({ status: 'invalid', failureCount: 3 });
      expect(c.health(gid, 3)?.status).toBe('cooling');
      expect(c.pick(gid)).toMatchObject({ ok: true, key: { id: 1, value: `sk-test-${gid}-1` } });
    });

    it("never lets one replica's success undo another's blacklisting, whichever writes first", async () => {
      const prefix = newPrefix('stale-success');
      const a = await replica(prefix, 'a');
      await a.load(gid, keyRecords(gid, 2));
      const b = await replica(prefix, 'b');
      // Key 1 has a failure on record, so a success on B is a change B must write (reset the count).
      b.report(gid, 1, { class: 'upstream' }, policy);
      await b.flush();
      await eventually(() => a.health(gid, 1)?.failureCount === 1);
      // B's request on key 1 succeeds while A meets a 401 on it: both write, B's success replayed on A's state.
      b.report(gid, 1, { class: 'ok' }, policy);
      a.report(gid, 1, { class: 'auth', reason: '401' }, policy);
      await Promise.all([a.flush(), b.flush()]);
      // And the other order: A's blacklisting in Redis first, B's success written (replayed) after it.
      b.report(gid, 2, { class: 'upstream' }, policy);
      await b.flush();
      await eventually(() => a.health(gid, 2)?.failureCount === 1);
      a.report(gid, 2, { class: 'auth', reason: '401' }, policy);
      await a.flush();
      b.report(gid, 2, { class: 'ok' }, policy);
      await b.flush();
      await eventually(() =>
        [a, b].every((p) => p.health(gid, 1)?.status === 'invalid' && p.health(gid, 2)?.status === 'invalid'),
      );
      const cold = await replica(prefix, 'c');
      expect(cold.health(gid, 1)?.status).toBe('invalid');
      expect(cold.health(gid, 2)?.status).toBe('invalid');
    });

    it('keeps key values sealed in Redis when given a cipher, and marks mirrored changes as remote', async () => {
      const prefix = newPrefix('sealed');
      const codec = createKeyCipher('a-long-test-encryption-key-for-redis-values');
      const a = await RedisKeyPool.create({ redis: client(), prefix, origin: 'a', codec });
      const b = await RedisKeyPool.create({ redis: client(), prefix, origin: 'b', codec });
      pools.push(a, b);
      await a.load(gid, keyRecords(gid, 2));
      const stored = await admin.hget(`${prefix}key:1`, 'value');
      expect(stored).toMatch(/^kw1:/);
      expect(stored).not.toContain(`sk-test-${gid}-1`);
      await eventually(() => b.keyCount(gid) === 2);
      const picked = b.pick(gid);
      expect(picked.ok && picked.key.value.startsWith('sk-test-')).toBe(true);

      const seenByA: KeyStateChange[] = [];
      const seenByB: KeyStateChange[] = [];
      a.onChange((c) => seenByA.push(c));
      b.onChange((c) => seenByB.push(c));
      a.setStatus(gid, 2, 'disabled');
      await eventually(() => b.health(gid, 2)?.status === 'disabled');
      expect(seenByA.map((c) => c.remote)).toEqual([undefined]);
      expect(seenByB.map((c) => c.remote)).toEqual([true]);

      // A replica with the wrong ENCRYPTION_KEY leaves the keys out instead of sending ciphertext upstream.
      const errors: unknown[] = [];
      const wrong = await RedisKeyPool.create({
        redis: client(),
        prefix,
        origin: 'c',
        codec: createKeyCipher('another-long-test-encryption-key-entirely'),
        onError: (e) => errors.push(e),
      });
      pools.push(wrong);
      expect(wrong.keyCount(gid)).toBe(0);
      expect(errors.length).toBeGreaterThan(0);
    });

    it('shares model coolings between replicas and through Redis, but never pacing', async () => {
      const prefix = newPrefix('model-cooling');
      const a = await replica(prefix, 'a');
      const now = Date.now();
      const stored = { 'model-z': { until: now + 120_000, reason: 'quota (model-z)' } };
      // Loaded from the database with a model cooling: Redis keeps it for replicas that start later.
      await a.load(gid, [
        ...keyRecords(gid, 1),
        { ...(keyRecords(gid, 1, 2)[0] as PoolKeyRecord), modelCooling: stored },
      ]);
      const b = await replica(prefix, 'b');
      const want = (model: string) => ({ model });
      const picks = (p: KeyPool, model: string) =>
        new Set(
          Array.from({ length: 6 }, () => p.pick(gid, undefined, undefined, want(model))).map(
            (r) => r.ok && r.key.id,
          ),
        );
      expect(b.health(gid, 2)?.modelCooling).toEqual(stored);
      expect(picks(b, 'model-z')).toEqual(new Set([1]));

      a.report(gid, 1, { class: 'quota', retryAfterMs: 60_000, model: 'model-a' }, policy);
      await eventually(() => b.health(gid, 1)?.modelCooling?.['model-a'] !== undefined);
      expect(picks(b, 'model-a')).toEqual(new Set([2]));
      expect(picks(b, 'model-b')).toEqual(new Set([1, 2]));
      expect(b.health(gid, 1)?.status).toBe('active');

      // Concurrent coolings for two models on two replicas add up (compare-and-set + replay).
      b.report(gid, 1, { class: 'rate', retryAfterMs: 30_000, model: 'model-b' }, policy);
      a.report(gid, 1, { class: 'rate', retryAfterMs: 30_000, model: 'model-c' }, policy);
      await Promise.all([a.flush(), b.flush()]);
      const models = (p: KeyPool) => Object.keys(p.health(gid, 1)?.modelCooling ?? {}).sort();
      await eventually(() => models(a).length === 3 && models(b).length === 3);
      expect(models(a)).toEqual(['model-a', 'model-b', 'model-c']);

      // Pacing stays on the replica that paced.
      a.pace(gid, 2, null, Date.now() + 60_000);
      await a.flush();
      expect(picks(a, 'model-z')).toEqual(new Set([1]));
      expect(picks(b, 'model-y')).toEqual(new Set([1, 2]));

      const c = await replica(prefix, 'c');
      expect(models(c)).toEqual(['model-a', 'model-b', 'model-c']);
      expect(picks(c, 'model-y')).toEqual(new Set([1, 2]));

      b.setStatus(gid, 1, 'active');
      await eventually(() => a.health(gid, 1)?.modelCooling === undefined);
      expect(await admin.hexists(`${prefix}key:1`, 'modelCooling')).toBe(0);
    });

    it('reads a key whose stored model coolings are garbage as cooling for none', async () => {
      const prefix = newPrefix('model-cooling-garbage');
      const a = await replica(prefix, 'a');
      await a.load(gid, keyRecords(gid, 2));
      await admin.hset(`${prefix}key:1`, 'modelCooling', '{not json');
      await admin.hset(
        `${prefix}key:2`,
        'modelCooling',
        JSON.stringify({
          'model-a': { until: 'later' },
          'model-b': { until: Date.now() + 60_000, reason: 'quota' },
        }),
      );
      const b = await replica(prefix, 'b');
      expect(b.keyCount(gid)).toBe(2);
      expect(b.health(gid, 1)?.modelCooling).toBeUndefined();
      expect(Object.keys(b.health(gid, 2)?.modelCooling ?? {})).toEqual(['model-b']);
    });

    it('spreads add, remove and dropGroup to the other replica', async () => {
      const prefix = newPrefix('membership');
      const a = await replica(prefix, 'a');
      const b = await replica(prefix, 'b');
      await a.load(gid, keyRecords(gid, 2));
      await eventually(() => b.keyCount(gid) === 2);
      await a.remove(gid, [1]);
      await eventually(() => b.keyCount(gid) === 1);
      await a.dropGroup(gid);
      await eventually(() => b.keyCount(gid) === 0);
    });
  });

  it('loads 100,000 keys into one group and keeps pick O(1)', { timeout: 120_000 }, async () => {
    const prefix = newPrefix('bulk');
    const pool = await RedisKeyPool.create({ redis: client(), prefix });
    const gid = 11;
    const keys = keyRecords(gid, 100_000);
    let t = performance.now();
    await pool.load(gid, keys);
    const loadS = (performance.now() - t) / 1000;
    expect(pool.keyCount(gid)).toBe(100_000);

    t = performance.now();
    const cold = await RedisKeyPool.create({ redis: client(), prefix });
    const coldS = (performance.now() - t) / 1000;
    expect(cold.keyCount(gid)).toBe(100_000);

    const n = 100_000;
    const now = Date.now();
    t = performance.now();
    for (let i = 0; i < n; i++) pool.pick(gid, undefined, now);
    const usPerPick = ((performance.now() - t) * 1000) / n;
    console.log(
      `[redis-key-pool] load 100,000 keys: ${loadS.toFixed(2)} s; cold start of a replica: ${coldS.toFixed(2)} s; ` +
        `pick: ${usPerPick.toFixed(3)} µs over ${n} picks`,
    );
    await pool.close();
    await cold.close();
  });
});
