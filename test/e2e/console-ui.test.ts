/**
 * The web console in a real browser (Debian's Chromium through playwright-core) against a real
 * platform booting a real guest: log in with the token, create a VM from the wizard, watch it reach
 * Running without a reload, type into its serial console, stop it and delete it. Invalid input shows
 * the API's own field error next to the field. Every page is screenshotted at 1280×800 and checked
 * with axe-core. The console is built first (npm run build:web); the test fails without Chromium.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { after, before, describe, test } from 'node:test';
import type { Browser, Locator, Page } from 'playwright-core';
import WebSocket from 'ws';
import { stringify } from 'yaml';
import {
  consoleErrors,
  launchBrowser,
  openPage,
  screenshot,
  SHOTS_DIR,
  type TestPage,
  needBrowser as needBrowserIn,
  checkPage as checkPageIn,
  waitText as waitTextIn,
} from '../support/browser.js';
import { VMS, guestPids, vm } from '../support/guest.js';
import { raw } from '../support/http.js';
import { repoRoot, startTestPlatform, type TestPlatform } from '../support/platform.js';
import { eventually } from '../support/wait.js';

const NAME = 'web-tiny';

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
const checkPage = (name: string, options?: { axe?: boolean }): Promise<void> =>
  checkPageIn(page, name, options);
const waitText = (locator: Locator, pattern: RegExp, what: string, timeoutMs?: number): Promise<void> =>
  waitTextIn(page, locator, pattern, what, timeoutMs);

const statusIn = (scope: string) => page.locator(`${scope} [data-testid="vm-status"]`).first();
const row = (name: string) => page.locator(`[data-testid="row-default/${name}"]`);

describe('web console', () => {
  test("Debian's Chromium starts (a missing browser fails the suite, it is never skipped)", async () => {
    browser = await launchBrowser();
    tab = await openPage(browser);
    page = tab.page;
  });

  test('the console is public, its API calls are not; WebSockets take the token as a subprotocol', async () => {
    const home = await raw(p, 'GET', '/', undefined, {}, null);
    assert.equal(home.code, 200);
    assert.match(String(home.headers['content-type']), /text\/html/);
    assert.match(String(home.headers['content-security-policy']), /default-src 'self'/);
    assert.match(home.body, /<div id="root">/);
    const deep = await raw(p, 'GET', '/console/ns/default/vms/x/console', undefined, {}, null);
    assert.equal(deep.code, 200, 'console routes answer with the app');
    assert.equal((await raw(p, 'GET', '/console/assets/missing.js', undefined, {}, null)).code, 404);
    assert.equal(
      (await raw(p, 'GET', '/console/assets/..%2f..%2fpackage.json', undefined, {}, null)).code,
      400,
    );
    assert.equal((await raw(p, 'GET', '/apis/kubevirt.io/v1', undefined, {}, null)).code, 401);
    assert.equal(
      (await raw(p, 'GET', '/favicon.ico', undefined, {}, null)).code,
      401,
      'other paths stay the API',
    );

    // No VMI "nope": a good token gets past authentication to the 404, a bad one stops at 401.
    const upgrade = (token: string) =>
      new Promise<number>((resolve, reject) => {
        const url = `${p.url.replace('https:', 'wss:')}/apis/subresources.kubevirt.io/v1/namespaces/default/virtualmachineinstances/nope/console`;
        const bearer = `base64url.bearer.authorization.k8s.io.${Buffer.from(token).toString('base64url')}`;
        const ws = new WebSocket(url, ['plain.kubevirt.io', bearer], {
          ca: readFileSync(join(p.dataDir, 'pki', 'ca.crt')),
        });
        ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
        ws.once('open', () => reject(new Error('the console of a missing VMI opened')));
        ws.once('error', () => undefined);
      });
    assert.equal(await upgrade(p.token), 404);
    assert.equal(await upgrade('wrong-token'), 401);
  });

  test('log in with the token; the empty list leads to the wizard', async () => {
    needBrowser();
    const requested: string[] = [];
    page.on('request', (r) => requested.push(r.url()));
    await page.goto(`${p.url}/`);
    await page.locator('#token').waitFor();
    await checkPage('01-login');
    await page.fill('#token', 'not-the-token');
    await page.getByRole('button', { name: 'Log in' }).click();
    await waitText(page.getByTestId('login-error'), /rejected/, 'a rejected token to be said so');
    await page.fill('#token', p.token);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByRole('heading', { name: 'No virtual machines yet' }).waitFor();
    // A marker that only survives if the page is never reloaded from here on.
    await page.evaluate(() => ((globalThis as unknown as { hkNoReload: boolean }).hkNoReload = true));
    await checkPage('02-vm-list-empty');
    const heavy = requested.filter((u) =>
      /\/(ConsoleTab|VncTab|YamlTab|MetricsTab|DisksTab|NetworkTab|CreateVmPage|VmDetailPage|ImagesPage|VolumesPage|NetworksPage|ServicesPage|InstanceTypesPage)-/.test(
        u,
      ),
    );
    assert.deepEqual(
      heavy,
      [],
      'xterm.js, noVNC, CodeMirror, uPlot and the other pages load only when opened',
    );
    await page.getByRole('button', { name: 'Create VM' }).click();
    await page.locator('#vm-name').waitFor();
    await page.getByRole('radio', { name: 'Instance type u1.small' }).waitFor();
    await checkPage('03-create-general');
  });

  test("invalid input in the wizard shows the API server's field error next to the field", async () => {
    needBrowser();
    const expected = await raw(
      p,
      'POST',
      `${VMS}?dryRun=All`,
      JSON.stringify({
        apiVersion: 'kubevirt.io/v1',
        kind: 'VirtualMachine',
        metadata: { name: 'Bad_Name' },
        spec: { template: { spec: { domain: { devices: {} } } } },
      }),
    );
    const causes = (expected.json['details'] as { causes: { field: string; message: string }[] }).causes;
    const cause = causes.find((c) => c.field === 'metadata.name');
    assert.ok(cause !== undefined, `the API names metadata.name: ${expected.body}`);

    // The Hikube VMInstance + VMDisk pair is the default (console-ui-hikube.test.ts): this test makes a VM.
    assert.equal(await page.getByRole('radio', { name: /^Hikube VMInstance \+ VMDisk/ }).isChecked(), true);
    await page.getByRole('radio', { name: /^KubeVirt VirtualMachine/ }).check();
    await page.fill('#vm-name', 'Bad_Name');
    await page.getByRole('button', { name: 'Next' }).click();
    const error = page.getByTestId('vm-name-error');
    await waitText(error, /RFC 1123/, 'the name field to show the API error');
    assert.ok(((await error.textContent()) ?? '').includes(cause.message), "the message is the API's own");
    assert.equal(await page.locator('#vm-name').getAttribute('aria-invalid'), 'true');
    await checkPage('04-create-invalid-name');
  });

  test('a VM created from the wizard with the tiny image reaches Running live in the list', async () => {
    needBrowser();
    await page.fill('#vm-name', NAME);
    await page.getByRole('radio', { name: 'Instance type u1.small' }).check();
    await page.getByRole('radio', { name: 'Hikube tiny' }).check();
    await page.getByRole('button', { name: 'Next' }).click();
    await page.locator('#vm-user-data').waitFor();
    await page.fill('#vm-user-data', 'echo no shebang');
    await page.getByRole('button', { name: 'Next' }).click();
    await waitText(page.getByTestId('vm-user-data-error'), /#cloud-config/, 'user data to be checked');
    await page.fill('#vm-user-data', '#!/bin/sh\necho "hello from $(hostname)"');
    await checkPage('05-create-access');
    await page.getByRole('button', { name: 'Next' }).click();
    const yaml = page.getByTestId('create-yaml');
    await waitText(yaml, /image: hikube\/tiny/, 'the YAML preview');
    assert.match((await yaml.textContent()) ?? '', /name: u1\.small/);
    await checkPage('06-create-review');
    await page.getByRole('button', { name: 'Create' }).click();
    await page.getByRole('heading', { name: NAME, exact: true }).waitFor();

    await page.getByRole('link', { name: 'Virtual machines' }).first().click();
    await row(NAME).waitFor();
    await waitText(
      row(NAME).getByTestId('vm-status'),
      /^Running$/,
      'the VM to be Running in the list',
      60_000,
    );
    await waitText(row(NAME).getByTestId('cell-node'), new RegExp(p.nodeName), 'its node');
    assert.match((await row(NAME).getByTestId('cell-instancetype').textContent()) ?? '', /u1\.small/);
    assert.equal(
      await page.evaluate(() => (globalThis as unknown as { hkNoReload?: boolean }).hkNoReload),
      true,
      'the list updated without a reload',
    );
    assert.equal(guestPids(p, NAME).length, 1, 'one QEMU runs the guest');
    await checkPage('07-vm-list-running');
    const search = page.getByRole('textbox', { name: 'Search by name, namespace or IP' });
    await search.fill('no-such-vm');
    await page.getByRole('heading', { name: 'No VM matches' }).waitFor();
    await search.fill('web-');
    await row(NAME).waitFor();
  });

  test("the detail page's serial console runs a command in the guest", async () => {
    needBrowser();
    await row(NAME).getByRole('link', { name: NAME }).click();
    await waitText(statusIn('main'), /^Running$/, 'the detail page status');
    await waitText(page.getByTestId('detail-node'), new RegExp(p.nodeName), 'the node in the overview');
    await waitText(
      page.getByRole('grid', { name: 'Events' }).or(page.getByRole('table', { name: 'Events' })),
      /SuccessfulCreate/,
      "the VM controller's event, watched by involvedObject.uid",
    );
    await checkPage('08-vm-overview');

    await page.getByRole('tab', { name: 'Serial console' }).click();
    await waitText(page.getByTestId('console-state'), /Connected/, 'the console to connect');
    const lines = async (): Promise<string[]> =>
      (await page.locator('[data-testid="serial-console"] .xterm-rows > div').allTextContents()).map((l) =>
        l.trimEnd(),
      );
    await page.getByTestId('serial-console').click();
    // Like a person: wait for the shell's prompt (the guest may still be booting), then type.
    await eventually(
      async () => {
        await page.keyboard.press('Enter');
        const deadline = Date.now() + 3000;
        while (Date.now() < deadline) {
          const last = (await lines()).filter((l) => l !== '').at(-1) ?? '';
          if (/^tiny:\S*#$/.test(last)) return true;
          await new Promise((r) => setTimeout(r, 100));
        }
        return undefined;
      },
      'a shell prompt on the serial console',
      60_000,
      100,
    );
    await page.keyboard.type('echo hi-$((6*7))\n');
    let screen: string[] = [];
    await eventually(
      async () => {
        screen = await lines();
        return screen.includes('hi-42');
      },
      'a line "hi-42" in the serial console',
      20_000,
      100,
    ).catch((err: Error) => assert.fail(`${err.message}; the screen shows:\n${screen.join('\n')}`));
    await checkPage('09-vm-serial-console');
  });

  test('the VNC tab shows the guest screen', async () => {
    needBrowser();
    await page.getByRole('tab', { name: 'VNC' }).click();
    await waitText(page.getByTestId('vnc-state'), /Connected/, 'noVNC to connect');
    await page.locator('[data-testid="vnc-screen"] canvas').waitFor();
    await checkPage('10-vm-vnc');
  });

  test('the YAML tab shows server-side validation errors', async () => {
    needBrowser();
    await page.getByRole('tab', { name: 'YAML' }).click();
    await page.locator('[data-testid="yaml-editor"] .cm-content').waitFor();
    await checkPage('11-vm-yaml');
    const current = (await raw(p, 'GET', `${VMS}/${NAME}`)).json as { spec: Record<string, unknown> };
    const edited = { ...current, spec: { ...current.spec, runStrategy: 'Sometimes' } };
    await page.locator('[data-testid="yaml-editor"] .cm-content').click();
    await page.keyboard.press('Control+A');
    await page.keyboard.insertText(stringify(edited));
    await page.getByRole('button', { name: 'Save' }).click();
    await waitText(page.getByTestId('yaml-error'), /spec\.runStrategy/, 'the server error with its field');
    await screenshot(page, '12-vm-yaml-invalid');
    await page.getByRole('button', { name: 'Reload' }).click();
    assert.equal(
      ((await vm(p, NAME)) as unknown as { spec: { runStrategy: string } }).spec.runStrategy,
      'Always',
    );
  });

  test('stop from the actions menu; disabled actions say why', async () => {
    needBrowser();
    await page.getByRole('tab', { name: 'Overview' }).click();
    await page.getByRole('button', { name: 'Actions' }).click();
    const start = page.getByTestId('action-start');
    assert.match((await start.textContent()) ?? '', /already running/, 'Start is disabled with a reason');
    await page.getByTestId('action-stop').click();
    await waitText(statusIn('main'), /^Stopped$/, 'the VM to be Stopped', 60_000);
    await eventually(() => guestPids(p, NAME).length === 0, 'QEMU to be gone', 30_000, 100);
    await page.getByRole('button', { name: 'Actions' }).click();
    assert.match((await page.getByTestId('action-pause').textContent()) ?? '', /not running/);
    assert.notEqual(await page.getByTestId('action-start').getAttribute('aria-disabled'), 'true');
    await checkPage('13-vm-stopped-actions');
    await page.keyboard.press('Escape');
  });

  test('bulk delete from the list; the empty state comes back', async () => {
    needBrowser();
    await page.getByRole('link', { name: 'Virtual machines' }).first().click();
    await row(NAME).getByRole('checkbox').check();
    await page.getByRole('button', { name: /Bulk actions \(1 selected\)/ }).click();
    await page.getByTestId('bulk-delete').click();
    await page.getByTestId('confirm').click();
    await page.getByRole('heading', { name: 'No virtual machines yet' }).waitFor({ timeout: 30_000 });
    assert.equal((await raw(p, 'GET', `${VMS}/${NAME}`)).code, 404);
  });

  test('an SSH key becomes a Secret the VM owns; deleting the VM from its page deletes both', async () => {
    needBrowser();
    const key = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEx8cMbR2hmbCHgBQHp1nGJ0mK0AbvGkR8Em3C1DRU7L you@laptop';
    await page.getByRole('button', { name: 'Create VM' }).click();
    await page.getByRole('radio', { name: /^KubeVirt VirtualMachine/ }).check();
    await page.fill('#vm-name', 'with-key');
    await page.getByRole('radio', { name: 'Instance type u1.small' }).check();
    await page.getByRole('checkbox', { name: 'Start the VM once created' }).uncheck();
    await page.getByRole('button', { name: 'Next' }).click();
    await page.fill('#vm-ssh-key', 'not a key');
    await page.getByRole('button', { name: 'Next' }).click();
    await waitText(page.getByTestId('vm-ssh-key-error'), /OpenSSH public key/, 'the key to be checked');
    await page.fill('#vm-ssh-key', key);
    await page.getByRole('button', { name: 'Next' }).click();
    await waitText(page.getByTestId('create-yaml'), /kind: Secret/, 'the Secret in the preview');
    await page.getByRole('button', { name: 'Create' }).click();
    await page.getByRole('heading', { name: 'with-key', exact: true }).waitFor();
    await waitText(statusIn('main'), /^Stopped$/, 'a VM created without starting');

    const created = (await raw(p, 'GET', `${VMS}/with-key`)).json as {
      metadata: { uid: string };
      spec: { runStrategy: string; template: { spec: { accessCredentials: unknown[] } } };
    };
    assert.equal(created.spec.runStrategy, 'Halted');
    assert.deepEqual(created.spec.template.spec.accessCredentials, [
      {
        sshPublicKey: {
          source: { secret: { secretName: 'with-key-ssh-key' } },
          propagationMethod: { noCloud: {} },
        },
      },
    ]);
    const secretPath = '/api/v1/namespaces/default/secrets/with-key-ssh-key';
    const secret = await eventually(async () => {
      const s = (await raw(p, 'GET', secretPath)).json as {
        data?: { key?: string };
        metadata?: { ownerReferences?: { uid: string }[] };
      };
      return s.metadata?.ownerReferences?.[0]?.uid === created.metadata.uid ? s : undefined;
    }, 'the Secret to be owned by the VM');
    assert.equal(Buffer.from(secret.data?.key ?? '', 'base64').toString(), `${key}\n`);

    await page.getByRole('button', { name: 'Actions' }).click();
    await page.getByTestId('action-delete').click();
    await page.getByTestId('confirm').click();
    await page.getByRole('heading', { name: 'VM "with-key" not found' }).waitFor({ timeout: 30_000 });
    await eventually(
      async () => (await raw(p, 'GET', secretPath)).code === 404,
      'the Secret to go with its VM',
      30_000,
      100,
    );
  });

  test('the first load is small: its scripts and styles within budget', async () => {
    const dist = join(repoRoot, 'web', 'dist');
    const html = await readFile(join(dist, 'index.html'), 'utf8');
    const files = [...html.matchAll(/(?:src|href)="\/console\/(assets\/[^"]+)"/g)].map((m) => m[1] ?? '');
    const size = { js: 0, css: 0 };
    for (const f of files)
      size[f.endsWith('.css') ? 'css' : 'js'] += gzipSync(await readFile(join(dist, f))).length;
    process.stdout.write(`# first load (gzip): ${size.js} B of scripts, ${size.css} B of styles\n`);
    // Measured at 123 kB and 69 kB (docs/benchmarks.md, "Console bundle"): every page is lazy.
    assert.ok(size.js < 140_000, `scripts of the first load: ${size.js} B gzipped, budget 140 kB`);
    assert.ok(size.css < 80_000, `styles of the first load: ${size.css} B gzipped, budget 80 kB`);
  });

  test('no errors in the browser console', () => {
    needBrowser();
    // 4xx answers the pages provoked on purpose (the rejected token, the invalid name and YAML) are
    // logged by Chromium as failed loads; nothing else may be.
    const unexpected = consoleErrors(tab).filter(
      (e) => !/Failed to load resource: the server responded with a status of (401|422)/.test(e),
    );
    assert.deepEqual(unexpected, []);
    process.stdout.write(`# console screenshots: ${SHOTS_DIR}\n`);
  });
});
