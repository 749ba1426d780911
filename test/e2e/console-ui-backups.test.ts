/**
 * The console's Backups tab in a real browser (Debian's Chromium) against a real platform running
 * a tiny guest on a PVC disk, backed up to local-directory BackupClasses. The class picker offers
 * every class with `default` preselected and a class without a strategy for VirtualMachine
 * disabled; a run on a class whose strategy is missing is listed Failed with the reason, and can be
 * deleted; "Back up now" on the class picked lists a Ready backup without a reload, with the bytes
 * it sent. Restored to a new VM, a bad or taken name is refused under the field before anything is
 * sent, then the restore is listed as Succeeded and the VM exists; restored onto the running VM
 * without the stop option, the restore fails with the reason; deleted, the backup goes. The plans
 * page picks its class the same way; with no class left, both buttons say why they are disabled.
 * Screenshot and axe-core.
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
import { kubectlOk, startTestPlatform, type TestPlatform } from '../support/platform.js';
import { eventually } from '../support/wait.js';

const NAME = 'bk-src';
const COPY = 'bk-copy';

let p: TestPlatform;
let browser: Browser | undefined;
let tab: TestPage;
let page: Page;

/** Classes beside `default`: one on the same local strategy, one for VMInstances only, one broken. */
const CLASSES = `apiVersion: backups.cozystack.io/v1alpha1
kind: BackupClass
metadata: {name: bk-second}
spec:
  strategies:
  - strategyRef: {apiGroup: backups.hikube.io, kind: BackupStrategy, name: default}
    application: {apiGroup: kubevirt.io, kind: VirtualMachine}
---
apiVersion: backups.cozystack.io/v1alpha1
kind: BackupClass
metadata: {name: bk-instances}
spec:
  strategies:
  - strategyRef: {apiGroup: backups.hikube.io, kind: BackupStrategy, name: default}
    application: {apiGroup: apps.cozystack.io, kind: VMInstance}
---
apiVersion: backups.cozystack.io/v1alpha1
kind: BackupClass
metadata: {name: bk-broken}
spec:
  strategies:
  - strategyRef: {apiGroup: backups.hikube.io, kind: BackupStrategy, name: bk-missing}
    application: {apiGroup: kubevirt.io, kind: VirtualMachine}
`;

before(async () => {
  p = await startTestPlatform();
  await createTinyOnClaim(p, NAME, 'bk-data');
  await kubectlOk(p, ['apply', '-f', '-'], CLASSES);
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

/** The BackupClass a BackupJob was sent with. */
const classOfRun = (job: string): Promise<string> =>
  kubectlOk(p, ['get', 'backupjobs.backups.cozystack.io', job, '-o', 'jsonpath={.spec.backupClassName}']);

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

  test('the class picker: default preselected, a class without a VirtualMachine strategy disabled; a broken class fails with the reason', async () => {
    needBrowser();
    await page.getByRole('tab', { name: 'Backups', exact: true }).click();
    await page.getByText('No backup of this VM yet.').waitFor();
    const picker = page.locator('#backup-class');
    await eventually(
      async () => ((await picker.locator('option').count()) === 4 ? true : undefined),
      'four classes offered',
      30_000,
      250,
    );
    assert.equal(await picker.inputValue(), 'default', 'default preselected');
    const unfit = picker.locator('option[value="bk-instances"]');
    assert.equal(await unfit.isDisabled(), true, 'a class without a VirtualMachine strategy is disabled');
    assert.match((await unfit.textContent()) ?? '', /No strategy for VirtualMachine/);

    await picker.selectOption('bk-broken');
    await page.getByRole('button', { name: 'Back up now' }).click();
    const failed = page.locator(`[data-testid^="row-${NAME}-"]`);
    await waitText(failed.getByTestId('cell-phase'), /^Failed$/, 'the run Failed', 60_000);
    await waitText(failed.getByTestId('cell-detail'), /BackupStrategy bk-missing not found/, 'the reason');
    const run = ((await failed.getAttribute('data-testid')) ?? '').slice('row-'.length);
    assert.equal(await classOfRun(run), 'bk-broken');
    await backupMenu(run, 'Delete');
    await page.getByTestId('confirm').click();
    await page.getByText('No backup of this VM yet.').waitFor({ timeout: 30_000 });
  });

  test('Back up now on the class picked: a Ready backup listed live with the bytes it sent', async () => {
    needBrowser();
    await page.locator('#backup-class').selectOption('bk-second');
    await page.getByRole('button', { name: 'Back up now' }).click();
    const name = await eventually(async () => (await backupName()) || undefined, 'a Backup', 120_000, 500);
    const row = page.getByTestId(`row-${name}`);
    await waitText(row.getByTestId('cell-phase'), /^Ready$/, 'the backup Ready without a reload', 120_000);
    await waitText(row.getByTestId('cell-size'), /^\d+ B$|^\d+(\.\d+)?[KMG]i$/, 'the bytes sent');
    await waitText(row.getByTestId('cell-taken'), /ago$/, 'when it was taken');
    assert.equal(await classOfRun(name), 'bk-second');
    await checkPageIn(page, '70-vm-backups');
  });

  test('restore to a new VM succeeds; onto the running VM without stopping it, it fails with the reason', async () => {
    needBrowser();
    const name = await backupName();
    await backupMenu(name, 'Restore to a new VM');
    const refusedName = page.getByTestId('backup-restore-target-error');
    for (const [bad, why] of [
      ['Bad_Name', /RFC 1123 label/],
      [NAME, /a VirtualMachine of this name exists/],
    ] as const) {
      await page.fill('#backup-restore-target', bad);
      await page.getByRole('button', { name: 'Restore', exact: true }).click();
      await waitText(refusedName, why, `${bad} refused under the field`);
    }
    const sent = await p.kubectl(['get', 'restorejobs.backups.cozystack.io', '-o', 'name']);
    assert.equal(sent.stdout.trim(), '', 'nothing sent for a refused name');
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
    assert.equal(await page.locator('#plan-backupClassName').inputValue(), 'default', 'default preselected');
    assert.equal(
      await page.locator('#plan-backupClassName option[value="bk-instances"]').isDisabled(),
      true,
      'a class without a VirtualMachine strategy is disabled',
    );
    await page.locator('#plan-backupClassName').selectOption('bk-second');
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
    await waitText(row.getByTestId('cell-class'), /^bk-second$/, 'the class picked');
    await waitText(row.getByTestId('cell-last'), /^never$/, 'no run yet');
    await checkPageIn(page, '71-backup-plans');
    await page.getByRole('button', { name: 'Actions for plan "nightly"', exact: true }).click();
    await page.getByRole('menuitem', { name: 'Delete' }).click();
    await page.getByTestId('confirm').click();
    await page.getByText('No backup plan yet.').waitFor({ timeout: 30_000 });
  });

  test('with no BackupClass left, Create plan and Back up now are disabled with the reason', async () => {
    needBrowser();
    await kubectlOk(p, ['delete', 'backupclasses.backups.cozystack.io', '--all']);
    const none = /^No BackupClass exists: an administrator must create one$/;
    await waitText(page.locator('#add-plan-why'), none, 'Create plan: the reason');
    assert.equal(await page.getByTestId('add-plan').getAttribute('aria-disabled'), 'true');
    await page.goto(`${p.url}/console/ns/default/vms/${NAME}/backups`);
    await waitText(page.locator('#back-up-why'), none, 'Back up now: the reason', 30_000);
    assert.equal(
      await page.getByRole('button', { name: 'Back up now' }).getAttribute('aria-disabled'),
      'true',
    );
  });
});
