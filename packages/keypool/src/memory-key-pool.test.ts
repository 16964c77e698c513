import type { HealthPolicy, KeyHealth } from '@keyway/core';
import { describe, expect, it } from 'vitest';
import { keyPoolContract, keyRecords } from './contract';
import { MemoryKeyPool } from './memory-key-pool';
import { healthAfter } from './pool-ops';
import type { HealthOp } from './pool-ops';
import type { KeyStateChange, PoolKeyRecord } from './port';

keyPoolContract('memory', () => Promise.resolve(new MemoryKeyPool()));

const policy: HealthPolicy = {
  blacklistThreshold: 3,
  rateLimitCooldownSeconds: 5,
  rateLimitMaxCooldownSeconds: 300,
  quotaCooldownMinutes: 60,
};
const gid = 4;

function poolWith(count: number): { pool: MemoryKeyPool; heard: [KeyStateChange, HealthOp][] } {
  const pool = new MemoryKeyPool();
  pool.apply({ kind: 'load', groupId: gid, keys: keyRecords(gid, count) });
  const heard: [KeyStateChange, HealthOp][] = [];
  pool.onChange((c, op) => heard.push([c, op]));
  return { pool, heard };
}

const picked = (pool: MemoryKeyPool, n: number, now = Date.now()): Set<number> =>
  new Set(
    Array.from({ length: n }, () => {
      const r = pool.pick(gid, undefined, now);
      return r.ok ? r.key.id : 0;
    }),
  );

describe('MemoryKeyPool.apply', () => {
  it('tells listeners each health change with an op that replays to the same state elsewhere', () => {
    const { pool, heard } = poolWith(2);
    const before = pool.health(gid, 1) as KeyHealth;
    const change = pool.apply({
      kind: 'outcome',
      groupId: gid,
      keyId: 1,
      outcome: { class: 'auth', reason: 'revoked' },
      policy,
      at: 1_000,
    });
    expect(change).toMatchObject({
      keyId: 1,
      status: 'invalid',
      lastError: 'revoked',
      cause: 'auth',
      at: 1_000,
    });
    pool.apply({
      kind: 'status',
      groupId: gid,
      keyId: 2,
      status: 'disabled',
      cause: 'manual',
      lastError: null,
      at: 2_000,
    });
    expect(heard.map(([c, op]) => [c.keyId, c.status, c.cause, op.kind])).toEqual([
      [1, 'invalid', 'auth', 'outcome'],
      [2, 'disabled', 'manual', 'status'],
    ]);
    const [, op] = heard[0] as [KeyStateChange, HealthOp];
    expect(healthAfter(before, op)).toEqual(pool.health(gid, 1));
    expect(pool.hasUsable(gid)).toBe(false);
  });

  it('returns null and tells nobody when an outcome leaves the key as it was, or the key is unknown', () => {
    const { pool, heard } = poolWith(1);
    const ok = { kind: 'outcome', groupId: gid, keyId: 1, outcome: { class: 'ok' }, policy, at: 1 } as const;
    expect(pool.apply(ok)).toBeNull();
    expect(pool.apply({ ...ok, keyId: 99, outcome: { class: 'auth' } })).toBeNull();
    expect(pool.apply({ ...ok, groupId: 99, outcome: { class: 'auth' } })).toBeNull();
    expect(heard).toEqual([]);
  });

  it('sets a state decided elsewhere without telling listeners, and never creates a key that way', () => {
    const { pool, heard } = poolWith(2);
    const now = Date.now();
    const cooling: KeyHealth = {
      status: 'cooling',
      failureCount: 0,
      cooldownUntil: now + 10_000,
      rateStrikes: 2,
      lastError: 'rate',
    };
    const set = { kind: 'set', groupId: gid, keyId: 1, health: cooling, cause: 'rate', at: now } as const;
    expect(pool.apply(set)).toMatchObject({ keyId: 1, status: 'cooling', cause: 'rate', at: now });
    expect(pool.health(gid, 1, now)).toEqual(cooling);
    expect(picked(pool, 4, now)).toEqual(new Set([2]));
    expect(pool.apply({ ...set, keyId: 3 })).toBeNull();
    expect(pool.keyCount(gid)).toBe(2);
    expect(heard).toEqual([]);

    // The cooled key comes back by itself, and that recovery is told as a replayable op.
    expect(picked(pool, 4, now + 10_001)).toEqual(new Set([1, 2]));
    expect(heard.map(([c, op]) => [c.keyId, c.status, c.cause, op])).toEqual([
      [1, 'active', 'recovered', { kind: 'recover', groupId: gid, keyId: 1, at: now + 10_001 }],
    ]);
  });

  it('changes membership with load, add, remove and drop, silently', () => {
    const { pool, heard } = poolWith(3);
    expect(pool.apply({ kind: 'load', groupId: gid, keys: keyRecords(gid, 2, 10) })).toBeNull();
    expect(picked(pool, 4)).toEqual(new Set([10, 11]));
    const [first] = keyRecords(gid, 1, 10) as [PoolKeyRecord];
    const replaced: PoolKeyRecord = { ...first, value: 'sk-new', status: 'invalid' };
    pool.apply({ kind: 'add', groupId: gid, keys: [replaced, ...keyRecords(gid, 1, 12)] });
    expect(pool.keyCount(gid)).toBe(3);
    expect(picked(pool, 4)).toEqual(new Set([11, 12]));
    pool.apply({ kind: 'remove', groupId: gid, keyIds: [11, 404] });
    expect(picked(pool, 4)).toEqual(new Set([12]));
    pool.apply({ kind: 'drop', groupId: gid });
    expect(pool.keyCount(gid)).toBe(0);
    expect(pool.pick(gid)).toEqual({ ok: false, reason: 'empty' });
    expect(heard).toEqual([]);
  });
});

describe('MemoryKeyPool pick for a model', () => {
  it('answers for a model all 100,000 keys are paced for without scanning them on every request', () => {
    const pool = new MemoryKeyPool();
    const big = 4;
    pool.apply({ kind: 'load', groupId: big, keys: keyRecords(big, 100_000) });
    const now = Date.now();
    for (let id = 1; id <= 100_000; id++) pool.pace(big, id, 'model-a', now + 10_000 + id);
    const want = { model: 'model-a' };
    expect(pool.pick(big, undefined, now, want)).toEqual({
      ok: false,
      reason: 'paced',
      retryAfterMs: 10_001,
    });
    const t = performance.now();
    for (let i = 1; i <= 10_000; i++) {
      const r = pool.pick(big, undefined, now + (i % 5_000), want);
      if (r.ok) throw new Error('picked a paced key');
    }
    // Scanning 100,000 keys per pick would take seconds for these 10,000 picks; the cached verdict takes ~1 ms.
    expect(performance.now() - t).toBeLessThan(500);
    expect(pool.pick(big, undefined, now, { model: 'model-b' })).toMatchObject({ ok: true });
    // Once the first key's slot is there, it is handed out.
    const first = pool.pick(big, undefined, now + 10_001, want);
    expect(first.ok && first.key.id).toBe(1);
  });

  it('gets back to even round robin once every block has ended', () => {
    const { pool } = poolWith(4);
    const now = Date.now();
    pool.pace(gid, 1, null, now + 1_000);
    pool.report(gid, 2, { class: 'quota', retryAfterMs: 2_000, model: 'model-a' }, policy, now);
    expect(picked(pool, 8, now)).toEqual(new Set([2, 3, 4]));
    const counts = new Map<number, number>();
    for (let i = 0; i < 400; i++) {
      const r = pool.pick(gid, undefined, now + 2_001, { model: 'model-a' });
      if (r.ok) counts.set(r.key.id, (counts.get(r.key.id) ?? 0) + 1);
    }
    expect([...counts.values()]).toEqual([100, 100, 100, 100]);
  });
});
