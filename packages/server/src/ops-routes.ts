import { safeEqual } from '@keyway/keypool';
import type { Metrics } from '@keyway/observability';
import type { Hono } from 'hono';

/** One readiness check: `ok`, or a short reason such as `unreachable` (never an error message with secrets). */
export type CheckResult = string;

/** Options of {@link mountOpsRoutes}. */
export interface OpsRoutesOptions {
  metrics: Metrics;
  /** When set, `/metrics` requires it as a bearer token. */
  metricsToken?: string | undefined;
  /** Readiness checks by name; `/ready` answers 503 unless every one is `ok`. */
  checks: Record<string, () => CheckResult | Promise<CheckResult>>;
}

/** Adds `/health` (liveness: the process answers), `/ready` (readiness checks) and `/metrics` (Prometheus). */
export function mountOpsRoutes<E extends object>(app: Hono<E>, options: OpsRoutesOptions): void {
  app.get('/health', (c) => c.json({ status: 'ok' }));
  app.get('/ready', async (c) => {
    const checks: Record<string, CheckResult> = {};
    for (const [name, check] of Object.entries(options.checks)) {
      try {
        checks[name] = await check();
      } catch {
        checks[name] = 'unreachable';
      }
    }
    const ok = Object.values(checks).every((v) => v === 'ok');
    return c.json({ status: ok ? 'ready' : 'unready', checks }, ok ? 200 : 503);
  });
  app.get('/metrics', (c) => {
    const token = options.metricsToken;
    if (token) {
      const header = c.req.header('authorization') ?? '';
      if (!(header.slice(0, 7).toLowerCase() === 'bearer ' && safeEqual(header.slice(7).trim(), token)))
        return c.json({ error: { code: 'UNAUTHORIZED', message: 'Metrics token required' } }, 401);
    }
    return c.text(options.metrics.render(), 200, {
      'content-type': 'text/plain; version=0.0.4; charset=utf-8',
    });
  });
}

/**
 * Answers unmatched paths with the JSON error envelope instead of Hono's plain-text 404. Needed on the top-level
 * app: a sub-app's own notFound is not used once it is mounted with `route()`.
 */
export function mountJsonNotFound<E extends object>(app: Hono<E>): void {
  app.notFound((c) =>
    c.json({ error: { code: 'NOT_FOUND', message: `No route for ${c.req.method} ${c.req.path}` } }, 404),
  );
}
