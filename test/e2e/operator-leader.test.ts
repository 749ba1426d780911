/**
 * Two `hikube operator` processes beside `hikube up --without-hikube-controllers`, electing a
 * leader over a coordination.k8s.io/v1 Lease: only the holder reconciles (the Lease names it, and
 * the Events of what is compiled come from it); killed with SIGKILL, the other takes the Lease
 * within the lease duration and the objects converge with no duplicates; SIGTERM releases it.
 * Then one operator with --namespace and --leader-elect=false: it compiles what is applied in
 * its namespace and leaves what is applied elsewhere alone.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { repoRoot } from '../support/platform.js';
import { exited, kubectlOn, up, type Child } from '../support/up.js';
import { eventually } from '../support/wait.js';

const LEASE_MS = 4_000;
const RETRY_MS = 500;
const run = randomBytes(3).toString('hex');
let dir: string;
let platform: Child;
let kubeconfig: string;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'hikube-leader-'));
  platform = await up(join(dir, 'data'), ['--without-hikube-controllers']);
  kubeconfig = join(dir, 'data', 'kubeconfig');
});
after(async () => {
  platform.proc.kill('SIGTERM');
  await exited(platform.proc);
  await rm(dir, { recursive: true, force: true });
});

const kubectl = (args: string[], input?: string): Promise<string> =>
  kubectlOn(kubeconfig, join(dir, 'kubectl-cache'))(args, input);

interface Operator {
  identity: string;
  proc: ChildProcess;
  output(): string;
}

/** Starts a candidate and resolves once it stands by for the Lease. */
async function candidate(identity: string): Promise<Operator> {
  const proc = spawn(
    join(repoRoot, 'bin', 'hikube'),
    [
      'operator',
      '--kubeconfig',
      kubeconfig,
      '--leader-elect-namespace',
      'default',
      '--leader-elect-lease-duration',
      `${LEASE_MS}ms`,
      '--leader-elect-renew-deadline',
      '3s',
      '--leader-elect-retry-period',
      `${RETRY_MS}ms`,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, POD_NAME: identity } },
  );
  let out = '';
  proc.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  proc.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  await eventually(
    () => out.includes('standing by for lease default/hikube-operator'),
    `${identity} to start`,
    60_000,
  );
  return { identity, proc, output: () => out };
}

const reconciling = (o: Operator): boolean => o.output().includes('hikube operator: reconciling against');
const holder = async (): Promise<string> =>
  kubectl(['get', 'lease', 'hikube-operator', '-n', 'default', '-o', 'jsonpath={.spec.holderIdentity}']);

const apply = async (name: string, namespace = 'default'): Promise<void> => {
  await kubectl(
    ['apply', '-n', namespace, '-f', '-'],
    JSON.stringify({
      apiVersion: 'apps.cozystack.io/v1alpha1',
      kind: 'VMDisk',
      metadata: { name },
      spec: { storage: '64Mi' },
    }),
  );
  await kubectl(
    ['apply', '-n', namespace, '-f', '-'],
    JSON.stringify({
      apiVersion: 'apps.cozystack.io/v1alpha1',
      kind: 'VMInstance',
      metadata: { name },
      spec: { runStrategy: 'Halted', instanceType: 'u1.small', disks: [{ name }] },
    }),
  );
};

/** kind/name → uid of what the operator compiled for this run's instances and disks. */
async function compiled(): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const kind of ['datavolumes', 'virtualmachines', 'secrets']) {
    const list = JSON.parse(await kubectl(['get', kind, '-o', 'json'])) as {
      items: { metadata: { name: string; uid: string } }[];
    };
    for (const i of list.items)
      if (i.metadata.name.includes(`lead-${run}`)) out.set(`${kind}/${i.metadata.name}`, i.metadata.uid);
  }
  return out;
}
const hasAll = (m: Map<string, string>, name: string): boolean =>
  m.has(`datavolumes/vm-disk-${name}`) && m.has(`virtualmachines/vm-instance-${name}`);

/** Who reported creating the DataVolume of disk `name` (the Event's reportingInstance). */
async function creatorOf(name: string): Promise<string[]> {
  const list = JSON.parse(await kubectl(['get', 'events', '-o', 'json'])) as {
    items: { reason?: string; involvedObject?: { name?: string }; reportingInstance?: string }[];
  };
  return list.items
    .filter((e) => e.reason === 'SuccessfulCreate' && e.involvedObject?.name === name)
    .map((e) => e.reportingInstance ?? '');
}

describe('hikube operator replicas elect a leader over a Lease', () => {
  test('only the holder acts; after SIGKILL the other takes over and converges; SIGTERM releases', async () => {
    const a = await candidate(`op-a-${run}`);
    const b = await candidate(`op-b-${run}`);
    try {
      const first = await eventually(
        () => (reconciling(a) ? a : reconciling(b) ? b : undefined),
        'one candidate to lead',
        60_000,
      );
      const second = first === a ? b : a;
      assert.equal(await holder(), first.identity);
      assert.match(
        await kubectl(['get', 'leases', '-A']),
        new RegExp(`default\\s+hikube-operator\\s+${first.identity}`),
      );
      const name1 = `lead-${run}-1`;
      await apply(name1);
      const before = await eventually(
        async () => {
          const m = await compiled();
          return hasAll(m, name1) ? m : undefined;
        },
        'the leader to compile the first instance',
        60_000,
        500,
      );
      assert.deepEqual(await creatorOf(name1), [first.identity], 'the Event comes from the holder');
      assert.equal(reconciling(second), false, 'the other one stands by');
      const transitions = Number(
        await kubectl([
          'get',
          'lease',
          'hikube-operator',
          '-n',
          'default',
          '-o',
          'jsonpath={.spec.leaseTransitions}',
        ]),
      );

      first.proc.kill('SIGKILL');
      const killedAt = Date.now();
      await exited(first.proc);
      const acquired = `leader election: ${second.identity} acquired lease default/hikube-operator`;
      await eventually(
        () => second.output().includes(acquired),
        'the other candidate to take the Lease',
        30_000,
        20,
      );
      const took = Date.now() - killedAt;
      // It saw the last renewal at most a retry period before the kill; a little slack for a loaded host.
      assert.ok(took <= LEASE_MS + RETRY_MS + 1_500, `took the Lease ${took}ms after the kill`);
      await eventually(() => reconciling(second), 'the new leader to reconcile', 60_000);
      assert.equal(await holder(), second.identity);
      assert.equal(
        Number(
          await kubectl([
            'get',
            'lease',
            'hikube-operator',
            '-n',
            'default',
            '-o',
            'jsonpath={.spec.leaseTransitions}',
          ]),
        ),
        transitions + 1,
      );

      const name2 = `lead-${run}-2`;
      await apply(name2);
      const afterTakeover = await eventually(
        async () => {
          const m = await compiled();
          return hasAll(m, name2) ? m : undefined;
        },
        'the new leader to compile the second instance',
        60_000,
        500,
      );
      assert.deepEqual(await creatorOf(name2), [second.identity]);
      for (const [key, uid] of before) assert.equal(afterTakeover.get(key), uid, `${key} kept its uid`);
      const vms = [...afterTakeover.keys()].filter((k) => k.startsWith('virtualmachines/')).sort();
      assert.deepEqual(vms, [`virtualmachines/vm-instance-${name1}`, `virtualmachines/vm-instance-${name2}`]);

      second.proc.kill('SIGTERM');
      assert.equal(await exited(second.proc), 0, second.output());
      assert.equal(await holder(), '', 'a clean stop releases the Lease');
    } finally {
      a.proc.kill('SIGKILL');
      b.proc.kill('SIGKILL');
    }
  });
});

describe('hikube operator --namespace', () => {
  test('compiles in its namespace only', async () => {
    const team = `team-${run}`;
    await kubectl(['create', 'namespace', team]);
    const proc = spawn(
      join(repoRoot, 'bin', 'hikube'),
      ['operator', '--kubeconfig', kubeconfig, '--namespace', team, '--leader-elect=false'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    proc.stderr?.on('data', (d: Buffer) => (out += d.toString()));
    proc.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    try {
      await eventually(
        () => out.includes(`in namespace ${team}`),
        'the namespaced operator to reconcile',
        60_000,
      );
      assert.doesNotMatch(out, /standing by for lease/, '--leader-elect=false takes no Lease');
      const outside = `lead-${run}-outside`;
      const inside = `lead-${run}-inside`;
      await apply(outside);
      await apply(inside, team);
      await eventually(
        async () =>
          (await kubectl(['get', 'virtualmachines', '-n', team, '-o', 'name'])).includes(
            `vm-instance-${inside}`,
          ),
        'the instance in its namespace to be compiled',
        60_000,
        500,
      );
      // Applied first: an operator watching every namespace would have compiled it by now.
      assert.doesNotMatch(
        await kubectl(['get', 'virtualmachines', '-o', 'name']),
        new RegExp(`vm-instance-${outside}`),
      );
      assert.doesNotMatch(
        await kubectl(['get', 'datavolumes', '-o', 'name']),
        new RegExp(`vm-disk-${outside}`),
      );
      proc.kill('SIGTERM');
      assert.equal(await exited(proc), 0, out);
    } finally {
      proc.kill('SIGKILL');
    }
  });
});
