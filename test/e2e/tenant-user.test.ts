/**
 * A tenant's user, end to end with the real kubectl and hikube CLI: the admin makes tenant acme
 * (2 CPUs, one LoadBalancer) and `hikube user create alice --role use`; alice's kubeconfig (0600)
 * runs the VMs of tenant-acme (start, console, stop; making them is for admins, as in Cozystack) and is refused elsewhere (403 over REST,
 * watch and the console WebSocket); `kubectl auth can-i` agrees; the quota holds; the audit log names
 * her; `hikube user delete` makes her token fail with 401. A tenant `admin` (bob) makes the VM the
 * Cozystack way (a VMDisk and a VMInstance) where `use` may not, and nothing in another tenant.
 */
import assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import WebSocket from 'ws';
import type { AuditEvent } from '../../src/apiserver/auth/audit.js';
import {
  hikubeOk,
  kubectlOk,
  repoRoot,
  run,
  startTestPlatform,
  type TestPlatform,
} from '../support/platform.js';
import { eventually } from '../support/wait.js';

let p: TestPlatform;
let kubeconfig = '';
const USER = 'system:serviceaccount:tenant-acme:alice';

before(async () => {
  p = await startTestPlatform();
  await hikubeOk(p, [
    'tenant',
    'create',
    'acme',
    '--cpu',
    '2',
    '--quota',
    'services.loadbalancers=1',
    '--wait',
  ]);
  await hikubeOk(p, ['tenant', 'create', 'beta', '--wait']);
  kubeconfig = join(p.dataDir, 'alice.kubeconfig');
  const made = await hikubeOk(p, [
    'user',
    'create',
    'alice',
    '--tenant',
    'acme',
    '--role',
    'use',
    '--output',
    kubeconfig,
  ]);
  assert.match(made, /user alice created in tenant-acme with role cozy:tenant:use/);
});
after(async () => {
  await p?.cleanup();
});

const asAlice = (args: string[], input?: string) =>
  run(
    'kubectl',
    ['--kubeconfig', kubeconfig, '--cache-dir', join(p.dataDir, 'alice-cache'), ...args],
    input,
    {
      HOME: p.dataDir,
    },
  );
const aliceHikube = (args: string[]) =>
  run(join(repoRoot, 'bin', 'hikube'), ['--kubeconfig', kubeconfig, ...args], undefined, {});
const vmiPhase = async (name: string): Promise<string> =>
  (await p.kubectl(['-n', 'tenant-acme', 'get', 'vmi', name, '-o', 'jsonpath={.status.phase}'])).stdout;
const vm = (name: string, cores: number, runStrategy: string): string =>
  JSON.stringify({
    apiVersion: 'kubevirt.io/v1',
    kind: 'VirtualMachine',
    metadata: { name },
    spec: {
      runStrategy,
      template: {
        spec: {
          domain: {
            cpu: { cores },
            memory: { guest: '128Mi' },
            devices: { disks: [{ name: 'root', disk: {} }] },
          },
          volumes: [{ name: 'root', containerDisk: { image: 'hikube/tiny' } }],
        },
      },
    },
  });
const consoleStatus = (ns: string, name: string) =>
  new Promise<number>((resolve) => {
    const token = (/token: (\S+)/.exec(readFileSync(kubeconfig, 'utf8')) ?? [])[1] ?? '';
    const url = `${p.url.replace('https:', 'wss:')}/apis/subresources.kubevirt.io/v1/namespaces/${ns}/virtualmachineinstances/${name}/console`;
    const bearer = `base64url.bearer.authorization.k8s.io.${Buffer.from(token).toString('base64url')}`;
    const ws = new WebSocket(url, ['plain.kubevirt.io', bearer], {
      ca: readFileSync(join(p.dataDir, 'pki', 'ca.crt')),
    });
    ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
    ws.once('open', () => {
      ws.close();
      resolve(101);
    });
    ws.once('error', () => undefined);
  });

describe('a tenant user with role use', () => {
  test('the kubeconfig is private and names the account; user list shows the role', async () => {
    assert.equal(statSync(kubeconfig).mode & 0o777, 0o600);
    const who = await asAlice(['auth', 'whoami', '-o', 'json']);
    assert.equal(who.code, 0, who.stderr);
    assert.equal(
      (JSON.parse(who.stdout) as { status: { userInfo: { username: string } } }).status.userInfo.username,
      USER,
    );
    assert.match(await hikubeOk(p, ['user', 'list']), /^tenant-acme\s+alice\s+cozy:tenant:use\s*$/m);
  });

  test('kubectl auth can-i answers as the tenant roles say', async () => {
    const canI = async (...args: string[]) => (await asAlice(['auth', 'can-i', ...args])).stdout.trim();
    // Cozystack's `use` runs the tenant's VMs (start, stop, console) but does not make them.
    const asked: Record<string, string[]> = {
      'create vm in tenant-acme': ['create', 'virtualmachines.kubevirt.io', '-n', 'tenant-acme'],
      'list tenants in tenant-acme': ['list', 'tenants.apps.cozystack.io', '-n', 'tenant-acme'],
      'list vms in default': ['list', 'virtualmachines.kubevirt.io', '-n', 'default'],
      'list vms in tenant-beta': ['list', 'virtualmachines.kubevirt.io', '-n', 'tenant-beta'],
      'create rolebindings in tenant-acme': ['create', 'rolebindings', '-n', 'tenant-acme'],
    };
    // KubeVirt's actions: kubectl cannot name a subresource group's resource for can-i (it is not
    // discoverable), so they are read from the rules --list prints.
    const rules = (await asAlice(['auth', 'can-i', '--list', '-n', 'tenant-acme'])).stdout.split('\n');
    const holds = (resource: RegExp, verb: string) => rules.some((l) => resource.test(l) && l.includes(verb));
    assert.ok(holds(/^virtualmachines\.subresources\.kubevirt\.io\/start\s/, 'update'), rules.join('\n'));
    assert.ok(holds(/^virtualmachines\.subresources\.kubevirt\.io\/stop\s/, 'update'), rules.join('\n'));
    assert.ok(
      holds(/^virtualmachineinstances\.subresources\.kubevirt\.io\/console\s/, 'get'),
      rules.join('\n'),
    );
    assert.ok(!holds(/^virtualmachines\.kubevirt\.io /, 'create'), rules.join('\n'));
    const answers: Record<string, string> = {};
    for (const [what, args] of Object.entries(asked)) answers[what] = await canI(...args);
    assert.deepEqual(answers, {
      'create vm in tenant-acme': 'no',
      'list tenants in tenant-acme': 'yes',
      'list vms in default': 'no',
      'list vms in tenant-beta': 'no',
      'create rolebindings in tenant-acme': 'no',
    });
  });

  test('elsewhere: 403 over list, watch and the console WebSocket', async () => {
    for (const ns of ['default', 'tenant-beta']) {
      const list = await asAlice(['get', 'vm', '-n', ns]);
      assert.notEqual(list.code, 0);
      assert.match(
        list.stderr,
        new RegExp(
          `User "${USER}" cannot list resource "virtualmachines" in API group "kubevirt.io" in the namespace "${ns}"`,
        ),
      );
      const watch = await asAlice(['get', 'vm', '-n', ns, '--watch', '--request-timeout=10s']);
      assert.notEqual(watch.code, 0);
      assert.match(watch.stderr, /Forbidden|cannot (list|watch)/);
      assert.equal(await consoleStatus(ns, 'any'), 403);
    }
  });

  test('in tenant-acme: start, console, stop a VM the admin made; 4 CPUs exceed the quota', async () => {
    // Cozystack's `use` role runs VMs, it does not make them (admin and super-admin do).
    const denied = await asAlice(['-n', 'tenant-acme', 'apply', '-f', '-'], vm('tiny', 1, 'Halted'));
    assert.notEqual(denied.code, 0);
    assert.match(denied.stderr, /cannot (create|get|patch) resource "virtualmachines"|Forbidden/);
    await kubectlOk(p, ['-n', 'tenant-acme', 'apply', '-f', '-'], vm('tiny', 1, 'Halted'));
    const start = await aliceHikube(['start', 'tiny', '-n', 'tenant-acme']);
    assert.equal(start.code, 0, start.stderr);
    await eventually(async () => (await vmiPhase('tiny')) === 'Running', 'VMI tiny Running', 60_000).catch(
      async (err: unknown) => {
        const state = await p.kubectl(['-n', 'tenant-acme', 'get', 'vm,vmi', '-o', 'yaml']);
        throw new Error(`${String(err)}\n${state.stdout}`);
      },
    );
    assert.equal(await consoleStatus('tenant-acme', 'tiny'), 101, 'alice opens the console');
    const stop = await aliceHikube(['stop', 'tiny', '-n', 'tenant-acme']);
    assert.equal(stop.code, 0, stop.stderr);
    await eventually(async () => (await vmiPhase('tiny')) === '', 'VMI tiny gone', 60_000);

    await kubectlOk(p, ['-n', 'tenant-acme', 'apply', '-f', '-'], vm('four', 4, 'Halted'));
    const four = await aliceHikube(['start', 'four', '-n', 'tenant-acme']);
    assert.equal(four.code, 0, four.stderr);
    const failure = await eventually(async () => {
      const got = JSON.parse(
        await kubectlOk(p, ['-n', 'tenant-acme', 'get', 'vm', 'four', '-o', 'json']),
      ) as {
        status?: { conditions?: { reason?: string; message?: string }[] };
      };
      return got.status?.conditions?.find((c) => c.reason === 'FailedCreate');
    }, 'FailedCreate on VM four');
    assert.match(failure.message ?? '', /exceeded quota: tenant-quota/);
    assert.equal(await vmiPhase('four'), '');
  });

  test('a tenant admin (role admin) makes a VM the Cozystack way; use cannot, nor admin elsewhere', async () => {
    const bob = join(p.dataDir, 'bob.kubeconfig');
    await hikubeOk(p, ['user', 'create', 'bob', '--tenant', 'acme', '--role', 'admin', '--output', bob]);
    const asBob = (args: string[], input?: string) =>
      run('kubectl', ['--kubeconfig', bob, '--cache-dir', join(p.dataDir, 'bob-cache'), ...args], input, {
        HOME: p.dataDir,
      });
    // A Cozystack app: a VMDisk and a VMInstance, which the platform turns into a KubeVirt VM.
    const app = `apiVersion: apps.cozystack.io/v1alpha1
kind: VMDisk
metadata: {name: bob-disk}
spec:
  source: {http: {url: "http://127.0.0.1:1/disk.qcow2"}}
  storage: 64Mi
---
apiVersion: apps.cozystack.io/v1alpha1
kind: VMInstance
metadata: {name: bob-vm}
spec:
  instanceType: ""
  instanceProfile: ""
  runStrategy: Halted
  resources: {cpu: 1, sockets: 1, memory: 128Mi}
  disks: [{name: bob-disk}]
`;
    const made = await asBob(['-n', 'tenant-acme', 'apply', '-f', '-'], app);
    assert.equal(made.code, 0, made.stderr);
    assert.match(made.stdout, /vminstance\.apps\.cozystack\.io\/bob-vm created/);
    await eventually(
      async () =>
        (await asBob(['-n', 'tenant-acme', 'get', 'vm', 'vm-instance-bob-vm', '-o', 'name'])).code === 0,
      'the VM made from bob’s VMInstance, readable by bob',
      30_000,
    );
    const refused = await asAlice(
      ['-n', 'tenant-acme', 'apply', '-f', '-'],
      app.replaceAll('bob-', 'alice-'),
    );
    assert.notEqual(refused.code, 0, 'use makes no apps');
    assert.match(
      refused.stderr,
      /User "system:serviceaccount:tenant-acme:alice" cannot (create|get|patch) resource "vm(disks|instances)"/,
    );
    const elsewhere = await asBob(['-n', 'tenant-beta', 'apply', '-f', '-'], app);
    assert.notEqual(elsewhere.code, 0, 'admin of acme, nothing in beta');
    assert.match(elsewhere.stderr, /User "system:serviceaccount:tenant-acme:bob" cannot/);
    const deleted = await asBob(['-n', 'tenant-acme', 'delete', 'vminstance', 'bob-vm']);
    assert.equal(deleted.code, 0, deleted.stderr);
  });

  test('a second LoadBalancer over services.loadbalancers: 1 is refused', async () => {
    const lb = (name: string) =>
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name },
        spec: { type: 'LoadBalancer', ports: [{ port: 80 }], selector: { app: name } },
      });
    await kubectlOk(p, ['-n', 'tenant-acme', 'apply', '-f', '-'], lb('one'));
    const second = await p.kubectl(['-n', 'tenant-acme', 'apply', '-f', '-'], lb('two'));
    assert.notEqual(second.code, 0);
    assert.match(second.stderr, /exceeded quota: tenant-quota, requested: services.loadbalancers=1/);
  });

  test('the audit log names alice on her requests; user delete makes her token fail with 401', async () => {
    const events = await eventually(async () => {
      const cli = await p.hikube(['audit', '--data-dir', p.dataDir, '--user', USER, '-o', 'json']);
      const items = (JSON.parse(cli.stdout) as { items: AuditEvent[] }).items;
      const started = items.some(
        (e) => e.objectRef?.subresource === 'start' && e.responseStatus.code === 202,
      );
      const forbidden = items.some(
        (e) => e.responseStatus.code === 403 && e.objectRef?.namespace === 'default',
      );
      return started && forbidden ? items : undefined;
    }, 'alice’s start and denials in the audit log');
    assert.ok(events.every((e) => e.user.username === USER));
    const admin = await p.hikube(['audit', '--data-dir', p.dataDir, '-o', 'json']);
    const refusedLb = (JSON.parse(admin.stdout) as { items: AuditEvent[] }).items.find(
      (e) =>
        e.objectRef?.resource === 'services' &&
        e.objectRef.namespace === 'tenant-acme' &&
        e.verb === 'create' &&
        e.responseStatus.code === 403,
    );
    assert.ok(
      refusedLb !== undefined && refusedLb.user.username !== '',
      `the refused LoadBalancer, with its user, in ${JSON.stringify(
        (JSON.parse(admin.stdout) as { items: AuditEvent[] }).items.filter(
          (e) => e.objectRef?.resource === 'services',
        ),
      )}`,
    );

    assert.match(await hikubeOk(p, ['user', 'delete', 'alice', '--tenant', 'acme']), /user "alice" deleted/);
    const gone = await eventually(async () => {
      const r = await asAlice(['get', 'vm', '-n', 'tenant-acme']);
      return /Unauthorized|provide credentials/.test(r.stderr) ? r : undefined;
    }, 'alice’s token refused');
    assert.notEqual(gone.code, 0);
    assert.doesNotMatch(await hikubeOk(p, ['user', 'list']), /alice/);
  });
});
