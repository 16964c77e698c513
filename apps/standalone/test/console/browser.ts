import { existsSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { it } from 'vitest';
import type { Browser, BrowserContext, Page, Request, Response } from 'playwright-core';

/** Debian's chromium: the suite never downloads a browser. */
export const CHROMIUM_PATH = '/usr/bin/chromium';
export const hasChromium = existsSync(CHROMIUM_PATH);
if (!hasChromium) {
  if (process.env.CI) throw new Error(`chromium is required in CI but ${CHROMIUM_PATH} does not exist`);
  const bar = '!'.repeat(78);
  console.warn(
    `\n${bar}\n!! SKIPPING the console browser tests: no chromium at ${CHROMIUM_PATH}\n` +
      `!! Install it with: apt-get update && apt-get install -y chromium (in CI, with CI set, this fails)\n${bar}\n`,
  );
}

/**
 * Where the screenshots go: `docs/screenshots` (the README's, committed) when `UPDATE_SCREENSHOTS` is set, else
 * `apps/standalone/test-results/screenshots` (ignored by git), so a test run leaves the work tree clean.
 */
export const SCREENSHOT_DIR = process.env.UPDATE_SCREENSHOTS
  ? resolve(dirname(fileURLToPath(import.meta.url)), '../../../../docs/screenshots')
  : resolve(dirname(fileURLToPath(import.meta.url)), '../../test-results/screenshots');

export const WIDE = { width: 1280, height: 800 };
export const NARROW = { width: 390, height: 844 };

export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/** A fresh context (own cookies and localStorage) with a UTC clock, so nothing depends on the host's zone. */
export function newContext(
  browser: Browser,
  options: { viewport?: { width: number; height: number }; locale?: string } = {},
): Promise<BrowserContext> {
  return browser.newContext({
    viewport: options.viewport ?? WIDE,
    locale: options.locale ?? 'en-US',
    timezoneId: 'UTC',
    colorScheme: 'light',
  });
}

// The page's DOM as far as the layout checks use it: this package compiles without the DOM library.
interface DomElement {
  tagName: string;
  className: unknown;
  parentElement: DomElement | null;
  scrollWidth: number;
  scrollHeight: number;
  clientWidth: number;
  getAttribute(name: string): string | null;
  getBoundingClientRect(): {
    left: number;
    top: number;
    right: number;
    bottom: number;
    width: number;
    height: number;
  };
}
declare const document: {
  documentElement: DomElement;
  body: DomElement & { querySelectorAll(selector: string): ArrayLike<DomElement> };
  querySelector(
    selector: string,
  ): (DomElement & { scrollTop: number; contains(e: DomElement): boolean }) | null;
  elementFromPoint(x: number, y: number): DomElement | null;
};
declare function getComputedStyle(el: DomElement): { overflowX: string };

/** A page in its own fresh context, watched by a {@link PageMonitor}; waits give up after 10 s. */
export async function openPage(
  browser: Browser,
  options: { viewport?: { width: number; height: number }; locale?: string } = {},
): Promise<{ context: BrowserContext; page: Page; monitor: PageMonitor }> {
  const context = await newContext(browser, options);
  const page = await context.newPage();
  page.setDefaultTimeout(10_000);
  return { context, page, monitor: new PageMonitor(page) };
}

/** An error response the test provokes on purpose (a wrong login, a session check while logged out). */
export interface ExpectedFailure {
  method: string;
  path: string;
  status: number;
}

/**
 * Watches a page for what an operator would see as breakage: console errors and warnings, uncaught
 * exceptions, requests that fail at the network level and responses with status ≥ 400. Failures the test
 * causes on purpose are announced first with {@link PageMonitor.expect}; each announcement covers one response.
 */
export class PageMonitor {
  private readonly problems: string[] = [];
  private readonly expected: ExpectedFailure[] = [];
  /** URLs of error responses, so Chromium's "Failed to load resource" echo of them is not counted twice. */
  private readonly errorUrls = new Set<string>();
  private readonly consoleEchoes: Array<{ url: string; text: string }> = [];

  constructor(page: Page) {
    page.on('console', (msg) => {
      if (msg.type() !== 'error' && msg.type() !== 'warning') return;
      const url = msg.location().url;
      if (/^Failed to load resource: the server responded with a status of \d+/.test(msg.text()))
        this.consoleEchoes.push({ url, text: msg.text() });
      else this.problems.push(`console.${msg.type()}: ${msg.text()} (${url})`);
    });
    page.on('pageerror', (e) => this.problems.push(`uncaught: ${e.stack ?? e.message}`));
    // A load the page abandons because it navigates away (the test's own `goto`/`reload`) is not a failure,
    // nor an image or icon the browser stops loading because the page moved on; an API call cut short is.
    let navigations = 0;
    const startedAt = new WeakMap<Request, number>();
    page.on('request', (r: Request) => {
      // Counted when the new document is requested: the old one's loads are cancelled right then.
      if (r.isNavigationRequest() && r.frame() === page.mainFrame()) navigations++;
      startedAt.set(r, navigations);
    });
    page.on('requestfailed', (r: Request) => {
      const error = r.failure()?.errorText ?? '';
      const call = r.resourceType() === 'fetch' || r.resourceType() === 'xhr';
      if (error === 'net::ERR_ABORTED' && (!call || startedAt.get(r) !== navigations)) return;
      this.problems.push(`request failed: ${r.method()} ${r.url()} ${error}`);
    });
    page.on('response', (r: Response) => {
      if (r.status() < 400) return;
      this.errorUrls.add(r.url());
      const method = r.request().method();
      const path = new URL(r.url()).pathname;
      const i = this.expected.findIndex(
        (e) => e.method === method && e.path === path && e.status === r.status(),
      );
      if (i >= 0) this.expected.splice(i, 1);
      else this.problems.push(`HTTP ${r.status()}: ${method} ${r.url()}`);
    });
  }

  /** Announces one error response the test is about to cause. */
  expect(method: string, path: string, status: number): void {
    this.expected.push({ method, path, status });
  }

  /** Everything that went wrong and was not announced. */
  unexpected(): string[] {
    const echoes = this.consoleEchoes
      .filter((e) => !this.errorUrls.has(e.url))
      .map((e) => `console.error: ${e.text} (${e.url})`);
    return [...this.problems, ...echoes];
  }

  /** Announced failures that never happened (the test's own expectations were wrong). */
  pending(): ExpectedFailure[] {
    return [...this.expected];
  }
}

/** Polls `check` until it returns a value other than undefined/false, or fails after `timeoutMs`. */
export async function until<T>(
  what: string,
  check: () => Promise<T | undefined | false>,
  timeoutMs = 15_000,
  intervalMs = 250,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** Saves a viewport screenshot as `<SCREENSHOT_DIR>/<name>.png` (overwritten on each run). */
export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  // Each page from its top, with no hover highlight left wherever the last click happened.
  await page.evaluate("document.querySelector('.layout__main')?.scrollTo(0, 0)");
  await page.mouse.move(0, 0);
  // Let transitions (dialogs, drawers, toasts fading) settle so the picture shows the final state.
  await page
    .waitForFunction("document.querySelectorAll('.el-message').length === 0", undefined, { timeout: 5000 })
    .catch(() => undefined);
  await page.waitForTimeout(350);
  await page.screenshot({ path: join(SCREENSHOT_DIR, `${name}.png`), animations: 'disabled' });
}

/** Waits until the page looks the same in two pictures in a row (a chart done animating). */
export async function settled(page: Page, timeoutMs = 5000): Promise<void> {
  let last = await page.screenshot();
  await until(
    'a still picture',
    async () => {
      const next = await page.screenshot();
      const same = next.equals(last);
      last = next;
      return same;
    },
    timeoutMs,
    150,
  );
}

/** On a failed step: a picture of the page to look at, in the temp directory. */
export async function failureShot(page: Page, label: string): Promise<string> {
  const path = join(tmpdir(), `keyway-console-${label.replace(/[^a-z0-9]+/gi, '-')}.png`);
  await page.screenshot({ path, fullPage: true }).catch(() => undefined);
  return path;
}

/**
 * Elements that stick out of the viewport horizontally without being inside a container that scrolls them
 * (a table's own scroll area is fine), plus the document's and the main pane's overflow. Empty: nothing
 * makes the page scroll sideways.
 */
export function horizontalOverflow(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const out: string[] = [];
    const vw = document.documentElement.clientWidth;
    const doc = document.documentElement.scrollWidth;
    if (doc > vw) out.push(`document scrollWidth ${doc} > ${vw}`);
    if (document.body.scrollWidth > vw) out.push(`body scrollWidth ${document.body.scrollWidth} > ${vw}`);
    const main = document.querySelector('.layout__main');
    if (main && main.scrollWidth > main.clientWidth + 1)
      out.push(`main pane scrollWidth ${main.scrollWidth} > ${main.clientWidth}`);
    const scrolls = (el: DomElement): boolean => {
      for (let p = el.parentElement; p && p !== main && p !== document.body; p = p.parentElement) {
        const o = getComputedStyle(p).overflowX;
        if (o === 'auto' || o === 'scroll' || o === 'hidden' || o === 'clip') return true;
      }
      return false;
    };
    for (const el of Array.from(document.body.querySelectorAll('*'))) {
      const r = el.getBoundingClientRect();
      if (r.width === 0 || r.height === 0 || r.right <= vw + 1) continue;
      if (scrolls(el)) continue;
      const id = el.getAttribute('data-testid');
      const cls = typeof el.className === 'string' ? el.className.split(' ').slice(0, 2).join('.') : '';
      out.push(`${el.tagName.toLowerCase()}${id ? `[${id}]` : ''}${cls ? `.${cls}` : ''} right=${r.right}`);
      if (out.length > 12) break;
    }
    return out;
  });
}

/**
 * Scrolls the main pane from top to bottom and, at each position, samples points across `selector` (a sticky
 * bar, say): whatever is found painted on top of it there instead of the bar itself is reported.
 */
export function paintedOver(page: Page, selector: string): Promise<string[]> {
  return page.evaluate((sel) => {
    const out = new Set<string>();
    const main = document.querySelector('.layout__main');
    const target = document.querySelector(sel);
    if (!main || !target) return [`no ${sel} on the page`];
    const describe = (el: DomElement): string => {
      const cls = typeof el.className === 'string' ? el.className.split(' ')[0] : '';
      return `${el.tagName.toLowerCase()}${cls ? `.${cls}` : ''}`;
    };
    for (let top = 0; top <= main.scrollHeight; top += 16) {
      main.scrollTop = top;
      if (main.scrollTop < top) break;
      const r = target.getBoundingClientRect();
      for (let x = r.left + 4; x < r.right - 4; x += 12)
        for (const y of [r.top + 3, r.top + r.height / 2, r.bottom - 3]) {
          const hit = document.elementFromPoint(x, y);
          if (hit && !target.contains(hit)) {
            let el: DomElement | null = hit;
            while (el?.parentElement && !/el-|setting/.test(String(el.className))) el = el.parentElement;
            out.add(describe(el ?? hit));
          }
        }
    }
    main.scrollTop = 0;
    return [...out];
  }, selector);
}

/**
 * The steps of one flow, each needing the one before: after a failure the remaining steps are skipped rather
 * than failing for the same reason, and the failing one leaves a screenshot of `page()`. `broken()` names it.
 */
export function flowSteps(page: () => Page) {
  let broken: string | null = null;
  function step(name: string, fn: () => Promise<void>): void {
    it(name, async (ctx) => {
      if (broken) ctx.skip(`an earlier step failed: ${broken}`);
      try {
        await fn();
      } catch (e) {
        broken = name;
        const shot = await failureShot(page(), name);
        throw new Error(`${(e as Error).message}\n(page: ${page().url()}, screenshot: ${shot})`, {
          cause: e,
        });
      }
    });
  }
  return { step, broken: () => broken };
}
