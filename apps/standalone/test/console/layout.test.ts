import { startFakeUpstream } from '@keyway/testing';
import type { FakeUpstream, ManagedProcess } from '@keyway/testing';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminClient, startStandalone, tempDir } from '../harness';
import {
  hasChromium,
  horizontalOverflow,
  launchBrowser,
  NARROW,
  openPage,
  paintedOver,
  WIDE,
} from './browser';
import { logIn, seedTraffic } from './seed';

const AUTH_KEY = 'console-layout-admin-Key-2f8b6d4a0c9e';
const GROUP = 'narrow-openai';

// Starting on the dashboard, each entry is a different page from the one before.
const PAGES = [
  { route: 'groups', path: '/groups', ready: `group-item-${GROUP}` },
  { route: 'access-keys', path: '/access-keys', ready: 'access-key-table' },
  { route: 'logs', path: '/logs', ready: 'log-row' },
  { route: 'settings', path: '/settings', ready: 'settings-form' },
  { route: 'dashboard', path: '/', ready: 'dashboard-cards' },
] as const;

describe.skipIf(!hasChromium)('console layout in Chromium', () => {
  let fake: FakeUpstream;
  let app: { proc: ManagedProcess; url: string };
  let tmp: ReturnType<typeof tempDir>;
  let browser: Browser;
  const contexts: BrowserContext[] = [];

  beforeAll(async () => {
    fake = await startFakeUpstream();
    tmp = tempDir('console-layout');
    app = await startStandalone(tmp.dir, { AUTH_KEY });
    await seedTraffic(app.url, adminClient(app.url, AUTH_KEY), fake, GROUP);
    browser = await launchBrowser();
  });

  afterAll(async () => {
    for (const c of contexts) await c.close();
    await browser?.close();
    await app?.proc.stop();
    await fake?.close();
    tmp?.cleanup();
  });

  async function open(viewport: { width: number; height: number }) {
    const opened = await openPage(browser, { viewport });
    contexts.push(opened.context);
    return opened;
  }

  const fits = async (page: Page, where: string) =>
    expect(await horizontalOverflow(page), `sideways overflow on ${where}`).toEqual([]);

  it('fits every page into 390 px, with the navigation in a menu drawer', async () => {
    const { page, monitor } = await open(NARROW);
    monitor.expect('GET', '/api/auth/session', 401);
    await page.goto(`${app.url}/`);
    await page.getByTestId('login-submit').waitFor();
    await fits(page, 'the login page');
    await page.getByTestId('login-key').fill(AUTH_KEY);
    await page.getByTestId('login-submit').click();
    await page.waitForURL(`${app.url}/`);

    const drawer = page.getByTestId('nav-drawer');
    for (const p of PAGES) {
      // No side menu at this width: the menu button opens the drawer, choosing a page closes it.
      expect(await page.locator('.layout__aside').count()).toBe(0);
      await page.getByTestId('nav-open').click();
      await drawer.waitFor();
      await drawer.getByTestId(`nav-${p.route}`).click();
      await page.waitForURL((u) => u.pathname === p.path);
      await drawer.waitFor({ state: 'hidden' });
      await page.getByTestId(p.ready).first().waitFor();
      await fits(page, p.path);
    }

    // Groups: the list, then one group's panel in its place with a way back.
    await page.getByTestId('nav-open').click();
    await drawer.getByTestId('nav-groups').click();
    await page.getByTestId(`group-item-${GROUP}`).click();
    await page.getByTestId('key-row').first().waitFor();
    expect(await page.getByTestId(`group-item-${GROUP}`).count()).toBe(0);
    await fits(page, 'a group with its keys');
    await page.getByTestId('group-back').click();
    await page.getByTestId('group-create').click();
    await page.getByTestId('group-form-name').waitFor();
    await fits(page, 'the new group form');
    await page.keyboard.press('Escape');
    await page.getByTestId('group-form-name').waitFor({ state: 'hidden' });

    // Logs: the detail drawer takes the whole width.
    await page.getByTestId('nav-open').click();
    await drawer.getByTestId('nav-logs').click();
    await page.getByTestId('log-row').first().click();
    await page.getByTestId('log-attempts').waitFor();
    await fits(page, 'the log detail drawer');

    expect(monitor.unexpected()).toEqual([]);
    expect(monitor.pending()).toEqual([]);
  });

  it('closes the menu drawer when the page already shown is chosen again', async () => {
    const { page, monitor } = await open(NARROW);
    await logIn(page, monitor, app.url, AUTH_KEY, '/logs');
    await page.getByTestId('nav-open').click();
    const drawer = page.getByTestId('nav-drawer');
    await drawer.waitFor();
    await drawer.getByTestId('nav-logs').click();
    await drawer.waitFor({ state: 'hidden', timeout: 3000 });
    expect(page.url()).toBe(`${app.url}/logs`);
  });

  it('keeps the settings save bar on top of the fields scrolling under it', async () => {
    for (const viewport of [WIDE, NARROW]) {
      const { page, monitor } = await open(viewport);
      await logIn(page, monitor, app.url, AUTH_KEY, '/settings');
      await page.getByTestId('setting-maxRetries').waitFor();
      // Every card's loading mask (settings, sessions) gone: the layout is final.
      await expect.poll(() => page.locator('.el-loading-mask').count(), { timeout: 10_000 }).toBe(0);
      expect(await paintedOver(page, '.settings__bar'), `at ${viewport.width} px`).toEqual([]);
      expect(monitor.unexpected()).toEqual([]);
    }
  });
});
