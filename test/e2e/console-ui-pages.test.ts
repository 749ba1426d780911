/**
 * The console's VM tabs and catalog pages in a real browser (Debian's Chromium) against a real
 * platform running a real guest (the tiny image under QEMU), metrics collected every second: the
 * CPU chart draws points and follows the time range; a port exposed from the Network tab becomes a
 * Service with a load balancer address; a disk added to the stopped VM is listed with its size and
 * resized (a shrink shows the API's refusal); an image imported by URL from a loopback HTTP server
 * shows its progress; networks are created and deleted; instance types and services are listed.
 * Every page is screenshotted at 1280×800, checked with axe-core, and usable 390 px wide.
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
  VIEWPORT,
  type TestPage,
  needBrowser as needBrowserIn,
  checkPage as checkPageIn,
  waitText as waitTextIn,
  checkNarrow,
} from '../support/browser.js';
import { guestPids, VMS } from '../support/guest.js';
import { raw } from '../support/http.js';
import { startTestPlatform, type TestPlatform } from '../support/platform.js';
import { eventually } from '../support/wait.js';
import { serveImages, type ImageServer } from '../unit/storage/image-server.js';

const NAME = 'pages-tiny';
const IMAGE_MIB = 24;

let p: TestPlatform;
let server: ImageServer;
let imagesDir: string;
let browser: Browser | undefined;
let tab: TestPage;
let page: Page;

before(async () => {
  p = await startTestPlatform({ metrics: { intervalMs: 1000 } });
  imagesDir = await mkdtemp(join(tmpdir(), 'hikube-console-images-'));
  // Served 64 KiB every 20 ms by the /slow/ path: a few seconds of import, long enough to watch.
  const image = Buffer.alloc(IMAGE_MIB * 1048576);
  image.write('hikube console import test\n', 0);
  writeFileSync(join(imagesDir, 'disk.raw'), image);
  server = await serveImages(imagesDir);
  const created = await p.kubectl(
    ['apply', '-f', '-'],
    `apiVersion: kubevirt.io/v1
kind: VirtualMachine
metadata: {name: ${NAME}}
spec:
  runStrategy: Always
  instancetype: {kind: VirtualMachineClusterInstancetype, name: u1.small}
  template:
    metadata: {labels: {app: pages}}
    spec:
      domain: {devices: {disks: [{name: root, disk: {}}]}}
      volumes: [{name: root, containerDisk: {image: hikube/tiny}}]
`,
  );
  assert.equal(created.code, 0, created.stderr);
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

const nav = (label: string) => page.getByRole('navigation').getByRole('link', { name: label, exact: true });
const vmTab = (label: string) => page.getByRole('tab', { name: label, exact: true });
const points = async (chart: string): Promise<number> =>
  Number((await page.getByTestId(`chart-${chart}`).getAttribute('data-points', { timeout: 1000 })) ?? 0);

describe('web console: VM tabs and catalog pages', () => {
  test("Debian's Chromium starts and the token logs in", async () => {
    browser = await launchBrowser();
    tab = await openPage(browser);
    page = tab.page;
    await logIn(page, p.url, p.token);
    await page.getByTestId(`row-default/${NAME}`).waitFor({ timeout: 30_000 });
    await waitText(
      page.getByTestId(`row-default/${NAME}`).getByTestId('vm-status'),
      /^Running$/,
      'the VM to be Running',
      60_000,
    );
  });

  test('the Metrics tab draws the CPU chart live and follows the time range', async () => {
    needBrowser();
    await page.getByRole('link', { name: NAME, exact: true }).click();
    await vmTab('Metrics').click();
    await page.getByTestId('chart-cpu').waitFor();
    // Live: the points grow while the page stays open (collection every second, refresh every 5 s).
    const first = await eventually(
      async () => ((await points('cpu')) >= 2 ? points('cpu') : undefined),
      'CPU points',
      60_000,
      250,
    );
    await eventually(
      async () => (await points('cpu')) > first,
      'the CPU chart to gain points without a reload',
      30_000,
      250,
    );
    await eventually(async () => (await points('memory')) >= 2, 'memory points', 30_000, 250);
    await waitText(page.getByTestId('chart-cpu-summary'), /CPU: \d+(\.\d)?%/, "the CPU's latest value");
    await waitText(
      page.getByTestId('chart-memory-summary'),
      /Resident: [\d.]+ (KiB|MiB|GiB)/,
      'the resident memory',
    );
    const canvas = page.locator('[data-testid="chart-cpu"] canvas');
    assert.ok(((await canvas.boundingBox())?.width ?? 0) > 300, 'the chart spans its card');
    await checkPage('20-vm-metrics');
    await page.getByLabel('Time range').selectOption('1h');
    await eventually(async () => (await points('cpu')) >= 1, 'CPU points over the last hour', 15_000, 250);
  });

  test('the Network tab lists the interface; "Expose a port" creates a LoadBalancer Service', async () => {
    needBrowser();
    await vmTab('Network').click();
    await page
      .getByRole('grid', { name: 'Interfaces' })
      .or(page.getByRole('table', { name: 'Interfaces' }))
      .waitFor();
    await waitText(page.getByTestId('row-default').first(), /Pod network/, 'the default interface');
    await page.getByText('No Service selects this VM.').waitFor();
    await checkPage('21-vm-network');

    await page.getByRole('button', { name: 'Expose a port' }).click();
    await page.fill('#expose-name', 'pages-web');
    await page.fill('#expose-port', 'abc');
    await page.getByRole('button', { name: 'Expose', exact: true }).click();
    await waitText(
      page.getByTestId('expose-error'),
      /spec\.ports\[0\]\.port/,
      'the API refusing the port, with its field',
    );
    await page.fill('#expose-port', '8080');
    await page.fill('#expose-target', '80');
    await page.getByRole('button', { name: 'Expose', exact: true }).click();
    const row = page.getByTestId('row-pages-web');
    await waitText(row.getByTestId('cell-ports'), /^8080→80\/TCP \(node \d+\)$/, 'the Service and its ports');
    await waitText(row.getByTestId('cell-lb'), /127\.\d+\.\d+\.\d+ \d+\/TCP/, 'the load balancer address');
    const svc = (await raw(p, 'GET', '/api/v1/namespaces/default/services/pages-web')).json as {
      spec: { selector: Record<string, string>; type: string };
    };
    assert.deepEqual(
      svc.spec.selector,
      { app: 'pages' },
      'the selector is the template labels, as hikube expose does',
    );
    assert.equal(svc.spec.type, 'LoadBalancer');
    await checkPage('22-vm-network-service');
  });

  test('snapshot and clone light up once discovery finds their groups', async () => {
    needBrowser();
    await page.getByRole('button', { name: 'Actions' }).click();
    for (const id of ['snapshot', 'clone']) {
      const item = page.getByTestId(`action-${id}`).getByRole('menuitem');
      await eventually(
        async () => (await item.getAttribute('aria-disabled')) !== 'true',
        `${id} enabled (the server serves snapshot.kubevirt.io and clone.kubevirt.io)`,
      );
    }
    await page.keyboard.press('Escape');
  });

  test('Disks: adding waits for a stop; a disk added is listed with its size, resized, and a shrink is refused', async () => {
    needBrowser();
    await vmTab('Disks').click();
    await waitText(page.getByTestId('row-root'), /Container disk/, 'the root disk');
    const add = page.getByRole('button', { name: 'Add disk' });
    assert.equal(await add.getAttribute('aria-disabled'), 'true');
    await waitText(
      page.locator('#add-disk-why'),
      /Stop the VM to add a disk/,
      'why a disk cannot be added now',
    );
    await checkPage('23-vm-disks-running');

    await page.getByRole('button', { name: 'Actions' }).click();
    await page.getByTestId('action-stop').click();
    await waitText(
      page.locator('main [data-testid="vm-status"]').first(),
      /^Stopped$/,
      'the VM to stop',
      60_000,
    );
    await eventually(() => guestPids(p, NAME).length === 0, 'QEMU to be gone', 30_000, 100);
    await eventually(
      async () => (await add.getAttribute('aria-disabled')) !== 'true',
      'Add disk to be enabled',
    );
    await add.click();
    await page.fill('#disk-name', 'data');
    await page.fill('#disk-size', 'lots');
    await page.getByRole('button', { name: 'Add', exact: true }).click();
    await waitText(
      page.getByTestId('add-disk-error'),
      /spec\.storage\.resources\.requests\.storage/,
      'the API refusing the size, with its field',
    );
    await page.fill('#disk-size', '64Mi');
    await page.getByRole('button', { name: 'Add', exact: true }).click();
    const row = page.getByTestId('row-data');
    await waitText(row.getByTestId('cell-source'), /DataVolume/, 'the new disk');
    await waitText(row.getByTestId('cell-status'), /^Succeeded$/, 'its DataVolume to be filled');
    await waitText(row.getByTestId('cell-size'), /^64Mi$/, 'its size');
    const vm = (await raw(p, 'GET', `${VMS}/${NAME}`)).json as {
      spec: { template: { spec: { volumes: { name: string; dataVolume?: { name: string } }[] } } };
    };
    assert.deepEqual(
      vm.spec.template.spec.volumes.find((v) => v.name === 'data'),
      { name: 'data', dataVolume: { name: `${NAME}-data` } },
    );
    await checkPage('24-vm-disks-added');

    await page.getByRole('button', { name: 'Resize data' }).click();
    await page.fill('#resize-size', '32Mi');
    await page.getByRole('button', { name: 'Resize', exact: true }).click();
    await waitText(
      page.getByTestId('resize-disk-error'),
      /less than previous value/,
      'a shrink refused by the API',
    );
    await page.fill('#resize-size', '128Mi');
    await page.getByRole('button', { name: 'Resize', exact: true }).click();
    await waitText(row.getByTestId('cell-size'), /^128Mi$/, 'the new size', 30_000);
  });

  test('Images: an import by URL shows its progress live, then Succeeded', async () => {
    needBrowser();
    await nav('Images').click();
    await page.getByRole('heading', { name: 'Images', level: 1 }).waitFor();
    await page.getByRole('button', { name: 'Import image' }).click();
    await page.fill('#import-name', 'Not_A_Name');
    await page.fill('#import-url', `${server.url}/slow/disk.raw`);
    await page.fill('#import-size', '64Mi');
    await page.getByRole('button', { name: 'Import', exact: true }).click();
    await waitText(
      page.getByTestId('import-error'),
      /metadata\.name/,
      'the API refusing the name, with its field',
    );
    await page.fill('#import-name', 'imported');
    await page.fill('#import-url', `${server.url}/slow/disk.raw`);
    await page.fill('#import-size', '64Mi');
    await checkPage('30-images-import');
    await page.getByRole('button', { name: 'Import', exact: true }).click();
    const row = page.getByTestId('row-default/imported');
    const bar = row.getByRole('progressbar');
    const seen = await eventually(
      async () => {
        const now = Number((await bar.getAttribute('aria-valuenow', { timeout: 200 })) ?? 'NaN');
        return now > 0 && now < 100 ? now : undefined;
      },
      'a progress bar between 0 and 100%',
      30_000,
      50,
    );
    assert.ok(seen > 0 && seen < 100);
    await waitText(
      row.getByTestId('cell-phase'),
      /ImportInProgress.*\d+(\.\d+)?%/,
      'the phase and percentage',
    );
    await screenshot(page, '31-images-importing');
    await waitText(row.getByTestId('cell-phase'), /^Succeeded$/, 'the import to finish', 60_000);
    await waitText(row.getByTestId('cell-source'), /\/slow\/disk\.raw$/, 'its source URL');
    await row.getByRole('button', { name: 'Actions for DataVolume "imported"' }).click();
    await page.getByRole('menuitem', { name: 'Make golden image' }).click();
    await page.fill('#publish-name', 'golden');
    await page.getByRole('button', { name: 'Create DataSource' }).click();
    const golden = page.getByTestId('row-default/golden');
    await waitText(golden.getByTestId('cell-pvc'), /^default\/imported$/, 'the DataSource naming the claim');
    await waitText(golden.getByTestId('cell-ready'), /^True$/, 'the golden image to be Ready');
    await checkPage('32-images');
  });

  test('Images: a local file uploaded from the browser lands in an upload DataVolume', async () => {
    needBrowser();
    await page.getByRole('button', { name: 'Import image' }).click();
    await page.fill('#import-name', 'uploaded');
    await page.selectOption('#import-kind', 'upload');
    await page.fill('#import-size', '64Mi');
    // Without a file the form says so, and nothing is created.
    await page.getByRole('button', { name: 'Import', exact: true }).click();
    await page.getByText('Choose the disk image file to upload').waitFor();
    assert.equal(
      (await raw(p, 'GET', '/apis/cdi.kubevirt.io/v1beta1/namespaces/default/datavolumes/uploaded')).code,
      404,
    );
    await page.setInputFiles('#import-file', join(imagesDir, 'disk.raw'));
    await page.getByRole('button', { name: 'Import', exact: true }).click();
    const row = page.getByTestId('row-default/uploaded');
    await waitText(row.getByTestId('cell-source'), /^upload$/, 'an upload DataVolume');
    await waitText(row.getByTestId('cell-phase'), /^Succeeded$/, 'the upload to finish', 60_000);
    await page.getByRole('dialog').waitFor({ state: 'detached' });
    const dv = await raw(p, 'GET', '/apis/cdi.kubevirt.io/v1beta1/namespaces/default/datavolumes/uploaded');
    assert.equal((dv.json['status'] as { phase?: string } | undefined)?.phase, 'Succeeded');
  });

  test('Volumes: the added disk is used by the VM, the imported image by none', async () => {
    needBrowser();
    await nav('Volumes').click();
    const disk = page.getByTestId(`row-default/${NAME}-data`);
    await waitText(disk.getByTestId('cell-users'), new RegExp(`^${NAME}$`), 'the disk used by the VM');
    await waitText(disk.getByTestId('cell-phase'), /^Bound$/, 'the claim bound');
    await waitText(disk.getByTestId('cell-size'), /^128Mi$/, 'the resized claim');
    await waitText(
      page.getByTestId('row-default/imported').getByTestId('cell-users'),
      /^$/,
      'an unused image',
    );
    const used = disk.getByRole('button', { name: `Delete DataVolume "${NAME}-data": Used by ${NAME}` });
    assert.equal(
      await used.getAttribute('aria-disabled'),
      'true',
      'a disk in use cannot be deleted, and says why',
    );
    const unused = page.getByRole('button', { name: 'Delete DataVolume "imported"', exact: true });
    assert.notEqual(await unused.getAttribute('aria-disabled'), 'true');
    await checkPage('33-volumes');
  });

  test('Networks: create a network, see it listed with its subnet, delete it', async () => {
    needBrowser();
    await nav('Networks').click();
    await page.getByText('No secondary network yet').waitFor();
    await page.getByRole('button', { name: 'Create network' }).click();
    await page.fill('#network-name', 'lab');
    await page.fill('#network-subnet', '10.77.0.0/33');
    await page.getByRole('button', { name: 'Create', exact: true }).click();
    await waitText(page.getByTestId('create-network-error'), /spec\.config/, 'the API refusing the subnet');
    await page.fill('#network-subnet', '10.77.0.0/24');
    await page.getByRole('button', { name: 'Create', exact: true }).click();
    const row = page.getByTestId('row-default/lab');
    await waitText(row.getByTestId('cell-subnet'), /^10\.77\.0\.0\/24$/, 'the network and its subnet');
    await waitText(row.getByTestId('cell-type'), /^bridge$/, 'its CNI type');
    await checkPage('34-networks');
    await row.getByRole('button', { name: 'Delete network "lab"' }).click();
    await page.getByTestId('confirm').click();
    await page.getByText('No secondary network yet').waitFor();
    const r = await p.kubectl(['get', 'network-attachment-definitions', 'lab']);
    assert.notEqual(r.code, 0, 'the network is gone from the server');
  });

  test('Services and Instance types list what the server has', async () => {
    needBrowser();
    await nav('Services').click();
    const svc = page.getByTestId('row-default/pages-web');
    await waitText(svc.getByTestId('cell-type'), /^LoadBalancer$/, 'the exposed Service');
    await waitText(svc.getByTestId('cell-lb'), /127\./, 'its load balancer address');
    await checkPage('35-services');
    // Its code fails to load once (a reset connection): the console fetches it again.
    let aborted = 0;
    await page.route(/\/InstanceTypesPage-[^/]+\.js$/, (route) =>
      aborted++ === 0 ? route.abort('connectionreset') : route.continue(),
    );
    await nav('Instance types').click();
    const small = page.getByTestId('row-Cluster/u1.small');
    await waitText(small.getByTestId('cell-cpu'), /^1$/, 'u1.small vCPUs');
    await waitText(small.getByTestId('cell-memory'), /^2Gi$/, 'u1.small memory');
    await waitText(
      page.getByTestId('row-Cluster/debian').getByTestId('cell-display'),
      /Debian/,
      'the Debian preference',
    );
    assert.equal(aborted, 2, 'the chunk was asked for again after the failure');
    await page.unroute(/\/InstanceTypesPage-[^/]+\.js$/);
    await checkPage('36-instance-types');
  });

  test('keyboard only: skip to content, open a form with Enter, close it with Escape', async () => {
    needBrowser();
    await nav('Networks').click();
    await page.getByRole('heading', { name: 'Networks', level: 1 }).waitFor();
    // From the top of a freshly loaded page (the session survives a reload).
    await page.goto(`${p.url}/console/networks`);
    await page.getByRole('heading', { name: 'Networks', level: 1 }).waitFor();
    await page.keyboard.press('Tab');
    const skip = page.getByRole('link', { name: 'Skip to content' });
    assert.ok(
      await skip.evaluate(
        (el: unknown) =>
          el === (globalThis as unknown as { document: { activeElement: unknown } }).document.activeElement,
      ),
      'the first Tab reaches "Skip to content"',
    );
    // Enter skips the navigation; a few Tabs reach the page's first button.
    await page.keyboard.press('Enter');
    const create = page.getByRole('button', { name: 'Create network' });
    const focused = () =>
      create.evaluate(
        (el: unknown) =>
          el === (globalThis as unknown as { document: { activeElement: unknown } }).document.activeElement,
      );
    for (let i = 0; i < 5 && !(await focused()); i++) await page.keyboard.press('Tab');
    assert.ok(await focused(), 'Tab reaches "Create network" right after the skip link');
    await page.keyboard.press('Enter');
    await page.locator('#network-name').waitFor();
    await eventually(
      () =>
        page.evaluate(() => {
          const doc = (
            globalThis as unknown as { document: { activeElement: { closest(s: string): unknown } | null } }
          ).document;
          return doc.activeElement?.closest('[role="dialog"]') !== null;
        }),
      'focus inside the dialog',
    );
    await page.keyboard.press('Escape');
    await page.locator('#network-name').waitFor({ state: 'detached' });
  });

  test('390 px wide: no page scrolls sideways, the navigation opens from its button', async () => {
    needBrowser();
    // Each page with what shows it has loaded (rows render as cards this narrow).
    const paths = [
      ['40-narrow-vm-list', '/console/vms', `row-default/${NAME}`],
      ['41-narrow-vm-overview', `/console/ns/default/vms/${NAME}`, 'detail-node'],
      ['42-narrow-vm-disks', `/console/ns/default/vms/${NAME}/disks`, 'row-data'],
      ['43-narrow-vm-metrics', `/console/ns/default/vms/${NAME}/metrics`, 'chart-cpu'],
      ['44-narrow-images', '/console/images', 'row-default/imported'],
      ['45-narrow-volumes', '/console/volumes', `row-default/${NAME}-data`],
      ['46-narrow-services', '/console/services', 'row-default/pages-web'],
      ['47-narrow-instance-types', '/console/instancetypes', 'row-Cluster/u1.small'],
    ] as const;
    for (const [shot, path, ready] of paths) await checkNarrow(page, shot, path, ready);
    await page.setViewportSize({ width: 390, height: 844 });
    await page.getByRole('button', { name: 'Navigation' }).click();
    await nav('Images').click();
    await page.getByRole('heading', { name: 'Images', level: 1 }).waitFor();
    await page.setViewportSize(VIEWPORT);
  });

  test('no errors in the browser console', () => {
    needBrowser();
    // The 422s the forms provoked on purpose (port, shrink, subnet) are logged as failed loads.
    const unexpected = consoleErrors(tab)
      .filter((e) => !e.includes('/InstanceTypesPage-') || !e.includes('ERR_CONNECTION_RESET'))
      .filter((e) => !/Failed to load resource: the server responded with a status of 422/.test(e));
    assert.deepEqual(unexpected, []);
    process.stdout.write(`# console screenshots: ${SHOTS_DIR}\n`);
  });

  test('the VM is deleted (and its guest is gone)', async () => {
    const r = await p.kubectl(['delete', 'vm', NAME]);
    assert.equal(r.code, 0, r.stderr);
    await eventually(
      async () => (await raw(p, 'GET', `${VMS}/${NAME}`)).code === 404,
      'the VM to go',
      30_000,
      100,
    );
    await eventually(() => guestPids(p, NAME).length === 0, 'no QEMU left for the VM', 30_000, 100);
  });
});
