import type { HttpBindings } from '@hono/node-server';
import { createApp as createControlPlane } from '@keyway/control-plane';
import { safeEqual } from '@keyway/keypool';
import { createApp as createGateway } from '@keyway/gateway';
import { Hono } from 'hono';
import { cors } from 'hono/cors';
import { secureHeaders } from 'hono/secure-headers';
import type { StandaloneDeps } from './deps';

/** One process, one port: `/proxy` (gateway), `/api` (control plane), `/health`, `/ready`, `/metrics`. */
export function createApp(deps: StandaloneDeps): Hono<{ Bindings: HttpBindings }> {
  const app = new Hono<{ Bindings: HttpBindings }>();

  app.get('/health', (c) => c.json({ status: 'ok' }));
  app.get('/ready', async (c) => {
    const checks: Record<string, string> = { config: 'ok', database: 'ok' };
    try {
      await deps.db.prisma.$queryRawUnsafe('SELECT 1');
    } catch {
      checks.database = 'unreachable';
    }
    const ok = Object.values(checks).every((v) => v === 'ok');
    return c.json(ok ? { status: 'ready', checks } : { status: 'unready', checks }, ok ? 200 : 503);
  });
  app.get('/metrics', (c) => {
    const token = deps.env.METRICS_TOKEN;
    if (token) {
      const header = c.req.header('authorization') ?? '';
      if (!(header.slice(0, 7).toLowerCase() === 'bearer ' && safeEqual(header.slice(7).trim(), token)))
        return c.json({ error: { code: 'UNAUTHORIZED', message: 'Metrics token required' } }, 401);
    }
    return c.text(deps.metrics.render(), 200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' });
  });

  app.route(
    '/',
    createGateway({
      runtime: deps.runtime,
      keyPool: deps.keyPool,
      logSink: deps.logSink,
      clients: deps.clients,
      logger: deps.logger,
      metrics: deps.gatewayMetrics,
      isTrustedProxy: deps.isTrustedProxy,
    }),
  );

  app.use('/api/*', secureHeaders());
  // CORS is off unless origins are configured: the console is served from the same origin.
  const origins = deps.env.CORS_ORIGINS;
  if (origins.length > 0)
    app.use(
      '/api/*',
      cors({
        origin: origins.includes('*') ? '*' : origins,
        credentials: !origins.includes('*'),
        maxAge: 600,
      }),
    );
  const controlPlaneDeps = {
    db: deps.db.prisma,
    dbProvider: deps.db.provider,
    keyPool: deps.keyPool,
    authKey: deps.authKey,
    keyCipher: deps.keyCipher,
    logger: deps.logger,
    onConfigChanged: deps.reloadConfig,
    flushKeyStates: deps.flushKeyStates,
    queue: deps.queue,
    testKey: deps.testKey,
  };
  app.route('/', createControlPlane(controlPlaneDeps));
  return app;
}
