import type { RequestLog } from '@keyway/contracts';
import { startFakeUpstream } from '@keyway/testing';
import type { FakeUpstream, ManagedProcess } from '@keyway/testing';
import OpenAI from 'openai';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminClient, startStandalone, tempDir } from '../harness';
import { flowSteps, hasChromium, launchBrowser, openPage, screenshot, settled, until } from './browser';
import type { PageMonitor } from './browser';

const AUTH_KEY = 'console-admin-Key-4d7f1a9c3e6b8d20';
const GROUP = 'team-openai';
const DISPLAY_NAME = 'Team OpenAI';
const UPSTREAM_KEYS = [
  'sk-console-upstream-aaaaaaaaaaaaaaaa1111',
  'sk-console-upstream-bbbbbbbbbbbbbbbb2222',
  'sk-console-upstream-cccccccccccccccc3333',
];
const GLOBAL_PROXY_KEY = 'global-console-proxy-Key-8e2c4a6f1b3d';
const ANSWER = 'Hello from fake upstream';

/**
 * The operator's path through the console in headless Chromium, typing and clicking like a person: log in,
 * create a group, import keys, send traffic with the OpenAI SDK, find it in Logs and on the Dashboard,
 * change a setting and watch the proxy obey it, switch language and theme. Each step needs the one before;
 * after a failure the remaining steps are skipped rather than failing for the same reason.
 */
describe.skipIf(!hasChromium)('console in Chromium: the operator flow end to end', () => {
  let fake: FakeUpstream;
  let app: { proc: ManagedProcess; url: string };
  let tmp: ReturnType<typeof tempDir>;
  let admin: ReturnType<typeof adminClient>;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let monitor: PageMonitor;
  let proxyKey = '';
  let groupId = 0;

  const nav = async (route: 'dashboard' | 'groups' | 'logs' | 'settings', path: string) => {
    await page.getByTestId(`nav-${route}`).click();
    await page.waitForURL((u) => u.pathname === path);
  };
  const sdk = (apiKey: string) =>
    new OpenAI({ apiKey, baseURL: `${app.url}/proxy/${GROUP}/v1`, maxRetries: 0 });
  const chat = (apiKey: string) =>
    sdk(apiKey).chat.completions.create({
      model: 'gpt-4.1-nano',
      messages: [{ role: 'user', content: 'hi' }],
    });

  const { step, broken } = flowSteps(() => page);

  beforeAll(async () => {
    fake = await startFakeUpstream();
    tmp = tempDir('console-flow');
    app = await startStandalone(tmp.dir, { AUTH_KEY });
    admin = adminClient(app.url, AUTH_KEY);
    browser = await launchBrowser();
    // A Chinese-speaking browser: the console starts in Chinese and the operator switches to English.
    ({ context, page, monitor } = await openPage(browser, { locale: 'zh-CN' }));
  });

  afterAll(async () => {
    await context?.close();
    await browser?.close();
    await app?.proc.stop();
    await fake?.close();
    tmp?.cleanup();
  });

  step('logs in with the admin key after refusing a wrong one', async () => {
    monitor.expect('GET', '/api/auth/session', 401);
    await page.goto(`${app.url}/`);
    await page.waitForURL(`${app.url}/login`);
    await expect.poll(() => page.getByTestId('login-submit').innerText()).toBe('登录');

    await page.getByTestId('locale-switch-button').click();
    await page.getByTestId('locale-en-US').click();
    await expect.poll(() => page.getByTestId('login-submit').innerText()).toBe('Log in');
    expect(await page.locator('html').getAttribute('lang')).toBe('en-US');
    await screenshot(page, 'login');

    monitor.expect('POST', '/api/auth/login', 401);
    await page.getByTestId('login-key').fill('not-the-admin-key-0000000000');
    await page.getByTestId('login-submit').click();
    await expect.poll(() => page.getByTestId('login-error').innerText()).toContain('Wrong admin key');
    expect(page.url()).toBe(`${app.url}/login`);

    await page.getByTestId('login-key').fill(AUTH_KEY);
    await page.getByTestId('login-submit').click();
    await page.waitForURL(`${app.url}/`);
    await page.getByTestId('dashboard-cards').waitFor();
    expect(await page.locator('.header__title').innerText()).toBe('Dashboard');
  });

  step(
    'creates an OpenAI group on the upstream with a generated proxy key, shown in full only until saved',
    async () => {
      await nav('groups', '/groups');
      await page.getByTestId('group-create').click();
      const form = page.getByTestId('group-form');
      await form.waitFor();
      await page.getByTestId('group-form-name').fill(GROUP);
      await page.getByTestId('group-form-display-name').fill(DISPLAY_NAME);
      expect(await page.getByTestId('group-form-channel').innerText()).toContain('openai');
      await page.getByTestId('group-upstream-url-0').fill(fake.url);
      await page.getByTestId('proxy-key-generate').click();
      proxyKey = (await page.getByTestId('proxy-key-new').locator('code').innerText()).trim();
      expect(proxyKey).toMatch(/^\S{20,}$/);
      await page.getByTestId('group-form-submit').click();
      await form.waitFor({ state: 'hidden' });

      const panel = page.getByTestId('group-panel');
      await expect.poll(() => panel.locator('h2').innerText()).toBe(DISPLAY_NAME);
      expect(await page.getByTestId('group-endpoint').innerText()).toMatch(new RegExp(`/proxy/${GROUP}$`));
      expect(await page.getByTestId(`group-item-${GROUP}`).innerText()).toContain('0/0');
      groupId = Number(new URL(page.url()).searchParams.get('groupId'));
      expect(groupId).toBeGreaterThan(0);

      // Editing shows the saved key masked: the full key was on screen only while the group was new.
      await page.getByTestId('group-edit').click();
      await form.waitFor();
      const saved = page.getByTestId('proxy-key-saved');
      await expect.poll(() => saved.count()).toBe(1);
      expect(await form.innerText()).not.toContain(proxyKey);
      expect(await page.getByTestId('proxy-key-new').count()).toBe(0);
      await form.getByRole('button', { name: 'Cancel' }).click();
      await form.waitFor({ state: 'hidden' });
    },
  );

  step('imports upstream keys pasted as text', async () => {
    await page.getByTestId('key-import-open').click();
    const dialog = page.getByTestId('key-import-dialog');
    await dialog.waitFor();
    // Mixed separators and a repeat, as keys pasted from a spreadsheet or a chat often come.
    const [a, b, c] = UPSTREAM_KEYS as [string, string, string];
    await page.getByTestId('key-import-text').fill(`${a}\n${b}, ${c}\n${a}`);
    await page.getByTestId('key-import-submit').click();
    await dialog.waitFor({ state: 'hidden' });
    await page.locator('.el-message', { hasText: 'Added 3' }).first().waitFor();

    const rows = page.getByTestId('key-row');
    await expect.poll(() => rows.count()).toBe(3);
    const table = await page.getByTestId('key-table').innerText();
    for (const k of UPSTREAM_KEYS) expect(table).not.toContain(k);
    expect(await page.getByTestId('key-status').allInnerTexts()).toEqual(['Active', 'Active', 'Active']);
    await expect.poll(() => page.getByTestId(`group-item-${GROUP}`).innerText()).toContain('3/3');
  });

  step(
    'serves OpenAI SDK calls through the proxy with that key, failing over from a broken upstream key',
    async () => {
      fake.setKeyBehaviour(UPSTREAM_KEYS[0] as string, {
        status: 500,
        times: 1,
        message: 'upstream exploded',
      });
      for (let i = 0; i < 3; i++) {
        const r = await chat(proxyKey);
        expect(r.choices[0]?.message.content).toBe(ANSWER);
      }
      expect(fake.requests.filter((r) => r.key === UPSTREAM_KEYS[0])).not.toHaveLength(0);
      expect(fake.requests).toHaveLength(4);
      for (const r of fake.requests) expect(JSON.stringify(r.headers)).not.toContain(proxyKey);
    },
  );

  step('finds the requests in Logs by group, with the attempt trail in the detail drawer', async () => {
    await nav('logs', '/logs');
    await page.getByTestId('log-table').waitFor();
    await page.getByTestId('log-filter-group').click();
    await page
      .locator('.el-select-dropdown__item', { hasText: DISPLAY_NAME })
      .filter({ visible: true })
      .click();
    const filtered = page.waitForResponse(
      (r) => r.url().includes('/api/logs?') && r.url().includes(`groupId=${groupId}`),
    );
    await page.getByTestId('log-filter-apply').click();
    await filtered;
    const rows = page.getByTestId('log-row');
    await until('three logged requests', async () => {
      if ((await rows.count()) === 3) return true;
      await page.getByTestId('log-refresh').click();
      return false;
    });
    const table = await page.getByTestId('log-table').innerText();
    expect(table).toContain(GROUP);
    expect(table).toContain('gpt-4.1-nano');

    // Read back which record is the one that failed over, then open it the way an operator would.
    const listed = await admin.get(`/logs?groupId=${groupId}`);
    const retried = (listed.body.items as RequestLog[]).find((l) => l.retries === 1);
    expect(retried).toBeDefined();
    await page.locator(`[data-testid="log-row"][data-log-id="${retried?.id}"]`).click();
    const drawer = page.getByTestId('log-drawer');
    await drawer.waitFor();
    await expect.poll(() => drawer.innerText()).toContain(retried?.requestId ?? '?');
    const attempts = page.getByTestId('log-attempts').locator('.el-timeline-item');
    await expect.poll(() => attempts.count()).toBe(2);
    expect(await attempts.nth(0).innerText()).toMatch(/500/);
    expect(await attempts.nth(0).innerText()).toContain(fake.url);
    expect(await attempts.nth(1).innerText()).toMatch(/200/);
    const text = await drawer.innerText();
    for (const secret of [...UPSTREAM_KEYS, proxyKey]) expect(text).not.toContain(secret);
    await screenshot(page, 'logs');
    await page.keyboard.press('Escape');
    await drawer.waitFor({ state: 'hidden' });
  });

  step('shows the keys with their use on the group page', async () => {
    await nav('groups', '/groups');
    await page.getByTestId('group-panel').waitFor();
    const rows = page.getByTestId('key-row');
    await expect.poll(() => rows.count()).toBe(3);
    // Requests count per key (successful ones); the broken key shows its failure instead.
    const headers = await page.locator('[data-testid="key-table"] thead th').allInnerTexts();
    const column = headers.findIndex((h) => h.trim() === 'Requests') + 1;
    expect(column).toBeGreaterThan(0);
    const cells = page.locator(`[data-testid="key-table"] tr.el-table__row td:nth-child(${column})`);
    await until('the key table to count the three requests', async () => {
      const counts = (await cells.allInnerTexts()).map(Number);
      if (counts.reduce((a, b) => a + b, 0) === 3) return true;
      await page.reload();
      await page.getByTestId('key-table').waitFor();
      return false;
    });
    expect(await page.getByTestId('key-table').innerText()).toContain('500');
    await screenshot(page, 'groups');
  });

  step('counts the requests on the Dashboard', async () => {
    await nav('dashboard', '/');
    const requests = page.getByTestId('card-requests').locator('.stat__value');
    await until('the dashboard to count three requests', async () => {
      if ((await requests.innerText()) === '3') return true;
      await page.getByTestId('dashboard-refresh').click();
      return false;
    });
    expect(await page.getByTestId('card-keys').locator('.stat__value').innerText()).toBe('3');
    expect(await page.getByTestId('card-error-rate').locator('.stat__value').innerText()).toMatch(/^0/);
    await page.getByTestId('dashboard-chart').locator('canvas').first().waitFor();
    await settled(page);
    await screenshot(page, 'dashboard');
  });

  step('enforces a global proxy key added in Settings', async () => {
    await expect(chat(GLOBAL_PROXY_KEY)).rejects.toBeInstanceOf(OpenAI.AuthenticationError);

    await nav('settings', '/settings');
    const field = page.getByTestId('setting-proxyKeys');
    await field.waitFor();
    await field.getByTestId('proxy-key-input').fill(GLOBAL_PROXY_KEY);
    await field.getByTestId('proxy-key-add').click();
    await page.getByTestId('settings-save').click();
    const diff = page.getByTestId('settings-diff');
    await diff.waitFor();
    // The review names the change without echoing the secret.
    expect(await diff.innerText()).not.toContain(GLOBAL_PROXY_KEY);
    await page.getByTestId('settings-confirm').click();
    await diff.waitFor({ state: 'hidden' });
    await expect.poll(() => field.getByTestId('proxy-key-saved').count()).toBe(1);
    expect(await field.innerText()).not.toContain(GLOBAL_PROXY_KEY);

    const r = await until('the gateway to accept the global proxy key', async () => {
      try {
        return await chat(GLOBAL_PROXY_KEY);
      } catch (e) {
        if (e instanceof OpenAI.AuthenticationError) return undefined;
        throw e;
      }
    });
    expect(r.choices[0]?.message.content).toBe(ANSWER);
    expect((await chat(proxyKey)).choices[0]?.message.content).toBe(ANSWER);
    await screenshot(page, 'settings');
  });

  step('switches to Chinese and back, and to dark mode; a reload keeps both choices', async () => {
    const dashboardLink = page.getByTestId('nav-dashboard');
    await page.getByTestId('locale-switch-button').click();
    await page.getByTestId('locale-zh-CN').filter({ visible: true }).click();
    await expect.poll(() => dashboardLink.innerText()).toBe('仪表盘');
    await page.getByTestId('locale-switch-button').click();
    await page.getByTestId('locale-en-US').filter({ visible: true }).click();
    await expect.poll(() => dashboardLink.innerText()).toBe('Dashboard');

    const htmlClass = async () => (await page.locator('html').getAttribute('class')) ?? '';
    expect(await htmlClass()).not.toMatch(/\bdark\b/);
    await page.getByTestId('theme-switch-button').click();
    await page.getByTestId('theme-dark').filter({ visible: true }).click();
    await expect.poll(htmlClass).toMatch(/\bdark\b/);

    await page.reload();
    await page.getByTestId('settings-form').waitFor();
    expect(page.url()).toBe(`${app.url}/settings`);
    expect(await htmlClass()).toMatch(/\bdark\b/);
    expect(await dashboardLink.innerText()).toBe('Dashboard');

    await nav('dashboard', '/');
    // Every request so far, the refused ones included, as the API counts them.
    const summary = await admin.get('/dashboard/summary?range=24h');
    const total = String(summary.body.requests);
    const requests = page.getByTestId('card-requests').locator('.stat__value');
    await until(`the dashboard to count ${total} requests`, async () => {
      if ((await requests.innerText()) === total) return true;
      await page.getByTestId('dashboard-refresh').click();
      return false;
    });
    await page.getByTestId('dashboard-chart').locator('canvas').first().waitFor();
    await settled(page);
    await screenshot(page, 'dashboard-dark');
  });

  it('showed no console errors, failed requests or error responses the test did not cause', () => {
    expect(monitor.unexpected()).toEqual([]);
    if (!broken()) expect(monitor.pending()).toEqual([]);
  });
});
