import type { HealthPolicy } from '@keyway/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { KeyPool, KeyStateChange, PoolKeyRecord } from './port';

const policy: HealthPolicy = {
  blacklistThreshold: 3,
  rateLimitCooldownSeconds: 5,
  rateLimitMaxCooldownSeconds: 300,
  quotaCooldownMinutes: 60,
};

/** Builds key records for group `groupId` with ids starting at `firstId`. */
export function keyRecords(groupId: number, count: number, firstId = 1): PoolKeyRecord[] {
  return Array.from({ length: count }, (_, i) => ({
    id: firstId + i,
    groupId,
    value: `sk-test-${groupId}-${firstId + i}`,
    status: 'active' as const,
    failureCount: 0,
    cooldownUntil: null,
    lastError: null,
  }));
}

/** The behaviour every KeyPool adapter must have; run by each adapter's own test file. */
export function keyPoolContract(name: string, make: () => Promise<KeyPool>): void {
  describe(`KeyPool contract: ${name}`, () => {
    let pool: KeyPool;
    const gid = 7;
    beforeEach(async () => {
      pool = await make();
    });
    afterEach(async () => {
      await pool.close();
    });

    const pickIds = (n: number, now = Date.now()) =>
      Array.from({ length: n }, () => {
        const r = pool.pick(gid, undefined, now);
        if (!r.ok) throw new Error(`no key: ${r.reason}`);
        return r.key.id;
      });

    it('rotates through every active key evenly', async () => {
      await pool.load(gid, keyRecords(gid, 4));
      const counts = new Map<number, number>();
      for (const id of pickIds(400)) counts.set(id, (counts.get(id) ?? 0) + 1);
      expect([...counts.keys()].sort()).toEqual([1, 2, 3, 4]);
      expect([...counts.values()]).toEqual([100, 100, 100, 100]);
    });

    it('answers empty for an unknown or keyless group', async () => {
      expect(pool.pick(999)).toEqual({ ok: false, reason: 'empty' });
      await pool.load(gid, []);
      expect(pool.pick(gid).ok).toBe(false);
    });

    it('prefers a key not in the avoid set', async () => {
      await pool.load(gid, keyRecords(gid, 3));
      for (let i = 0; i < 10; i++) {
        const r = pool.pick(gid, new Set([1, 2]));
        expect(r.ok && r.key.id).toBe(3);
      }
    });

    it('blacklists a key after blacklistThreshold consecutive upstream failures', async () => {
      await pool.load(gid, keyRecords(gid, 2));
      for (let i = 0; i < 2; i++) pool.report(gid, 1, { class: 'upstream' }, policy);
      expect(pool.health(gid, 1)?.status).toBe('active');
      pool.report(gid, 1, { class: 'upstream' }, policy);
      expect(pool.health(gid, 1)?.status).toBe('invalid');
      expect(new Set(pickIds(10))).toEqual(new Set([2]));
      expect(pool.stats(gid)).toMatchObject({ total: 2, active: 1, invalid: 1 });
    });

    it('resets the failure count on a success, so good keys never drift into the blacklist', async () => {
      await pool.load(gid, keyRecords(gid, 1));
      pool.report(gid, 1, { class: 'upstream' }, policy);
      pool.report(gid, 1, { class: 'upstream' }, policy);
      pool.report(gid, 1, { class: 'ok' }, policy);
      pool.report(gid, 1, { class: 'upstream' }, policy);
      expect(pool.health(gid, 1)).toMatchObject({ status: 'active', failureCount: 1 });
    });

    it('never blacklists when the threshold is 0', async () => {
      await pool.load(gid, keyRecords(gid, 1));
      for (let i = 0; i < 50; i++)
        pool.report(gid, 1, { class: 'upstream' }, { ...policy, blacklistThreshold: 0 });
      expect(pool.health(gid, 1)?.status).toBe('active');
    });

    it('invalidates a key at once on an auth failure', async () => {
      await pool.load(gid, keyRecords(gid, 2));
      pool.report(gid, 2, { class: 'auth', reason: '401' }, policy);
      expect(pool.health(gid, 2)).toMatchObject({ status: 'invalid', lastError: '401' });
    });

    it('cools a key down until the Retry-After time, then brings it back by itself', async () => {
      await pool.load(gid, keyRecords(gid, 2));
      const now = Date.now();
      pool.report(gid, 1, { class: 'rate', retryAfterMs: 10_000 }, policy, now);
      expect(pool.health(gid, 1, now)?.status).toBe('cooling');
      expect(new Set(pickIds(6, now + 5_000))).toEqual(new Set([2]));
      expect(new Set(pickIds(6, now + 10_001))).toEqual(new Set([1, 2]));
      expect(pool.health(gid, 1, now + 10_001)?.status).toBe('active');
    });

    it('says how long until a cooling key is back when every key cools', async () => {
      await pool.load(gid, keyRecords(gid, 1));
      const now = Date.now();
      pool.report(gid, 1, { class: 'quota', retryAfterMs: 60_000 }, policy, now);
      const r = pool.pick(gid, undefined, now + 1_000);
      expect(r).toMatchObject({ ok: false, reason: 'cooling' });
      expect(!r.ok && r.retryAfterMs).toBe(59_000);
    });

    it('leaves a key untouched on client errors and aborts', async () => {
      await pool.load(gid, keyRecords(gid, 1));
      expect(pool.report(gid, 1, { class: 'client' }, policy)).toBeNull();
      expect(pool.report(gid, 1, { class: 'aborted' }, policy)).toBeNull();
      expect(pool.health(gid, 1)).toMatchObject({ status: 'active', failureCount: 0 });
    });

    it('keeps a disabled key out of rotation until it is enabled again', async () => {
      await pool.load(gid, keyRecords(gid, 2));
      pool.setStatus(gid, 1, 'disabled');
      expect(new Set(pickIds(6))).toEqual(new Set([2]));
      expect(pool.report(gid, 1, { class: 'ok' }, policy)).toBeNull();
      pool.setStatus(gid, 1, 'active');
      expect(new Set(pickIds(6))).toEqual(new Set([1, 2]));
    });

    it('lets one probe through now and then when every key is blacklisted', async () => {
      await pool.load(gid, keyRecords(gid, 2));
      pool.report(gid, 1, { class: 'auth' }, policy);
      pool.report(gid, 2, { class: 'auth' }, policy);
      const now = Date.now();
      const first = pool.pick(gid, undefined, now);
      expect(first).toMatchObject({ ok: true, probe: true });
      expect(pool.pick(gid, undefined, now + 1)).toMatchObject({ ok: false, reason: 'empty' });
    });

    it('emits a state change event for every health change', async () => {
      await pool.load(gid, keyRecords(gid, 1));
      const seen: KeyStateChange[] = [];
      const off = pool.onChange((c) => seen.push(c));
      pool.report(gid, 1, { class: 'auth', reason: 'revoked' }, policy);
      pool.setStatus(gid, 1, 'active');
      off();
      pool.setStatus(gid, 1, 'disabled');
      expect(seen.map((c) => [c.keyId, c.groupId, c.status, c.cause])).toEqual([
        [1, gid, 'invalid', 'auth'],
        [1, gid, 'active', 'manual'],
      ]);
    });

    it('adds and removes keys without disturbing the rest', async () => {
      await pool.load(gid, keyRecords(gid, 2));
      await pool.add(gid, keyRecords(gid, 2, 3));
      await pool.remove(gid, [1]);
      expect(new Set(pickIds(9))).toEqual(new Set([2, 3, 4]));
      await pool.dropGroup(gid);
      expect(pool.pick(gid).ok).toBe(false);
    });
  });
}
