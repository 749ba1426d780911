/**
 * The console per user, in Debian's Chromium: users of tenant acme (a ServiceAccount in tenant-acme
 * bound to `cozy:tenant:use` or `cozy:tenant:view`, plus KubeVirt's `kubevirt.io:view` to read the
 * VMs, with a TokenRequest token) sign in with a token or an uploaded kubeconfig. Each sees who is
 * signed in, a namespace picker holding only tenant-acme (they cannot list namespaces), only that
 * namespace's VMs, a 403 as "Access denied" with the server's message, and the view user sees Start
 * disabled with the RBAC reason while the use user may start; the catalog pages' create buttons are
 * disabled for it the same way, and so is the Backups tab's "Back up now", while its BackupClass
 * picker lists the classes (every signed-in user reads them).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import {
  checkPage,
  consoleErrors,
  launchBrowser,
  logIn,
  openPage,
  waitText,
  type TestPage,
} from '../support/browser.js';
import { kubectlOk, startTestPlatform, type TestPlatform } from '../support/platform.js';
import { eventually } from '../support/wait.js';

const NS = 'tenant-acme';
const LOAD_MS = 45_000;

let p: TestPlatform;
let browser: Browser | undefined;
const pages: TestPage[] = [];
const tokens: Record<string, string> = {};

const ok = (args: string[], input?: string): Promise<string> => kubectlOk(p, args, input);

/** A ServiceAccount of tenant-acme bound to the tenant role and to KubeVirt's view, and its token. */
async function tenantUser(name: string, role: string): Promise<string> {
  await ok(['-n', NS, 'create', 'serviceaccount', name]);
  await ok([
    '-n',
    NS,
    'create',
    'rolebinding',
    `${name}-tenant`,
    `--clusterrole=${role}`,
    `--serviceaccount=${NS}:${name}`,
  ]);
  await ok([
    '-n',
    NS,
    'create',
    'rolebinding',
    `${name}-vms`,
    '--clusterrole=kubevirt.io:view',
    `--serviceaccount=${NS}:${name}`,
  ]);
  return (await ok(['-n', NS, 'create', 'token', name, '--duration=30m'])).trim();
}

const halted = (name: string, namespace: string) =>
  JSON.stringify({
    apiVersion: 'kubevirt.io/v1',
    kind: 'VirtualMachine',
    metadata: { name, namespace },
    spec: {
      runStrategy: 'Halted',
      template: { spec: { domain: { devices: {}, memory: { guest: '128Mi' } } } },
    },
  });

before(async () => {
  p = await startTestPlatform();
  await ok(
    ['apply', '-f', '-'],
    JSON.stringify({
      apiVersion: 'apps.cozystack.io/v1alpha1',
      kind: 'Tenant',
      metadata: { name: 'acme', namespace: 'tenant-root' },
      spec: {},
    }),
  );
  await eventually(async () => (await p.kubectl(['get', 'ns', NS])).code === 0, `namespace ${NS}`, 30_000);
  await ok(['apply', '-f', '-'], halted('acme-vm', NS));
  await ok(['apply', '-f', '-'], halted('other-vm', 'default'));
  tokens['use'] = await tenantUser('alice', 'cozy:tenant:use');
  tokens['view'] = await tenantUser('victor', 'cozy:tenant:view');
});
after(async () => {
  await browser?.close();
  await p?.cleanup();
});

function needBrowser(): Browser {
  assert.ok(browser !== undefined, 'no browser: see the first failure');
  return browser;
}

/** The kebab of a VM row, opened: its Start item. */
async function startItem(page: Page, vm: string) {
  await page.getByRole('button', { name: `Actions for VM "${vm}"` }).click();
  return page.getByTestId('action-start').getByRole('menuitem');
}

describe('console per user', () => {
  test("Debian's Chromium starts (a missing browser fails the suite, it is never skipped)", async () => {
    browser = await launchBrowser();
  });

  test('the use user, signed in with its token, sees only tenant-acme and may start its VM', async () => {
    const t = await openPage(needBrowser());
    pages.push(t);
    const { page } = t;
    await logIn(page, p.url, tokens['use'] ?? '');
    await waitText(
      page,
      page.getByTestId('whoami'),
      /^system:serviceaccount:tenant-acme:alice$/,
      'who is signed in',
    );
    const options = await page.locator('#namespace-picker option').allTextContents();
    assert.deepEqual(options, [NS], 'the picker holds only the tenant namespace');
    await page.getByTestId(`row-${NS}/acme-vm`).waitFor({ timeout: LOAD_MS });
    assert.equal(await page.getByTestId('row-default/other-vm').count(), 0, 'no VM of another namespace');
    const start = await startItem(page, 'acme-vm');
    await eventually(
      async () => (await start.getAttribute('aria-disabled')) !== 'true',
      'Start enabled once the rules review answered',
      LOAD_MS,
    );
    await checkPage(page, 'tenant-01-use-user');
    await page.keyboard.press('Escape');

    await page.goto(`${p.url}/console/ns/default/vms/other-vm`);
    const denied = page.getByTestId('access-denied');
    await waitText(page, denied, /Access denied/, 'a 403 shown as access denied');
    await waitText(
      page,
      denied,
      /alice.*cannot (list|watch|get).*virtualmachines/s,
      'the server naming user and verb',
    );
    await checkPage(page, 'tenant-02-forbidden');

    // A catalog page reads the picked namespace only: Services are the tenant's to read, claims are not.
    await page.goto(`${p.url}/console/services`);
    await page.getByRole('heading', { name: 'Services', level: 1 }).waitFor({ timeout: LOAD_MS });
    await waitText(page, page.locator('main'), /No Service yet/, 'the Services of tenant-acme');
    assert.equal(await page.getByTestId('access-denied').count(), 0, 'Services of tenant-acme are readable');
    await page.goto(`${p.url}/console/volumes`);
    await waitText(
      page,
      page.getByTestId('access-denied'),
      /cannot list resource "persistentvolumeclaims".*"tenant-acme"/s,
      'the Volumes page denied in tenant-acme, saying so',
    );
    assert.deepEqual(
      consoleErrors(t).filter((e) => !/status of 403/.test(e)),
      [],
    );
  });

  test('the view user, signed in with an uploaded kubeconfig, sees Start disabled with the reason', async () => {
    const t = await openPage(needBrowser());
    pages.push(t);
    const { page } = t;
    const kubeconfig = [
      'apiVersion: v1',
      'kind: Config',
      `clusters: [{name: hikube, cluster: {server: "${p.url}"}}]`,
      `users: [{name: victor, user: {token: "${tokens['view'] ?? ''}"}}]`,
      `contexts: [{name: acme, context: {cluster: hikube, user: victor, namespace: ${NS}}}]`,
      'current-context: acme',
      '',
    ].join('\n');
    await page.goto(`${p.url}/`);
    await page
      .locator('input[type=file]')
      .setInputFiles({ name: 'victor.kubeconfig', mimeType: 'text/plain', buffer: Buffer.from(kubeconfig) });
    await eventually(
      async () => (await page.inputValue('#token')).includes('current-context'),
      'the file read',
    );
    await page.getByRole('button', { name: 'Log in' }).click();
    await waitText(
      page,
      page.getByTestId('whoami'),
      /^system:serviceaccount:tenant-acme:victor$/,
      'who is signed in',
    );
    assert.deepEqual(await page.locator('#namespace-picker option').allTextContents(), [NS]);
    await page.getByTestId(`row-${NS}/acme-vm`).waitFor({ timeout: LOAD_MS });
    const start = await startItem(page, 'acme-vm');
    await waitText(
      page,
      start,
      /Not allowed: system:serviceaccount:tenant-acme:victor cannot update "virtualmachines\/start" in API group "subresources.kubevirt.io" in namespace "tenant-acme"/,
      'Start disabled with the RBAC reason',
    );
    assert.equal(await start.getAttribute('aria-disabled'), 'true');
    // The rules have answered (the reason above): Create VM stays disabled, kubevirt.io VMs are not theirs to create.
    assert.equal(await page.getByTestId('create-vm').getAttribute('aria-disabled'), 'true');
    await checkPage(page, 'tenant-03-view-user');
    // The catalog pages' own buttons follow RBAC the same way: disabled, with the reason.
    for (const [nav, button, resource] of [
      ['Networks', 'create-network', 'network-attachment-definitions'],
      ['Images', 'import-image', 'datavolumes'],
      ['Backup plans', 'add-plan', 'plans'],
    ] as const) {
      await page.getByRole('navigation').getByRole('link', { name: nav, exact: true }).click();
      await waitText(
        page,
        page.locator(`#${button}-why`),
        new RegExp(`^Not allowed: system:serviceaccount:tenant-acme:victor cannot create "${resource}"`),
        `${nav}: the create button's RBAC reason`,
      );
      assert.equal(await page.getByTestId(button).getAttribute('aria-disabled'), 'true', `${nav}: disabled`);
    }
    await checkPage(page, 'tenant-04-view-user-catalog');
    // The Backups tab: the BackupClasses are every user's to read (default preselected), but
    // "Back up now" is disabled with the reason: BackupJobs are not the view user's to create.
    await page.goto(`${p.url}/console/ns/${NS}/vms/acme-vm/backups`);
    await waitText(
      page,
      page.locator('#back-up-why'),
      /^Not allowed: system:serviceaccount:tenant-acme:victor cannot create "backupjobs"/,
      'Back up now disabled with the RBAC reason',
      LOAD_MS,
    );
    await eventually(
      async () => ((await page.locator('#backup-class').inputValue()) === 'default' ? true : undefined),
      'the default class listed and preselected for a tenant user',
      LOAD_MS,
    );
    assert.deepEqual(
      consoleErrors(t).filter((e) => !/status of 403/.test(e)),
      [],
    );
  });
});
