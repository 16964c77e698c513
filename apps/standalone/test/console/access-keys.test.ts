import { startFakeUpstream } from '@keyway/testing';
import type { FakeUpstream, ManagedProcess } from '@keyway/testing';
import OpenAI from 'openai';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect } from 'vitest';
import { adminClient, startStandalone, tempDir } from '../harness';
import { flowSteps, hasChromium, launchBrowser, openPage, screenshot, until } from './browser';
import type { PageMonitor } from './browser';
import { logIn } from './seed';

const AUTH_KEY = 'access-keys-admin-Key-5c8e1b7d2f4a9063';
const GROUP = 'team-gpt';
const DISPLAY_NAME = 'Team GPT';
const ACCESS_KEY_NAME = 'ci-bot';
const UPSTREAM_KEY = 'sk-access-upstream-dddddddddddddddd4444';
const ANSWER = 'Hello from fake upstream';

/**
 * An access key's life as an operator and a caller see it, in headless Chromium and through the official
 * OpenAI SDK: created in the console with its secret shown once, used on the key-routed `/v1` endpoint, its
 * usage on the access-keys page, then revoked (disabled, then deleted) and refused with 401. Each step needs
 * the one before; after a failure the remaining steps are skipped.
 */
describe.skipIf(!hasChromium)('console in Chromium: an access key from creation to revocation', () => {
  let fake: FakeUpstream;
  let app: { proc: ManagedProcess; url: string };
  let tmp: ReturnType<typeof tempDir>;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let monitor: PageMonitor;
  let secret = '';
  let groupId = 0;

  const chat = (apiKey: string) =>
    new OpenAI({ apiKey, baseURL: `${app.url}/v1`, maxRetries: 0 }).chat.completions.create({
      model: 'gpt-4.1-nano',
      messages: [{ role: 'user', content: 'hi' }],
    });
  /** The status the SDK reports for a call with `apiKey` (200 when it succeeds). */
  const statusOf = async (apiKey: string): Promise<number> => {
    try {
      await chat(apiKey);
      return 200;
    } catch (e) {
      if (e instanceof OpenAI.APIError && typeof e.status === 'number') return e.status;
      throw e;
    }
  };
  const row = () =>
    page.getByTestId('access-key-table').locator('.el-table__row', { hasText: ACCESS_KEY_NAME });

  const { step } = flowSteps(() => page);

  beforeAll(async () => {
    fake = await startFakeUpstream();
    tmp = tempDir('console-access-keys');
    app = await startStandalone(tmp.dir, { AUTH_KEY });
    const admin = adminClient(app.url, AUTH_KEY);
    const created = await admin.post('/groups', {
      name: GROUP,
      displayName: DISPLAY_NAME,
      channel: 'openai',
      upstreams: [{ url: fake.url, weight: 1 }],
    });
    if (created.status !== 201) throw new Error(`group not created: ${JSON.stringify(created.body)}`);
    groupId = created.body.id as number;
    await admin.post(`/groups/${groupId}/keys`, { keys: UPSTREAM_KEY });
    browser = await launchBrowser();
    ({ context, page, monitor } = await openPage(browser));
  });

  afterAll(async () => {
    await context?.close();
    await browser?.close();
    await app?.proc.stop();
    await fake?.close();
    tmp?.cleanup();
  });

  step('creates an access key scoped to the group, its secret shown once with a warning', async () => {
    await logIn(page, monitor, app.url, AUTH_KEY, '/access-keys');
    await page.getByTestId('access-key-table').waitFor();
    await page.getByTestId('access-key-create').click();
    const form = page.getByTestId('access-key-form');
    await form.waitFor();
    await page.getByTestId('access-key-form-name').fill(ACCESS_KEY_NAME);
    await page.getByTestId('access-key-form-group-add').click();
    await page
      .locator('.el-select-dropdown__item', { hasText: DISPLAY_NAME })
      .filter({ visible: true })
      .click();
    await page.getByTestId(`access-key-group-${groupId}`).waitFor();
    const rpd = page.getByTestId('access-key-form-limit-rpd').locator('input');
    await rpd.fill('100');
    await rpd.press('Tab');
    await page.getByTestId('access-key-form-submit').click();
    await form.waitFor({ state: 'hidden' });

    const dialog = page.getByTestId('access-key-secret-dialog');
    await dialog.waitFor();
    expect(await dialog.innerText()).toContain('will not be shown again');
    secret = (await page.getByTestId('access-key-secret').innerText()).trim();
    expect(secret.length).toBeGreaterThanOrEqual(20);
    await page.getByTestId('access-key-secret-close').click();
    await dialog.waitFor({ state: 'hidden' });

    // From now on only the mask exists, on the page as in the API.
    await expect.poll(() => row().count()).toBe(1);
    expect(await page.locator('body').innerText()).not.toContain(secret);
    expect(await row().innerText()).toContain(DISPLAY_NAME);
  });

  step('serves the OpenAI SDK on the key-routed /v1 endpoint with that secret', async () => {
    const r = await until('the new key to reach the gateway', async () => {
      try {
        return await chat(secret);
      } catch (e) {
        if (e instanceof OpenAI.AuthenticationError) return undefined;
        throw e;
      }
    });
    expect(r.choices[0]?.message.content).toBe(ANSWER);
    for (const req of fake.requests) expect(JSON.stringify(req.headers)).not.toContain(secret);
  });

  step('shows the usage on the access-keys page', async () => {
    const bar = () => row().getByTestId('usage-rpd');
    await until('the request to count against the key', async () => {
      if (/\b[1-9]\d* \/ 100\b/.test(await bar().innerText())) return true;
      await page.getByTestId('access-keys-refresh').click();
      return false;
    });
    expect(await row().getByTestId('usage-today').innerText()).toMatch(/Today: [1-9]\d* req /);
    expect(await row().innerText()).not.toContain('Not used yet');
    await screenshot(page, 'access-keys');
  });

  step('refuses the key with 401 once it is disabled, and after it is deleted', async () => {
    await row().locator('.el-switch').click();
    await page.locator('.el-message', { hasText: 'Access key disabled' }).first().waitFor();
    await until('the gateway to refuse the disabled key', async () => (await statusOf(secret)) === 401, 5000);

    await row().getByRole('button', { name: 'Delete' }).click();
    const box = page.locator('.el-message-box');
    await box.waitFor();
    await box.getByRole('button', { name: 'Confirm' }).click();
    await expect.poll(() => row().count()).toBe(0);
    expect(await statusOf(secret)).toBe(401);
    expect(monitor.unexpected()).toEqual([]);
  });
});
