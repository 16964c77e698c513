import { randomBytes } from 'node:crypto';
import { beforeEach, describe, expect, it } from 'vitest';
import type { SessionRecord, SessionStore } from './session-store';

const MINUTE = 60_000;

/** A session record with random id and token hash, opened now and valid for an hour unless overridden. */
export function sessionRecord(overrides: Partial<SessionRecord> = {}): SessionRecord {
  const now = Date.now();
  return {
    id: randomBytes(12).toString('base64url'),
    tokenHash: randomBytes(32).toString('hex'),
    createdAt: new Date(now),
    lastSeenAt: new Date(now),
    expiresAt: new Date(now + 60 * MINUTE),
    clientIp: '203.0.113.7',
    userAgent: 'Mozilla/5.0 (test)',
    authKeyFingerprint: 'fp-current',
    ...overrides,
  };
}

/** The behaviour every SessionStore adapter must have; `make` returns an empty store. */
export function sessionStoreContract(name: string, make: () => Promise<SessionStore>): void {
  describe(`SessionStore contract: ${name}`, () => {
    let store: SessionStore;
    beforeEach(async () => {
      store = await make();
    });

    it('finds a session by the hash of its token, every field as stored', async () => {
      const s = sessionRecord();
      await store.create(s);
      expect(await store.findByTokenHash(s.tokenHash, new Date())).toEqual(s);
      expect(await store.findByTokenHash(randomBytes(32).toString('hex'), new Date())).toBeNull();
    });

    it('no longer finds or lists a session once it has expired', async () => {
      const s = sessionRecord({ expiresAt: new Date(Date.now() + MINUTE) });
      await store.create(s);
      const later = new Date(Date.now() + 2 * MINUTE);
      expect(await store.findByTokenHash(s.tokenHash, later)).toBeNull();
      expect(await store.list(later)).toEqual([]);
      expect((await store.list(new Date())).map((x) => x.id)).toEqual([s.id]);
    });

    it('lists the unexpired sessions newest first', async () => {
      const t = Date.now();
      const old = sessionRecord({ createdAt: new Date(t - 10 * MINUTE) });
      const mid = sessionRecord({ createdAt: new Date(t - 5 * MINUTE) });
      const recent = sessionRecord({ createdAt: new Date(t - MINUTE) });
      for (const s of [mid, old, recent]) await store.create(s);
      expect((await store.list(new Date())).map((s) => s.id)).toEqual([recent.id, mid.id, old.id]);
    });

    it('records activity, and touching a revoked session does not bring it back', async () => {
      const s = sessionRecord();
      await store.create(s);
      const seen = new Date(s.createdAt.getTime() + 5 * MINUTE);
      await store.touch(s.id, seen);
      expect((await store.findByTokenHash(s.tokenHash, new Date()))?.lastSeenAt).toEqual(seen);
      await store.revoke(s.id);
      await store.touch(s.id, new Date());
      expect(await store.findByTokenHash(s.tokenHash, new Date())).toBeNull();
      expect(await store.list(new Date())).toEqual([]);
    });

    it('revokes one session by id: its token no longer opens it, the others stay', async () => {
      const a = sessionRecord();
      const b = sessionRecord();
      await store.create(a);
      await store.create(b);
      expect(await store.revoke(a.id)).toBe(true);
      expect(await store.findByTokenHash(a.tokenHash, new Date())).toBeNull();
      expect(await store.findByTokenHash(b.tokenHash, new Date())).not.toBeNull();
      expect(await store.revoke(a.id)).toBe(false);
      expect(await store.revoke('no-such-session')).toBe(false);
    });

    it('revokes every session but the one kept, or all of them', async () => {
      const keep = sessionRecord();
      const others = [sessionRecord(), sessionRecord(), sessionRecord()];
      for (const s of [keep, ...others]) await store.create(s);
      expect(await store.revokeAllExcept(keep.id)).toBe(3);
      expect((await store.list(new Date())).map((s) => s.id)).toEqual([keep.id]);
      for (const s of others) expect(await store.findByTokenHash(s.tokenHash, new Date())).toBeNull();
      expect(await store.revokeAllExcept(null)).toBe(1);
      expect(await store.findByTokenHash(keep.tokenHash, new Date())).toBeNull();
    });

    it('purges expired sessions and those opened under another admin key', async () => {
      const t = Date.now();
      const current = sessionRecord({ expiresAt: new Date(t + 60 * MINUTE) });
      const expiring = sessionRecord({ expiresAt: new Date(t + MINUTE) });
      const foreign = sessionRecord({ authKeyFingerprint: 'fp-old' });
      for (const s of [current, expiring, foreign]) await store.create(s);
      expect(await store.purge(new Date(t + 2 * MINUTE), 'fp-current')).toBe(2);
      expect((await store.list(new Date())).map((s) => s.id)).toEqual([current.id]);
      expect(await store.findByTokenHash(foreign.tokenHash, new Date())).toBeNull();
      expect(await store.findByTokenHash(current.tokenHash, new Date())).not.toBeNull();
    });
  });
}
