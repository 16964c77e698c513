import { loginBodySchema } from '@keyway/contracts';
import { AppError, isAppError } from '@keyway/core';
import { safeEqual } from '@keyway/keypool';
import type { Context, MiddlewareHandler } from 'hono';
import { Hono } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import type { CpEnv } from './context';
import { parseBody } from './http';
import { isHttpsRequest } from './request-origin';
import type { SessionManager } from './sessions';
import { SESSION_COOKIE, SESSION_STORE_RETRY_AFTER_S } from './sessions';

export { SESSION_COOKIE } from './sessions';
const LOGIN_WINDOW_MS = 5 * 60 * 1000;
const LOGIN_MAX_FAILURES = 10;
const SESSION_ID_RE = /^[A-Za-z0-9_-]{1,64}$/;

function hasAdminBearer(c: Context<CpEnv>): boolean {
  const header = c.req.header('authorization');
  return (
    header !== undefined &&
    header.slice(0, 7).toLowerCase() === 'bearer ' &&
    safeEqual(header.slice(7).trim(), c.var.deps.authKey)
  );
}

/** Awaits a session-store call; when the store is unreachable its 503 tells the client when to retry. */
async function fromStore<T>(c: Context<CpEnv>, call: Promise<T>): Promise<T> {
  try {
    return await call;
  } catch (e) {
    if (isAppError(e) && e.code === 'UNAVAILABLE')
      c.header('retry-after', String(SESSION_STORE_RETRY_AFTER_S));
    throw e;
  }
}

/**
 * Requires `Authorization: Bearer <AUTH_KEY>` or the cookie of a live server-side session. Sets `authVia` (the
 * CSRF check applies to cookie callers only) and `sessionId` (null for bearer callers).
 */
export function requireAuth(sessions: SessionManager): MiddlewareHandler<CpEnv> {
  return async (c, next) => {
    if (hasAdminBearer(c)) {
      c.set('authVia', 'bearer');
      c.set('sessionId', null);
      return next();
    }
    const session = await fromStore(c, sessions.authenticate(getCookie(c, SESSION_COOKIE)));
    if (!session) throw new AppError('UNAUTHORIZED', 'Authentication required');
    c.set('authVia', 'cookie');
    c.set('sessionId', session.id);
    return next();
  };
}

/** The cookie is Secure behind HTTPS (seen directly or from a trusted proxy) and whenever SECURE_COOKIES says so. */
function cookieOptions(c: Context<CpEnv>, expires: Date) {
  const { secureCookies, isTrustedProxy } = c.var.deps;
  return {
    httpOnly: true,
    sameSite: 'Strict' as const,
    secure: secureCookies === true || isHttpsRequest(c, isTrustedProxy),
    path: '/',
    expires,
  };
}

/** `/api/auth/*`: login (rate-limited per client IP), logout, the current session, and the session list. */
export function authRoutes(sessions: SessionManager): Hono<CpEnv> {
  const app = new Hono<CpEnv>();
  const failures = new Map<string, number[]>();

  app.post('/login', async (c) => {
    const ip = c.var.clientIp;
    const now = Date.now();
    const recent = (failures.get(ip) ?? []).filter((t) => now - t < LOGIN_WINDOW_MS);
    if (recent.length >= LOGIN_MAX_FAILURES) {
      const retry = Math.ceil(((recent[0] as number) + LOGIN_WINDOW_MS - now) / 1000);
      c.header('retry-after', String(Math.max(1, retry)));
      throw new AppError('RATE_LIMITED', 'Too many failed logins; try again later');
    }
    const { authKey } = await parseBody(c, loginBodySchema);
    if (!safeEqual(authKey, c.var.deps.authKey)) {
      recent.push(now);
      failures.set(ip, recent);
      if (failures.size > 10_000) failures.delete(failures.keys().next().value as string);
      throw new AppError('UNAUTHORIZED', 'Wrong admin key');
    }
    failures.delete(ip);
    const { token, session } = await fromStore(
      c,
      sessions.open({ clientIp: ip, userAgent: c.req.header('user-agent') ?? '' }),
    );
    setCookie(c, SESSION_COOKIE, token, cookieOptions(c, session.expiresAt));
    return c.body(null, 204);
  });

  app.post('/logout', async (c) => {
    // Revoked server-side: a copy of the cookie taken before logout opens nothing afterwards.
    const session = await fromStore(c, sessions.authenticate(getCookie(c, SESSION_COOKIE)));
    if (session) await fromStore(c, sessions.revoke(session.id));
    deleteCookie(c, SESSION_COOKIE, { path: '/', secure: cookieOptions(c, new Date(0)).secure });
    return c.body(null, 204);
  });

  app.get('/session', async (c) => {
    if (hasAdminBearer(c)) return c.json({ authenticated: true, expiresAt: null });
    const session = await fromStore(c, sessions.authenticate(getCookie(c, SESSION_COOKIE)));
    if (!session) throw new AppError('UNAUTHORIZED', 'No valid session');
    return c.json({ authenticated: true, expiresAt: session.expiresAt.toISOString() });
  });

  app.use('/sessions', requireAuth(sessions));
  app.use('/sessions/*', requireAuth(sessions));

  app.get('/sessions', async (c) => c.json({ items: await fromStore(c, sessions.list(c.var.sessionId)) }));

  // Every session but the caller's (a bearer caller has none, so all of them).
  app.delete('/sessions', async (c) => {
    const count = await fromStore(c, sessions.revokeOthers(c.var.sessionId));
    await c.var.audit('sessions.revoke-others', 'sessions', { count });
    return c.body(null, 204);
  });

  app.delete('/sessions/:id', async (c) => {
    const id = c.req.param('id');
    // Ids are short base64url strings; anything else names no session and need not reach the store.
    if (!SESSION_ID_RE.test(id) || !(await fromStore(c, sessions.revoke(id))))
      throw AppError.notFound('Session');
    await c.var.audit('sessions.revoke', `session:${id}`);
    return c.body(null, 204);
  });

  return app;
}
