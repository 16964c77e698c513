import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSite } from './site';
import { createFixture } from './testing/fixture';
import type { Fixture } from './testing/fixture';

describe('the admin site', () => {
  let fx: Fixture;
  const dir = mkdtempSync(join(tmpdir(), 'kw-site-'));
  writeFileSync(join(dir, 'index.html'), '<div id="app"></div>');
  beforeAll(async () => {
    fx = await createFixture();
  });
  afterAll(async () => {
    await fx.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers an unknown API path with the JSON error envelope, not plain text or the console', async () => {
    const { app } = createSite(fx.deps, { corsOrigins: [], consoleDir: dir });
    const res = await app.request('/api/nope', { headers: { authorization: `Bearer ${fx.deps.authKey}` } });
    expect(res.status).toBe(404);
    expect(res.headers.get('content-type')).toContain('application/json');
    expect(await res.json()).toMatchObject({ error: { code: 'NOT_FOUND' } });
  });

  it('serves the console at / when built, and only the API when not', async () => {
    const served = createSite(fx.deps, { corsOrigins: [], consoleDir: dir });
    expect(served.console).toBe(true);
    expect(await (await served.app.request('/groups')).text()).toContain('id="app"');
    const bare = createSite(fx.deps, { corsOrigins: [], consoleDir: join(dir, 'none') });
    expect(bare.console).toBe(false);
    expect((await bare.app.request('/groups')).status).toBe(404);
  });

  it('sends CORS headers only for configured origins', async () => {
    const { app } = createSite(fx.deps, { corsOrigins: ['https://ops.example.com'] });
    const allowed = await app.request('/api/settings', {
      method: 'OPTIONS',
      headers: { origin: 'https://ops.example.com', 'access-control-request-method': 'GET' },
    });
    expect(allowed.headers.get('access-control-allow-origin')).toBe('https://ops.example.com');
    const other = await app.request('/api/settings', {
      method: 'OPTIONS',
      headers: { origin: 'https://evil.example.com', 'access-control-request-method': 'GET' },
    });
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
  });
});
