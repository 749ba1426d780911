/**
 * The console's Backups tab in a real browser (Debian's Chromium) against a real platform running
 * a tiny guest on a PVC disk, backed up to the default BackupClass (a local directory): "Back up
 * now" lists a Ready backup without a reload, with the bytes it sent; restored to a new VM, the
 * restore is listed as Succeeded and the VM exists; restored onto the running VM without the stop
 * option, the restore fails with the reason; deleted, the backup goes. Screenshot and axe-core.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser, Locator, Page } from 'playwright-core';
import {
  launchBrowser,
  logIn,
  openPage,
  type TestPage,
  needBrowser as needBrowserIn,
  checkPage as checkPageIn,
  waitText as waitTextIn,
} from '../support/browser.js';
import { createTinyOnClaim } from '../support/disk-guest.js';
import { startTestPlatform, type TestPlatform } from '../support/platform.js';
import { eventually } from '../support/wait.js';

const NAME = 'bk-src';
const COPY = 'bk-copy';

let p: TestPlatform;
let browser: Browser | undefined;
let tab: TestPage;
let page: Page;

before(async () => {
  p = await startTestPlatform();
  await createTinyOnClaim(p, NAME, 'bk-data');
});
after(async () => {
  await browser?.close();
  await p?.cleanup();
});

const needBrowser = (): void => needBrowserIn(browser);
const waitText = (locator: Locator, pattern: RegExp, what: string, timeoutMs?: number): Promise<void> =>
  waitTextIn(page, locator, pattern, what, timeoutMs);
const vmStatus = () => page.locator('main [data-testid="vm-status"]').first();
const backupMenu = async (backup: string, item: string) => {
  await page.getByRole('button', { name: `Actions for backup "${backup}"`, exact: true }).click();
  await page.getByRole('menuitem', { name: item }).click();
};
const backupName = async (): Promise<string> => {
  const r = await p.kubectl([
    'get',
    'backups.backups.cozystack.io',
    '-o',
    'jsonpath={.items[0].metadata.name}',
  ]);
  return r.stdout.trim();
};

describe('web console: backups', () => {
  test('the token logs in, the VM runs', async () => {
    browser = await launchBrowser();
    tab = await openPage(browser);
    page = tab.page;
    await logIn(page, p.url, p.token);
    await page.getByTestId(`row-default/${NAME}`).waitFor({ timeout: 30_000 });
    await page.getByRole('link', { name: NAME, exact: true }).click();
    await waitText(vmStatus(), /^Running$/, 'the VM to be Running', 120_000);
  });

  test('Back up now: a Ready backup listed live with the bytes it sent', async () => {
    needBrowser();
    await page.getByRole('tab', { name: 'Backups', exact: true }).click();
    await page.getByText('No backup of this VM yet.').waitFor();
    await page.getByRole('button', { name: 'Back up now' }).click();
    const name = await eventually(async () => (await backupName()) || undefined, 'a Backup', 120_000, 500);
    const row = page.getByTestId(`row-${name}`);
    await waitText(row.getByTestId('cell-phase'), /^Ready$/, 'the backup Ready without a reload', 120_000);
    await waitText(row.getByTestId('cell-size'), /^\d+ B$|^\d+(\.\d+)?[KMG]i$/, 'the bytes sent');
    await waitText(row.getByTestId('cell-taken'), /ago$/, 'when it was taken');
    await checkPageIn(page, '70-vm-backups');
  });

  test('restore to a new VM succeeds; onto the running VM without stopping it, it fails with the reason', async () => {
    needBrowser();
    const name = await backupName();
    await backupMenu(name, 'Restore to a new VM');
    await page.fill('#backup-restore-target', COPY);
    await page.getByRole('button', { name: 'Restore', exact: true }).click();
    await page.locator('#backup-restore-target').waitFor({ state: 'detached' });
    const restore = page.locator(`[data-testid^="row-${COPY}-restore-"]`);
    await waitText(restore.getByTestId('cell-state'), /^Succeeded/, 'the restore Succeeded', 180_000);
    const vm = await p.kubectl(['get', 'vm', COPY, '-o', 'name']);
    assert.equal(vm.code, 0, vm.stderr);
    await p.kubectl(['delete', 'vm', COPY, '--wait=false']);

    await backupMenu(name, 'Restore to this VM');
    await page.getByText('The VM is running').waitFor();
    await page.getByLabel('Stop the VM for the restore, start it again after').uncheck();
    await page.getByRole('button', { name: 'Restore', exact: true }).click();
    const refused = page.locator(`[data-testid^="row-${NAME}-restore-"]`);
    await waitText(
      refused.getByTestId('cell-state'),
      /^Failed: restore failed: .*is running/,
      'refused with the reason',
      60_000,
    );
  });

  test('deleting the backup removes it from the list', async () => {
    needBrowser();
    const name = await backupName();
    await backupMenu(name, 'Delete');
    await page.getByTestId('confirm').click();
    await page.getByTestId(`row-${name}`).waitFor({ state: 'detached', timeout: 60_000 });
    await page.getByText('No backup of this VM yet.').waitFor();
    const r = await p.kubectl(['get', 'backups.backups.cozystack.io', name]);
    assert.notEqual(r.code, 0, 'the backup is gone from the server');
  });

  test('Backup plans page: a bad cron is refused under its field; a good plan is listed with its next run, then deleted', async () => {
    needBrowser();
    await page
      .getByRole('navigation', { name: 'Console sections' })
      .getByRole('link', { name: 'Backup plans', exact: true })
      .click();
    await page.getByText('No backup plan yet.').waitFor();
    await page.getByRole('button', { name: 'Create plan' }).click();
    await page.fill('#plan-name', 'nightly');
    await page.selectOption('#plan-kind', 'VirtualMachine');
    await page.fill('#plan-application', NAME);
    await page.fill('#plan-cron', '61 * * * *');
    await page.getByRole('button', { name: 'Create', exact: true }).click();
    await waitText(page.getByTestId('plan-cron-error'), /minute "61"/, 'the cron refused under its field');
    await page.fill('#plan-cron', '0 3 * * *');
    await page.getByRole('button', { name: 'Create', exact: true }).click();
    await page.locator('#plan-cron').waitFor({ state: 'detached' });
    const row = page.getByTestId('row-default/nightly');
    await waitText(row.getByTestId('cell-next'), /^in /, 'the next run', 30_000);
    await waitText(
      row.getByTestId('cell-application'),
      new RegExp(`^VirtualMachine ${NAME}$`),
      'the application',
    );
    await waitText(row.getByTestId('cell-keep'), /^newest 7$/, 'the retention');
    await checkPageIn(page, '71-backup-plans');
    await page.getByRole('button', { name: 'Actions for plan "nightly"', exact: true }).click();
    await page.getByRole('menuitem', { name: 'Delete' }).click();
    await page.getByTestId('confirm').click();
    await page.getByText('No backup plan yet.').waitFor({ timeout: 30_000 });
  });
});
