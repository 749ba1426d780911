/**
 * A real browser for the console's end-to-end tests: Debian's Chromium driven by playwright-core
 * (playwright's own browser downloads do not work offline). A missing Chromium fails the tests rather
 * than skipping them. Screenshots go to test-output/screenshots (gitignored); axe-core checks accessibility.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import axe from 'axe-core';
import { chromium, type Browser, type BrowserContext, type Locator, type Page } from 'playwright-core';
import { eventually } from './wait.js';

export const CHROMIUM = process.env['HIKUBE_CHROMIUM'] ?? '/usr/bin/chromium';
/** Where the tests leave their screenshots: test-output/ of the repository, gitignored (artifacts). */
export const SHOTS_DIR =
  process.env['HIKUBE_SHOTS_DIR'] ??
  fileURLToPath(new URL('../../../test-output/screenshots', import.meta.url));
export const VIEWPORT = { width: 1280, height: 800 };

export async function launchBrowser(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `Chromium is missing at ${CHROMIUM}: install Debian's package (apt-get install chromium; scripts/setup.sh does)`,
    );
  }
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
}

export interface TestPage {
  context: BrowserContext;
  page: Page;
  /** Console errors and uncaught exceptions seen so far, as "where: message". */
  errors: string[];
}

/** A fresh context at 1280×800 that trusts the platform's private CA (ignoreHTTPSErrors). */
export async function openPage(browser: Browser): Promise<TestPage> {
  const context = await browser.newContext({ viewport: VIEWPORT, ignoreHTTPSErrors: true });
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('console', (msg) => {
    if (msg.type() === 'error') errors.push(`console: ${msg.text()} (${msg.location().url})`);
  });
  page.on('pageerror', (err) => errors.push(`page: ${err.message}`));
  return { context, page, errors };
}

/**
 * The errors the console itself caused: Chromium's own log of requests the host aborted under it
 * is left out. It aborts requests in flight with ERR_NETWORK_CHANGED whenever an address of the host
 * changes (a VM's tap device, a load balancer address, other tests on the machine); the console
 * retries them (watches, lazy chunks, and every API request: web/src/api/resend.ts), and what it
 * fails to recover from still shows up here.
 */
export const consoleErrors = (page: TestPage): string[] =>
  page.errors.filter((e) => !/^console: Failed to load resource: net::ERR_NETWORK_CHANGED /.test(e));

/**
 * Waits for transitions to finish (a menu fading in): colours read mid-fade fail contrast checks and
 * screenshots show ghosts. Endless animations (a blinking cursor) do not count.
 */
export async function settled(page: Page): Promise<void> {
  await page.waitForFunction(() => {
    const doc = (globalThis as unknown as { document: { getAnimations(): AnimationLike[] } }).document;
    return doc
      .getAnimations()
      .every((a) => a.playState !== 'running' || a.effect?.getTiming().iterations === Infinity);
  });
}

/** Saves a full-viewport screenshot as SHOTS_DIR/NAME.png and returns its path. */
export async function screenshot(page: Page, name: string): Promise<string> {
  await settled(page);
  await mkdir(SHOTS_DIR, { recursive: true });
  const path = join(SHOTS_DIR, `${name}.png`);
  await page.screenshot({ path });
  return path;
}

export interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: string[];
}

/**
 * Runs axe-core in the page (evaluated through the DevTools protocol, so the console's
 * Content-Security-Policy stays on) and returns the violations of the given impacts.
 */
export async function axeViolations(
  page: Page,
  impacts: readonly string[] = ['serious', 'critical'],
): Promise<AxeViolation[]> {
  await settled(page);
  await page.evaluate(axe.source);
  const results = await page.evaluate(async () => {
    // Runs in the page: its globals are the browser's (this file is compiled without DOM types).
    const page = globalThis as unknown as {
      axe: { run(ctx: unknown): Promise<AxeResults> };
      document: unknown;
    };
    const r = await page.axe.run(page.document);
    return r.violations.map((v) => ({
      id: v.id,
      impact: v.impact ?? null,
      help: v.help,
      nodes: v.nodes.map((n) => n.target.join(' ')),
    }));
  });
  return results.filter((v) => v.impact !== null && impacts.includes(v.impact));
}

interface AnimationLike {
  playState: string;
  effect: { getTiming(): { iterations?: number } } | null;
}

interface AxeResults {
  violations: {
    id: string;
    impact?: string | null;
    help: string;
    nodes: { target: string[] }[];
  }[];
}

export const describeViolations = (violations: readonly AxeViolation[]): string =>
  violations.map((v) => `${v.impact ?? ''} ${v.id}: ${v.help}\n  ${v.nodes.join('\n  ')}`).join('\n');

/** Opens the console at the platform's URL and logs in with `token`; what shows next, each test waits for. */
export async function logIn(page: Page, url: string, token: string): Promise<void> {
  await page.goto(`${url}/`);
  await page.fill('#token', token);
  await page.getByRole('button', { name: 'Log in' }).click();
}

/** Every browser test starts here: without Chromium each one fails, naming the first failure. */
export function needBrowser(browser: Browser | undefined): void {
  if (browser === undefined) assert.fail('no browser: see the failure of "Debian\'s Chromium starts"');
}

/** Screenshot, then axe: no serious or critical violation on this page. */
export async function checkPage(page: Page, name: string, { axe: withAxe = true } = {}): Promise<void> {
  await screenshot(page, name);
  if (!withAxe) return;
  const violations = await axeViolations(page);
  assert.deepEqual(violations, [], `accessibility of ${name}:\n${describeViolations(violations)}`);
}

/** Waits until the locator's text matches; on timeout, saves a screenshot named after `what`. */
export async function waitText(
  page: Page,
  locator: Locator,
  pattern: RegExp,
  what: string,
  timeoutMs = 30_000,
): Promise<void> {
  let last = '';
  await eventually(
    async () => {
      last = (await locator.textContent({ timeout: 1000 }).catch(() => '')) ?? '';
      return pattern.test(last);
    },
    `${what} (last seen: ${JSON.stringify(last.slice(-300))})`,
    timeoutMs,
    100,
  ).catch(async (err: unknown) => {
    await screenshot(page, `failed-${what.replace(/[^a-z0-9]+/gi, '-').slice(0, 60)}`).catch(() => undefined);
    throw err;
  });
}

/** At 390 px wide: PATH shows READY (a test id) without scrolling sideways; screenshot and axe. */
export async function checkNarrow(page: Page, shot: string, path: string, ready: string): Promise<void> {
  await page.setViewportSize({ width: 390, height: 844 });
  try {
    await page.evaluate((to) => {
      const w = globalThis as unknown as {
        history: { pushState(a: null, b: string, c: string): void };
        dispatchEvent(e: unknown): void;
        PopStateEvent: new (t: string) => unknown;
      };
      w.history.pushState(null, '', to);
      w.dispatchEvent(new w.PopStateEvent('popstate'));
    }, path);
    await page.locator('main h1').first().waitFor();
    await page.getByTestId(ready).first().waitFor();
    const overflow = await page.evaluate(() => {
      const d = (
        globalThis as unknown as {
          document: { documentElement: { scrollWidth: number; clientWidth: number } };
        }
      ).document;
      return d.documentElement.scrollWidth - d.documentElement.clientWidth;
    });
    assert.ok(overflow <= 0, `${path} scrolls sideways by ${overflow} px at 390 px`);
    await checkPage(page, shot);
  } finally {
    await page.setViewportSize(VIEWPORT);
  }
}
