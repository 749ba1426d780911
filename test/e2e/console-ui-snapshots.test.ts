/**
 * The console's snapshots in a real browser (Debian's Chromium) against a real platform running a
 * real guest (hikube/tiny under QEMU) with a PVC disk: a snapshot taken from the Snapshots tab
 * becomes ready to use in the list without a reload (live, with the Online indication and the
 * disk's size); restored to a new VM, the new VM appears and runs; restored onto the running VM
 * with StopTarget, the VM stops and comes back; deleted, it goes. A snapshot schedule with a bad
 * cron gets the API's cause under the Schedule field, a good one is listed, suspended and deleted.
 * Bad names get their field errors too. Screenshots at 1280×800, axe-core, no console errors.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser, Locator, Page } from 'playwright-core';
import {
  consoleErrors,
  launchBrowser,
  logIn,
  openPage,
  SHOTS_DIR,
  type TestPage,
  needBrowser as needBrowserIn,
  checkPage as checkPageIn,
  waitText as waitTextIn,
  checkNarrow,
} from '../support/browser.js';
import { createTinyOnClaim } from '../support/disk-guest.js';
import { guestPids, vm } from '../support/guest.js';
import { startTestPlatform, type TestPlatform } from '../support/platform.js';
import { eventually } from '../support/wait.js';

const NAME = 'snap-src';
const COPY = 'snap-copy';

let p: TestPlatform;
let browser: Browser | undefined;
let tab: TestPage;
let page: Page;

before(async () => {
  p = await startTestPlatform();
  await createTinyOnClaim(p, NAME, 'snap-data');
});
after(async () => {
  await browser?.close();
  await p?.cleanup();
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
const vmStatus = () => page.locator('main [data-testid="vm-status"]').first();
const snapshotMenu = async (snapshot: string, item: string) => {
  await page.getByRole('button', { name: `Actions for snapshot "${snapshot}"`, exact: true }).click();
  await page.getByRole('menuitem', { name: item }).click();
};

describe('web console: snapshots and snapshot schedules', () => {
  test("Debian's Chromium starts, the token logs in, the VM runs", async () => {
    browser = await launchBrowser();
    tab = await openPage(browser);
    page = tab.page;
    await logIn(page, p.url, p.token);
    await page.getByTestId(`row-default/${NAME}`).waitFor({ timeout: 30_000 });
    await page.getByRole('link', { name: NAME, exact: true }).click();
    await waitText(vmStatus(), /^Running$/, 'the VM to be Running', 90_000);
  });

  test('Snapshots tab: a bad name is refused on its field; a snapshot becomes ready to use live', async () => {
    needBrowser();
    await page.getByRole('tab', { name: 'Snapshots', exact: true }).click();
    await page.getByText('No snapshot of this VM yet.').waitFor();
    await page.getByText(/the snapshot is taken live/).waitFor();
    await page.getByRole('button', { name: 'Take snapshot' }).click();
    await page.fill('#snapshot-name', 'Not_A_Name');
    await page.getByRole('button', { name: 'Take snapshot', exact: true }).last().click();
    await waitText(
      page.getByTestId('snapshot-name-error'),
      /Invalid value/,
      'the name refused under its field',
    );
    assert.equal(await page.locator('#snapshot-name').getAttribute('aria-invalid'), 'true');
    await page.fill('#snapshot-name', 's1');
    await page.getByRole('button', { name: 'Take snapshot', exact: true }).last().click();
    const row = page.getByTestId('row-s1');
    await waitText(
      row.getByTestId('cell-ready'),
      /^Yes$/,
      'the snapshot ready to use without a reload',
      60_000,
    );
    await waitText(row.getByTestId('cell-phase'), /^Succeeded$/, 'the Succeeded phase');
    await waitText(row.getByTestId('cell-indications'), /Online/, 'taken live: the Online indication');
    await waitText(row.getByTestId('cell-indications'), /NoGuestAgent/, 'no guest agent in the tiny image');
    await waitText(row.getByTestId('cell-size'), /^64Mi$/, "the disk's size");
    await waitText(row.getByTestId('cell-disks'), /^data$/, 'the PVC disk it holds');
    await waitText(row.getByTestId('cell-created'), /ago$/, 'its creation time');
    await checkPage('60-vm-snapshots');
  });

  test('restore to a new VM: a bad name is refused on its field; the new VM appears and runs', async () => {
    needBrowser();
    await snapshotMenu('s1', 'Restore to a new VM');
    await page.fill('#restore-target', 'Bad_Copy');
    await page.getByRole('button', { name: 'Restore', exact: true }).click();
    await waitText(page.getByTestId('restore-target-error'), /Invalid value/, 'the bad name under its field');
    await page.fill('#restore-target', COPY);
    await checkPage('61-vm-snapshot-restore-new');
    await page.getByRole('button', { name: 'Restore', exact: true }).click();
    await page.locator('#restore-target').waitFor({ state: 'detached' });
    const restore = page.locator(`[data-testid^="row-${COPY}-restore-"]`);
    await waitText(restore.getByTestId('cell-state'), /^Complete$/, 'the restore listed as Complete', 60_000);
    await nav('Virtual machines').click();
    const copy = page.getByTestId(`row-default/${COPY}`);
    await waitText(copy.getByTestId('vm-status'), /^Running$/, 'the restored VM to run', 90_000);
    // Keep one guest on this loaded machine.
    const r = await p.kubectl(['delete', 'vm', COPY, '--wait=false']);
    assert.equal(r.code, 0, r.stderr);
    await eventually(() => guestPids(p, COPY).length === 0, 'the copy to stop', 60_000, 200);
  });

  test('restore onto the running VM says it must stop; with StopTarget it stops, is restored, stays stopped', async () => {
    needBrowser();
    await page.goto(`${p.url}/console/ns/default/vms/${NAME}/snapshots`);
    await page.getByTestId('row-s1').waitFor();
    await snapshotMenu('s1', 'Restore to this VM');
    await page.getByText('The VM is running').waitFor();
    const stop = page.locator('#restore-stop');
    assert.equal(await stop.isChecked(), true, 'StopTarget is offered and on by default');
    await page.getByText(/stays stopped: start it again/).waitFor();
    await checkPage('62-vm-snapshot-restore');
    await page.getByRole('button', { name: 'Restore', exact: true }).click();
    await page.locator('#restore-stop').waitFor({ state: 'detached' });
    await waitText(vmStatus(), /^Stopped$/, 'the VM stopped by the restore', 60_000);
    const inPlace = page.locator(`[data-testid^="row-${NAME}-restore-"]`);
    await waitText(
      inPlace.getByTestId('cell-target'),
      new RegExp(`^${NAME}$`),
      'the restore in place listed',
    );
    await waitText(inPlace.getByTestId('cell-state'), /^Complete$/, 'the restore in place Complete', 60_000);
    const restored = (await vm(p, NAME)) as { spec?: { runStrategy?: string } };
    assert.equal(restored.spec?.runStrategy, 'Halted');
    // Stopped now: a restore needs no stop.
    await snapshotMenu('s1', 'Restore to this VM');
    await page.getByText('The VM is stopped: it is restored at once').waitFor();
    await page.getByRole('button', { name: 'Cancel' }).click();
  });

  test('delete the snapshot: it leaves the list', async () => {
    needBrowser();
    await narrow('65-narrow-vm-snapshots', `/console/ns/default/vms/${NAME}/snapshots`, 'row-s1');
    await snapshotMenu('s1', 'Delete');
    await page.getByTestId('confirm').click();
    await page.getByTestId('row-s1').waitFor({ state: 'detached', timeout: 30_000 });
    await page.getByText('No snapshot of this VM yet.').waitFor();
    const r = await p.kubectl(['get', 'vmsnapshot', 's1']);
    assert.notEqual(r.code, 0, 'the snapshot is gone from the server');
  });

  test('Snapshot schedules: a bad cron gets its cause on the Schedule field; create, suspend, delete', async () => {
    needBrowser();
    await nav('Snapshot schedules').click();
    await page.getByRole('heading', { name: 'Snapshot schedules', level: 1 }).waitFor();
    await page.getByText('No snapshot schedule yet.').waitFor();
    await page.getByRole('button', { name: 'Create schedule' }).click();
    await page.fill('#schedule-name', 'nightly');
    await page.fill('#schedule-schedule', '61 3 * * *');
    await page.fill('#schedule-selector', 'app=demo');
    await page.fill('#schedule-keep', '3');
    await page.getByRole('button', { name: 'Create', exact: true }).click();
    await waitText(
      page.getByTestId('schedule-schedule-error'),
      /Invalid value: "61 3 \* \* \*"/,
      'the cron refused under its field',
    );
    assert.equal(await page.locator('#schedule-schedule').getAttribute('aria-invalid'), 'true');
    assert.equal(await page.getByTestId('schedule-name-error').count(), 0, 'no error on the good fields');
    await checkPage('63-schedule-bad-cron');
    // A selector the form cannot read is refused on its own field before anything is sent.
    await page.fill('#schedule-schedule', '0 3 * * *');
    await page.fill('#schedule-selector', 'app in web');
    await page.getByRole('button', { name: 'Create', exact: true }).click();
    await waitText(
      page.getByTestId('schedule-selector-error'),
      /terms such as/,
      'the selector refused under its field',
    );
    await page.fill('#schedule-selector', 'app=demo');
    await page.getByRole('button', { name: 'Create', exact: true }).click();
    const row = page.getByTestId('row-default/nightly');
    await waitText(row.getByTestId('cell-schedule'), /^0 3 \* \* \*$/, 'the schedule listed');
    await waitText(row.getByTestId('cell-selector'), /^app=demo$/, 'its selector');
    await waitText(row.getByTestId('cell-next'), /^in \d+[smhd]$/, 'its next run');
    await waitText(row.getByTestId('cell-last'), /^never$/, 'no run yet');
    await waitText(row.getByTestId('cell-snapshots'), /^0$/, 'no snapshot yet');
    await waitText(row.getByTestId('cell-keep'), /^newest 3$/, 'its retention');
    await waitText(row.getByTestId('cell-state'), /^Active$/, 'the schedule Active');
    await checkPage('64-snapshot-schedules');
    await narrow('66-narrow-snapshot-schedules', '/console/snapshotschedules', 'row-default/nightly');
    await page.getByRole('button', { name: 'Actions for schedule "nightly"' }).click();
    await page.getByRole('menuitem', { name: 'Suspend' }).click();
    await waitText(row.getByTestId('cell-state'), /^Suspended$/, 'the schedule suspended');
    await waitText(row.getByTestId('cell-next'), /^$/, 'no next run while suspended');
    await page.getByRole('button', { name: 'Actions for schedule "nightly"' }).click();
    await page.getByRole('menuitem', { name: 'Resume' }).click();
    await waitText(row.getByTestId('cell-state'), /^Active$/, 'the schedule resumed');
    await page.getByRole('button', { name: 'Actions for schedule "nightly"' }).click();
    await page.getByRole('menuitem', { name: 'Delete' }).click();
    await page.getByTestId('confirm').click();
    await page.getByText('No snapshot schedule yet.').waitFor();
  });

  test('no errors in the browser console', () => {
    needBrowser();
    // The 422s the forms provoked on purpose (names, cron) are logged as failed loads.
    const unexpected = consoleErrors(tab).filter(
      (e) => !/Failed to load resource: the server responded with a status of 422/.test(e),
    );
    assert.deepEqual(unexpected, []);
    process.stdout.write(`# console screenshots: ${SHOTS_DIR}\n`);
  });
});
