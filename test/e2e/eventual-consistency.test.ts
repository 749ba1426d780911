/**
 * Kubernetes is eventually consistent: `kubectl apply -f DIR` applies files in name order, so a
 * dependent object often arrives before what it names. Here every dependent sorts first — a
 * snapshot before its VM, a restore before its snapshot, a clone before its source, a VMInstance
 * before its VMDisk, a VMDisk before its golden image, a VM before its DataVolume, instance type
 * and Secret — and the whole directory is accepted in one apply, then converges: the snapshot
 * Succeeded, the restore and the clone complete, the VMInstance Running on a real tiny guest.
 * (What each waiter says while it waits, condition and Event, is pinned by the controllers' unit
 * tests: here the apply races the controllers, so a waiter may never have to wait.)
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { kubectlOk, startTestPlatform, type TestPlatform } from '../support/platform.js';
import { eventually } from '../support/wait.js';
import { makeImages, serveImages, type ImageServer, type Images } from '../unit/storage/image-server.js';

const NS = 'ec-apply';
const GOLDEN_NS = 'kubevirt-os-images';

let p: TestPlatform;
let fixtures: Images;
let server: ImageServer;
let dir: string;

before(async () => {
  p = await startTestPlatform();
  fixtures = makeImages(await mkdtemp(join(tmpdir(), 'hikube-ec-images-')));
  server = await serveImages(fixtures.dir);
  dir = await mkdtemp(join(tmpdir(), 'hikube-ec-manifests-'));
});
after(async () => {
  await p.cleanup();
  await server.close();
  await rm(fixtures.dir, { recursive: true, force: true });
  await rm(dir, { recursive: true, force: true });
});

const kubectl = (args: string[], input?: string): Promise<string> => kubectlOk(p, args, input);
const jsonpath = (kind: string, name: string, path: string, ns = NS): Promise<string> =>
  kubectl(['get', kind, name, '-n', ns, '-o', `jsonpath={${path}}`]);

/** The manifests, by file name: each dependent sorts before its referent. */
const manifests = (): Record<string, string> => ({
  '00-namespace.yaml': `apiVersion: v1
kind: Namespace
metadata: {name: ${NS}}
`,
  '10-snapshot.yaml': `apiVersion: snapshot.kubevirt.io/v1beta1
kind: VirtualMachineSnapshot
metadata: {name: ec-snap, namespace: ${NS}}
spec:
  source: {apiGroup: kubevirt.io, kind: VirtualMachine, name: ec-vm}
`,
  '20-restore.yaml': `apiVersion: snapshot.kubevirt.io/v1beta1
kind: VirtualMachineRestore
metadata: {name: ec-restore, namespace: ${NS}}
spec:
  target: {apiGroup: kubevirt.io, kind: VirtualMachine, name: ec-restored}
  virtualMachineSnapshotName: ec-snap
`,
  '25-clone.yaml': `apiVersion: clone.kubevirt.io/v1beta1
kind: VirtualMachineClone
metadata: {name: ec-clone, namespace: ${NS}}
spec:
  source: {apiGroup: kubevirt.io, kind: VirtualMachine, name: ec-vm}
  target: {apiGroup: kubevirt.io, kind: VirtualMachine, name: ec-cloned}
`,
  '30-vminstance.yaml': `apiVersion: apps.cozystack.io/v1alpha1
kind: VMInstance
metadata: {name: ec, namespace: ${NS}}
spec:
  instanceType: ""
  instanceProfile: ""
  resources: {cpu: 1, sockets: 1, memory: 128Mi}
  disks:
  - name: ec-disk
`,
  '40-vmdisk.yaml': `apiVersion: apps.cozystack.io/v1alpha1
kind: VMDisk
metadata:
  name: ec-disk
  namespace: ${NS}
  annotations: {vm-disk.hikube.io/kernel-image: hikube/tiny}
spec:
  source:
    image: {name: ec-tiny}
  storage: 64Mi
`,
  '50-vm.yaml': `apiVersion: kubevirt.io/v1
kind: VirtualMachine
metadata: {name: ec-vm, namespace: ${NS}}
spec:
  runStrategy: Halted
  instancetype: {kind: virtualmachineinstancetype, name: ec-type}
  template:
    spec:
      domain:
        devices:
          disks:
          - {name: data, disk: {}}
          - {name: init, disk: {}}
      volumes:
      - name: data
        dataVolume: {name: ec-data}
      - name: init
        cloudInitNoCloud: {secretRef: {name: ec-userdata}}
`,
  '60-instancetype.yaml': `apiVersion: instancetype.kubevirt.io/v1beta1
kind: VirtualMachineInstancetype
metadata: {name: ec-type, namespace: ${NS}}
spec:
  cpu: {guest: 1}
  memory: {guest: 128Mi}
`,
  '70-secret.yaml': `apiVersion: v1
kind: Secret
metadata: {name: ec-userdata, namespace: ${NS}}
stringData: {userdata: "#cloud-config\\n"}
`,
  '80-datavolume.yaml': `apiVersion: cdi.kubevirt.io/v1beta1
kind: DataVolume
metadata: {name: ec-data, namespace: ${NS}}
spec:
  source:
    http: {url: "${server.url}/disk.qcow2"}
  storage:
    resources: {requests: {storage: 64Mi}}
`,
  '90-golden-image.yaml': `apiVersion: v1
kind: Namespace
metadata: {name: ${GOLDEN_NS}}
---
apiVersion: cdi.kubevirt.io/v1beta1
kind: DataSource
metadata: {name: ec-tiny, namespace: ${GOLDEN_NS}}
spec:
  source:
    pvc: {name: ec-tiny, namespace: ${GOLDEN_NS}}
---
apiVersion: cdi.kubevirt.io/v1beta1
kind: DataVolume
metadata: {name: ec-tiny, namespace: ${GOLDEN_NS}}
spec:
  source:
    http: {url: "${server.url}/disk.qcow2"}
  storage:
    resources: {requests: {storage: 64Mi}}
`,
});

const until = (what: string, check: () => Promise<boolean>, timeoutMs = 120_000): Promise<true> =>
  eventually(async () => ((await check()) ? true : undefined), what, timeoutMs, 500);

describe('kubectl apply -f DIR with every dependent before its referent', () => {
  test('all accepted in one apply, all converge', { timeout: 420_000 }, async () => {
    for (const [file, text] of Object.entries(manifests())) await writeFile(join(dir, file), text);
    const applied = await kubectl(['apply', '-f', dir]);
    for (const created of [
      'virtualmachinesnapshot.snapshot.kubevirt.io/ec-snap',
      'virtualmachinerestore.snapshot.kubevirt.io/ec-restore',
      'virtualmachineclone.clone.kubevirt.io/ec-clone',
      'vminstance.apps.cozystack.io/ec',
      'vmdisk.apps.cozystack.io/ec-disk',
      'virtualmachine.kubevirt.io/ec-vm',
    ])
      assert.match(applied, new RegExp(`${created.replace(/\./g, '\\.')} created`));

    await until(
      'the snapshot to succeed',
      async () => (await jsonpath('vmsnapshot', 'ec-snap', '.status.phase')) === 'Succeeded',
    );
    await until(
      'the restore to complete',
      async () => (await jsonpath('vmrestore', 'ec-restore', '.status.complete')) === 'true',
    );
    assert.ok(await kubectl(['get', 'vm', 'ec-restored', '-n', NS, '-o', 'name']));
    await until(
      'the clone to succeed',
      async () => (await jsonpath('vmclone', 'ec-clone', '.status.phase')) === 'Succeeded',
    );
    await until(
      'the VMInstance to run',
      async () => (await jsonpath('vminstance', 'ec', '.status.printableStatus')) === 'Running',
      180_000,
    );
    // The VM waited for what it names; with all of it there it starts.
    await kubectl([
      'patch',
      'vm',
      'ec-vm',
      '-n',
      NS,
      '--type=merge',
      '-p',
      '{"spec":{"runStrategy":"Always"}}',
    ]);
    await until(
      'the VM to start once everything it names exists',
      async () =>
        ['Starting', 'Running'].includes(await jsonpath('vm', 'ec-vm', '.status.printableStatus')) &&
        (await jsonpath('vmi', 'ec-vm', '.metadata.name')) === 'ec-vm',
      60_000,
    );
    assert.equal(await jsonpath('vmi', 'ec-vm', '.spec.domain.memory.guest'), '128Mi', 'its instance type');
    await kubectl([
      'patch',
      'vm',
      'ec-vm',
      '-n',
      NS,
      '--type=merge',
      '-p',
      '{"spec":{"runStrategy":"Halted"}}',
    ]);
  });
});
