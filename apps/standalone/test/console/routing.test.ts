import type { Browser, BrowserContext, Page } from 'playwright-core';
import type { ManagedProcess } from '@keyway/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStandalone, tempDir } from '../harness';
import { hasChromium, launchBrowser, openPage } from './browser';
import type { PageMonitor } from './browser';
import { logIn } from './seed';

const AUTH_KEY = 'console-routing-admin-Key-9c3e5a7b1d2f';

/** Deep links, the login redirect and the paths the console must leave alone. */
describe.skipIf(!hasChromium)('console routes in Chromium', () => {
  let app: { proc: ManagedProcess; url: string };
  let tmp: ReturnType<typeof tempDir>;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let monitor: PageMonitor;

  const title = () => page.locator('.header__title').innerText();

  beforeAll(async () => {
    tmp = tempDir('console-routing');
    app = await startStandalone(tmp.dir, { AUTH_KEY });
    browser = await launchBrowser();
    ({ context, page, monitor } = await openPage(browser));
  });

  afterAll(async () => {
    await context?.close();
    await browser?.close();
    await app?.proc.stop();
    tmp?.cleanup();
  });

  it('sends a visitor without a session to the login page, then on to the page they asked for', async () => {
    monitor.expect('GET', '/api/auth/session', 401);
    const res = await page.goto(`${app.url}/logs?result=error`);
    expect(res?.status()).toBe(200);
    await page.waitForURL((u) => u.pathname === '/login');
    expect(new URL(page.url()).searchParams.get('redirect')).toBe('/logs?result=error');
    await page.getByTestId('login-key').fill(AUTH_KEY);
    await page.getByTestId('login-submit').click();
    await page.waitForURL(`${app.url}/logs?result=error`);
    await page.getByTestId('log-table').waitFor();
    expect(await title()).toBe('Logs');
  });

  it('loads every page from a direct link (history fallback), and unknown paths fall back to the dashboard', async () => {
    for (const [path, heading, ready] of [
      ['/settings', 'Settings', 'settings-form'],
      ['/groups', 'Groups & keys', 'group-create'],
      ['/logs', 'Logs', 'log-table'],
      ['/', 'Dashboard', 'dashboard-cards'],
    ] as const) {
      const res = await page.goto(`${app.url}${path}`);
      expect(res?.status(), path).toBe(200);
      expect(res?.headers()['content-type'], path).toMatch(/^text\/html/);
      await page.getByTestId(ready).waitFor();
      expect(page.url()).toBe(`${app.url}${path}`);
      expect(await title()).toBe(heading);
    }
    await page.goto(`${app.url}/no/such/page`);
    await page.waitForURL(`${app.url}/`);
    await page.getByTestId('dashboard-cards').waitFor();
  });

  it('answers an unknown /api path with the JSON error envelope, not with the page', async () => {
    // The browser's own request context carries the session cookie, as the console's calls do.
    const api = await page.request.get(`${app.url}/api/nope`);
    expect(api.status()).toBe(404);
    expect(await api.text()).not.toContain('<div id="app">');
    expect(api.headers()['content-type']).toMatch(/^application\/json/);
    expect(((await api.json()) as { error: { code: string } }).error.code).toBe('NOT_FOUND');
  });

  it('leaves /proxy to the gateway, and a missing asset is a 404 rather than the page', async () => {
    const proxy = await page.request.get(`${app.url}/proxy/nope/v1/models`);
    expect(proxy.status()).toBe(404);
    expect(proxy.headers()['content-type']).toMatch(/^application\/json/);
    expect(((await proxy.json()) as { error: { message: string } }).error.message).toContain('nope');

    const asset = await page.request.get(`${app.url}/assets/gone-0000.js`);
    expect(asset.status()).toBe(404);
    expect(await asset.text()).not.toContain('<div id="app">');
  });

  it('logging out ends the session: a deep link needs the login again', async () => {
    await page.getByTestId('logout').click();
    await page.waitForURL((u) => u.pathname === '/login');
    monitor.expect('GET', '/api/auth/session', 401);
    await page.goto(`${app.url}/settings`);
    await page.waitForURL((u) => u.pathname === '/login');
    expect(new URL(page.url()).searchParams.get('redirect')).toBe('/settings');
    const session = await page.request.get(`${app.url}/api/auth/session`);
    expect(session.status()).toBe(401);
    await logIn(page, monitor, app.url, AUTH_KEY, '/groups');
    await page.getByTestId('group-create').waitFor();
  });

  it('showed no console errors, failed requests or error responses the test did not cause', () => {
    expect(monitor.unexpected()).toEqual([]);
    expect(monitor.pending()).toEqual([]);
  });
});
