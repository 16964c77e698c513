import type { DbClient, SessionRow } from '@keyway/db';
import {
  createSession,
  deleteSession,
  deleteSessionsExcept,
  findSessionByTokenHash,
  listSessions,
  purgeSessions,
  touchSession,
} from '@keyway/db';

/** One admin session as a store keeps it; `tokenHash` is the sha256 (hex) of the cookie token, never the token. */
export type SessionRecord = SessionRow;

/**
 * Where admin sessions live (DESIGN §4): the database in standalone, Redis in distributed mode so every
 * control-plane replica sees a logout at once. Both adapters pass `sessionStoreContract`.
 */
export interface SessionStore {
  create(session: SessionRecord): Promise<void>;
  /** The unexpired session with this token hash, or null. */
  findByTokenHash(tokenHash: string, now: Date): Promise<SessionRecord | null>;
  /** Every unexpired session, newest first. */
  list(now: Date): Promise<SessionRecord[]>;
  /** Sets `lastSeenAt`; does nothing for a session that is gone. */
  touch(id: string, at: Date): Promise<void>;
  /** Revokes one session; false when no session has this id. */
  revoke(id: string): Promise<boolean>;
  /** Revokes every session but `keepId` (every one when null); returns how many. */
  revokeAllExcept(keepId: string | null): Promise<number>;
  /** Deletes expired sessions and those opened under another admin key; returns how many. */
  purge(now: Date, authKeyFingerprint: string): Promise<number>;
}

/** The database adapter (standalone; any Prisma provider). */
export function dbSessionStore(db: DbClient): SessionStore {
  return {
    create: (s) => createSession(db, s),
    findByTokenHash: (hash, now) => findSessionByTokenHash(db, hash, now),
    list: (now) => listSessions(db, now),
    touch: (id, at) => touchSession(db, id, at),
    revoke: (id) => deleteSession(db, id),
    revokeAllExcept: (keepId) => deleteSessionsExcept(db, keepId),
    purge: (now, fp) => purgeSessions(db, now, fp),
  };
}
