import type { HttpBindings } from '@hono/node-server';
import { createSite } from '@keyway/control-plane';
import { databaseCheck } from '@keyway/db';
import { createProxyHandler, honoProxyApp } from '@keyway/gateway';
import type { ProxyHandler } from '@keyway/gateway';
import { mountJsonNotFound, mountOpsRoutes } from '@keyway/server';
import { Hono } from 'hono';
import type { StandaloneDeps } from './deps';

/**
 * One process, one port: `/proxy` and the key-routed `/v1`, `/v1beta` (gateway), `/api` (control plane), the
 * console at `/` (when built), `/health`, `/ready`, `/metrics`.
 */
export function createApp(
  deps: StandaloneDeps,
  options: { consoleDir?: string } = {},
): Hono<{ Bindings: HttpBindings }> {
  return createServing(deps, options).app;
}

/**
 * The app and its data-plane handler: servers hand `/proxy/`, `/v1` and `/v1beta` requests to `proxy` before hono
 * (the hot path); the app's own routes for them share the same handler (one concurrency count, one storm guard).
 */
export function createServing(
  deps: StandaloneDeps,
  options: { consoleDir?: string } = {},
): { app: Hono<{ Bindings: HttpBindings }>; proxy: ProxyHandler } {
  const proxy = createProxyHandler({
    runtime: deps.runtime,
    keyPool: deps.keyPool,
    logSink: deps.logSink,
    usageSink: deps.usageSink,
    clients: deps.clients,
    logger: deps.logger,
    metrics: deps.gatewayMetrics,
    counters: deps.counters,
    isTrustedProxy: deps.isTrustedProxy,
    tracing: deps.tracing,
    alerts: deps.alerts,
  });
  const app = new Hono<{ Bindings: HttpBindings }>();
  mountOpsRoutes(app, {
    metrics: deps.metrics,
    metricsToken: deps.env.METRICS_TOKEN,
    checks: {
      config: () => 'ok',
      database: databaseCheck(deps.db),
    },
  });
  app.route('/', honoProxyApp(proxy));
  const site = createSite(
    {
      db: deps.db.prisma,
      dbProvider: deps.db.provider,
      sqliteWriter: deps.sqliteWriter,
      keyPool: deps.keyPool,
      authKey: deps.authKey,
      keyCipher: deps.keyCipher,
      logger: deps.logger,
      onConfigChanged: deps.reloadConfig,
      flushKeyStates: deps.flushKeyStates,
      queue: deps.queue,
      testKey: deps.testKey,
      // The gateway's own counters: `rpmNow` is exact in one process.
      counters: deps.counters,
      proxyPenalties: (urls) => Promise.resolve(deps.clients.proxyHealth.penaltiesOf(urls)),
      // Sessions live in the database (the default store); X-Forwarded-Proto is believed from these peers only.
      isTrustedProxy: deps.isTrustedProxy,
      tracing: deps.tracing,
    },
    { corsOrigins: deps.env.CORS_ORIGINS, ...(options.consoleDir ? { consoleDir: options.consoleDir } : {}) },
  );
  app.route('/', site.app);
  mountJsonNotFound(app);
  return { app, proxy };
}
