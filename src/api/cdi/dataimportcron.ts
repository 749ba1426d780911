/**
 * cdi.kubevirt.io/v1beta1 DataImportCron: a golden image kept fresh from a registry. On its cron
 * schedule the controller (src/controllers/dataimportcron) asks the registry for the digest of the
 * template's image; a new digest is imported into a new DataVolume, the DataSource named by
 * `managedDataSource` is pointed at the newest completed import, and imports beyond
 * `importsToKeep` are deleted (`garbageCollect: Outdated`).
 */
import { CronError, parseCron } from '../hikube/cron.js';
import type { FieldError, KindDefinition } from '../kind.js';
import { ObjectMeta } from '../meta.js';
import { NoEffect, Obj, Preserve, StringEnum, Type, type Static, opt } from '../schema.js';
import { CDI_GROUP, CDI_VERSION, DataVolumeCondition, DataVolumeSpec } from './datavolume.js';

export const DEFAULT_IMPORTS_TO_KEEP = 3;
/** On each DataVolume an import makes: the DataImportCron it belongs to (CDI's label). */
export const DATA_IMPORT_CRON_LABEL = 'cdi.kubevirt.io/dataImportCron';

export const DataImportCron = Obj('A DataImportCron.', {
  apiVersion: Type.String(),
  kind: Type.String(),
  metadata: ObjectMeta,
  spec: Obj('What to import, when, and how many imports to keep.', {
    template: Obj('The DataVolume each import makes; its source is a registry image.', {
      apiVersion: opt(Type.String()),
      kind: opt(Type.String()),
      metadata: opt(Preserve('Labels and annotations of the DataVolumes.')),
      spec: DataVolumeSpec,
      status: opt(NoEffect(Preserve())),
    }),
    schedule: Type.String({
      description: 'When to look for a new digest: a cron expression such as "0 */12 * * *".',
    }),
    garbageCollect: opt(
      StringEnum(['Outdated', 'Never'], 'Outdated (default): delete imports beyond importsToKeep.'),
    ),
    importsToKeep: opt(Type.Integer({ minimum: 0, description: 'Imports kept; defaults to 3.' })),
    managedDataSource: Type.String({ description: 'The DataSource pointed at the newest import.' }),
    retentionPolicy: opt(StringEnum(['None', 'RetainAll'])),
    serviceAccountName: opt(NoEffect(Type.String())),
  }),
  status: opt(
    Obj(
      'What was imported.',
      {
        currentImports: opt(
          Type.Array(Obj('One import.', { DataVolumeName: Type.String(), Digest: opt(Type.String()) })),
        ),
        lastImportedPVC: opt(
          Obj('The newest completed import.', { namespace: opt(Type.String()), name: Type.String() }),
        ),
        lastExecutionTimestamp: opt(Type.String()),
        lastImportTimestamp: opt(Type.String()),
        sourceFormat: opt(Type.String()),
        conditions: opt(Type.Array(DataVolumeCondition)),
      },
      { 'x-kubernetes-preserve-unknown-fields': true },
    ),
  ),
});
export type DataImportCron = Static<typeof DataImportCron>;

function validateCron(c: DataImportCron): FieldError[] {
  const errors: FieldError[] = [];
  try {
    parseCron(c.spec.schedule);
  } catch (err) {
    if (!(err instanceof CronError)) throw err;
    errors.push({
      path: 'spec.schedule',
      message: `Invalid value: ${JSON.stringify(c.spec.schedule)}: ${err.message}`,
    });
  }
  if (c.spec.template.spec.source?.registry?.url === undefined)
    errors.push({
      path: 'spec.template.spec.source.registry',
      reason: 'FieldValueRequired',
      message: 'Required value: a DataImportCron imports from a registry source',
    });
  if (c.spec.managedDataSource === '')
    errors.push({ path: 'spec.managedDataSource', reason: 'FieldValueRequired', message: 'Required value' });
  return errors;
}

export const dataImportCronKind: KindDefinition = {
  group: CDI_GROUP,
  version: CDI_VERSION,
  kind: 'DataImportCron',
  plural: 'dataimportcrons',
  singular: 'dataimportcron',
  shortNames: ['dic', 'dics'],
  namespaced: true,
  description: 'DataImportCron keeps a golden image (a DataSource) fresh from a registry on a schedule.',
  schema: DataImportCron,
  statusSubresource: true,
  printerColumns: [{ name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' }],
  validate: (o) => validateCron(o as unknown as DataImportCron),
};
