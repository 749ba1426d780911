/**
 * The core/v1 kinds the platform serves itself: namespaces, config and secrets (cloud-init, SSH
 * keys, registry credentials), events (what `kubectl describe` shows), nodes (what the scheduler
 * places VMIs on) and persistent volume claims (the disks of persistent VMs).
 */
import { isDeepStrictEqual } from 'node:util';
import { ageColumn, nameColumn, type FieldError, type KindDefinition } from '../kind.js';
import {
  claimBound,
  controllerOf,
  countKeys,
  eventFirstSeen,
  eventLastSeen,
  eventObject,
  eventSource,
  nodeColumns,
  orUnset,
  volumePhase,
} from './printers.js';
import { ObjectMeta, type KubeObject } from '../meta.js';
import { parseQuantity } from '../quantity.js';
import {
  MapOf,
  NoEffect,
  Obj,
  Preserve,
  Quantity,
  StringEnum,
  StringMap,
  Type,
  type Static,
  opt,
} from '../schema.js';
import { Conditions } from '../kubevirt/status.js';
import { LabelSelector, Taint, TypedObjectReference } from './refs.js';

const core = { group: '', version: 'v1' } as const;
const envelope = { apiVersion: Type.String(), kind: Type.String(), metadata: ObjectMeta };

export const namespaceKind: KindDefinition = {
  ...core,
  kind: 'Namespace',
  plural: 'namespaces',
  singular: 'namespace',
  shortNames: ['ns'],
  namespaced: false,
  description: 'Namespace provides a scope for names; deleting it deletes everything in it.',
  schema: Obj('A namespace.', {
    ...envelope,
    spec: opt(Obj('Finalizers of the namespace.', { finalizers: opt(Type.Array(Type.String())) })),
    status: opt(
      Obj('Phase of the namespace.', {
        phase: opt(StringEnum(['Active', 'Terminating'])),
        conditions: opt(Type.Array(Preserve())),
      }),
    ),
  }),
  statusSubresource: true,
  printerColumns: [{ name: 'Status', type: 'string', jsonPath: '.status.phase' }],
};

const DATA_KEY = /^[-._a-zA-Z0-9]+$/;
const checkKeys = (maps: [Record<string, unknown> | undefined, string][]): FieldError[] =>
  maps.flatMap(([map, at]) =>
    Object.keys(map ?? {})
      .filter((k) => !DATA_KEY.test(k))
      .map((k) => ({
        path: `${at}[${k}]`,
        message: `Invalid value: ${JSON.stringify(k)}: a valid config key must consist of alphanumeric characters, '-', '_' or '.'`,
      })),
  );

export const configMapKind: KindDefinition = {
  ...core,
  kind: 'ConfigMap',
  deleteReturnsStatus: true,
  plural: 'configmaps',
  singular: 'configmap',
  shortNames: ['cm'],
  namespaced: true,
  description: 'ConfigMap holds configuration data, e.g. cloud-init user data or a CA bundle.',
  schema: Obj('A config map.', {
    ...envelope,
    data: opt(StringMap()),
    binaryData: opt(StringMap()),
    immutable: opt(Type.Boolean()),
  }),
  statusSubresource: false,
  printerColumns: [
    { name: 'Data', type: 'integer', jsonPath: '.data', value: (o) => countKeys(o['data'], o['binaryData']) },
  ],
  validate: (o) =>
    checkKeys([
      [o['data'] as Record<string, unknown>, 'data'],
      [o['binaryData'] as Record<string, unknown>, 'binaryData'],
    ]),
};

export const secretKind: KindDefinition = {
  ...core,
  kind: 'Secret',
  deleteReturnsStatus: true,
  plural: 'secrets',
  singular: 'secret',
  namespaced: true,
  description:
    'Secret holds sensitive data: SSH keys, cloud-init with passwords, registry and HTTP credentials.',
  schema: Obj('A secret.', {
    ...envelope,
    data: opt(StringMap('Base64 values.')),
    stringData: opt(StringMap('Plain values, merged into data on write.')),
    type: opt(Type.String()),
    immutable: opt(Type.Boolean()),
  }),
  statusSubresource: false,
  printerColumns: [
    { name: 'Type', type: 'string', jsonPath: '.type' },
    { name: 'Data', type: 'integer', jsonPath: '.data', value: (o) => countKeys(o['data']) },
  ],
  validate: (o) => {
    const errors = checkKeys([
      [o['data'] as Record<string, unknown>, 'data'],
      [o['stringData'] as Record<string, unknown>, 'stringData'],
    ]);
    for (const [k, v] of Object.entries((o['data'] as Record<string, string> | undefined) ?? {})) {
      if (!/^[A-Za-z0-9+/]*={0,2}$/.test(v))
        errors.push({ path: `data[${k}]`, message: 'Invalid value: must be base64 encoded' });
    }
    return errors;
  },
  defaults: (o) => {
    const plain = o['stringData'] as Record<string, string> | undefined;
    if (plain !== undefined) {
      const data = (o['data'] as Record<string, string> | undefined) ?? {};
      for (const [k, v] of Object.entries(plain)) data[k] = Buffer.from(v).toString('base64');
      o['data'] = data;
      delete o['stringData'];
    }
    o['type'] ??= 'Opaque';
  },
};

export const ObjectReference = Obj('Reference to an object.', {
  apiVersion: opt(Type.String()),
  kind: opt(Type.String()),
  name: opt(Type.String()),
  namespace: opt(Type.String()),
  uid: opt(Type.String()),
  resourceVersion: opt(Type.String()),
  fieldPath: opt(Type.String()),
});

export const Event = Obj('Something that happened to an object.', {
  ...envelope,
  involvedObject: ObjectReference,
  reason: opt(
    Type.String({
      description: 'Short CamelCase reason, shared with conditions: Started, FailedScheduling…',
    }),
  ),
  message: opt(Type.String()),
  type: opt(StringEnum(['Normal', 'Warning'])),
  source: opt(Obj('Who reported it.', { component: opt(Type.String()), host: opt(Type.String()) })),
  firstTimestamp: opt(Type.String()),
  lastTimestamp: opt(Type.String()),
  eventTime: opt(Type.String()),
  count: opt(Type.Integer()),
  reportingComponent: opt(Type.String()),
  reportingInstance: opt(Type.String()),
  action: opt(Type.String()),
});
export type Event = Static<typeof Event>;

export const eventKind: KindDefinition = {
  ...core,
  kind: 'Event',
  deleteReturnsStatus: true,
  plural: 'events',
  singular: 'event',
  shortNames: ['ev'],
  namespaced: true,
  description: 'Event reports something that happened to an object (kubectl describe lists them).',
  schema: Event,
  statusSubresource: false,
  printerColumns: [
    { name: 'Last Seen', type: 'date', jsonPath: '.lastTimestamp', value: eventLastSeen },
    { name: 'Type', type: 'string', jsonPath: '.type' },
    { name: 'Reason', type: 'string', jsonPath: '.reason' },
    { name: 'Object', type: 'string', jsonPath: '.involvedObject.name', value: eventObject },
    { name: 'Subobject', type: 'string', jsonPath: '.involvedObject.fieldPath', priority: 1 },
    { name: 'Source', type: 'string', jsonPath: '.source.component', priority: 1, value: eventSource },
    { name: 'Message', type: 'string', jsonPath: '.message' },
    { name: 'First Seen', type: 'date', jsonPath: '.firstTimestamp', priority: 1, value: eventFirstSeen },
    { name: 'Count', type: 'integer', jsonPath: '.count', priority: 1 },
    { ...nameColumn, priority: 1 },
  ],
};

export const Node = Obj('A machine that runs VMIs.', {
  ...envelope,
  spec: opt(
    Obj('Node settings.', {
      unschedulable: opt(Type.Boolean()),
      taints: opt(Type.Array(Taint)),
      podCIDR: opt(Type.String()),
    }),
  ),
  status: opt(
    Obj(
      'What the node offers and how it is.',
      {
        capacity: opt(MapOf(Quantity())),
        allocatable: opt(MapOf(Quantity())),
        conditions: opt(Conditions),
        addresses: opt(
          Type.Array(Obj('An address of the node.', { type: Type.String(), address: Type.String() })),
        ),
        nodeInfo: opt(
          Obj('The host: kube sets every field (src/node/nodeinfo.ts).', {
            architecture: opt(Type.String()),
            bootID: opt(Type.String()),
            containerRuntimeVersion: opt(Type.String({ description: 'qemu://VERSION of the probed QEMU.' })),
            kernelVersion: opt(Type.String()),
            kubeProxyVersion: opt(Type.String()),
            kubeletVersion: opt(Type.String()),
            machineID: opt(Type.String()),
            operatingSystem: opt(Type.String()),
            osImage: opt(Type.String()),
            systemUUID: opt(Type.String()),
          }),
        ),
      },
      { 'x-kubernetes-preserve-unknown-fields': true },
    ),
  ),
});

export const nodeKind: KindDefinition = {
  ...core,
  kind: 'Node',
  plural: 'nodes',
  singular: 'node',
  shortNames: ['no'],
  namespaced: false,
  description: 'Node is a host that runs VMIs; its status advertises allocatable CPU, memory and devices.',
  schema: Node,
  statusSubresource: true,
  printerColumns: nodeColumns,
};

export const PersistentVolumeClaimSpec = Obj('The storage requested.', {
  accessModes: opt(
    Type.Array(StringEnum(['ReadWriteOnce', 'ReadOnlyMany', 'ReadWriteMany', 'ReadWriteOncePod'])),
  ),
  resources: opt(
    Obj('Requested size.', { requests: opt(MapOf(Quantity())), limits: opt(MapOf(Quantity())) }),
  ),
  storageClassName: opt(Type.String()),
  volumeMode: opt(StringEnum(['Filesystem', 'Block'])),
  volumeName: opt(Type.String()),
  dataSource: opt(TypedObjectReference('An object to populate the claim from.', false)),
  dataSourceRef: opt(TypedObjectReference('An object to populate the claim from (any namespace).', true)),
  selector: opt(LabelSelector('Labels of the volumes the claim may bind.')),
  volumeAttributesClassName: opt(NoEffect(Type.String())),
});

export const persistentVolumeClaimKind: KindDefinition = {
  ...core,
  kind: 'PersistentVolumeClaim',
  plural: 'persistentvolumeclaims',
  singular: 'persistentvolumeclaim',
  shortNames: ['pvc'],
  namespaced: true,
  description: 'PersistentVolumeClaim is a request for a persistent disk.',
  schema: Obj('A claim.', {
    ...envelope,
    spec: PersistentVolumeClaimSpec,
    status: opt(
      Obj(
        'Binding state.',
        {
          phase: opt(StringEnum(['Pending', 'Bound', 'Lost'])),
          capacity: opt(MapOf(Quantity())),
          accessModes: opt(Type.Array(Type.String())),
          conditions: opt(Type.Array(Preserve())),
        },
        { 'x-kubernetes-preserve-unknown-fields': true },
      ),
    ),
  }),
  statusSubresource: true,
  printerColumns: [
    { name: 'Status', type: 'string', jsonPath: '.status.phase', value: volumePhase },
    { name: 'Volume', type: 'string', jsonPath: '.spec.volumeName' },
    {
      name: 'Capacity',
      type: 'string',
      jsonPath: '.status.capacity.storage',
      value: (o) => claimBound(o, 'capacity'),
    },
    {
      name: 'Access Modes',
      type: 'string',
      jsonPath: '.status.accessModes',
      value: (o) => claimBound(o, 'modes'),
    },
    { name: 'StorageClass', type: 'string', jsonPath: '.spec.storageClassName' },
    {
      name: 'VolumeAttributesClass',
      type: 'string',
      jsonPath: '.spec.volumeAttributesClassName',
      value: (o) =>
        orUnset((o['spec'] as Record<string, unknown> | undefined)?.['volumeAttributesClassName']),
    },
    ageColumn,
    {
      name: 'VolumeMode',
      type: 'string',
      jsonPath: '.spec.volumeMode',
      priority: 1,
      value: (o) => orUnset((o['spec'] as Record<string, unknown> | undefined)?.['volumeMode']),
    },
  ],
  validate: (o, old) => validateClaimUpdate(o, old),
};

type ClaimSpec = Static<typeof PersistentVolumeClaimSpec>;

/**
 * Kubernetes' rules for a claim: a positive size; once created, only the requested size may change
 * (and only grow), and the binder may fill in volumeName and a missing storageClassName.
 */
function validateClaimUpdate(obj: KubeObject, oldObj: KubeObject | undefined): FieldError[] {
  const spec = obj['spec'] as ClaimSpec;
  const errors: FieldError[] = [];
  const size = spec.resources?.requests?.['storage'];
  const bytes = size === undefined ? undefined : parseQuantity(size)?.value;
  if (bytes === undefined)
    errors.push({
      path: 'spec.resources.requests.storage',
      reason: 'FieldValueRequired',
      message: 'Required value',
    });
  else if (!(bytes > 0))
    errors.push({
      path: 'spec.resources.requests.storage',
      message: `Invalid value: ${JSON.stringify(size)}: must be greater than zero`,
    });
  if (oldObj === undefined) return errors;
  const old = oldObj['spec'] as ClaimSpec;
  const fixed = (s: ClaimSpec, filled: ClaimSpec): ClaimSpec => {
    const copy = structuredClone(s);
    delete copy.resources?.requests;
    if (copy.volumeName === undefined && filled.volumeName !== undefined) copy.volumeName = filled.volumeName;
    if (copy.storageClassName === undefined && filled.storageClassName !== undefined)
      copy.storageClassName = filled.storageClassName;
    return copy;
  };
  if (!isDeepStrictEqual(fixed(spec, {}), fixed(old, spec)))
    errors.push({
      path: 'spec',
      reason: 'FieldValueForbidden',
      message:
        'Forbidden: spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims',
    });
  const oldSize = old.resources?.requests?.['storage'];
  const oldBytes = oldSize === undefined ? undefined : parseQuantity(oldSize)?.value;
  if (bytes !== undefined && oldBytes !== undefined && bytes < oldBytes)
    errors.push({
      path: 'spec.resources.requests.storage',
      reason: 'FieldValueForbidden',
      message: 'Forbidden: field can not be less than previous value',
    });
  return errors;
}

export const ControllerRevision = Obj(
  'An immutable snapshot of state, e.g. the instance type a VM was started with.',
  {
    ...envelope,
    data: opt(Preserve('The recorded state.')),
    revision: Type.Integer({ description: 'Revision number.' }),
  },
);
export type ControllerRevision = Static<typeof ControllerRevision>;

export const controllerRevisionKind: KindDefinition = {
  group: 'apps',
  version: 'v1',
  kind: 'ControllerRevision',
  plural: 'controllerrevisions',
  singular: 'controllerrevision',
  namespaced: true,
  description:
    'ControllerRevision holds an immutable snapshot: the VM controller records the instance type and preference a VM runs with.',
  schema: ControllerRevision,
  statusSubresource: false,
  printerColumns: [
    { name: 'Controller', type: 'string', jsonPath: '.metadata.ownerReferences', value: controllerOf },
    { name: 'Revision', type: 'integer', jsonPath: '.revision' },
  ],
  validate: (obj, old) =>
    old !== undefined && JSON.stringify(old['data']) !== JSON.stringify(obj['data'])
      ? [{ path: 'data', reason: 'FieldValueForbidden', message: 'Forbidden: field is immutable' }]
      : [],
};
