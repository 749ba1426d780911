/**
 * `hikube operator` as its own process beside `hikube up --without-hikube-controllers`: the
 * platform alone compiles nothing and installs no catalog; the operator, through HTTP only,
 * installs the catalog and turns a VMDisk and a VMInstance into the DataVolume, VirtualMachine,
 * Secrets and Service. Killed with SIGKILL (while idle, and again in the middle of compiling) and
 * started again it converges on the same objects (same uids, no duplicates) and picks up what was
 * applied while it was down. A SnapshotSchedule runs from it. SIGTERM stops it cleanly.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { get } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { repoRoot } from '../support/platform.js';
import { exited, kubectlOn, up, type Child } from '../support/up.js';
import { eventually } from '../support/wait.js';

const OPERATOR_IDENTITY = `operator-test-${process.pid}`;
let dir: string;
let platform: Child;
let kubeconfig: string;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'hikube-operator-'));
  platform = await up(join(dir, 'data'), ['--without-hikube-controllers', '--lb-pool', '127.77.61.0/30']);
  kubeconfig = join(dir, 'data', 'kubeconfig');
});
after(async () => {
  platform.proc.kill('SIGTERM');
  await exited(platform.proc);
  await rm(dir, { recursive: true, force: true });
});

const kubectl = (args: string[], input?: string): Promise<string> =>
  kubectlOn(kubeconfig, join(dir, 'kubectl-cache'))(args, input);

interface Item {
  metadata: { name: string; uid: string };
}
const items = async (kind: string, selector?: string): Promise<Item[]> =>
  (
    JSON.parse(
      await kubectl(['get', kind, '-o', 'json', ...(selector !== undefined ? ['-l', selector] : [])]),
    ) as {
      items: Item[];
    }
  ).items;
const names = async (kind: string, selector?: string): Promise<string[]> =>
  (await items(kind, selector)).map((i) => i.metadata.name).sort();

interface Operator {
  proc: ChildProcess;
  health: string;
  output(): string;
}

/** Starts `hikube operator` and resolves once it says it reconciles. */
async function startOperator(): Promise<Operator> {
  const proc = spawn(
    join(repoRoot, 'bin', 'hikube'),
    ['operator', '--kubeconfig', kubeconfig, '--health-listen', '127.0.0.1:0'],
    // One identity across restarts, as a pod's container restarted in place: it renews its own Lease
    // at once instead of waiting for it to expire (test/e2e/operator-leader.test.ts elects between two).
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, POD_NAME: OPERATOR_IDENTITY } },
  );
  let out = '';
  proc.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const health = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`hikube operator did not start: ${out}`)), 60_000);
    proc.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /health: (\S+)/.exec(out);
      if (m?.[1] !== undefined && out.includes('hikube operator: reconciling against')) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    proc.on('exit', (code) => reject(new Error(`hikube operator exited with ${String(code)}: ${out}`)));
  });
  return { proc, health, output: () => out };
}

const healthCode = (url: string): Promise<number> =>
  new Promise((resolve, reject) => {
    get(url, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    }).on('error', reject);
  });

const disk = (name: string): string =>
  JSON.stringify({
    apiVersion: 'apps.cozystack.io/v1alpha1',
    kind: 'VMDisk',
    metadata: { name },
    spec: { storage: '64Mi' },
  });
const instance = (name: string, diskName: string): string =>
  JSON.stringify({
    apiVersion: 'apps.cozystack.io/v1alpha1',
    kind: 'VMInstance',
    metadata: { name },
    spec: {
      runStrategy: 'Halted',
      instanceType: 'u1.small',
      disks: [{ name: diskName }],
      external: true,
      externalPorts: [22],
      sshKeys: ['ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDw2kDYpdyHo5SgmCzLSIbYtUAyyWjgcIHAQT6jfLOuD op@test'],
    },
  });

/** What the operator makes of VMInstance `name` and its disk `diskName`, by kind. */
async function compiled(name: string, diskName: string): Promise<Record<string, string[]>> {
  const full = `vm-instance-${name}`;
  const mine = (list: string[]): string[] => list.filter((n) => n.startsWith(full));
  return {
    datavolumes: (await names('datavolumes')).filter((n) => n === `vm-disk-${diskName}`),
    virtualmachines: mine(await names('virtualmachines')),
    secrets: mine(await names('secrets')),
    services: mine(await names('services')),
  };
}
const EXPECTED = (name: string, diskName: string): Record<string, string[]> => ({
  datavolumes: [`vm-disk-${diskName}`],
  virtualmachines: [`vm-instance-${name}`],
  secrets: [`vm-instance-${name}-cloud-init`, `vm-instance-${name}-ssh-keys`],
  services: [`vm-instance-${name}`],
});

async function uids(): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const kind of [
    'datavolumes',
    'virtualmachines',
    'secrets',
    'services',
    'virtualmachineclusterinstancetypes',
  ])
    for (const i of await items(kind)) out.set(`${kind}/${i.metadata.name}`, i.metadata.uid);
  return out;
}

describe('hikube operator beside hikube up --without-hikube-controllers', () => {
  test('compiles VMInstance and VMDisk over HTTP, survives SIGKILL, runs schedules', async () => {
    // The platform alone: no catalog, no root tenant, and an applied VMDisk/VMInstance stays as is.
    assert.deepEqual(await names('virtualmachineclusterinstancetypes'), []);
    assert.doesNotMatch(await kubectl(['get', 'namespaces', '-o', 'name']), /tenant-root/);
    assert.doesNotMatch(await kubectl(['get', 'storageclasses', '-o', 'name']), /replicated/);
    await kubectl(['apply', '-f', '-'], disk('op-a'));
    await kubectl(['apply', '-f', '-'], instance('op-a', 'op-a'));
    // A write after ours that the platform's own controllers answer (a LoadBalancer Service gets an
    // address): they have run since, and still nothing of ours was compiled.
    await kubectl(
      ['apply', '-f', '-'],
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 'op-probe' },
        spec: { type: 'LoadBalancer', selector: { app: 'op-probe' }, ports: [{ port: 8080 }] },
      }),
    );
    await eventually(
      async () =>
        /127\.77\.61\./.test(await kubectl(['get', 'service', 'op-probe', '-o', 'jsonpath={.status}'])),
      'the probe service to get an address',
      30_000,
      200,
    );
    assert.deepEqual(await compiled('op-a', 'op-a'), {
      datavolumes: [],
      virtualmachines: [],
      secrets: [],
      services: [],
    });

    let operator = await startOperator();
    try {
      assert.equal(await healthCode(operator.health), 200);
      await eventually(
        async () =>
          JSON.stringify(await compiled('op-a', 'op-a')) === JSON.stringify(EXPECTED('op-a', 'op-a')),
        'the operator to compile op-a',
        60_000,
        500,
      );
      assert.ok(
        (await names('virtualmachineclusterinstancetypes')).includes('u1.small'),
        'catalog installed',
      );
      assert.match(await kubectl(['get', 'namespaces', '-o', 'name']), /namespace\/tenant-root/);
      const before = await uids();

      // Killed outright; what is applied meanwhile waits, and a restart converges on the same objects.
      operator.proc.kill('SIGKILL');
      await exited(operator.proc);
      await kubectl(['apply', '-f', '-'], disk('op-b'));
      await kubectl(['apply', '-f', '-'], instance('op-b', 'op-b'));
      // Killed again mid-way: as soon as the first object of op-b shows up.
      operator = await startOperator();
      await eventually(
        async () => Object.values(await compiled('op-b', 'op-b')).some((list) => list.length > 0),
        'the operator to start compiling op-b',
        60_000,
        100,
      );
      operator.proc.kill('SIGKILL');
      await exited(operator.proc);
      const midway = await uids();
      operator = await startOperator();
      await eventually(
        async () =>
          JSON.stringify(await compiled('op-b', 'op-b')) === JSON.stringify(EXPECTED('op-b', 'op-b')),
        'the restarted operator to compile op-b',
        60_000,
        500,
      );
      assert.deepEqual(await compiled('op-a', 'op-a'), EXPECTED('op-a', 'op-a'));
      const after = await uids();
      for (const [key, uid] of [...before, ...midway])
        assert.equal(after.get(key), uid, `${key} kept its uid`);

      // A schedule every minute takes a snapshot of each VM, made by the operator.
      await kubectl(
        ['apply', '-f', '-'],
        JSON.stringify({
          apiVersion: 'hikube.io/v1alpha1',
          kind: 'SnapshotSchedule',
          metadata: { name: 'op-every-minute' },
          spec: { schedule: '* * * * *', selector: {} },
        }),
      );
      const snaps = await eventually(
        async () => {
          const n = await names('virtualmachinesnapshots', 'hikube.io/snapshot-schedule=op-every-minute');
          return n.length >= 2 ? n : undefined;
        },
        'the schedule to snapshot both VMs',
        90_000,
        1_000,
      );
      assert.equal(snaps.length, 2, snaps.join(','));

      // SIGTERM: a clean exit.
      operator.proc.kill('SIGTERM');
      assert.equal(await exited(operator.proc), 0, operator.output());
    } finally {
      operator.proc.kill('SIGKILL');
    }
  });
});
