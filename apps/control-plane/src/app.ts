import type { HttpBindings } from '@hono/node-server';
import { writeAuditEntry } from '@keyway/db';
import { clientAddress } from '@keyway/server';
import { Hono } from 'hono';
import { accessKeyRoutes } from './access-keys';
import { alertRoutes } from './alerts';
import { auditRoutes } from './audit';
import { authRoutes, requireAuth } from './auth';
import { bodyLimit, lingerOnTooLarge } from './body-limit';
import type { ControlPlaneDeps, CpEnv } from './context';
import { csrfGuard } from './csrf';
import { dashboardRoutes } from './dashboard';
import { groupStatsRoutes } from './group-stats';
import { groupProxyHealthRoutes } from './group-proxies-health';
import { groupRoutes } from './groups';
import { gptLoadImportRoutes } from './import-gpt-load';
import { errorHandler } from './http';
import { keyRoutes } from './keys';
import { logExportRoutes } from './log-export';
import { logRoutes } from './logs';
import { buildOpenApi } from './openapi';
import { priceRoutes } from './prices';
import { dbSessionStore } from './session-store';
import { createSessionManager } from './sessions';
import { settingsRoutes } from './settings';
import { taskRoutes } from './tasks';

type Env = CpEnv & { Bindings: Partial<HttpBindings> };

/** The admin API under `/api`. No side effects until a request arrives. */
export function createApp(
  deps: ControlPlaneDeps,
  options: {
    /** CORS_ORIGINS: browser origins that may write besides the API's own (csrf.ts). */
    corsOrigins?: readonly string[];
  } = {},
): Hono<Env> {
  const app = new Hono<Env>();
  app.onError(errorHandler(deps.logger));
  app.notFound((c) =>
    c.json({ error: { code: 'NOT_FOUND', message: `No route ${c.req.method} ${c.req.path}` } }, 404),
  );

  app.use('/api/*', async (c, next) => {
    // Behind TRUSTED_PROXIES the client is named by X-Forwarded-For (login rate limit, sessions, audit), as in the
    // gateway; anyone else's X-Forwarded-For is ignored, so a caller cannot pick the address it is counted under.
    const clientIp = clientAddress(
      c.env?.incoming?.socket.remoteAddress ?? '',
      c.req.raw.headers.get('x-forwarded-for') ?? undefined,
      deps.isTrustedProxy,
    );
    c.set('deps', deps);
    c.set('clientIp', clientIp);
    c.set('audit', async (action, target, details = {}) => {
      try {
        await writeAuditEntry(deps.db, { action, target, details, clientIp });
      } catch (err) {
        // The audit trail must not turn a successful change into an error response.
        deps.logger.warn({ err, action }, 'could not write the audit log');
      }
    });
    c.header('cache-control', 'no-store');
    await next();
  });
  // Before auth: the unauthenticated login is size-limited and origin-checked like every other write.
  app.use('/api/*', lingerOnTooLarge(), bodyLimit(), csrfGuard({ corsOrigins: options.corsOrigins ?? [] }));
  const sessions = createSessionManager(
    deps.sessionStore ?? dbSessionStore(deps.db),
    deps.authKey,
    deps.logger,
  );
  app.route('/api/auth', authRoutes(sessions));
  app.use('/api/*', requireAuth(sessions));
  let openapi: Record<string, unknown> | null = null;
  app.get('/api/openapi.json', (c) => c.json((openapi ??= buildOpenApi())));
  app.route('/api/groups', groupRoutes());
  app.route('/api/groups', groupStatsRoutes());
  app.route('/api/groups', groupProxyHealthRoutes());
  app.route('/api', keyRoutes());
  app.route('/api', taskRoutes());
  app.route('/api/settings', settingsRoutes());
  app.route('/api/logs/export', logExportRoutes());
  app.route('/api/logs', logRoutes());
  app.route('/api/dashboard', dashboardRoutes());
  app.route('/api/audit', auditRoutes());
  app.route('/api/access-keys', accessKeyRoutes());
  app.route('/api/prices', priceRoutes());
  app.route('/api/alerts', alertRoutes());
  app.route('/api/import', gptLoadImportRoutes());
  return app;
}
