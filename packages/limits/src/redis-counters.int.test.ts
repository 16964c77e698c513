import type { LogPort } from '@keyway/core';
import { randomPrefix, requireService } from '@keyway/testing';
import { Redis, type RedisOptions } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { countersContract, FakeClock } from './contract';
import { RedisCounters, type RedisCountersOptions } from './redis-counters';
import type { LimitRule } from './types';

const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const hasRedis = await requireService('redis', url);

const rpm = (limit: number): LimitRule => ({ name: 'rpm', measure: 'requests', window: 'minute', limit });

/** A log that remembers its lines. */
function memoryLog(): LogPort & { lines: string[] } {
  const lines: string[] = [];
  const push = (_: object, msg?: string): void => void lines.push(msg ?? '');
  return { lines, info: push, warn: push, error: push };
}

describe.skipIf(!hasRedis)('RedisCounters (real Redis)', () => {
  const clients: Redis[] = [];
  const prefixes: string[] = [];
  const client = (options: RedisOptions = {}): Redis => {
    const c = new Redis(url, options);
    c.on('error', () => undefined); // the outage tests break connections on purpose
    clients.push(c);
    return c;
  };
  const newPrefix = (label: string): string => {
    const p = `${randomPrefix(label)}:`;
    prefixes.push(p);
    return p;
  };
  const make = (clock: FakeClock, prefix: string, extra: Partial<RedisCountersOptions> = {}) =>
    new RedisCounters({ redis: client(), prefix, clock, syncIntervalMs: 0, ...extra });

  afterAll(async () => {
    const admin = client();
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

  countersContract('redis', (clock) => {
    const counters = make(clock, newPrefix('contract'));
    return Promise.resolve({ counters, settle: () => counters.sync() });
  });

  /** `total` admissions spread evenly over 60 s across `replicas`, each syncing as its background would. */
  async function spread(replicas: RedisCounters[], clock: FakeClock, total: number, rule: LimitRule) {
    let admitted = 0;
    const step = 59_000 / total;
    for (let i = 0; i < total; i++) {
      const r = replicas[i % replicas.length] as RedisCounters;
      if ((await r.admit('k', [rule])).ok) admitted++;
      clock.advance(step);
      if (i % replicas.length === replicas.length - 1) await Promise.all(replicas.map((x) => x.sync()));
    }
    return admitted;
  }

  it('two gateways admit 60 or 61 of 200 requests to a 60 rpm key within a minute', async () => {
    const clock = new FakeClock(Date.parse('2026-12-05T12:00:00Z'));
    const prefix = newPrefix('two');
    const gateways = [make(clock, prefix), make(clock, prefix)];
    const admitted = await spread(gateways, clock, 200, rpm(60));
    console.log(`two gateways, 60 rpm, 200 requests in a minute: ${admitted} admitted`);
    expect(admitted).toBeGreaterThanOrEqual(60);
    expect(admitted).toBeLessThanOrEqual(61);
    await Promise.all(gateways.map((g) => g.close()));
  });

  it('five gateways admit at most 1000 + 20 requests to a 1000 rpm key', async () => {
    const clock = new FakeClock(Date.parse('2026-12-05T12:00:00Z'));
    const prefix = newPrefix('five');
    const gateways = Array.from({ length: 5 }, () => make(clock, prefix));
    const admitted = await spread(gateways, clock, 3000, rpm(1000));
    console.log(`five gateways, 1000 rpm, 3000 requests in a minute: ${admitted} admitted`);
    expect(admitted).toBeLessThanOrEqual(1020);
    expect(admitted).toBeGreaterThanOrEqual(980);
    await Promise.all(gateways.map((g) => g.close()));
  });

  it('makes a handful of round trips for 1000 admissions of a 100000 rpm key', async () => {
    const clock = new FakeClock(Date.parse('2026-12-05T12:00:00Z'));
    const counters = make(clock, newPrefix('trips'));
    let ok = 0;
    for (let i = 0; i < 1000; i++) {
      if ((await counters.admit('k', [rpm(100_000)])).ok) ok++;
      clock.advance(0.5);
    }
    console.log(
      `1000 admissions at 100000 rpm: ${counters.stats.hotPathCalls} Redis round trips on the hot path`,
    );
    expect(ok).toBe(1000);
    expect(counters.stats.hotPathCalls).toBeLessThanOrEqual(5);
    await counters.close();
  });

  it('admits exactly the limit of a burst of concurrent requests on one gateway, in few round trips', async () => {
    const clock = new FakeClock(Date.parse('2026-12-05T12:00:00Z'));
    const counters = make(clock, newPrefix('burst'));
    const results = await Promise.all(
      Array.from({ length: 100 }, () => Promise.resolve(counters.admit('k', [rpm(50)]))),
    );
    expect(results.filter((r) => r.ok)).toHaveLength(50);
    expect(counters.stats.hotPathCalls).toBeLessThanOrEqual(8);
    await counters.close();
  });

  it('costs a caller hammering a key at its limit at most one round trip per slice time', async () => {
    const clock = new FakeClock(Date.parse('2026-12-05T12:00:00Z'));
    const counters = make(clock, newPrefix('hammer'));
    expect(await counters.admit('k', [rpm(1)])).toEqual({ ok: true });
    const before = counters.stats.hotPathCalls;
    for (let i = 0; i < 10_000; i++) {
      await counters.admit('k', [rpm(1)]);
      clock.advance(1); // 10 000 requests in 10 s
    }
    expect(counters.stats.hotPathCalls - before).toBeLessThanOrEqual(11);
    await counters.close();
  });

  it('shows the control plane what was admitted, not what a gateway holds in reserve', async () => {
    const clock = new FakeClock(Date.parse('2026-12-05T12:00:00Z'));
    const prefix = newPrefix('reserve');
    const [gateway, controlPlane] = [make(clock, prefix), make(clock, prefix)];
    expect(await gateway.admit('k', [rpm(100_000)])).toEqual({ ok: true });
    expect((await controlPlane.read('k', rpm(100_000))).used).toBeLessThanOrEqual(16);
    clock.advance(1_500);
    await gateway.sync(); // the slice expired: its rest is handed back
    expect((await controlPlane.read('k', rpm(100_000))).used).toBe(1);
    await Promise.all([gateway.close(), controlPlane.close()]);
  });

  it('refuses a zero limit without a round trip per request', async () => {
    const clock = new FakeClock(Date.parse('2026-12-05T12:00:00Z'));
    const counters = make(clock, newPrefix('zero'));
    for (let i = 0; i < 100; i++) {
      expect((await counters.admit('k', [rpm(0)])).ok).toBe(false);
      clock.advance(5);
    }
    expect(counters.stats.hotPathCalls).toBe(1);
    await counters.close();
  });

  it('counts a slice used until a second after its claim for a full minute after that use', async () => {
    const clock = new FakeClock(Date.parse('2026-12-05T12:00:00Z'));
    const prefix = newPrefix('slice-age');
    const [a, b] = [make(clock, prefix), make(clock, prefix)];
    expect((await a.admit('k', [rpm(8)])).ok).toBe(true); // claims 2 (8 / 4) at t = 0
    clock.advance(900);
    expect(a.admit('k', [rpm(8)])).toEqual({ ok: true }); // from the slice, at t = 0.9 s
    clock.set('2026-12-05T12:01:00.500Z'); // the trailing minute still holds the t = 0.9 s admission
    let ok = 0;
    for (let i = 0; i < 10; i++) if ((await b.admit('k', [rpm(8)])).ok) ok++;
    expect(ok).toBeLessThanOrEqual(7);
    await Promise.all([a.close(), b.close()]);
  });

  it('reports the usage of every gateway for the rate-limit headers', async () => {
    const clock = new FakeClock(Date.parse('2026-12-05T12:00:00Z'));
    const prefix = newPrefix('headers');
    const [a, b] = [make(clock, prefix), make(clock, prefix)];
    for (let i = 0; i < 3; i++) expect((await a.admit('k', [rpm(8)])).ok).toBe(true);
    clock.advance(1_500);
    await a.sync(); // a's rest goes back
    expect((await b.admit('k', [rpm(8)])).ok).toBe(true);
    expect(b.usage('k', rpm(8))).toMatchObject({ used: 4, limit: 8 });
    await Promise.all([a.close(), b.close()]);
  });

  it('admits synchronously from a slice', async () => {
    const clock = new FakeClock(Date.parse('2026-12-05T12:00:00Z'));
    const counters = make(clock, newPrefix('sync'));
    expect(await counters.admit('k', [rpm(1000)])).toEqual({ ok: true });
    expect(counters.admit('k', [rpm(1000)])).toEqual({ ok: true });
    await counters.close();
  });

  it('shares a token budget: usage one gateway records refuses on the other after a sync', async () => {
    const clock = new FakeClock(Date.parse('2026-12-05T12:00:00Z'));
    const prefix = newPrefix('tokens');
    const [a, b] = [make(clock, prefix), make(clock, prefix)];
    const day: LimitRule = { name: 'tokensPerDay', measure: 'tokens', window: 'day', limit: 1000 };
    expect((await b.admit('k', [day])).ok).toBe(true);
    a.record('k', [day], { tokens: 1500, costUsd: 0 });
    await a.sync();
    await b.sync();
    expect(await b.admit('k', [day])).toMatchObject({ ok: false, used: 1500 });
    expect((await b.read('k', day)).used).toBe(1500);
    await Promise.all([a.close(), b.close()]);
  });

  it('hands an idle slice back so another gateway can use it', async () => {
    const clock = new FakeClock(Date.parse('2026-12-05T12:00:00Z'));
    const prefix = newPrefix('release');
    const [a, b] = [make(clock, prefix), make(clock, prefix)];
    const rpd: LimitRule = { name: 'rpd', measure: 'requests', window: 'day', limit: 8 };
    expect((await a.admit('k', [rpd])).ok).toBe(true); // a claims 2 of 8 (8 / 4)
    clock.advance(1_500);
    await a.sync(); // the slice expired: its unused 1 goes back
    let ok = 0;
    for (let i = 0; i < 10; i++) if ((await b.admit('k', [rpd])).ok) ok++;
    expect(ok).toBe(7);
    expect((await b.read('k', rpd)).used).toBe(8);
    await Promise.all([a.close(), b.close()]);
  });

  it('seeds a period only up to the database figure, never adding twice', async () => {
    const clock = new FakeClock(Date.parse('2026-12-05T12:00:00Z'));
    const prefix = newPrefix('seed');
    const month: LimitRule = { name: 'costUsdPerMonth', measure: 'cost', window: 'month', limit: 10 };
    const a = make(clock, prefix);
    a.record('k', [month], { tokens: 0, costUsd: 4 });
    await a.sync();
    await a.seed('k', month, 3); // the database lags behind Redis: nothing to add
    expect((await a.read('k', month)).used).toBe(4);
    const b = make(clock, prefix);
    await b.seed('k', month, 9); // Redis lost part of the month: raised to the database's figure
    expect((await b.read('k', month)).used).toBe(9);
    expect(await b.admit('k', [month])).toMatchObject({ ok: true });
    b.record('k', [month], { tokens: 0, costUsd: 2 });
    expect(await b.admit('k', [month])).toMatchObject({ ok: false, rule: { name: 'costUsdPerMonth' } });
    await Promise.all([a.close(), b.close()]);
  });

  it('calls onReset when Redis lost its data', async () => {
    const clock = new FakeClock(Date.parse('2026-12-05T12:00:00Z'));
    const prefix = newPrefix('reset');
    let resets = 0;
    const counters = make(clock, prefix, { onReset: () => resets++ });
    await counters.sync();
    await counters.sync();
    expect(resets).toBe(0);
    await client().del(`${prefix}epoch`);
    await counters.sync();
    expect(resets).toBe(1);
    await counters.close();
  });

  it('admits on local figures while Redis is down, logs once, and catches up when it is back', async () => {
    const clock = new FakeClock(Date.parse('2026-12-05T12:00:00Z'));
    const prefix = newPrefix('down');
    const redis = client({ enableOfflineQueue: false, maxRetriesPerRequest: 0 });
    const log = memoryLog();
    const counters = new RedisCounters({ redis, prefix, clock, log, syncIntervalMs: 0, timeoutMs: 200 });
    const rules = [rpm(5), { name: 'rpd', measure: 'requests', window: 'day', limit: 100 } as LimitRule];
    expect((await counters.admit('k', rules)).ok).toBe(true);
    await counters.sync();
    const ended = new Promise((resolve) => redis.once('end', resolve));
    redis.disconnect();
    await ended;
    clock.advance(2_000); // the slice expired: the next admission must claim, and cannot
    let ok = 0;
    for (let i = 0; i < 10; i++) if ((await counters.admit('k', rules)).ok) ok++;
    expect(ok).toBe(4); // the local figure still holds the rpm limit
    expect(counters.isDegraded).toBe(true);
    await counters.sync();
    expect(log.lines.filter((l) => l.includes('unreachable'))).toHaveLength(1);
    await redis.connect();
    await counters.sync();
    expect(counters.isDegraded).toBe(false);
    expect(log.lines.some((l) => l.includes('reachable again'))).toBe(true);
    // The admissions made while Redis was down reached it.
    expect((await counters.read('k', rules[1] as LimitRule)).used).toBe(5);
    await counters.close();
  });

  it('sends nothing while the client reconnects, so no push is queued and replayed twice', async () => {
    const clock = new FakeClock(Date.parse('2026-12-05T12:00:00Z'));
    const redis = new Redis('redis://127.0.0.1:1', { retryStrategy: () => 50 }); // default offline queue
    redis.on('error', () => undefined);
    clients.push(redis);
    await new Promise((resolve) => redis.once('reconnecting', resolve));
    const counters = new RedisCounters({
      redis,
      prefix: newPrefix('queue'),
      clock,
      syncIntervalMs: 0,
      timeoutMs: 5_000,
    });
    const started = performance.now();
    expect((await counters.admit('k', [rpm(2)])).ok).toBe(true);
    counters.record('k', [{ name: 'tpm', measure: 'tokens', window: 'minute', limit: 10 }], {
      tokens: 5,
      costUsd: 0,
    });
    await counters.sync();
    expect(performance.now() - started).toBeLessThan(1_000); // failed at once, not after the 5 s timeout
    expect(counters.isDegraded).toBe(true);
    await counters.close();
  });

  it('never throws from admit or record when Redis refuses every command', async () => {
    const clock = new FakeClock(Date.parse('2026-12-05T12:00:00Z'));
    const redis = client({ lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 0 });
    const counters = new RedisCounters({ redis, prefix: newPrefix('dead'), clock, syncIntervalMs: 0 });
    const tpm: LimitRule = { name: 'tpm', measure: 'tokens', window: 'minute', limit: 100 };
    expect((await counters.admit('k', [rpm(2), tpm])).ok).toBe(true);
    counters.record('k', [tpm], { tokens: 150, costUsd: 0 });
    expect(await counters.admit('k', [rpm(2), tpm])).toMatchObject({ ok: false, rule: { name: 'tpm' } });
    await counters.close();
  });
});
