/**
 * The chaos test's pieces: a seeded random source, the operations it fires at a real `hikube up`
 * (each one writes what the server acknowledged into a ledger, and nothing else), and the checks
 * made after every restart: each acknowledged object still exists, no VM runs twice, no volume is
 * marked ready half-written.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { qemuPids, VMS } from './guest.js';
import { raw } from './http.js';
import type { TestPlatform } from './platform.js';

/** mulberry32: a small seeded generator, so a failing round can be replayed with its seed. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const CMS = '/api/v1/namespaces/default/configmaps';
export const DVS = '/apis/cdi.kubevirt.io/v1beta1/namespaces/default/datavolumes';
export const SNAPSHOTS = '/apis/snapshot.kubevirt.io/v1beta1/namespaces/default/virtualmachinesnapshots';
export const RESTORES = '/apis/snapshot.kubevirt.io/v1beta1/namespaces/default/virtualmachinerestores';
const CONTENTS = '/apis/snapshot.kubevirt.io/v1beta1/namespaces/default/virtualmachinesnapshotcontents';
const UPLOAD = '/apis/upload.cdi.kubevirt.io/v1beta1/namespaces/default/datavolumes';

export interface Ledger {
  /** API paths of every object whose create was acknowledged (201). */
  objects: string[];
  /** Halted VMs with a blank disk: what snapshots are taken of. */
  vms: string[];
  snapshots: string[];
  restores: string[];
  /** The image every upload sends. */
  image: string;
  /** Upload DataVolumes created. */
  uploads: string[];
  blanks: string[];
}

export const newLedger = (image: string): Ledger => ({
  objects: [],
  vms: [],
  snapshots: [],
  restores: [],
  image,
  uploads: [],
  blanks: [],
});

type Op = (p: TestPlatform, l: Ledger, name: string, pick: <T>(xs: T[]) => T | undefined) => Promise<void>;

async function create(p: TestPlatform, l: Ledger, collection: string, body: object): Promise<boolean> {
  const name = (body as { metadata: { name: string } }).metadata.name;
  const r = await raw(p, 'POST', collection, JSON.stringify(body));
  if (r.code !== 201) return false;
  l.objects.push(`${collection}/${name}`);
  return true;
}

const size = (storage: string) => ({ resources: { requests: { storage } } });

export const operations: Record<string, Op> = {
  async configMap(p, l, name) {
    await create(p, l, CMS, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name }, data: { n: name } });
  },
  async vm(p, l, name) {
    const ok = await create(p, l, VMS, {
      apiVersion: 'kubevirt.io/v1',
      kind: 'VirtualMachine',
      metadata: { name },
      spec: {
        runStrategy: 'Halted',
        dataVolumeTemplates: [
          { metadata: { name: `${name}-disk` }, spec: { source: { blank: {} }, storage: size('16Mi') } },
        ],
        template: {
          spec: {
            domain: { devices: { disks: [{ name: 'data', disk: {} }] }, memory: { guest: '128Mi' } },
            volumes: [{ name: 'data', dataVolume: { name: `${name}-disk` } }],
          },
        },
      },
    });
    if (ok) l.vms.push(name);
  },
  async blank(p, l, name) {
    const dv = { apiVersion: 'cdi.kubevirt.io/v1beta1', kind: 'DataVolume', metadata: { name } };
    if (await create(p, l, DVS, { ...dv, spec: { source: { blank: {} }, storage: size('8Mi') } }))
      l.blanks.push(name);
  },
  async upload(p, l, name) {
    const dv = { apiVersion: 'cdi.kubevirt.io/v1beta1', kind: 'DataVolume', metadata: { name } };
    if (!(await create(p, l, DVS, { ...dv, spec: { source: { upload: {} }, storage: size('8Mi') } }))) return;
    l.uploads.push(name);
    for (let i = 0; i < 200; i++) {
      const got = await raw(p, 'GET', `${DVS}/${name}`);
      if ((got.json as { status?: { phase?: string } }).status?.phase === 'UploadReady') break;
      await new Promise((r) => setTimeout(r, 50));
    }
    await raw(p, 'PUT', `${UPLOAD}/${name}/upload`, readFileSync(l.image), {
      'Content-Type': 'application/octet-stream',
    });
  },
  async snapshot(p, l, name, pick) {
    const source = pick(l.vms);
    if (source === undefined) return;
    const spec = { source: { apiGroup: 'kubevirt.io', kind: 'VirtualMachine', name: source } };
    const body = {
      apiVersion: 'snapshot.kubevirt.io/v1beta1',
      kind: 'VirtualMachineSnapshot',
      metadata: { name },
      spec,
    };
    if (await create(p, l, SNAPSHOTS, body)) l.snapshots.push(name);
  },
  async restore(p, l, name, pick) {
    const snapshot = pick(l.snapshots);
    if (snapshot === undefined) return;
    const s = (await raw(p, 'GET', `${SNAPSHOTS}/${snapshot}`)).json as {
      spec?: { source?: { name?: string } };
      status?: { readyToUse?: boolean };
    };
    const target = s.spec?.source?.name;
    if (s.status?.readyToUse !== true || target === undefined) return;
    const spec = {
      target: { apiGroup: 'kubevirt.io', kind: 'VirtualMachine', name: target },
      virtualMachineSnapshotName: snapshot,
    };
    const body = {
      apiVersion: 'snapshot.kubevirt.io/v1beta1',
      kind: 'VirtualMachineRestore',
      metadata: { name },
      spec,
    };
    if (await create(p, l, RESTORES, body)) l.restores.push(name);
  },
};

interface Dv {
  status?: { phase?: string };
}

/** The disk file behind a claim, or undefined when it is not bound. */
async function volumeFile(p: TestPlatform, claim: string): Promise<string | undefined> {
  const pvc = (await raw(p, 'GET', `/api/v1/namespaces/default/persistentvolumeclaims/${claim}`)).json as {
    spec?: { volumeName?: string };
  };
  if (pvc.spec?.volumeName === undefined) return undefined;
  const pv = (await raw(p, 'GET', `/api/v1/persistentvolumes/${pvc.spec.volumeName}`)).json as {
    spec?: { hostPath?: { path?: string } };
  };
  return pv.spec?.hostPath?.path;
}

const qemuImg = (args: string[]): string => {
  try {
    execFileSync('qemu-img', args, { stdio: 'pipe' });
    return '';
  } catch (err) {
    return String((err as { stderr?: Buffer }).stderr ?? err);
  }
};

/** Every broken promise of the platform found now; empty when all hold. */
export async function violations(p: TestPlatform, l: Ledger): Promise<string[]> {
  const found: string[] = [];
  for (const path of l.objects) {
    const r = await raw(p, 'GET', path);
    if (r.code !== 200) found.push(`acknowledged ${path} is gone (${r.code})`);
  }
  const vmis = (await raw(p, 'GET', '/apis/kubevirt.io/v1/namespaces/default/virtualmachineinstances'))
    .json as {
    items?: { metadata: { name: string } }[];
  };
  for (const vmi of vmis.items ?? []) {
    const pids = qemuPids(`guest=default/${vmi.metadata.name},`).filter((pid) =>
      qemuPids(p.dataDir).includes(pid),
    );
    if (pids.length > 1)
      found.push(`VMI ${vmi.metadata.name} runs in ${pids.length} QEMUs: ${pids.join(', ')}`);
  }
  /** The volume of a Succeeded DataVolume; a Succeeded one without a volume file is a violation. */
  const ready = async (dv: string): Promise<string | undefined> => {
    const got = (await raw(p, 'GET', `${DVS}/${dv}`)).json as Dv;
    if (got.status?.phase !== 'Succeeded') return undefined;
    const file = await volumeFile(p, dv);
    if (file === undefined || !existsSync(file)) {
      found.push(`DataVolume ${dv} is Succeeded but has no volume file (${file ?? 'unbound'})`);
      return undefined;
    }
    return file;
  };
  for (const dv of l.uploads) {
    const file = await ready(dv);
    if (file === undefined) continue;
    const diff = qemuImg(['compare', '-f', 'raw', l.image, file]);
    if (diff !== '')
      found.push(`upload ${dv} is Succeeded but its volume differs from what was sent: ${diff}`);
  }
  for (const dv of l.blanks) {
    const file = await ready(dv);
    if (file === undefined) continue;
    const bad = qemuImg(['check', file]);
    if (bad !== '') found.push(`blank ${dv} is Succeeded but its volume does not check: ${bad}`);
  }
  for (const s of l.snapshots) {
    const snap = (await raw(p, 'GET', `${SNAPSHOTS}/${s}`)).json as {
      status?: { readyToUse?: boolean; virtualMachineSnapshotContentName?: string };
    };
    const content = snap.status?.virtualMachineSnapshotContentName;
    if (snap.status?.readyToUse !== true) continue;
    const c = await raw(p, 'GET', `${CONTENTS}/${content ?? ''}`);
    if (c.code !== 200 || (c.json as { status?: { readyToUse?: boolean } }).status?.readyToUse !== true)
      found.push(
        `snapshot ${s} is readyToUse but its content ${content ?? '(none)'} is not (${c.code}): ${JSON.stringify(c.json['status'])}`,
      );
  }
  return found;
}
