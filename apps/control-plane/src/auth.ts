import { createHmac } from 'node:crypto';
import { AppError } from '@keyway/core';
import { safeEqual } from '@keyway/keypool';
import type { MiddlewareHandler } from 'hono';
import { Hono } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import { z } from 'zod';
import type { CpEnv } from './context';
import { parseBody } from './http';

export const SESSION_COOKIE = 'kw_session';
const SESSION_TTL_MS = 12 * 60 * 60 * 1000;
const LOGIN_WINDOW_MS = 5 * 60 * 1000;
const LOGIN_MAX_FAILURES = 10;

/**
 * Stateless sessions: `<expiresAtMs>.<hmac>` signed with a key derived from AUTH_KEY, so any control-plane
 * replica can check them and changing AUTH_KEY logs everyone out.
 */
function sign(authKey: string, expiresAt: number): string {
  const mac = createHmac('sha256', `keyway-session:${authKey}`).update(String(expiresAt)).digest('base64url');
  return `${expiresAt}.${mac}`;
}

function sessionExpiry(authKey: string, token: string | undefined, now: number): number | null {
  if (!token) return null;
  const dot = token.indexOf('.');
  const expiresAt = Number(token.slice(0, dot));
  if (dot < 0 || !Number.isSafeInteger(expiresAt) || expiresAt <= now) return null;
  return safeEqual(token, sign(authKey, expiresAt)) ? expiresAt : null;
}

/** Requires `Authorization: Bearer <AUTH_KEY>` or a valid session cookie. */
export function requireAuth(): MiddlewareHandler<CpEnv> {
  return async (c, next) => {
    const { authKey } = c.var.deps;
    const header = c.req.header('authorization');
    if (
      header &&
      header.slice(0, 7).toLowerCase() === 'bearer ' &&
      safeEqual(header.slice(7).trim(), authKey)
    )
      return next();
    if (sessionExpiry(authKey, getCookie(c, SESSION_COOKIE), Date.now()) !== null) return next();
    throw new AppError('UNAUTHORIZED', 'Authentication required');
  };
}

/** `/api/auth/*`: login (rate-limited per client IP), logout, session. */
export function authRoutes(): Hono<CpEnv> {
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
    const { authKey } = await parseBody(c, z.strictObject({ authKey: z.string().max(1024) }));
    if (!safeEqual(authKey, c.var.deps.authKey)) {
      recent.push(now);
      failures.set(ip, recent);
      if (failures.size > 10_000) failures.delete(failures.keys().next().value as string);
      throw new AppError('UNAUTHORIZED', 'Wrong admin key');
    }
    failures.delete(ip);
    const expiresAt = now + SESSION_TTL_MS;
    setCookie(c, SESSION_COOKIE, sign(c.var.deps.authKey, expiresAt), {
      httpOnly: true,
      sameSite: 'Strict',
      secure: c.var.deps.secureCookies ?? false,
      path: '/',
      expires: new Date(expiresAt),
    });
    return c.body(null, 204);
  });

  app.post('/logout', (c) => {
    deleteCookie(c, SESSION_COOKIE, { path: '/' });
    return c.body(null, 204);
  });

  app.get('/session', (c) => {
    const header = c.req.header('authorization');
    if (
      header &&
      header.slice(0, 7).toLowerCase() === 'bearer ' &&
      safeEqual(header.slice(7).trim(), c.var.deps.authKey)
    )
      return c.json({ authenticated: true, expiresAt: null });
    const expiresAt = sessionExpiry(c.var.deps.authKey, getCookie(c, SESSION_COOKIE), Date.now());
    if (expiresAt === null) throw new AppError('UNAUTHORIZED', 'No valid session');
    return c.json({ authenticated: true, expiresAt: new Date(expiresAt).toISOString() });
  });

  return app;
}
