import type { ManagedProcess } from '@keyway/testing';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect } from 'vitest';
import { adminClient, startStandalone, tempDir } from '../harness';
import {
  flowSteps,
  hasChromium,
  horizontalOverflow,
  launchBrowser,
  NARROW,
  openPage,
  screenshot,
  WIDE,
} from './browser';
import type { PageMonitor } from './browser';
import { logIn } from './seed';

const AUTH_KEY = 'smarter-pool-admin-Key-3b9d2e7a6c1f8054';
const GROUP = 'gemini-paced';
const UPSTREAM = 'https://generativelanguage.googleapis.com';

/**
 * The smarter pool's group settings as an operator enters them: key limits (each model, all models, one model's
 * own row), a daily reset zone and session affinity typed into the group form in headless Chromium, saved through
 * the API, and read back after a reload both by the form and by the admin API. Each step needs the one before.
 */
describe.skipIf(!hasChromium)('console in Chromium: a group with key limits and session affinity', () => {
  let app: { proc: ManagedProcess; url: string };
  let tmp: ReturnType<typeof tempDir>;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let monitor: PageMonitor;
  let groupId = 0;

  const { step } = flowSteps(() => page);
  const form = () => page.getByTestId('group-form');
  /** The `<input>` of an Element Plus field (text inputs carry the test id themselves, number inputs a wrapper). */
  const inputOf = (testId: string) =>
    page.locator(`input[data-testid="${testId}"], [data-testid="${testId}"] input`).first();
  /** Fills an Element Plus number input and leaves it, which is when it takes the value. */
  const fillNumber = async (testId: string, value: string) => {
    const input = inputOf(testId);
    await input.fill(value);
    await input.press('Tab');
  };
  const numberIn = (testId: string) => inputOf(testId).inputValue();

  beforeAll(async () => {
    tmp = tempDir('console-smarter-pool');
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

  step(
    'creates a Gemini group with key limits, a reset zone and session affinity from the form',
    async () => {
      await logIn(page, monitor, app.url, AUTH_KEY, '/groups');
      await page.getByTestId('group-create').click();
      await form().waitFor();
      await page.getByTestId('group-form-name').fill(GROUP);
      await page.getByTestId('group-form-channel').click();
      await page
        .locator('.el-select-dropdown__item', { hasText: 'gemini' })
        .filter({ visible: true })
        .click();
      expect(await inputOf('group-upstream-url-0').inputValue()).toBe(UPSTREAM);

      await page.getByTestId('group-form-pool').locator('.el-collapse-item__header').click();
      // The zone left empty resets per-day limits at the channel's default, which the field shows.
      const zone = inputOf('group-form-reset-zone');
      expect(await zone.getAttribute('placeholder')).toBe('America/Los_Angeles');
      await fillNumber('key-limits-default-rpm', '10');
      await fillNumber('key-limits-default-rpd', '250');
      await fillNumber('key-limits-total-tpm', '250000');
      await page.getByTestId('key-limits-add-model').click();
      await inputOf('key-limits-model-0').fill('gemini-2.5-pro');
      await fillNumber('key-limits-model-0-rpm', '5');
      await fillNumber('key-limits-model-0-rpd', '100');
      await zone.fill('Europe/Berlin');
      await zone.press('Tab'); // closes the suggestions, which would cover the fields below
      await page.getByTestId('group-form-affinity-session').click();
      await inputOf('group-form-affinity-header').fill('x-conversation-id');
      await fillNumber('group-form-affinity-ttl', '1800');

      await page.getByTestId('group-form-submit').click();
      await form().waitFor({ state: 'hidden' });
      await expect.poll(() => page.getByTestId('group-panel').locator('h2').innerText()).toBe(GROUP);
      groupId = Number(new URL(page.url()).searchParams.get('groupId'));
      expect(groupId).toBeGreaterThan(0);
    },
  );

  step('shows the saved limits and affinity in the form after a reload, as the API stored them', async () => {
    const stored = await adminClient(app.url, AUTH_KEY).get(`/groups/${groupId}`);
    expect(stored.body).toMatchObject({
      keyLimits: {
        default: { rpm: 10, tpm: null, rpd: 250 },
        models: { 'gemini-2.5-pro': { rpm: 5, tpm: null, rpd: 100 } },
        total: { rpm: null, tpm: 250000, rpd: null },
      },
      affinity: { mode: 'session', header: 'x-conversation-id', ttlSeconds: 1800 },
      dailyResetTimeZone: 'Europe/Berlin',
    });

    await page.reload();
    await expect.poll(() => page.getByTestId('group-panel').locator('h2').innerText()).toBe(GROUP);
    await page.getByTestId('group-edit').click();
    await form().waitFor();
    await page.getByTestId('group-form-pool').locator('.el-collapse-item__header').click();
    expect(await numberIn('key-limits-default-rpm')).toBe('10');
    expect(await numberIn('key-limits-default-tpm')).toBe('');
    expect(await numberIn('key-limits-default-rpd')).toBe('250');
    expect(await numberIn('key-limits-total-tpm')).toBe('250000');
    expect(await inputOf('key-limits-model-0').inputValue()).toBe('gemini-2.5-pro');
    expect(await numberIn('key-limits-model-0-rpm')).toBe('5');
    expect(await numberIn('key-limits-model-0-rpd')).toBe('100');
    expect(await inputOf('group-form-reset-zone').inputValue()).toBe('Europe/Berlin');
    expect(await page.getByTestId('group-form-affinity-session').getAttribute('class')).toContain(
      'is-active',
    );
    expect(await inputOf('group-form-affinity-header').inputValue()).toBe('x-conversation-id');
    expect(await numberIn('group-form-affinity-ttl')).toBe('1800');
    // The whole pool section in view: the limits editor, the reset zone and affinity.
    await page
      .getByTestId('group-form-pool')
      .evaluate((el: { scrollIntoView(o: { block: 'start' }): void }) =>
        el.scrollIntoView({ block: 'start' }),
      );
    await screenshot(page, 'smarter-pool');
    // On a phone the dialog takes the screen and the limit rows wrap instead of pushing the page sideways.
    await page.setViewportSize(NARROW);
    await expect.poll(() => horizontalOverflow(page)).toEqual([]);
    await page.setViewportSize(WIDE);
  });

  step('refuses a time zone that does not exist, on the zone field, without saving', async () => {
    const zone = inputOf('group-form-reset-zone');
    await zone.fill('Mars/Olympus_Mons');
    await page.getByTestId('group-form-submit').click();
    const item = page
      .getByTestId('group-form-reset-zone')
      .locator('xpath=ancestor::div[contains(@class,"el-form-item")][1]');
    await expect.poll(() => item.locator('.el-form-item__error').innerText()).toMatch(/IANA time zone/);
    await form().getByRole('button', { name: 'Cancel' }).click();
    await form().waitFor({ state: 'hidden' });
    const stored = await adminClient(app.url, AUTH_KEY).get(`/groups/${groupId}`);
    expect(stored.body).toMatchObject({ dailyResetTimeZone: 'Europe/Berlin' });
    expect(monitor.unexpected()).toEqual([]);
  });
});
