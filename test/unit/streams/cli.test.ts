/**
 * `hikube console` and `hikube vnc`, the real CLI binary against a real TLS API server with fake
 * guests: what a user sees on stdout and stderr, and what reaches the guest.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { connect } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { repoRoot, run } from '../../support/platform.js';
import { eventually } from '../../support/wait.js';
import { RFB_GREETING, startStreamServer, type StreamServer } from './harness.js';

const hikube = join(repoRoot, 'bin', 'hikube');

let s: StreamServer;
before(async () => {
  s = await startStreamServer();
  s.guests.vmis.set('default/testvm', 'Running');
  s.guests.vmis.set('labs/desktop', 'Running');
});
after(async () => {
  await s.close();
});

const cli = (args: string[], input?: string) =>
  run(hikube, ['--kubeconfig', s.kubeconfigPath, ...args], input, {});

describe('hikube console', () => {
  test('sends piped input to the guest and prints what the guest answers', async () => {
    const r = await cli(['console', 'testvm', '--linger', '0.3'], 'uname -a\n');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'uname -a\n');
    assert.equal(r.stderr, 'Successfully connected to testvm console. The escape sequence is ^]\n');
    assert.equal(s.guests.last('serial')?.received, 'uname -a\n');
  });

  test('Ctrl+] leaves at once: nothing after it reaches the guest', async () => {
    const started = Date.now();
    const r = await cli(['console', 'testvm', '--linger', '30'], 'ls\n\x1dreboot\n');
    assert.equal(r.code, 0, r.stderr);
    assert.ok(Date.now() - started < 20_000, 'the escape does not wait for the linger');
    const guest = await eventually(() => s.guests.last('serial'), 'a guest stream');
    await eventually(() => guest.destroyed || undefined, 'the session to be released');
    assert.equal(guest.received, 'ls\n');
  });

  test('the guest stream failing ends the session with an error', async (t) => {
    const before = s.guests.opened.length;
    const child = spawn(hikube, ['--kubeconfig', s.kubeconfigPath, 'console', 'testvm'], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    t.after(() => {
      if (child.exitCode === null) child.kill('SIGKILL');
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const guest = await eventually(() => s.guests.opened[before], `a guest stream (stderr: ${stderr})`);
    guest.print('login: ');
    await eventually(() => stdout === 'login: ' || undefined, 'the prompt on stdout');
    guest.destroy(new Error('qemu went away'));
    assert.equal(await exited, 1);
    assert.match(stderr, /the console connection closed: 1011 the guest stream failed/);
    child.stdin.end();
  });

  test('an unknown VMI prints the Status message and exits 1', async () => {
    const r = await cli(['console', 'nope']);
    assert.equal(r.code, 1);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /virtualmachineinstance\.kubevirt\.io "nope" not found/);
  });

  test('-n picks the namespace', async () => {
    const r = await cli(['console', 'testvm', '-n', 'labs']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /"testvm" not found/);
  });
});

describe('hikube vnc', () => {
  test('prints the local port, and a TCP viewer talks RFB to the guest through it', async (t) => {
    const child = spawn(hikube, ['--kubeconfig', s.kubeconfigPath, 'vnc', 'desktop', '-n', 'labs'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    t.after(() => {
      if (child.exitCode === null) child.kill('SIGKILL');
    });

    const port = await eventually(
      () => /^VNC listening on 127\.0\.0\.1:(\d+)$/m.exec(stdout)?.[1],
      `the listening line (stdout: ${stdout}, stderr: ${stderr})`,
    );
    // stdout and stderr are two pipes: the hint on stderr may come a moment after the port line.
    await eventually(
      () => new RegExp(`vncviewer 127\\.0\\.0\\.1::${port}`).test(stderr) || undefined,
      `the viewer hint on stderr (${stderr})`,
    );

    const viewer = connect(Number(port), '127.0.0.1');
    let received = '';
    viewer.on('data', (c: Buffer) => (received += c.toString('latin1')));
    await eventually(() => received.length >= RFB_GREETING.length || undefined, 'the RFB greeting');
    assert.equal(received, RFB_GREETING);
    viewer.write(RFB_GREETING);
    const guest = await eventually(() => s.guests.last('vnc'), 'a vnc guest stream');
    await eventually(() => guest.received === RFB_GREETING || undefined, 'the guest to receive the version');

    viewer.end();
    await eventually(() => guest.destroyed || undefined, 'the guest stream to be released');
    child.kill('SIGINT');
    assert.equal(await exited, 0, stderr);
  });

  test('an unknown VMI is reported before listening', async () => {
    const r = await cli(['vnc', 'nope']);
    assert.equal(r.code, 1);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /virtualmachineinstance\.kubevirt\.io "nope" not found/);
  });
});
