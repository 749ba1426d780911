/**
 * Every served kind's table against what kube-apiserver prints for it: the built-in printers of
 * the core kinds (PORT(S) as `22:31234/TCP,80/TCP`, a Node's STATUS and VERSION, a claim's `RWO`)
 * and the additionalPrinterColumns of the KubeVirt CRDs. One row per kind: the headers of
 * `kubectl get` and `-o wide`, and the cells of a sample object.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { KubeObject } from '../../../src/api/meta.js';
import { kinds } from '../../../src/api/registry.js';
import { renderTable } from '../../../src/apiserver/tables.js';

const NOW = new Date('2026-12-06T12:00:00Z');
const CREATED = '2026-12-06T11:55:00Z';

interface Row {
  kind: string;
  /** The headers kubectl prints (upper-cased), priority 0. */
  normal: string[];
  /** The extra headers of `-o wide`. */
  wide?: string[];
  object?: Record<string, unknown>;
  /** Cells of the sample object, priority 0 columns, in order. */
  cells?: unknown[];
  wideCells?: unknown[];
}

const meta = (name: string, extra: Record<string, unknown> = {}) => ({
  name,
  namespace: 'default',
  creationTimestamp: CREATED,
  ...extra,
});

const rows: Row[] = [
  { kind: 'Namespace', normal: ['NAME', 'STATUS', 'AGE'] },
  {
    kind: 'ConfigMap',
    normal: ['NAME', 'DATA', 'AGE'],
    object: { metadata: meta('cfg'), data: { a: '1', b: '2' }, binaryData: { c: 'AA==' } },
    cells: ['cfg', 3, '5m'],
  },
  {
    kind: 'Secret',
    normal: ['NAME', 'TYPE', 'DATA', 'AGE'],
    object: { metadata: meta('s'), type: 'Opaque', data: { a: 'MQ==' } },
    cells: ['s', 'Opaque', 1, '5m'],
  },
  {
    kind: 'Event',
    normal: ['LAST SEEN', 'TYPE', 'REASON', 'OBJECT', 'MESSAGE'],
    wide: ['SUBOBJECT', 'SOURCE', 'FIRST SEEN', 'COUNT', 'NAME'],
    object: {
      metadata: meta('web.1'),
      involvedObject: { kind: 'VirtualMachine', name: 'web' },
      reason: 'Started',
      message: 'started',
      type: 'Normal',
      source: { component: 'virt-controller', host: 'node1' },
      firstTimestamp: '2026-12-06T11:50:00Z',
      lastTimestamp: CREATED,
      count: 2,
    },
    cells: ['5m', 'Normal', 'Started', 'virtualmachine/web', 'started'],
    wideCells: [null, 'virt-controller, node1', '10m', 2, 'web.1'],
  },
  {
    kind: 'Node',
    normal: ['NAME', 'STATUS', 'ROLES', 'AGE', 'VERSION'],
    wide: ['INTERNAL-IP', 'EXTERNAL-IP', 'OS-IMAGE', 'KERNEL-VERSION', 'CONTAINER-RUNTIME'],
    object: {
      metadata: {
        name: 'n1',
        creationTimestamp: CREATED,
        labels: { 'node-role.kubernetes.io/control-plane': '' },
      },
      spec: { unschedulable: true },
      status: {
        conditions: [{ type: 'Ready', status: 'True' }],
        addresses: [{ type: 'InternalIP', address: '127.0.0.1' }],
        nodeInfo: {
          kubeletVersion: 'v1.32.0+hikube',
          osImage: 'Debian GNU/Linux 12 (bookworm)',
          kernelVersion: '6.1.0',
          containerRuntimeVersion: 'qemu://7.2.22',
        },
      },
    },
    cells: ['n1', 'Ready,SchedulingDisabled', 'control-plane', '5m', 'v1.32.0+hikube'],
    wideCells: ['127.0.0.1', '<none>', 'Debian GNU/Linux 12 (bookworm)', '6.1.0', 'qemu://7.2.22'],
  },
  {
    kind: 'PersistentVolumeClaim',
    normal: [
      'NAME',
      'STATUS',
      'VOLUME',
      'CAPACITY',
      'ACCESS MODES',
      'STORAGECLASS',
      'VOLUMEATTRIBUTESCLASS',
      'AGE',
    ],
    wide: ['VOLUMEMODE'],
    object: {
      metadata: meta('data'),
      spec: {
        volumeName: 'pvc-1',
        storageClassName: 'local',
        accessModes: ['ReadWriteOnce'],
        volumeMode: 'Filesystem',
      },
      status: {
        phase: 'Bound',
        capacity: { storage: '1Gi' },
        accessModes: ['ReadWriteMany', 'ReadWriteOnce'],
      },
    },
    cells: ['data', 'Bound', 'pvc-1', '1Gi', 'RWO,RWX', 'local', '<unset>', '5m'],
    wideCells: ['Filesystem'],
  },
  {
    kind: 'PersistentVolume',
    normal: [
      'NAME',
      'CAPACITY',
      'ACCESS MODES',
      'RECLAIM POLICY',
      'STATUS',
      'CLAIM',
      'STORAGECLASS',
      'VOLUMEATTRIBUTESCLASS',
      'REASON',
      'AGE',
    ],
    wide: ['VOLUMEMODE'],
    object: {
      metadata: { name: 'pvc-1', creationTimestamp: CREATED },
      spec: {
        capacity: { storage: '1Gi' },
        accessModes: ['ReadWriteOnce'],
        persistentVolumeReclaimPolicy: 'Delete',
        claimRef: { namespace: 'default', name: 'data' },
        storageClassName: 'local',
      },
      status: { phase: 'Bound' },
    },
    cells: ['pvc-1', '1Gi', 'RWO', 'Delete', 'Bound', 'default/data', 'local', '<unset>', null, '5m'],
    wideCells: ['<unset>'],
  },
  {
    kind: 'StorageClass',
    normal: ['NAME', 'PROVISIONER', 'RECLAIMPOLICY', 'VOLUMEBINDINGMODE', 'ALLOWVOLUMEEXPANSION', 'AGE'],
    object: {
      metadata: {
        name: 'local',
        creationTimestamp: CREATED,
        annotations: { 'storageclass.kubernetes.io/is-default-class': 'true' },
      },
      provisioner: 'hikube.io/local',
    },
    cells: ['local (default)', 'hikube.io/local', 'Delete', 'Immediate', 'false', '5m'],
  },
  {
    kind: 'ControllerRevision',
    normal: ['NAME', 'CONTROLLER', 'REVISION', 'AGE'],
    object: {
      metadata: meta('web-it', {
        ownerReferences: [
          { apiVersion: 'kubevirt.io/v1', kind: 'VirtualMachine', name: 'web', uid: 'u', controller: true },
        ],
      }),
      revision: 1,
    },
    cells: ['web-it', 'virtualmachine.kubevirt.io/web', 1, '5m'],
  },
  {
    kind: 'Service',
    normal: ['NAME', 'TYPE', 'CLUSTER-IP', 'EXTERNAL-IP', 'PORT(S)', 'AGE'],
    wide: ['SELECTOR'],
    object: {
      metadata: meta('web'),
      spec: {
        type: 'NodePort',
        clusterIP: '10.96.0.10',
        clusterIPs: ['10.96.0.10'],
        selector: { app: 'web', tier: 'front' },
        ports: [
          { name: 'ssh', port: 22, protocol: 'TCP', nodePort: 31234 },
          { name: 'http', port: 80, protocol: 'TCP', nodePort: 31235 },
          { name: 'dns', port: 53, protocol: 'UDP' },
        ],
      },
    },
    cells: ['web', 'NodePort', '10.96.0.10', '<none>', '22:31234/TCP,80:31235/TCP,53/UDP', '5m'],
    wideCells: ['app=web,tier=front'],
  },
  {
    kind: 'EndpointSlice',
    normal: ['NAME', 'ADDRESSTYPE', 'PORTS', 'ENDPOINTS', 'AGE'],
    object: {
      metadata: meta('web-abc'),
      addressType: 'IPv4',
      ports: [{ port: 22 }, { port: 80 }],
      endpoints: ['10.0.0.1', '10.0.0.2', '10.0.0.3', '10.0.0.4'].map((a) => ({ addresses: [a] })),
    },
    cells: ['web-abc', 'IPv4', '22,80', '10.0.0.1,10.0.0.2,10.0.0.3 + 1 more...', '5m'],
  },
  // KubeVirt and CDI CRDs: their additionalPrinterColumns.
  { kind: 'VirtualMachine', normal: ['NAME', 'AGE', 'STATUS', 'READY'] },
  {
    kind: 'VirtualMachineInstance',
    normal: ['NAME', 'AGE', 'PHASE', 'IP', 'NODENAME', 'READY'],
    wide: ['LIVE-MIGRATABLE', 'PAUSED'],
  },
  // KubeVirt prints no columns for these; hikube's sizes and OS only show with -o wide.
  { kind: 'VirtualMachineInstancetype', normal: ['NAME', 'AGE'], wide: ['CPU', 'MEMORY', 'STORAGE'] },
  { kind: 'VirtualMachineClusterInstancetype', normal: ['NAME', 'AGE'], wide: ['CPU', 'MEMORY', 'STORAGE'] },
  { kind: 'VirtualMachinePreference', normal: ['NAME', 'AGE'] },
  { kind: 'VirtualMachineClusterPreference', normal: ['NAME', 'AGE'], wide: ['OS'] },
  {
    kind: 'VirtualMachineSnapshot',
    normal: ['NAME', 'SOURCEKIND', 'SOURCENAME', 'PHASE', 'READYTOUSE', 'CREATIONTIME', 'ERROR', 'AGE'],
    wide: ['INDICATIONS'],
  },
  { kind: 'VirtualMachineSnapshotContent', normal: ['NAME', 'READYTOUSE', 'CREATIONTIME', 'ERROR', 'AGE'] },
  {
    kind: 'VirtualMachineRestore',
    normal: ['NAME', 'TARGETKIND', 'TARGETNAME', 'COMPLETE', 'RESTORETIME', 'AGE'],
  },
  {
    kind: 'VirtualMachineClone',
    normal: ['NAME', 'PHASE', 'SOURCEVIRTUALMACHINE', 'TARGETVIRTUALMACHINE', 'AGE'],
  },
  { kind: 'DataVolume', normal: ['NAME', 'PHASE', 'PROGRESS', 'RESTARTS', 'AGE'] },
  // CDI prints no columns for DataSources; readiness and the PVC are hikube's, -o wide only.
  { kind: 'DataSource', normal: ['NAME', 'AGE'], wide: ['READY', 'PVC'] },
  { kind: 'NetworkAttachmentDefinition', normal: ['NAME', 'AGE'] },
  {
    kind: 'NetworkPolicy',
    normal: ['NAME', 'POD-SELECTOR', 'AGE'],
    object: { metadata: meta('db'), spec: { podSelector: { matchLabels: { app: 'db' } } } },
    cells: ['db', 'app=db', '5m'],
  },
];

interface Table {
  columnDefinitions: { name: string; priority: number }[];
  rows: { cells: unknown[] }[];
}

function table(kind: string, object?: Record<string, unknown>): Table {
  const def = kinds.find((k) => k.kind === kind);
  assert.ok(def, `${kind} is served`);
  const obj = { apiVersion: 'v1', kind, ...(object ?? { metadata: meta('x') }) } as KubeObject;
  return renderTable(def, [obj], '1', 'None', NOW) as Table;
}

describe('server-side tables match kube-apiserver', () => {
  for (const row of rows) {
    test(row.kind, () => {
      const t = table(row.kind, row.object);
      const shown = t.columnDefinitions.map((c, i) => ({
        name: c.name.toUpperCase(),
        i,
        wide: c.priority > 0,
      }));
      const normal = shown.filter((c) => !c.wide);
      const wide = shown.filter((c) => c.wide);
      assert.deepEqual(
        normal.map((c) => c.name),
        row.normal,
      );
      assert.deepEqual(
        wide.map((c) => c.name),
        row.wide ?? [],
      );
      const cells = t.rows[0]?.cells ?? [];
      if (row.cells !== undefined)
        assert.deepEqual(
          normal.map((c) => cells[c.i]),
          row.cells,
        );
      if (row.wideCells !== undefined)
        assert.deepEqual(
          wide.map((c) => cells[c.i]),
          row.wideCells,
        );
    });
  }

  test('a Service prints <none> without ports and <pending> for an unassigned load balancer', () => {
    const t = table('Service', {
      metadata: meta('lb'),
      spec: { type: 'LoadBalancer', clusterIP: '10.96.0.11' },
    });
    assert.deepEqual(t.rows[0]?.cells.slice(1, 5), ['LoadBalancer', '10.96.0.11', '<pending>', '<none>']);
  });

  test('a Node without a Ready condition is Unknown, with no role <none>', () => {
    const t = table('Node', { metadata: { name: 'n', creationTimestamp: CREATED }, status: {} });
    assert.deepEqual(t.rows[0]?.cells.slice(1, 3), ['Unknown', '<none>']);
  });
});
