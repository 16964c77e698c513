import { fileURLToPath } from 'node:url';
import type { HttpBindings } from '@hono/node-server';
import { mountJsonNotFound } from '@keyway/server';
import { Hono } from 'hono';
import { cors } from 'hono/cors';
import { secureHeaders } from 'hono/secure-headers';
import { createApp } from './app';
import { mountConsole } from './console';
import type { ControlPlaneDeps } from './context';
import { traceAdmin } from './tracing';

/** Options of {@link createSite}. */
export interface SiteOptions {
  /** Origins allowed to call the API from a browser (`*` for any); empty: CORS off (the console is same-origin). */
  corsOrigins: readonly string[];
  /** The console's build directory; nothing is served at `/` when it holds no index.html. */
  consoleDir?: string;
}

/** The admin site: `/api` (security headers, optional CORS) and the console at `/` when it is built. */
export function createSite(
  deps: ControlPlaneDeps,
  options: SiteOptions,
): { app: Hono<{ Bindings: HttpBindings }>; console: boolean } {
  const app = new Hono<{ Bindings: HttpBindings }>();
  if (deps.tracing?.enabled) app.use('/api/*', traceAdmin(deps.tracing));
  app.use('/api/*', secureHeaders());
  const origins = options.corsOrigins;
  if (origins.length > 0)
    app.use(
      '/api/*',
      cors({
        origin: origins.includes('*') ? '*' : [...origins],
        credentials: !origins.includes('*'),
        maxAge: 600,
      }),
    );
  app.route('/', createApp(deps, { corsOrigins: origins }));
  // The mounted API's own notFound is not used: unmatched paths get its envelope here (and from the host app).
  mountJsonNotFound(app);
  const served = options.consoleDir ? mountConsole(app, options.consoleDir) : false;
  return { app, console: served };
}

/** `apps/console/dist` seen from an app's bundle (`apps/<app>/dist/main.js`): where `pnpm build` puts the console. */
export function defaultConsoleDir(bundleUrl: string): string {
  return fileURLToPath(new URL('../../console/dist', bundleUrl));
}
