import { createHash, createHmac, randomBytes } from 'node:crypto';
import type { AuthSession } from '@keyway/contracts';
import { AppError, isAppError } from '@keyway/core';
import type { LogPort } from '@keyway/core';
import type { SessionRecord, SessionStore } from './session-store';

export const SESSION_COOKIE = 'kw_session';
/** A session lasts 12 hours from login, however active. */
export const SESSION_TTL_MS = 12 * 60 * 60 * 1000;
/**
 * How long this process trusts what it read about a session. DESIGN §4 allows a short memory cache: a revocation
 * made on another replica is seen within this time (this replica's own revocations at once).
 */
export const SESSION_CACHE_MS = 500;
/** `lastSeenAt` is written at most this often per session, not on every request. */
export const SESSION_TOUCH_MS = 60_000;
const USER_AGENT_MAX = 255;
const CLIENT_IP_MAX = 64;
const CACHE_MAX = 1000;
/** What a cookie caller is told while the session store cannot be reached (bearer callers never ask it). */
export const SESSION_STORE_UNAVAILABLE =
  'session store unavailable; use the admin key as a Bearer token or retry';
/** `Retry-After` (seconds) of that 503. */
export const SESSION_STORE_RETRY_AFTER_S = 5;

/** Who opened a session, as recorded with it. */
export interface SessionOrigin {
  clientIp: string;
  userAgent: string;
}

/** The admin sessions of one control plane: opening, checking (cached), listing and revoking them. */
export interface SessionManager {
  /** Stores a new session; the returned token goes into the cookie and nowhere else. */
  open(origin: SessionOrigin): Promise<{ token: string; session: SessionRecord }>;
  /** The live session a cookie token opens, or null (unknown, expired, revoked, other AUTH_KEY). */
  authenticate(token: string | undefined): Promise<SessionRecord | null>;
  /** The live sessions as the API shows them; `currentId` is marked `current`. */
  list(currentId: string | null): Promise<AuthSession[]>;
  revoke(id: string): Promise<boolean>;
  /** Revokes every session but `keepId`; returns how many. */
  revokeOthers(keepId: string | null): Promise<number>;
}

/** sha256 (hex) of a cookie token: the only form a store ever sees. */
export function hashSessionToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/**
 * A keyed fingerprint of the admin key, stored with each session so that a changed AUTH_KEY revokes them all.
 * HMAC keyed by AUTH_KEY: the stored value reveals nothing usable about the key.
 */
export function authKeyFingerprint(authKey: string): string {
  return createHmac('sha256', authKey).update('keyway:session:auth-key-fingerprint:v1').digest('hex');
}

/** 32 random bytes; anything else is not a token we issued, so the store is not asked about it. */
const TOKEN_RE = /^[A-Za-z0-9_-]{43}$/;

/** Builds the session manager over a store (database or Redis). */
export function createSessionManager(store: SessionStore, authKey: string, logger: LogPort): SessionManager {
  const fingerprint = authKeyFingerprint(authKey);
  // An unreachable store (Redis down in distributed mode) is one outage, logged when it starts and when it ends,
  // not once per request; meanwhile cookie callers get 503 UNAVAILABLE instead of a 500.
  let down = false;
  const failed = (err: unknown) => {
    if (down) return;
    down = true;
    logger.error(
      { err },
      'session store unavailable: cookie sessions answer 503 until it is back; the admin key as a Bearer token still works',
    );
  };
  const guarded = async <T>(call: () => Promise<T>): Promise<T> => {
    let value: T;
    try {
      value = await call();
    } catch (err) {
      if (isAppError(err)) throw err;
      failed(err);
      throw new AppError('UNAVAILABLE', SESSION_STORE_UNAVAILABLE, { cause: err });
    }
    if (down) {
      down = false;
      logger.info({}, 'session store available again');
    }
    return value;
  };
  // tokenHash → what the store said and until when it is believed.
  const cache = new Map<string, { session: SessionRecord; until: number }>();

  const forget = (keep: (s: SessionRecord) => boolean) => {
    for (const [hash, entry] of cache) if (!keep(entry.session)) cache.delete(hash);
  };

  const touch = (s: SessionRecord, now: number) => {
    if (now - s.lastSeenAt.getTime() < SESSION_TOUCH_MS) return;
    s.lastSeenAt = new Date(now);
    // Activity is a detail: a failed write is part of the outage (logged once), never the request's failure.
    store.touch(s.id, s.lastSeenAt).catch(failed);
  };

  const lookup = async (hash: string, now: number): Promise<SessionRecord | null> => {
    const hit = cache.get(hash);
    if (hit && hit.until > now) return hit.session;
    cache.delete(hash);
    const session = await guarded(() => store.findByTokenHash(hash, new Date(now)));
    if (!session) return null;
    if (session.authKeyFingerprint !== fingerprint) {
      // Opened under another AUTH_KEY: revoked, and removed so it no longer shows in the list.
      await guarded(() => store.revoke(session.id));
      return null;
    }
    if (cache.size >= CACHE_MAX) cache.delete(cache.keys().next().value as string);
    cache.set(hash, { session, until: now + SESSION_CACHE_MS });
    return session;
  };

  return {
    async open(origin) {
      const now = Date.now();
      // Expired sessions and those of an earlier AUTH_KEY go whenever someone logs in.
      await guarded(() => store.purge(new Date(now), fingerprint));
      const token = randomBytes(32).toString('base64url');
      const session: SessionRecord = {
        id: randomBytes(16).toString('base64url'),
        tokenHash: hashSessionToken(token),
        createdAt: new Date(now),
        lastSeenAt: new Date(now),
        expiresAt: new Date(now + SESSION_TTL_MS),
        clientIp: origin.clientIp.slice(0, CLIENT_IP_MAX),
        userAgent: origin.userAgent.slice(0, USER_AGENT_MAX),
        authKeyFingerprint: fingerprint,
      };
      await guarded(() => store.create(session));
      return { token, session };
    },

    async authenticate(token) {
      if (!token || !TOKEN_RE.test(token)) return null;
      const now = Date.now();
      const session = await lookup(hashSessionToken(token), now);
      if (!session || session.expiresAt.getTime() <= now) return null;
      touch(session, now);
      return session;
    },

    async list(currentId) {
      const now = new Date();
      const sessions = await guarded(async () => {
        await store.purge(now, fingerprint);
        return store.list(now);
      });
      return sessions.map((s) => ({
        id: s.id,
        createdAt: s.createdAt.toISOString(),
        lastSeenAt: s.lastSeenAt.toISOString(),
        clientIp: s.clientIp,
        userAgent: s.userAgent,
        current: s.id === currentId,
      }));
    },

    async revoke(id) {
      forget((s) => s.id !== id);
      return guarded(() => store.revoke(id));
    },

    async revokeOthers(keepId) {
      forget((s) => s.id === keepId);
      return guarded(() => store.revokeAllExcept(keepId));
    },
  };
}
