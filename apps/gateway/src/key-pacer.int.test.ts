import { keyLimitsSchema } from '@keyway/contracts';
import { keyPacingRules, RedisCounters, upstreamKeyCounterId } from '@keyway/limits';
import { randomPrefix, requireService } from '@keyway/testing';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { buildSnapshot } from '../test/harness';
import { createKeyPacer } from './key-pacer';
import { compileRuntime } from './runtime';
import type { GroupRuntime } from './runtime';

const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const hasRedis = await requireService('redis', url);

/** A clock tests move by hand, shared by every replica of a test. */
class TestClock {
  constructor(public t: number) {}
  now(): number {
    return this.t;
  }
}

function group(keyLimits: unknown): GroupRuntime {
  const spec = { name: 'paced', keyLimits: keyLimitsSchema.parse(keyLimits) };
  return compileRuntime(buildSnapshot({ groups: [spec] }).snapshot).groupsById.get(1) as GroupRuntime;
}

describe.skipIf(!hasRedis)('upstream-key pacing across gateways (real Redis)', () => {
  const clients: Redis[] = [];
  const prefixes: string[] = [];
  const layers: RedisCounters[] = [];
  const pool = { pace: () => undefined };

  /** One gateway's counters under `prefix` (no background timer: the test syncs as the timer would). */
  const replica = (clock: TestClock, prefix: string): RedisCounters => {
    const redis = new Redis(url);
    clients.push(redis);
    const counters = new RedisCounters({ redis, prefix, clock, syncIntervalMs: 0 });
    layers.push(counters);
    return counters;
  };
  const newPrefix = (label: string): string => {
    const p = `${randomPrefix(label)}:`;
    prefixes.push(p);
    return p;
  };

  afterAll(async () => {
    await Promise.all(layers.map((l) => l.close()));
    const admin = new Redis(url);
    for (const prefix of prefixes) {
      let cursor = '0';
      do {
        const [next, names] = await admin.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
        cursor = next;
        if (names.length > 0) await admin.del(...names);
      } while (cursor !== '0');
    }
    admin.disconnect();
    for (const c of clients) c.disconnect();
  });

  it('two gateways admit 60 or 61 of 200 requests spread over a minute to a 60-rpm key', async () => {
    const clock = new TestClock(Date.parse('2026-12-05T12:00:00Z'));
    const prefix = newPrefix('pace-two');
    const layersOf = [replica(clock, prefix), replica(clock, prefix)];
    const pacers = layersOf.map((l) => createKeyPacer(l, pool, clock));
    const g = group({ default: { rpm: 60 } });
    let admitted = 0;
    for (let i = 0; i < 200; i++) {
      const pacer = pacers[i % 2] as (typeof pacers)[number];
      if ((await pacer.admit(g, 42, 'gpt-4o')).ok) admitted++;
      clock.t += 59_000 / 200;
      if (i % 2 === 1) await Promise.all(layersOf.map((l) => l.sync()));
    }
    console.log(`two gateways, a 60-rpm key, 200 requests in a minute: ${admitted} admitted`);
    expect(admitted).toBeGreaterThanOrEqual(60);
    expect(admitted).toBeLessThanOrEqual(61);
    // The control plane reads the key's use across models from the same counter.
    const controlPlane = replica(clock, prefix);
    const rpm = keyPacingRules(g.keyLimits!, null, g.dailyResetTimeZone).total[0]!;
    await Promise.all(layersOf.map((l) => l.sync()));
    expect((await controlPlane.read(upstreamKeyCounterId(42), rpm)).used).toBe(admitted);
  });

  it('makes no Redis round trip per request for a busy key (model and total limits)', async () => {
    const clock = new TestClock(Date.parse('2026-12-05T12:00:00Z'));
    const counters = replica(clock, newPrefix('pace-busy'));
    const pacer = createKeyPacer(counters, pool, clock);
    const g = group({ default: { rpm: 50_000, tpm: 10_000_000 }, total: { rpm: 100_000, rpd: 1_000_000 } });
    let ok = 0;
    for (let i = 0; i < 2000; i++) {
      if ((await pacer.admit(g, 7, 'gpt-4o')).ok) ok++;
      pacer.record(g, 7, 'gpt-4o', 100);
      clock.t += 5; // 2000 requests in 10 s
      if (i % 40 === 39) await counters.sync(); // the background sync, every 200 ms
    }
    const calls = counters.stats.hotPathCalls;
    console.log(`2000 paced admissions in 10 s: ${calls} Redis round trips on the hot path`);
    expect(ok).toBe(2000);
    // Slices are claimed about once a second per limited request rule (three here), not once per request.
    expect(calls).toBeLessThanOrEqual(60);
  });
});
