import type { ManagedProcess } from '@keyway/testing';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect } from 'vitest';
import { adminClient, startStandalone, tempDir } from '../harness';
import { flowSteps, hasChromium, launchBrowser, openPage } from './browser';
import type { PageMonitor } from './browser';
import { logIn } from './seed';

const AUTH_KEY = 'proxy-pool-admin-Key-5e1c9a7d3b2f4068';
const GROUP = 'pooled';
// Nothing listens on these: the pool is only stored and shown here, no request goes through it.
const PROXY_A = 'http://proxyuser:proxy-secret@127.0.0.1:3128';
const MASKED_A = 'http://…@127.0.0.1:3128';
const PROXY_B = 'socks5h://127.0.0.1:1080';
const PROXY_C = 'socks5://other:other-secret@127.0.0.1:1081';
const MASKED_C = 'socks5://…@127.0.0.1:1081';

/**
 * A group's egress proxy pool as an operator edits it in headless Chromium: saved proxies shown masked with their
 * health and pinned keys, one removed and one added, the masked one sent back unchanged (the API keeps its stored
 * credentials), the keys table naming each key's proxy, and a refused URL shown on its own row.
 */
describe.skipIf(!hasChromium)('console in Chromium: a group with an egress proxy pool', () => {
  let app: { proc: ManagedProcess; url: string };
  let tmp: ReturnType<typeof tempDir>;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let monitor: PageMonitor;
  let groupId = 0;

  const { step } = flowSteps(() => page);
  const form = () => page.getByTestId('group-form');
  const admin = () => adminClient(app.url, AUTH_KEY);

  beforeAll(async () => {
    tmp = tempDir('console-proxy-pool');
    app = await startStandalone(tmp.dir, { AUTH_KEY });
    browser = await launchBrowser();
    ({ context, page, monitor } = await openPage(browser));
    const created = await admin().post('/groups', {
      name: GROUP,
      channel: 'openai',
      upstreams: [{ url: 'https://api.openai.com', weight: 1 }],
      proxyPool: [PROXY_A, PROXY_B],
    });
    expect(created.status).toBe(201);
    groupId = created.body.id as number;
    const keys = ['sk-test-pool-0001', 'sk-test-pool-0002', 'sk-test-pool-0003'];
    await admin().post(`/groups/${groupId}/keys`, { keys: keys.join('\n') });
  });

  afterAll(async () => {
    await context?.close();
    await browser?.close();
    await app?.proc.stop();
    tmp?.cleanup();
  });

  const openForm = async () => {
    await page.getByTestId('group-edit').click();
    await form().waitFor();
    // The dialog remembers which sections were open: open this one only if it is folded.
    const section = page.getByTestId('group-form-routing');
    if (!((await section.getAttribute('class')) ?? '').includes('is-active'))
      await section.locator('.el-collapse-item__header').click();
    await page.getByTestId('proxy-pool').waitFor();
  };

  step('shows each key with the proxy it is pinned to, masked', async () => {
    await logIn(page, monitor, app.url, AUTH_KEY, '/groups');
    await page.goto(`${app.url}/groups?groupId=${groupId}`);
    await expect.poll(() => page.getByTestId('key-proxy').count()).toBe(3);
    const shown = await page.getByTestId('key-proxy').allInnerTexts();
    for (const p of shown) expect([MASKED_A, PROXY_B]).toContain(p);
    expect(await page.content()).not.toContain('proxy-secret');
  });

  step('lists the saved proxies masked, each healthy with the keys pinned to it', async () => {
    await openForm();
    expect(await page.getByTestId('proxy-pool-url-0').inputValue()).toBe(MASKED_A);
    expect(await page.getByTestId('proxy-pool-url-1').inputValue()).toBe(PROXY_B);
    await expect.poll(() => page.getByTestId('proxy-pool-health-0').innerText()).toMatch(/Healthy/);
    const pinned = await Promise.all(
      [0, 1].map(async (i) => {
        const text = await page.getByTestId(`proxy-pool-health-${i}`).innerText();
        return Number(/(\d+) keys/.exec(text)?.[1]);
      }),
    );
    expect(pinned.reduce((a, b) => a + b, 0)).toBe(3);
  });

  step('removes one proxy and adds another; the masked one is kept as stored', async () => {
    await page.getByTestId('proxy-pool-remove-1').click();
    await page.getByTestId('proxy-pool-add').click();
    await page.getByTestId('proxy-pool-url-1').fill(PROXY_C);
    await page.getByTestId('group-form-submit').click();
    await form().waitFor({ state: 'hidden' });
    const stored = await admin().get(`/groups/${groupId}`);
    expect(stored.body.proxyPool).toEqual([MASKED_A, MASKED_C]);
    const health = await admin().get(`/groups/${groupId}/proxies`);
    expect((health.body.items as Array<{ proxy: string }>).map((h) => h.proxy)).toEqual([MASKED_A, MASKED_C]);
  });

  step('shows a refused proxy URL on its own row and saves nothing', async () => {
    await openForm();
    await page.getByTestId('proxy-pool-add').click();
    await page.getByTestId('proxy-pool-url-2').fill('ftp://127.0.0.1:21');
    await page.getByTestId('group-form-submit').click();
    const item = page
      .getByTestId('proxy-pool-url-2')
      .locator('xpath=ancestor::div[contains(@class,"el-form-item")][1]');
    await expect.poll(() => item.locator('.el-form-item__error').innerText()).toMatch(/socks5/);
    await form().getByRole('button', { name: 'Cancel' }).click();
    await form().waitFor({ state: 'hidden' });
    expect((await admin().get(`/groups/${groupId}`)).body.proxyPool).toEqual([MASKED_A, MASKED_C]);
    expect(monitor.unexpected()).toEqual([]);
  });
});
