import type { DbClient } from '../client';

/** One admin session as stored: the cookie token appears only as its sha256 (`tokenHash`). */
export interface SessionRow {
  id: string;
  tokenHash: string;
  createdAt: Date;
  lastSeenAt: Date;
  expiresAt: Date;
  clientIp: string;
  userAgent: string;
  authKeyFingerprint: string;
}

/** Stores a new session. */
export async function createSession(db: DbClient, row: SessionRow): Promise<void> {
  await db.session.create({ data: row });
}

/** The unexpired session whose token hashes to `tokenHash`, or null. */
export async function findSessionByTokenHash(
  db: DbClient,
  tokenHash: string,
  now: Date,
): Promise<SessionRow | null> {
  return db.session.findFirst({ where: { tokenHash, expiresAt: { gt: now } } });
}

/** Every unexpired session, newest first. */
export async function listSessions(db: DbClient, now: Date): Promise<SessionRow[]> {
  return db.session.findMany({ where: { expiresAt: { gt: now } }, orderBy: { createdAt: 'desc' } });
}

/** Records activity; a session revoked meanwhile stays gone. */
export async function touchSession(db: DbClient, id: string, at: Date): Promise<void> {
  await db.session.updateMany({ where: { id }, data: { lastSeenAt: at } });
}

/** Revokes one session; false when there was none with that id. */
export async function deleteSession(db: DbClient, id: string): Promise<boolean> {
  const { count } = await db.session.deleteMany({ where: { id } });
  return count > 0;
}

/** Revokes every session but `keepId` (all of them when it is null); returns how many. */
export async function deleteSessionsExcept(db: DbClient, keepId: string | null): Promise<number> {
  const { count } = await db.session.deleteMany({ where: keepId === null ? {} : { id: { not: keepId } } });
  return count;
}

/** Deletes expired sessions and those opened with another admin key (another fingerprint); returns how many. */
export async function purgeSessions(db: DbClient, now: Date, authKeyFingerprint: string): Promise<number> {
  const { count } = await db.session.deleteMany({
    where: { OR: [{ expiresAt: { lte: now } }, { authKeyFingerprint: { not: authKeyFingerprint } }] },
  });
  return count;
}
