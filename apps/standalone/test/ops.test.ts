import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ManagedProcess } from '@keyway/testing';
import { startStandalone, tempDir } from './harness';

const AUTH_KEY = 'ops-admin-Key-2f3e4d5c6b7a';
const METRICS_TOKEN = 'ops-metrics-Token-9a8b7c6d';

describe('operations endpoints', () => {
  const tmp = tempDir('ops');
  let app: { proc: ManagedProcess; url: string };
  beforeAll(async () => {
    app = await startStandalone(tmp.dir, { AUTH_KEY, METRICS_TOKEN });
  });
  afterAll(async () => {
    await app.proc.stop();
    tmp.cleanup();
  });

  it('reports ready once the database answers', async () => {
    const res = await fetch(`${app.url}/ready`);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ status: 'ready', checks: { database: 'ok' } });
  });

  it('guards /metrics with METRICS_TOKEN and serves Prometheus text', async () => {
    expect((await fetch(`${app.url}/metrics`)).status).toBe(401);
    expect((await fetch(`${app.url}/metrics`, { headers: { authorization: 'Bearer wrong' } })).status).toBe(
      401,
    );
    const res = await fetch(`${app.url}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/plain');
    const text = await res.text();
    expect(text).toMatch(/^# TYPE process_resident_memory_bytes gauge$/m);
    expect(text).toMatch(/^# TYPE keyway_proxy_requests_total counter$/m);
    expect(text).not.toContain(AUTH_KEY);
  });

  it('sends security headers on the admin API and no CORS headers by default', async () => {
    const res = await fetch(`${app.url}/api/groups`, {
      headers: { authorization: `Bearer ${AUTH_KEY}`, origin: 'https://evil.example' },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('access-control-allow-origin')).toBeNull();
    expect(res.headers.get('cache-control')).toBe('no-store');
  });
});
