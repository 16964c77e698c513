import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Hono } from 'hono';
import { afterAll, describe, expect, it } from 'vitest';
import { mountConsole } from './console';

const dir = mkdtempSync(join(tmpdir(), 'kw-console-'));
mkdirSync(join(dir, 'assets'));
writeFileSync(join(dir, 'index.html'), '<!doctype html><div id="app"></div>');
writeFileSync(join(dir, 'assets', 'index-abc123.js'), 'console.log("hi")'.repeat(200));
writeFileSync(join(dir, 'favicon.svg'), '<svg/>');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function app(): Hono {
  const a = new Hono();
  a.get('/api/groups', (c) => c.json([]));
  expect(mountConsole(a, dir)).toBe(true);
  return a;
}

describe('console serving', () => {
  it('serves index.html at / with no-cache', async () => {
    const res = await app().request('/');
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-cache');
    expect(res.headers.get('content-type')).toContain('text/html');
    expect(await res.text()).toContain('id="app"');
  });

  it('serves hashed assets with a year-long immutable cache, compressed when asked', async () => {
    const res = await app().request('/assets/index-abc123.js', { headers: { 'accept-encoding': 'gzip' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(res.headers.get('content-encoding')).toBe('gzip');
    expect(res.headers.get('content-type')).toContain('javascript');
  });

  it('answers deep links with index.html (history fallback)', async () => {
    const res = await app().request('/groups/12/keys?status=invalid');
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-cache');
    expect(await res.text()).toContain('id="app"');
  });

  it('answers a missing asset with 404, not with the page', async () => {
    const res = await app().request('/assets/index-old999.js');
    expect(res.status).toBe(404);
  });

  it('never shadows /api or /proxy', async () => {
    const a = app();
    expect((await a.request('/api/groups')).status).toBe(200);
    expect((await a.request('/api/nope')).status).toBe(404);
    expect(await (await a.request('/api/nope')).text()).not.toContain('id="app"');
    expect((await a.request('/proxy/group/v1/models')).status).toBe(404);
  });

  it('never answers the key-routed endpoints /v1 and /v1beta with the page', async () => {
    const a = app();
    for (const path of ['/v1', '/v1/models', '/v1/chat/completions', '/v1beta', '/v1beta/models?key=x']) {
      const res = await a.request(path);
      expect(res.status, path).toBe(404);
      expect(await res.text(), path).not.toContain('id="app"');
    }
    // Only whole segments are reserved: a console route that merely starts with the letters is still one.
    expect((await a.request('/v1x-report')).status).toBe(200);
  });

  it('does not serve files outside its directory', async () => {
    const res = await app().request('/..%2f..%2fetc%2fpasswd');
    expect(await res.text()).not.toContain('root:');
  });

  it('mounts nothing when there is no build', () => {
    expect(mountConsole(new Hono(), join(dir, 'missing'))).toBe(false);
  });
});
