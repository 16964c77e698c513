import type { HealthPolicy } from '@keyway/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { KeyPool, KeyStateChange, PickWant, PoolKeyRecord } from './port';

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

    const pickIds = (n: number, now = Date.now(), want?: PickWant) =>
      Array.from({ length: n }, () => {
        const r = pool.pick(gid, undefined, now, want);
        if (!r.ok) throw new Error(`no key: ${r.reason}`);
        return r.key.id;
      });
    const forModel = (model: string | null): PickWant => ({ model });

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
      // A pick for a model probes too: a blacklisted pool heals whatever its clients ask for.
      const first = pool.pick(gid, undefined, now, forModel('model-a'));
      expect(first).toMatchObject({ ok: true, probe: true });
      expect(pool.pick(gid, undefined, now + 1)).toMatchObject({ ok: false, reason: 'empty' });
    });

    it("restores a blacklisted or cooling key on a probe's success only, not on one sent before it failed", async () => {
      await pool.load(gid, keyRecords(gid, 2));
      const now = Date.now();
      pool.report(gid, 1, { class: 'auth', reason: '401' }, policy, now);
      pool.report(gid, 2, { class: 'rate', retryAfterMs: 60_000 }, policy, now);
      // Requests that were in flight when the keys failed come back with a success: older news than the failure.
      expect(pool.report(gid, 1, { class: 'ok' }, policy, now + 1)).toBeNull();
      expect(pool.report(gid, 2, { class: 'ok' }, policy, now + 1)).toBeNull();
      expect(pool.health(gid, 1, now + 1)).toMatchObject({ status: 'invalid', lastError: '401' });
      expect(pool.health(gid, 2, now + 1)?.status).toBe('cooling');
      expect(pool.pick(gid, undefined, now + 1)).toMatchObject({ ok: false, reason: 'cooling' });
      // With every key blacklisted, the pool hands one out as a probe now and then.
      pool.setStatus(gid, 2, 'invalid');
      expect(pool.pick(gid, undefined, now + 1)).toMatchObject({ ok: true, key: { id: 1 }, probe: true });
      // The probe the pool hands out answers: that key is back.
      expect(pool.report(gid, 1, { class: 'ok', probe: true }, policy, now + 2)).toMatchObject({
        status: 'active',
      });
      expect(pool.pick(gid, undefined, now + 3)).toMatchObject({ ok: true, key: { id: 1 }, probe: false });
    });

    it("takes back a storm's charges and nothing else: a key disabled or revoked meanwhile stays so", async () => {
      await pool.load(gid, keyRecords(gid, 4));
      const now = Date.now();
      const seen: KeyStateChange[] = [];
      const off = pool.onChange((c) => seen.push(c));
      for (const id of [1, 2, 3, 4]) pool.report(gid, id, { class: 'rate' }, policy, now);
      // While the storm builds, key 2 is disabled by an operator and key 3 answers a late 401.
      pool.setStatus(gid, 2, 'disabled');
      pool.report(gid, 3, { class: 'auth', reason: '401' }, policy, now + 1);
      seen.length = 0;
      for (const id of [1, 2, 3, 4]) pool.absolve(gid, id, 'rate', policy, now + 2);
      off();
      expect(pool.health(gid, 1, now + 2)).toMatchObject({ status: 'active', rateStrikes: 0 });
      expect(pool.health(gid, 2, now + 2)?.status).toBe('disabled');
      expect(pool.health(gid, 3, now + 2)).toMatchObject({ status: 'invalid', lastError: '401' });
      expect(seen.map((c) => [c.keyId, c.status, c.cause])).toEqual([
        [1, 'active', 'recovered'],
        [4, 'active', 'recovered'],
      ]);
      expect(new Set(pickIds(6, now + 2))).toEqual(new Set([1, 4]));
      // An upstream storm's blacklisting is taken back; its absolving says nothing of a rate cooldown.
      for (let i = 0; i < policy.blacklistThreshold; i++)
        pool.report(gid, 1, { class: 'upstream' }, policy, now + 3);
      pool.report(gid, 4, { class: 'rate' }, policy, now + 3);
      pool.absolve(gid, 1, 'upstream', policy, now + 4);
      pool.absolve(gid, 4, 'upstream', policy, now + 4);
      expect(pool.health(gid, 1, now + 4)).toMatchObject({ status: 'active', failureCount: 0 });
      expect(pool.health(gid, 4, now + 4)?.status).toBe('cooling');
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
    it('cools a key for one model only when the error was scoped to it, and brings it back by itself', async () => {
      await pool.load(gid, keyRecords(gid, 2));
      const now = Date.now();
      const seen: KeyStateChange[] = [];
      pool.onChange((c) => seen.push(c));
      pool.report(gid, 1, { class: 'quota', retryAfterMs: 60_000, model: 'model-a' }, policy, now);
      expect(pool.health(gid, 1, now)?.status).toBe('active');
      expect(pool.health(gid, 1, now)?.modelCooling).toMatchObject({ 'model-a': { until: now + 60_000 } });
      expect(seen.map((c) => [c.keyId, c.status, c.cause, c.modelCooling?.['model-a']?.until])).toEqual([
        [1, 'active', 'quota', now + 60_000],
      ]);
      expect(new Set(pickIds(6, now + 1_000, forModel('model-a')))).toEqual(new Set([2]));
      expect(new Set(pickIds(6, now + 1_000, forModel('model-b')))).toEqual(new Set([1, 2]));
      expect(new Set(pickIds(6, now + 1_000))).toEqual(new Set([1, 2]));
      expect(new Set(pickIds(6, now + 60_001, forModel('model-a')))).toEqual(new Set([1, 2]));
    });

    it('refuses a model every key is cooling for, with the time until the first is back, and serves others', async () => {
      await pool.load(gid, keyRecords(gid, 2));
      const now = Date.now();
      pool.report(gid, 1, { class: 'quota', retryAfterMs: 60_000, model: 'model-a' }, policy, now);
      pool.report(gid, 2, { class: 'quota', retryAfterMs: 30_000, model: 'model-a' }, policy, now);
      const r = pool.pick(gid, undefined, now + 1_000, forModel('model-a'));
      expect(r).toEqual({ ok: false, reason: 'cooling', retryAfterMs: 29_000 });
      expect(pool.hasUsable(gid, now + 1_000)).toBe(true);
      expect(new Set(pickIds(6, now + 1_000, forModel('model-b')))).toEqual(new Set([1, 2]));
      expect(pickIds(3, now + 30_001, forModel('model-a'))).toEqual([2, 2, 2]);
    });

    it('forgets model coolings when an operator restores the key', async () => {
      await pool.load(gid, keyRecords(gid, 1));
      const now = Date.now();
      pool.report(gid, 1, { class: 'rate', retryAfterMs: 60_000, model: 'model-a' }, policy, now);
      expect(pool.pick(gid, undefined, now, forModel('model-a'))).toMatchObject({ ok: false });
      const change = pool.setStatus(gid, 1, 'active');
      expect(change?.modelCooling).toBeNull();
      expect(pool.health(gid, 1)?.modelCooling).toBeUndefined();
      expect(pickIds(2, now, forModel('model-a'))).toEqual([1, 1]);
    });

    it('paces a key for one model or for all of them, locally and silently, until the given time', async () => {
      await pool.load(gid, keyRecords(gid, 3));
      const now = Date.now();
      const seen: KeyStateChange[] = [];
      pool.onChange((c) => seen.push(c));
      pool.pace(gid, 1, 'model-a', now + 5_000);
      pool.pace(gid, 2, null, now + 10_000);
      expect(new Set(pickIds(9, now, forModel('model-a')))).toEqual(new Set([3]));
      expect(new Set(pickIds(9, now, forModel('model-b')))).toEqual(new Set([1, 3]));
      expect(new Set(pickIds(9, now))).toEqual(new Set([1, 3]));
      expect(new Set(pickIds(9, now + 5_001, forModel('model-a')))).toEqual(new Set([1, 3]));
      expect(new Set(pickIds(9, now + 10_001, forModel('model-a')))).toEqual(new Set([1, 2, 3]));
      expect(pool.health(gid, 2, now)).toMatchObject({ status: 'active', failureCount: 0 });
      expect(seen).toEqual([]);
    });

    it('answers paced with the earliest free slot when every key is at its limit for the model', async () => {
      await pool.load(gid, keyRecords(gid, 2));
      const now = Date.now();
      pool.pace(gid, 1, 'model-a', now + 8_000);
      pool.pace(gid, 2, null, now + 3_000);
      expect(pool.pick(gid, undefined, now, forModel('model-a'))).toEqual({
        ok: false,
        reason: 'paced',
        retryAfterMs: 3_000,
      });
      expect(pool.pick(gid, undefined, now, forModel('model-b'))).toMatchObject({ ok: true, key: { id: 1 } });
    });

    it('hands out the preferred key while it can serve the model, and another one once it cannot', async () => {
      await pool.load(gid, keyRecords(gid, 3));
      const now = Date.now();
      const prefer = (model: string) => ({ model, prefer: 2 });
      expect(pickIds(5, now, prefer('model-a'))).toEqual([2, 2, 2, 2, 2]);
      const avoided = pool.pick(gid, new Set([2]), now, prefer('model-a'));
      expect(avoided.ok && avoided.key.id).not.toBe(2);
      pool.pace(gid, 2, 'model-a', now + 5_000);
      expect(pickIds(6, now, prefer('model-a'))).not.toContain(2);
      expect(pickIds(2, now, prefer('model-b'))).toEqual([2, 2]);
      pool.setStatus(gid, 2, 'disabled');
      expect(pickIds(6, now, prefer('model-b'))).not.toContain(2);
      expect(pickIds(2, now + 5_001, { prefer: 99 }).length).toBe(2);
    });

    it('takes back a refusal for a fully blocked model as soon as the group changes', async () => {
      await pool.load(gid, keyRecords(gid, 2));
      const now = Date.now();
      pool.pace(gid, 1, 'model-a', now + 60_000);
      pool.report(gid, 2, { class: 'quota', retryAfterMs: 60_000, model: 'model-a' }, policy, now);
      expect(pool.pick(gid, undefined, now, forModel('model-a'))).toMatchObject({ ok: false });
      expect(pool.pick(gid, undefined, now + 1, forModel('model-a'))).toMatchObject({ ok: false });
      pool.setStatus(gid, 2, 'active');
      expect(pickIds(2, now + 2, forModel('model-a'))).toEqual([2, 2]);
      pool.pace(gid, 2, 'model-a', now + 60_000);
      expect(pool.pick(gid, undefined, now + 3, forModel('model-a'))).toMatchObject({
        ok: false,
        reason: 'paced',
      });
      await pool.add(gid, keyRecords(gid, 1, 3));
      expect(pickIds(2, now + 4, forModel('model-a'))).toEqual([3, 3]);
      pool.pace(gid, 3, 'model-a', now + 30_000);
      expect(pool.pick(gid, undefined, now + 5, forModel('model-a'))).toMatchObject({
        ok: false,
        retryAfterMs: 29_995,
      });
      pool.pace(gid, 3, 'model-a', now + 6);
      expect(pickIds(2, now + 7, forModel('model-a'))).toEqual([3, 3]);
    });
  });
}
