/**
 * `hikube snapshot create|list|delete`, `hikube restore` and `hikube clone`: VirtualMachineSnapshot,
 * VirtualMachineRestore and VirtualMachineClone objects, created through the API like any other
 * (so kubectl sees the same), with `--wait` polling until they are done.
 */
import { randomBytes } from 'node:crypto';
import { FULL_CLONE_ANNOTATION } from '../api/clone/clone.js';
import type { KubeObject } from '../api/meta.js';
import { KubeApiError, type KubeClient } from '../client/kube.js';
import { loadClient } from './context.js';
import { UsageError } from './errors.js';
import { parseFlags, runVerb, waitFlags, waitGone } from './verbs.js';
import { runSnapshotSchedule } from './snapshot-schedule.js';
import { renderObjects, renderTable, type Table, outputFormat } from './output.js';

const SNAPSHOTS = 'snapshot.kubevirt.io/v1beta1';
const CLONES = 'clone.kubevirt.io/v1beta1';
const path = (group: string, plural: string, ns: string, name?: string): string =>
  `/apis/${group}/namespaces/${encodeURIComponent(ns)}/${plural}${name === undefined ? '' : `/${encodeURIComponent(name)}`}`;

const USAGE = `usage:
  hikube snapshot create VM [--name NAME] [--wait]      snapshot a VM (live when it runs)
  hikube snapshot list [VM] [-o table|wide|json|yaml|name]
  hikube snapshot delete NAME...                        delete snapshots (their space is freed)
  hikube restore VM SNAPSHOT [--to NEWVM] [--stop] [--wait]   bring a snapshot back (onto VM, or a new VM)
  hikube clone SOURCE TARGET [--full] [--wait]          a new VM from a VM (or --from-snapshot SNAPSHOT)`;

const waitOptions = waitFlags('300');

/** The verbs of `hikube snapshot`; `schedule` manages SnapshotSchedules (src/cli/snapshot-schedule.ts). */
export const snapshotVerbs: Record<string, (args: string[]) => Promise<void>> = {
  create,
  list,
  ls: list,
  delete: remove,
  rm: remove,
  schedule: runSnapshotSchedule,
  schedules: runSnapshotSchedule,
};

export async function runSnapshot(args: string[]): Promise<void> {
  return runVerb(args, snapshotVerbs, USAGE);
}

async function create(args: string[]): Promise<void> {
  const { values, positionals } = parseFlags(args, { ...waitOptions, name: { type: 'string' } });
  const [vm] = positionals;
  if (vm === undefined) throw new UsageError(`snapshot create needs a VM\n${USAGE}`);
  const c = loadClient(values);
  const ns = values.namespace ?? c.namespace;
  const name = values.name ?? `${vm}-${new Date().toISOString().replace(/[-:T]/g, '').slice(0, 14)}`;
  await c.call('POST', path(SNAPSHOTS, 'virtualmachinesnapshots', ns), {
    apiVersion: SNAPSHOTS,
    kind: 'VirtualMachineSnapshot',
    metadata: { name },
    spec: { source: { apiGroup: 'kubevirt.io', kind: 'VirtualMachine', name: vm } },
  });
  process.stdout.write(`virtualmachinesnapshot.snapshot.kubevirt.io/${name} created\n`);
  if (values.wait === true)
    await waitFor(c, path(SNAPSHOTS, 'virtualmachinesnapshots', ns, name), Number(values.timeout), (o) => {
      const st = (o as { status?: { phase?: string; readyToUse?: boolean; error?: { message?: string } } })
        .status;
      if (st?.phase === 'Failed') throw new Error(`snapshot ${name} failed: ${st.error?.message ?? ''}`);
      return st?.readyToUse === true;
    });
}

async function list(args: string[]): Promise<void> {
  const { values, positionals } = parseFlags(args, {
    output: { type: 'string', short: 'o', default: 'table' },
  });
  const format = outputFormat(values.output);
  const [vm] = positionals;
  const c = loadClient(values);
  const ns = values.namespace ?? c.namespace;
  const base = path(SNAPSHOTS, 'virtualmachinesnapshots', ns);
  if (format === 'table' || format === 'wide') {
    const { value } = await c.call<Table>('GET', base, undefined, {
      Accept: 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json',
    });
    const sourceAt = value.columnDefinitions.findIndex((d) => d.name === 'SourceName');
    if (vm !== undefined) value.rows = value.rows.filter((r) => r.cells[sourceAt] === vm);
    if (value.rows.length === 0) {
      process.stderr.write(`No snapshots found${vm === undefined ? '' : ` of ${vm}`} in ${ns} namespace.\n`);
      return;
    }
    process.stdout.write(`${renderTable(value, format === 'wide', false)}\n`);
    return;
  }
  const { value } = await c.call<{ items: (KubeObject & { spec: { source: { name: string } } })[] }>(
    'GET',
    base,
  );
  const items = value.items.filter((s) => vm === undefined || s.spec.source.name === vm);
  process.stdout.write(
    `${renderObjects(items, format, false, 'virtualmachinesnapshot', 'snapshot.kubevirt.io')}\n`,
  );
}

async function remove(args: string[]): Promise<void> {
  const { values, positionals } = parseFlags(args, { ...waitOptions });
  if (positionals.length === 0) throw new UsageError(`snapshot delete needs a NAME\n${USAGE}`);
  const c = loadClient(values);
  const ns = values.namespace ?? c.namespace;
  for (const name of positionals) {
    await c.call('DELETE', path(SNAPSHOTS, 'virtualmachinesnapshots', ns, name));
    process.stdout.write(`virtualmachinesnapshot.snapshot.kubevirt.io "${name}" deleted\n`);
    if (values.wait === true)
      await waitGone(c, path(SNAPSHOTS, 'virtualmachinesnapshots', ns, name), Number(values.timeout));
  }
}

export async function runRestore(args: string[]): Promise<void> {
  const { values, positionals } = parseFlags(args, {
    ...waitOptions,
    to: { type: 'string' },
    name: { type: 'string' },
    stop: { type: 'boolean', default: false },
  });
  const [vm, snapshot] = positionals;
  if (vm === undefined || snapshot === undefined)
    throw new UsageError(`restore needs VM and SNAPSHOT\n${USAGE}`);
  const c = loadClient(values);
  const ns = values.namespace ?? c.namespace;
  const name = values.name ?? `${values.to ?? vm}-restore-${randomBytes(3).toString('hex')}`;
  // The API accepts a restore of a snapshot that comes later (it waits); from the CLI a missing
  // snapshot is a typo, told at once.
  await c.call('GET', path(SNAPSHOTS, 'virtualmachinesnapshots', ns, snapshot)).catch((err: unknown) => {
    if (err instanceof KubeApiError && err.code === 404)
      throw new UsageError(
        `VirtualMachineSnapshot ${JSON.stringify(snapshot)} does not exist in namespace ${ns}`,
      );
    throw err;
  });
  await c.call('POST', path(SNAPSHOTS, 'virtualmachinerestores', ns), {
    apiVersion: SNAPSHOTS,
    kind: 'VirtualMachineRestore',
    metadata: { name },
    spec: {
      target: { apiGroup: 'kubevirt.io', kind: 'VirtualMachine', name: values.to ?? vm },
      virtualMachineSnapshotName: snapshot,
      ...(values.stop === true ? { targetReadinessPolicy: 'StopTarget' } : {}),
    },
  });
  process.stdout.write(`virtualmachinerestore.snapshot.kubevirt.io/${name} created\n`);
  if (values.wait === true)
    await waitFor(c, path(SNAPSHOTS, 'virtualmachinerestores', ns, name), Number(values.timeout), (o) => {
      const st = (
        o as {
          status?: { complete?: boolean; conditions?: { type: string; status: string; message?: string }[] };
        }
      ).status;
      const failure = st?.conditions?.find((x) => x.type === 'Failure' && x.status === 'True');
      if (failure !== undefined) throw new Error(`restore ${name} failed: ${failure.message ?? ''}`);
      return st?.complete === true;
    });
}

export async function runClone(args: string[]): Promise<void> {
  const { values, positionals } = parseFlags(args, {
    ...waitOptions,
    full: { type: 'boolean', default: false },
    'from-snapshot': { type: 'boolean', default: false },
    name: { type: 'string' },
  });
  const [source, target] = positionals;
  if (source === undefined) throw new UsageError(`clone needs SOURCE [TARGET]\n${USAGE}`);
  const c = loadClient(values);
  const ns = values.namespace ?? c.namespace;
  const name = values.name ?? `${target ?? source}-clone-${randomBytes(3).toString('hex')}`;
  const fromSnapshot = values['from-snapshot'] === true;
  await c.call('POST', path(CLONES, 'virtualmachineclones', ns), {
    apiVersion: CLONES,
    kind: 'VirtualMachineClone',
    metadata: { name, ...(values.full === true ? { annotations: { [FULL_CLONE_ANNOTATION]: 'true' } } : {}) },
    spec: {
      source: fromSnapshot
        ? { apiGroup: 'snapshot.kubevirt.io', kind: 'VirtualMachineSnapshot', name: source }
        : { apiGroup: 'kubevirt.io', kind: 'VirtualMachine', name: source },
      ...(target !== undefined
        ? { target: { apiGroup: 'kubevirt.io', kind: 'VirtualMachine', name: target } }
        : {}),
    },
  });
  process.stdout.write(`virtualmachineclone.clone.kubevirt.io/${name} created\n`);
  if (values.wait === true)
    await waitFor(c, path(CLONES, 'virtualmachineclones', ns, name), Number(values.timeout), (o) => {
      const st = (o as { status?: { phase?: string; conditions?: { type: string; message?: string }[] } })
        .status;
      if (st?.phase === 'Failed')
        throw new Error(
          `clone ${name} failed: ${st.conditions?.find((x) => x.type === 'Ready')?.message ?? ''}`,
        );
      return st?.phase === 'Succeeded';
    });
}

async function waitFor(
  c: KubeClient,
  at: string,
  timeoutS: number,
  done: (o: KubeObject) => boolean,
): Promise<void> {
  const deadline = Date.now() + timeoutS * 1000;
  for (;;) {
    const { value } = await c.call<KubeObject>('GET', at);
    if (done(value)) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutS}s waiting for ${at}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}
