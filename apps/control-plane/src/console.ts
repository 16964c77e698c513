import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { serveStatic } from '@hono/node-server/serve-static';
import type { Context, Env, Next } from 'hono';
import { Hono } from 'hono';
import { compress } from 'hono/compress';
import { secureHeaders } from 'hono/secure-headers';

/**
 * Paths the console never answers: the API, the proxy and the key-routed endpoints (`/v1`, `/v1beta`, where SDKs
 * call the gateway) keep their own 404s and JSON errors — an SDK must never get the console's HTML.
 */
const RESERVED = /^\/(api|proxy|v1|v1beta)(\/|$)/;
/** Vite puts content-hashed files here: they never change, so browsers may keep them for a year. */
const HASHED = /^\/assets\//;

/**
 * Serves the console's production build (`apps/console/dist`) at `/`: hashed assets with long-cache headers,
 * `index.html` with `no-cache` (so a deploy is picked up at once), and the history fallback — any other GET that
 * is not a file gets `index.html`, so deep links work — never for `/api`, `/proxy`, `/v1` or `/v1beta`. Returns
 * false (and mounts nothing) when the directory holds no `index.html`.
 */
export function mountConsole<E extends Env>(app: Hono<E>, dir: string): boolean {
  const site = new Hono();
  const gzip = compress();
  const root = resolve(dir);
  const index = join(root, 'index.html');
  if (!existsSync(index)) return false;
  const guard = async (c: Context, next: Next) => {
    if (RESERVED.test(c.req.path)) return c.notFound();
    await next();
    // Set after serving: the static handler builds its own response.
    if (c.res.status === 200 || c.res.status === 304) {
      const long =
        HASHED.test(c.req.path) && c.res.headers.get('content-type') !== 'text/html; charset=utf-8';
      c.res.headers.set('cache-control', long ? 'public, max-age=31536000, immutable' : 'no-cache');
    }
  };
  site.use('*', async (c, next) => {
    if (c.req.method !== 'GET' && c.req.method !== 'HEAD') return next();
    if (RESERVED.test(c.req.path)) return next();
    // eslint-disable-next-line @typescript-eslint/no-unsafe-argument -- hono types compress() with an `any` env
    return gzip(c, next);
  });
  site.get('*', guard, secureHeaders({ xFrameOptions: 'DENY' }), serveStatic({ root }));
  // History fallback: whatever is not a file is a route of the SPA.
  // A missing file (an old hashed asset after a deploy) stays a 404 rather than turning into HTML.
  site.get(
    '*',
    guard,
    (c, next) => (/\.[A-Za-z0-9]+$/.test(c.req.path) ? c.notFound() : next()),
    serveStatic({ path: index }),
  );
  app.route('/', site);
  return true;
}
