/**
 * The console's default create flow in a real browser (Debian's Chromium) against a real platform:
 * the wizard makes a Hikube VMDisk (a copy of the OS catalog's `hikube-tiny` golden image) and a
 * VMInstance booting from it, shows the YAML of both, and the instance's VM (vm-instance-NAME)
 * really boots the tiny guest under QEMU. Bad input gets the API's causes under the fields (the
 * name, the disk size) or the browser's own (external ports). The VM instances page shows status,
 * IP and external address live; the VM disks page the disk's phase, size and user, and refuses
 * to delete a disk in use. Screenshots at 1280×800, axe-core, no console errors.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Browser, Locator, Page } from 'playwright-core';
import {
  consoleErrors,
  launchBrowser,
  logIn,
  openPage,
  screenshot,
  SHOTS_DIR,
  type TestPage,
  needBrowser as needBrowserIn,
  checkPage as checkPageIn,
  waitText as waitTextIn,
  checkNarrow,
} from '../support/browser.js';
import { guestPids, openConsole } from '../support/guest.js';
import { startTestPlatform, type TestPlatform } from '../support/platform.js';
import { eventually } from '../support/wait.js';
import { serveImages, type ImageServer } from '../unit/storage/image-server.js';

const NAME = 'hk-tiny';
const VM = `vm-instance-${NAME}`;

let p: TestPlatform;
let server: ImageServer;
let imagesDir: string;
let browser: Browser | undefined;
let tab: TestPage;
let page: Page;

before(async () => {
  p = await startTestPlatform();
  imagesDir = await mkdtemp(join(tmpdir(), 'hikube-console-vmdisk-'));
  // 24 MiB served 64 KiB every 20 ms by the /slow/ path: a few seconds of import to watch.
  writeFileSync(join(imagesDir, 'disk.raw'), Buffer.alloc(24 * 1048576));
  server = await serveImages(imagesDir);
});
after(async () => {
  await browser?.close();
  await p?.cleanup();
  await server?.close();
  if (imagesDir !== undefined) await rm(imagesDir, { recursive: true, force: true });
});

const needBrowser = (): void => needBrowserIn(browser);
const checkPage = (name: string, options?: { axe?: boolean }): Promise<void> =>
  checkPageIn(page, name, options);
const waitText = (locator: Locator, pattern: RegExp, what: string, timeoutMs?: number): Promise<void> =>
  waitTextIn(page, locator, pattern, what, timeoutMs);
const narrow = (shot: string, path: string, ready: string): Promise<void> =>
  checkNarrow(page, shot, path, ready);

const nav = (label: string) =>
  page.getByRole('navigation', { name: 'Console sections' }).getByRole('link', { name: label, exact: true });

describe('web console: a Hikube VMInstance and VMDisk from the wizard', () => {
  test("Debian's Chromium starts and the token logs in", async () => {
    browser = await launchBrowser();
    tab = await openPage(browser);
    page = tab.page;
    await logIn(page, p.url, p.token);
    await page.getByRole('heading', { name: 'No virtual machines yet' }).waitFor({ timeout: 30_000 });
  });

  test('the wizard defaults to a VMInstance + VMDisk; bad input is refused on its fields', async () => {
    needBrowser();
    await nav('VM instances').click();
    await page.getByText('No VM instance yet.').waitFor();
    await checkPage('70-vm-instances-empty');
    await page.getByRole('button', { name: 'Create VM' }).click();
    await page.locator('#vm-name').waitFor();
    assert.equal(await page.getByRole('radio', { name: /^Hikube VMInstance \+ VMDisk/ }).isChecked(), true);
    // The catalog's golden images, hikube-tiny among them (Ready: built by setup).
    const catalog = page.locator('#vm-disk-catalog');
    await eventually(
      async () => (await catalog.locator('option[value="hikube-tiny"]').count()) === 1,
      'hikube-tiny in the catalog select',
    );
    await catalog.selectOption('hikube-tiny');
    assert.equal(await page.locator('#vm-profile').inputValue(), 'custom', "the image's default preference");
    await page.getByRole('radio', { name: 'Instance type u1.small' }).check();
    await page.fill('#vm-name', 'Bad_Name');
    await page.fill('#vm-disk-size', 'lots');
    await page.getByRole('button', { name: 'Next' }).click();
    await waitText(page.getByTestId('vm-name-error'), /RFC 1123/, "the VMDisk's name refused under Name");
    await waitText(
      page.getByTestId('vm-disk-size-error').first(),
      /quantit|Invalid value/i,
      'the size refused under Disk size',
    );
    assert.equal(await page.locator('#vm-disk-size').getAttribute('aria-invalid'), 'true');
    await checkPage('71-create-hikube-invalid');
    await page.fill('#vm-name', NAME);
    await page.fill('#vm-disk-size', '1Gi');
    await checkPage('72-create-hikube-general');
    await page.getByRole('button', { name: 'Next' }).click();
    await page.locator('#vm-user-data').waitFor();
    await page.getByLabel('Reachable on a load balancer address (external)').check();
    await page.fill('#vm-external-ports', '22 http');
    await page.getByRole('button', { name: 'Next' }).click();
    await waitText(page.getByTestId('vm-external-ports-error'), /whole numbers/, 'the ports refused');
    await page.fill('#vm-external-ports', '22, 8080');
    await page.getByRole('button', { name: 'Next' }).click();
    const yaml = page.getByTestId('create-yaml');
    await waitText(yaml, /kind: VMDisk/, 'the YAML preview');
    const text = (await yaml.textContent()) ?? '';
    for (const line of [
      /apiVersion: apps\.cozystack\.io\/v1alpha1\nkind: VMDisk\nmetadata:\n {2}name: hk-tiny-disk/,
      /image:\n {6}name: hikube-tiny/,
      /storage: 1Gi/,
      /kind: VMInstance\nmetadata:\n {2}name: hk-tiny/,
      /instanceType: u1\.small/,
      /instanceProfile: custom/,
      /disks:\n {4}- name: hk-tiny-disk/,
      /cloudInit: \|/,
      /external: true/,
      /externalPorts:\n {4}- 22\n {4}- 8080/,
    ])
      assert.match(text, line);
    await checkPage('73-create-hikube-review');
  });

  test("created: the VMInstance's VM boots the tiny guest; status, IP and external address show live", async () => {
    needBrowser();
    await page.getByRole('button', { name: 'Create' }).click();
    await page.getByRole('heading', { name: 'VM instances', level: 1 }).waitFor();
    const row = page.getByTestId(`row-default/${NAME}`);
    await waitText(row.getByTestId('vm-status'), /^Running$/, 'the VMInstance to be Running', 120_000);
    await waitText(row.getByTestId('cell-ip'), /^\d+\.\d+\.\d+\.\d+$/, 'its IP');
    // The ports served: 22 and 8080 unless another load balancer holds one on that address.
    const status = await eventually(async () => {
      const r = await p.kubectl(['get', 'vminstance', NAME, '-o', 'json']);
      const st = (
        JSON.parse(r.stdout) as { status?: { externalAddress?: string; externalEndpoints?: string[] } }
      ).status;
      return (st?.externalEndpoints ?? []).length === 2 ? st : undefined;
    }, 'the external endpoints in the status');
    const address = status?.externalAddress ?? '';
    assert.match(address, /^127\.\d+\.\d+\.\d+$/);
    const ports = (status?.externalEndpoints ?? []).map((e) => e.slice(address.length)).join(', ');
    await waitText(
      row.getByTestId('cell-external'),
      new RegExp(`^${address.replace(/\./g, '\\.')} \\(${ports}\\)$`),
      'its external address and ports',
    );
    await waitText(row.getByTestId('cell-disks'), /^hk-tiny-disk$/, 'its disk');
    const c = await openConsole(p, VM);
    try {
      await c.waitFor(/hikube-tiny: ready/, 90_000);
    } finally {
      c.close();
    }
    await checkPage('74-vm-instances');
    await row.getByRole('link', { name: VM }).click();
    await page.getByRole('heading', { name: VM, level: 1 }).waitFor();
    await waitText(
      page.locator('main [data-testid="vm-status"]').first(),
      /^Running$/,
      'the compiled VM Running',
    );
  });

  test('VM disks: the disk with its phase, size and user; in use, it cannot be deleted', async () => {
    needBrowser();
    await nav('VM disks').click();
    const row = page.getByTestId(`row-default/${NAME}-disk`);
    await waitText(row.getByTestId('cell-phase'), /^Succeeded$/, 'the disk filled');
    await waitText(row.getByTestId('cell-size'), /^1Gi$/, 'its size');
    await waitText(row.getByTestId('cell-source'), /^image hikube-tiny$/, 'its source');
    await waitText(row.getByTestId('cell-users'), new RegExp(`^${NAME}$`), 'the instance using it');
    const del = row.getByRole('button', { name: `Delete VMDisk "${NAME}-disk": Used by ${NAME}` });
    assert.equal(await del.getAttribute('aria-disabled'), 'true');
    await checkPage('75-vm-disks');
    await narrow('76-narrow-vm-disks', '/console/vmdisks', `row-default/${NAME}-disk`);
    await narrow('77-narrow-vm-instances', '/console/vminstances', `row-default/${NAME}`);
  });

  test('a VMDisk imported by URL shows its progress live, then Succeeded', async () => {
    needBrowser();
    await nav('VM disks').click();
    await page.getByTestId(`row-default/${NAME}-disk`).waitFor();
    const r = await p.kubectl(
      ['apply', '-f', '-'],
      `apiVersion: apps.cozystack.io/v1alpha1
kind: VMDisk
metadata: {name: imported}
spec:
  source: {http: {url: "${server.url}/slow/disk.raw"}}
  storage: 64Mi
`,
    );
    assert.equal(r.code, 0, r.stderr);
    const row = page.getByTestId('row-default/imported');
    const bar = row.getByRole('progressbar');
    const seen = await eventually(
      async () => {
        const now = Number((await bar.getAttribute('aria-valuenow', { timeout: 200 })) ?? 'NaN');
        return now > 0 && now < 100 ? now : undefined;
      },
      'a progress bar between 0 and 100%',
      60_000,
      50,
    );
    assert.ok(seen > 0 && seen < 100);
    await screenshot(page, '78-vm-disks-importing');
    await waitText(row.getByTestId('cell-phase'), /^Succeeded$/, 'the import to finish', 90_000);
    await waitText(row.getByTestId('cell-source'), /\/slow\/disk\.raw$/, 'its source URL');
    await waitText(row.getByTestId('cell-size'), /^64Mi$/, 'its size');
  });

  test('deleting the VMInstance stops its guest and keeps its disk, which can then be deleted', async () => {
    needBrowser();
    await nav('VM instances').click();
    await page.getByRole('button', { name: `Delete VMInstance "${NAME}" (its disks stay)` }).click();
    await page.getByTestId('confirm').click();
    await page.getByText('No VM instance yet.').waitFor({ timeout: 30_000 });
    await eventually(() => guestPids(p, VM).length === 0, 'the guest to stop', 60_000, 200);
    await nav('VM disks').click();
    const row = page.getByTestId(`row-default/${NAME}-disk`);
    await waitText(row.getByTestId('cell-users'), /^$/, 'the disk unused now');
    await page.getByRole('button', { name: `Delete VMDisk "${NAME}-disk"`, exact: true }).click();
    await page.getByTestId('confirm').click();
    await row.waitFor({ state: 'detached', timeout: 30_000 });
    const gone = await p.kubectl(['get', 'vmdisk', `${NAME}-disk`]);
    assert.notEqual(gone.code, 0, 'the VMDisk is gone from the server');
  });

  test('no errors in the browser console', () => {
    needBrowser();
    // The 422s the wizard provoked on purpose (name, size) are logged as failed loads.
    const unexpected = consoleErrors(tab).filter(
      (e) => !/Failed to load resource: the server responded with a status of 422/.test(e),
    );
    assert.deepEqual(unexpected, []);
    process.stdout.write(`# console screenshots: ${SHOTS_DIR}\n`);
  });
});
