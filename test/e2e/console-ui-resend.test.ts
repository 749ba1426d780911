/**
 * Console writes survive the network cutting them off. Chromium on Linux closes every HTTP/2
 * connection when an address of the host changes (a VM's tap device appearing: other tests, or the
 * platform's own VMs) and fails the requests in flight with "TypeError: Failed to fetch", whether
 * or not the server already acted on them; the forms then said "cannot reach the API server"
 * instead of the server's answer. Here the cut is made where it happens, in the browser, with
 * Playwright's request interception: once before the request reaches the server, and once after
 * the server applied it with its answer dropped. The console sends the request again and shows what
 * the server decided: a refusal with its field, a network created, a network deleted.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page, Route } from 'playwright-core';
import {
  consoleErrors,
  launchBrowser,
  logIn,
  openPage,
  type TestPage,
  needBrowser as needBrowserIn,
  waitText as waitTextIn,
} from '../support/browser.js';
import type { AuditEvent } from '../../src/apiserver/auth/audit.js';
import { startTestPlatform, type TestPlatform } from '../support/platform.js';
import { eventually } from '../support/wait.js';

const NADS =
  /\/apis\/k8s\.cni\.cncf\.io\/v1\/namespaces\/default\/network-attachment-definitions(\/[^/?]+)?(\?.*)?$/;

let p: TestPlatform;
let browser: Browser | undefined;
let tab: TestPage;
let page: Page;

before(async () => {
  p = await startTestPlatform();
});
after(async () => {
  await browser?.close();
  await p?.cleanup();
});

const needBrowser = (): void => needBrowserIn(browser);
const waitText = (locator: Parameters<typeof waitTextIn>[1], re: RegExp, what: string): Promise<void> =>
  waitTextIn(page, locator, re, what);

/** Cuts off the first `method` request to a network path: before the server, or after it answered. */
async function cutFirst(
  method: string,
  when: 'before-server' | 'after-server',
): Promise<{ cut: () => number }> {
  let cut = 0;
  await page.route(NADS, async (route: Route) => {
    if (route.request().method() !== method || cut > 0) return route.continue();
    cut++;
    if (when === 'after-server') await route.fetch(); // the server acts; its answer never arrives
    return route.abort('failed');
  });
  return { cut: () => cut };
}

/** The codes the server answered requests to a named network with (its audit log: a create names its object). */
function audited(verb: string, name: string): number[] {
  const lines = readFileSync(join(p.dataDir, 'audit.log'), 'utf8')
    .split('\n')
    .filter((l) => l !== '');
  return lines
    .map((l) => JSON.parse(l) as AuditEvent)
    .filter(
      (e) =>
        e.verb === verb &&
        e.objectRef?.resource === 'network-attachment-definitions' &&
        e.objectRef.name === name,
    )
    .map((e) => e.responseStatus.code)
    .sort();
}

describe('console writes the network cuts off', () => {
  test("Debian's Chromium starts (a missing browser fails the suite, it is never skipped)", async () => {
    browser = await launchBrowser();
    tab = await openPage(browser);
    page = tab.page;
    await logIn(page, p.url, p.token);
    await page.getByRole('navigation').getByRole('link', { name: 'Networks', exact: true }).click();
    await page.getByText('No secondary network yet').waitFor();
  });

  test('a refused create cut off before the server shows the refusal, not "cannot reach"', async () => {
    needBrowser();
    const route = await cutFirst('POST', 'before-server');
    await page.getByRole('button', { name: 'Create network' }).click();
    await page.fill('#network-name', 'lab');
    await page.fill('#network-subnet', '10.77.0.0/33');
    await page.getByRole('button', { name: 'Create', exact: true }).click();
    await waitText(page.getByTestId('create-network-error'), /spec\.config/, 'the API refusing the subnet');
    assert.equal(route.cut(), 1, 'the first attempt was cut off');
    const error = (await page.getByTestId('create-network-error').textContent()) ?? '';
    assert.doesNotMatch(error, /cannot reach|may have been applied/, error);
    await page.unroute(NADS);
  });

  test('a create the server applied, its answer lost, ends as created', async () => {
    needBrowser();
    const route = await cutFirst('POST', 'after-server');
    await page.fill('#network-subnet', '10.77.0.0/24');
    await page.getByRole('button', { name: 'Create', exact: true }).click();
    const row = page.getByTestId('row-default/lab');
    await waitText(row.getByTestId('cell-subnet'), /^10\.77\.0\.0\/24$/, 'the network and its subnet');
    await eventually(
      async () => (await page.locator('#network-name').count()) === 0,
      'the form to close as after any create',
      10_000,
    );
    assert.equal(route.cut(), 1, 'the first attempt was cut off');
    // The server created it the first time and refused the second as a duplicate: the console
    // read the network back, found what it sent, and reported success.
    // The refused subnet once (the attempt cut before the server never arrived), then the create and its duplicate.
    // (Audit lines are written in batches, up to 10 ms after the response.)
    await eventually(() => audited('create', 'lab').length === 3, 'the creates in the audit log', 10_000);
    assert.deepEqual(audited('create', 'lab'), [201, 409, 422]);
    await page.unroute(NADS);
  });

  test('a delete the server applied, its answer lost, ends as deleted', async () => {
    needBrowser();
    const route = await cutFirst('DELETE', 'after-server');
    await page.getByTestId('row-default/lab').getByRole('button', { name: 'Delete network "lab"' }).click();
    await page.getByTestId('confirm').click();
    await page.getByText('No secondary network yet').waitFor();
    assert.equal(route.cut(), 1, 'the first attempt was cut off');
    // The list empties as soon as the first attempt lands; the second one follows it.
    await eventually(() => audited('delete', 'lab').length === 2, 'the delete sent again', 10_000);
    assert.deepEqual(audited('delete', 'lab'), [200, 404]);
    await page.unroute(NADS);
    const errors = consoleErrors(tab).filter(
      (e) => !/Failed to load resource: the server responded with a status of (404|409|422)/.test(e),
    );
    const shown = await page.locator('.pf-v5-c-alert, .pf-v6-c-alert').allTextContents();
    assert.deepEqual(
      shown.filter((t) => /Delete|cannot reach/.test(t)),
      [],
      'no error shown for the delete',
    );
    assert.deepEqual(
      errors.filter((e) => !/net::ERR_FAILED/.test(e)),
      [],
    );
  });
});
