/**
 * Cells of the built-in kinds' tables, computed as kube-apiserver's own printers compute them
 * (`kubectl get svc` prints `PORT(S)` as `22:31234/TCP,80/TCP`, a Node's STATUS is `Ready`, a
 * claim's access modes read `RWO`). CRD-style kinds use plain JSONPath columns instead.
 */
import { ageColumn, nameColumn, type PrinterColumn } from '../kind.js';
import type { KubeObject } from '../meta.js';

type Obj = Record<string, unknown>;
const rec = (v: unknown): Obj => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Obj) : {});
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const at = (o: unknown, ...path: string[]): unknown => path.reduce<unknown>((v, k) => rec(v)[k], o);

const NONE = '<none>';
const UNSET = '<unset>';

/** `a,b,c` or `a,b,c + 2 more...`, `<unset>` when empty: kube's lists of ports and endpoints. */
export function listWithMore(all: string[], max = 3): string {
  const shown = all.slice(0, max).join(',');
  if (all.length > max) return `${shown} + ${all.length - max} more...`;
  return shown === '' ? UNSET : shown;
}

/** Number of keys of a map field (ConfigMap and Secret DATA). */
export const countKeys = (...maps: unknown[]): number =>
  maps.reduce<number>((n, m) => n + Object.keys(rec(m)).length, 0);

/** `k=v,k2=v2` in key order, `<none>` when empty: labels.FormatLabels. */
export function formatLabels(map: unknown): string {
  const entries = Object.entries(rec(map)).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return entries.length === 0 ? NONE : entries.map(([k, v]) => `${k}=${String(v)}`).join(',');
}

export function servicePorts(svc: KubeObject): string {
  const ports = arr(at(svc, 'spec', 'ports')).map((p) => {
    const port = rec(p);
    const protocol = str(port['protocol']) ?? 'TCP';
    const nodePort =
      typeof port['nodePort'] === 'number' && port['nodePort'] > 0 ? `:${port['nodePort']}` : '';
    return `${String(port['port'])}${nodePort}/${protocol}`;
  });
  return ports.length === 0 ? NONE : ports.join(',');
}

export function serviceClusterIP(svc: KubeObject): string {
  return str(arr(at(svc, 'spec', 'clusterIPs'))[0]) ?? str(at(svc, 'spec', 'clusterIP')) ?? NONE;
}

export function serviceExternalIP(svc: KubeObject): string {
  const spec = rec(svc['spec']);
  const external = arr(spec['externalIPs']).map(String);
  switch (str(spec['type']) ?? 'ClusterIP') {
    case 'ClusterIP':
    case 'NodePort':
      return external.length > 0 ? external.join(',') : NONE;
    case 'LoadBalancer': {
      const ingress = arr(at(svc, 'status', 'loadBalancer', 'ingress'))
        .map((i) => str(rec(i)['ip']) ?? str(rec(i)['hostname']) ?? '')
        .filter((a) => a !== '');
      const all = [...ingress, ...external];
      return all.length > 0 ? all.join(',') : '<pending>';
    }
    case 'ExternalName':
      return str(spec['externalName']) ?? '';
  }
  return '<unknown>';
}

/** `Ready`, `NotReady` or `Unknown`, then `,SchedulingDisabled` when cordoned. */
export function nodeStatus(node: KubeObject): string {
  const ready = arr(at(node, 'status', 'conditions'))
    .map(rec)
    .find((c) => c['type'] === 'Ready');
  const status = [ready === undefined ? 'Unknown' : ready['status'] === 'True' ? 'Ready' : 'NotReady'];
  if (at(node, 'spec', 'unschedulable') === true) status.push('SchedulingDisabled');
  return status.join(',');
}

/** From `node-role.kubernetes.io/ROLE` and `kubernetes.io/role` labels. */
export function nodeRoles(node: KubeObject): string {
  const roles = new Set<string>();
  for (const [k, v] of Object.entries(node.metadata.labels ?? {})) {
    if (k.startsWith('node-role.kubernetes.io/')) roles.add(k.slice('node-role.kubernetes.io/'.length));
    else if (k === 'kubernetes.io/role' && v !== '') roles.add(v);
  }
  return roles.size === 0 ? NONE : [...roles].sort().join(',');
}

export function nodeAddress(node: KubeObject, type: string): string {
  const found = arr(at(node, 'status', 'addresses'))
    .map(rec)
    .find((a) => a['type'] === type);
  return str(found?.['address']) ?? NONE;
}

export const nodeInfo = (node: KubeObject, field: string): string =>
  str(at(node, 'status', 'nodeInfo', field)) ?? '<unknown>';

const MODES: [string, string][] = [
  ['ReadWriteOnce', 'RWO'],
  ['ReadOnlyMany', 'ROX'],
  ['ReadWriteMany', 'RWX'],
  ['ReadWriteOncePod', 'RWOP'],
];

/** `RWO,RWX`, in kube's fixed order. */
export function accessModes(modes: unknown): string {
  const given = arr(modes);
  return MODES.filter(([mode]) => given.includes(mode))
    .map(([, short]) => short)
    .join(',');
}

/** A deleted-but-finalizing claim or volume reads Terminating, as kube prints it. */
export const volumePhase = (o: KubeObject): string =>
  o.metadata.deletionTimestamp !== undefined ? 'Terminating' : (str(at(o, 'status', 'phase')) ?? '');

/** A claim shows its size and modes only once bound. */
export function claimBound(claim: KubeObject, field: 'capacity' | 'modes'): string {
  if ((str(at(claim, 'spec', 'volumeName')) ?? '') === '') return '';
  return field === 'capacity'
    ? (str(at(claim, 'status', 'capacity', 'storage')) ?? '')
    : accessModes(at(claim, 'status', 'accessModes'));
}

export function claimRef(pv: KubeObject): string {
  const ref = rec(at(pv, 'spec', 'claimRef'));
  const name = str(ref['name']);
  return name === undefined ? '' : `${str(ref['namespace']) ?? ''}/${name}`;
}

export const orUnset = (v: unknown): string => str(v) ?? UNSET;

export function sliceEndpoints(slice: KubeObject): string {
  return listWithMore(arr(slice['endpoints']).flatMap((e) => arr(rec(e)['addresses']).map(String)));
}

export function slicePorts(slice: KubeObject): string {
  return listWithMore(
    arr(slice['ports']).map((p) => {
      const port = rec(p);
      return typeof port['port'] === 'number' ? String(port['port']) : (str(port['name']) ?? '*');
    }),
  );
}

/** The controlling owner as `kind.group/name` (`virtualmachine.kubevirt.io/web`), `<none>` without one. */
export function controllerOf(o: KubeObject): string {
  const owner = (o.metadata.ownerReferences ?? []).find((r) => r.controller === true);
  if (owner === undefined) return NONE;
  const slash = owner.apiVersion.indexOf('/');
  const group = slash < 0 ? '' : owner.apiVersion.slice(0, slash);
  return `${owner.kind.toLowerCase()}${group === '' ? '' : `.${group}`}/${owner.name}`;
}

/** An event's object as `kind/name`, kind lower-cased. */
export function eventObject(event: KubeObject): string {
  const ref = rec(event['involvedObject']);
  return `${(str(ref['kind']) ?? '').toLowerCase()}/${str(ref['name']) ?? ''}`;
}

export function eventSource(event: KubeObject): string {
  const source = rec(event['source']);
  const component = str(source['component']) ?? str(event['reportingComponent']) ?? '';
  const host = str(source['host']) ?? str(event['reportingInstance']) ?? '';
  return host === '' ? component : `${component}, ${host}`;
}

/** The newest time an event was seen: lastTimestamp, else eventTime. */
export const eventLastSeen = (event: KubeObject): unknown =>
  event['lastTimestamp'] ?? at(event, 'series', 'lastObservedTime') ?? event['eventTime'];

export const eventFirstSeen = (event: KubeObject): unknown => event['firstTimestamp'] ?? event['eventTime'];

/** kube's Node table: NAME STATUS ROLES AGE VERSION, and the addresses and host with -o wide. */
export const nodeColumns: PrinterColumn[] = [
  nameColumn,
  {
    name: 'Status',
    type: 'string',
    jsonPath: '.status.conditions[?(@.type=="Ready")].status',
    value: nodeStatus,
  },
  { name: 'Roles', type: 'string', jsonPath: '.metadata.labels', value: nodeRoles },
  ageColumn,
  { name: 'Version', type: 'string', jsonPath: '.status.nodeInfo.kubeletVersion' },
  ...(
    [
      ['Internal-IP', '.status.addresses', (o: KubeObject) => nodeAddress(o, 'InternalIP')],
      ['External-IP', '.status.addresses', (o: KubeObject) => nodeAddress(o, 'ExternalIP')],
      ['OS-Image', '.status.nodeInfo.osImage', (o: KubeObject) => nodeInfo(o, 'osImage')],
      ['Kernel-Version', '.status.nodeInfo.kernelVersion', (o: KubeObject) => nodeInfo(o, 'kernelVersion')],
      [
        'Container-Runtime',
        '.status.nodeInfo.containerRuntimeVersion',
        (o: KubeObject) => nodeInfo(o, 'containerRuntimeVersion'),
      ],
    ] as const
  ).map(([name, jsonPath, value]) => ({
    name,
    type: 'string' as const,
    jsonPath,
    value,
    priority: 1 as const,
  })),
];
