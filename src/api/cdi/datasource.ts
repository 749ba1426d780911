/**
 * cdi.kubevirt.io/v1beta1 DataSource: a stable name for a golden image (a PVC, usually filled by a
 * DataVolume), so that VMs ask for "debian-12" rather than for whichever PVC holds it today. A
 * DataVolume with `sourceRef: {kind: DataSource, name}` clones what the DataSource points at.
 */
import type { FieldError, KindDefinition } from '../kind.js';
import { ObjectMeta } from '../meta.js';
import { Obj, Preserve, Type, type Static, opt } from '../schema.js';
import { CDI_GROUP, CDI_VERSION, DataVolumeCondition } from './datavolume.js';

const PvcRef = Obj('A PVC.', { namespace: opt(Type.String()), name: Type.String() });

export const DataSource = Obj('A DataSource.', {
  apiVersion: Type.String(),
  kind: Type.String(),
  metadata: ObjectMeta,
  spec: Obj('What the name points at.', {
    source: Obj('Exactly one member is set.', {
      pvc: opt(PvcRef),
      snapshot: opt(Obj('A VolumeSnapshot.', { namespace: opt(Type.String()), name: Type.String() })),
      dataSource: opt(Obj('Another DataSource.', { namespace: opt(Type.String()), name: Type.String() })),
    }),
  }),
  status: opt(
    Obj(
      'Whether the source is ready to be cloned.',
      { conditions: opt(Type.Array(DataVolumeCondition)), source: opt(Preserve()) },
      { 'x-kubernetes-preserve-unknown-fields': true },
    ),
  ),
});
export type DataSource = Static<typeof DataSource>;

function validateDataSource(ds: DataSource): FieldError[] {
  if (ds.spec.source.pvc === undefined)
    return [
      {
        path: 'spec.source.pvc',
        reason: 'FieldValueRequired',
        message: 'Required value: this platform resolves DataSources to PVCs',
      },
    ];
  return [];
}

export const dataSourceKind: KindDefinition = {
  group: CDI_GROUP,
  version: CDI_VERSION,
  kind: 'DataSource',
  plural: 'datasources',
  singular: 'datasource',
  shortNames: ['das'],
  namespaced: true,
  description: 'DataSource names a golden image (a PVC) that DataVolumes clone through spec.sourceRef.',
  schema: DataSource,
  statusSubresource: true,
  printerColumns: [
    // CDI's CRD prints no columns: ours only show with -o wide.
    {
      name: 'Ready',
      type: 'string',
      jsonPath: '.status.conditions[?(@.type=="Ready")].status',
      priority: 1,
    },
    { name: 'PVC', type: 'string', jsonPath: '.spec.source.pvc.name', priority: 1 },
    { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
  ],
  validate: (o) => validateDataSource(o as unknown as DataSource),
};
