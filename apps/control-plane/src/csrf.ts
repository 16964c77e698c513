import type { HttpBindings } from '@hono/node-server';
import { defaultSettings } from '@keyway/contracts';
import { AppError } from '@keyway/core';
import { safeEqual } from '@keyway/keypool';
import type { Context, MiddlewareHandler } from 'hono';
import { bodyRuleFor } from './body-limit';
import type { CpEnv } from './context';
import { loadSettings } from './settings-store';

type Env = CpEnv & { Bindings: Partial<HttpBindings> };

const WRITES = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** Options of {@link csrfGuard}. */
export interface CsrfOptions {
  /** CORS_ORIGINS: origins allowed besides the request's own (`*` does not count: it is for cookie-less use). */
  corsOrigins: readonly string[];
}

/** `scheme://host[:port]` of a URL, normalised (lower case, default port dropped); null when it is none. */
function originOf(value: string): string | null {
  try {
    const origin = new URL(value).origin;
    return origin === 'null' ? null : origin;
  } catch {
    return null;
  }
}

/** How the request authenticates: bearer AUTH_KEY, a cookie (a browser's), or neither. */
function authVia(c: Context<Env>): 'bearer' | 'cookie' | null {
  // Set by requireAuth when it already ran; this guard runs before it (the login and logout routes come first).
  const known = c.get('authVia') as 'bearer' | 'cookie' | undefined;
  if (known) return known;
  const header = c.req.header('authorization');
  if (
    header?.slice(0, 7).toLowerCase() === 'bearer ' &&
    safeEqual(header.slice(7).trim(), c.var.deps.authKey)
  )
    return 'bearer';
  // Any cookie counts: a browser attaches them on its own, which is what cross-site requests abuse.
  return c.req.header('cookie') ? 'cookie' : null;
}

/** The origin the browser claims: `Origin`, else the origin of `Referer`; `null` for none (or `Origin: null`). */
function claimedOrigin(c: Context<Env>): string | null | undefined {
  const origin = c.req.header('origin');
  if (origin !== undefined) return origin === 'null' ? null : (originOf(origin) ?? null);
  const referer = c.req.header('referer');
  return referer === undefined ? undefined : originOf(referer);
}

function hasBody(c: Context<Env>): boolean {
  const length = c.req.header('content-length');
  if (length !== undefined) return Number(length) > 0;
  if (c.req.header('transfer-encoding') !== undefined) return true;
  // Outside node (app.request in tests) there is no framing header to go by.
  return !c.env?.incoming && c.req.raw.body !== null;
}

async function isAllowed(
  c: Context<Env>,
  origin: string,
  own: string,
  options: CsrfOptions,
): Promise<boolean> {
  if (origin === own) return true;
  if (options.corsOrigins.some((o) => o !== '*' && originOf(o) === origin)) return true;
  // Only a configured appUrl: the built-in default (http://localhost:3001) says nothing about where the console
  // really is, and would let a page on that sibling port through.
  const { appUrl } = await loadSettings(c.var.deps.db);
  return appUrl !== defaultSettings.appUrl && originOf(appUrl) === origin;
}

function forbidden(message: string): AppError {
  return new AppError('FORBIDDEN', message);
}

/**
 * CSRF protection of the admin API. A write (POST/PUT/PATCH/DELETE) sent with a cookie must name an allowed
 * origin in `Origin` (or, failing that, `Referer`): the request's own (scheme and host as received, or as a
 * trusted proxy forwarded them), the configured `appUrl`, or one of CORS_ORIGINS — SameSite=Strict alone lets a
 * page on another port or a sibling subdomain through. With a body it must also be `application/json`
 * (`multipart/form-data` on upload routes), which a cross-site form cannot send. Otherwise 403 FORBIDDEN.
 * Bearer requests are not checked (a page cannot attach the header). Cookie-less writes that carry an Origin
 * (the login form) must name an allowed one too, so a foreign page cannot log a browser into its session.
 */
export function csrfGuard(options: CsrfOptions): MiddlewareHandler<Env> {
  return async (c, next) => {
    if (!WRITES.has(c.req.method)) return next();
    const via = authVia(c);
    if (via === 'bearer') return next();
    const origin = claimedOrigin(c);
    if (via === null && origin === undefined) return next(); // not a browser: nothing rides on ambient credentials
    if (!origin)
      throw forbidden(
        'A write from a browser needs an Origin or Referer header naming this server (or use Authorization: Bearer)',
      );
    const own = requestOrigin(c, c.var.deps.isTrustedProxy ?? (() => false));
    if (!(await isAllowed(c, origin, own, options)))
      throw forbidden(
        `Writes from ${origin} are not allowed (this server is ${own}; ` +
          'set appUrl or CORS_ORIGINS, or TRUSTED_PROXIES so X-Forwarded-Host/-Proto are believed)',
      );
    if (hasBody(c)) {
      const type = (c.req.header('content-type') ?? '').split(';')[0]?.trim().toLowerCase();
      const multipart = bodyRuleFor(c.req.method, c.req.path).multipart === true;
      if (type !== 'application/json' && !(multipart && type === 'multipart/form-data'))
        throw forbidden(
          `A write from a browser must send ${multipart ? 'application/json or multipart/form-data' : 'application/json'}`,
        );
    }
    return next();
  };
}

/**
 * The request's own origin: the scheme of the connection and the Host header, or `X-Forwarded-Proto` and
 * `X-Forwarded-Host` (their first value: the client-facing hop) when the peer is a trusted proxy.
 */
export function requestOrigin(c: Context<Env>, isTrustedProxy: (address: string) => boolean): string {
  const url = new URL(c.req.url);
  let scheme = url.protocol.slice(0, -1);
  let host = url.host;
  const peer = c.env?.incoming?.socket.remoteAddress;
  if (peer && isTrustedProxy(peer)) {
    const proto = c.req.header('x-forwarded-proto')?.split(',')[0]?.trim().toLowerCase();
    if (proto === 'http' || proto === 'https') scheme = proto;
    const fwdHost = c.req.header('x-forwarded-host')?.split(',')[0]?.trim();
    if (fwdHost) host = fwdHost;
  }
  return originOf(`${scheme}://${host}`) ?? url.origin;
}
