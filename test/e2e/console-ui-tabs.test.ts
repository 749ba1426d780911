/**
 * Many console tabs in one browser (Debian's Chromium): each page holds a long-running watch per
 * list it shows, and over HTTP/1.1 a browser keeps at most six connections per host for all its
 * tabs, so a few tabs on the Create VM page used to leave the next tab unable even to load. Over
 * HTTP/2 every tab shares one connection: four Create VM tabs, then a VM list tab and a Volumes tab
 * load, and all of them, old and new, follow changes live. Every page is fetched over h2.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { consoleErrors, launchBrowser, screenshot, VIEWPORT, type TestPage } from '../support/browser.js';
import { startTestPlatform, type TestPlatform } from '../support/platform.js';
import { eventually } from '../support/wait.js';

/** Four tabs on the Create VM page (four watches each) already hold more than six requests open. */
const CREATE_TABS = 4;
/** How long a tab may take to show its page; under HTTP/1.1 the next tab never did. */
const LOAD_MS = 45_000;

let p: TestPlatform;
let browser: Browser | undefined;
let context: BrowserContext;
const tabs: TestPage[] = [];

before(async () => {
  p = await startTestPlatform();
});
after(async () => {
  await browser?.close();
  await p?.cleanup();
});

interface Tab {
  page: Page;
  /** The watch requests the tab has open now (started, not finished). */
  watches: () => number;
}

/** A new tab of the same browser profile (one connection pool), signed in by its session storage. */
async function openTab(path: string, ready: (page: Page) => Promise<unknown>): Promise<Tab> {
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('console', (msg) => {
    if (msg.type() === 'error') errors.push(`console: ${msg.text()} (${msg.location().url})`);
  });
  page.on('pageerror', (err) => errors.push(`page: ${err.message}`));
  tabs.push({ context, page, errors });
  let open = 0;
  const isWatch = (r: { url(): string }): boolean => r.url().includes('watch=true');
  page.on('request', (r) => (open += isWatch(r) ? 1 : 0));
  page.on('requestfinished', (r) => (open -= isWatch(r) ? 1 : 0));
  page.on('requestfailed', (r) => (open -= isWatch(r) ? 1 : 0));
  await page.goto(`${p.url}${path}`, { timeout: LOAD_MS });
  await ready(page);
  return { page, watches: () => open };
}

const protocolOf = (page: Page): Promise<string> =>
  page.evaluate(() => {
    const perf = (
      globalThis as unknown as { performance: { getEntriesByType(t: string): { nextHopProtocol: string }[] } }
    ).performance;
    return perf.getEntriesByType('navigation')[0]?.nextHopProtocol ?? '';
  });

const createPageReady = async (page: Page): Promise<void> => {
  await page.locator('#vm-name').waitFor({ timeout: LOAD_MS });
  await page.getByRole('radio', { name: 'Instance type u1.small' }).waitFor({ timeout: LOAD_MS });
};

describe('console in many tabs over HTTP/2', () => {
  test("Debian's Chromium starts (a missing browser fails the suite, it is never skipped)", async () => {
    browser = await launchBrowser();
    context = await browser.newContext({ viewport: VIEWPORT, ignoreHTTPSErrors: true });
    await context.addInitScript((token: string) => {
      (
        globalThis as unknown as { sessionStorage: { setItem(k: string, v: string): void } }
      ).sessionStorage.setItem('hikube.token', token);
    }, p.token);
  });

  test(`${CREATE_TABS} tabs on the Create VM page hold their watches open, over h2`, async () => {
    assert.ok(browser !== undefined, 'no browser: see the first failure');
    const created: Tab[] = [];
    for (let i = 0; i < CREATE_TABS; i++) {
      const tab = await openTab('/console/vms/new', createPageReady);
      assert.equal(await protocolOf(tab.page), 'h2', `tab ${i + 1} was fetched over HTTP/2`);
      created.push(tab);
    }
    const open = await eventually(
      () => {
        const n = created.reduce((sum, tab) => sum + tab.watches(), 0);
        return n >= CREATE_TABS * 4 ? n : undefined;
      },
      'every Create VM tab watching namespaces, instance types, preferences and images',
      LOAD_MS,
    );
    assert.ok(open > 6, `${open} watches open: more than HTTP/1.1's six connections could carry`);
  });

  test('a VM list tab and a Volumes tab still load, and every tab follows changes live', async () => {
    assert.ok(browser !== undefined, 'no browser: see the first failure');
    const { page: list } = await openTab('/console/vms', (page) =>
      page.getByRole('heading', { name: 'No virtual machines yet' }).waitFor({ timeout: LOAD_MS }),
    );
    const { page: volumes } = await openTab('/console/volumes', (page) =>
      page.getByRole('heading', { name: 'Volumes', level: 1 }).waitFor({ timeout: LOAD_MS }),
    );
    for (const page of [list, volumes]) assert.equal(await protocolOf(page), 'h2');

    const applied = await p.kubectl(
      ['apply', '-f', '-'],
      `apiVersion: v1
kind: Namespace
metadata: {name: tabs-live}
---
apiVersion: kubevirt.io/v1
kind: VirtualMachine
metadata: {name: tabs-vm, namespace: default}
spec:
  runStrategy: Halted
  template:
    spec:
      domain: {devices: {}, memory: {guest: 128Mi}}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: tabs-disk, namespace: default}
spec:
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 1Gi}}
`,
    );
    assert.equal(applied.code, 0, applied.stderr);
    await list.getByTestId('row-default/tabs-vm').waitFor({ timeout: LOAD_MS });
    await volumes.getByTestId('row-default/tabs-disk').waitFor({ timeout: LOAD_MS });
    // The oldest tab too: its namespace list gained the new namespace without a reload.
    const first = tabs[0]?.page;
    assert.ok(first !== undefined);
    await first.locator('#vm-namespace option', { hasText: 'tabs-live' }).waitFor({
      state: 'attached',
      timeout: LOAD_MS,
    });
    await screenshot(list, 'tabs-01-vm-list-live');
    for (const t of tabs) assert.deepEqual(consoleErrors(t), [], `errors in ${t.page.url()}`);
  });
});
