import { createMetrics } from '@keyway/observability';
import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import { mountOpsRoutes } from './ops-routes';

function app(options: Partial<Parameters<typeof mountOpsRoutes>[1]> = {}): Hono {
  const a = new Hono();
  const metrics = createMetrics();
  metrics.counter('keyway_test_total', 'A test counter', []).inc({});
  mountOpsRoutes(a, { metrics, checks: {}, ...options });
  return a;
}

describe('ops routes', () => {
  it('answers /health while the process runs', async () => {
    const res = await app().request('/health');
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ok' });
  });

  it('answers /ready 503 with the failing check until every check is ok', async () => {
    let redis = 'unreachable';
    const a = app({
      checks: { config: () => 'ok', redis: () => redis, db: () => Promise.reject(new Error('x')) },
    });
    let res = await a.request('/ready');
    expect(res.status).toBe(503);
    expect(await res.json()).toEqual({
      status: 'unready',
      checks: { config: 'ok', redis: 'unreachable', db: 'unreachable' },
    });
    redis = 'ok';
    const b = app({ checks: { redis: () => redis } });
    res = await b.request('/ready');
    expect(res.status).toBe(200);
  });

  it('serves Prometheus text, behind a bearer token when one is set', async () => {
    expect(await (await app().request('/metrics')).text()).toContain('keyway_test_total 1');
    const guarded = app({ metricsToken: 'metrics-secret-token' });
    expect((await guarded.request('/metrics')).status).toBe(401);
    const wrong = await guarded.request('/metrics', { headers: { authorization: 'Bearer nope' } });
    expect(wrong.status).toBe(401);
    const ok = await guarded.request('/metrics', {
      headers: { authorization: 'Bearer metrics-secret-token' },
    });
    expect(ok.status).toBe(200);
  });
});
