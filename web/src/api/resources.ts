/**
 * Where each resource lives in the Kubernetes API. The console reaches the platform only through
 * these paths, so it works unchanged against a KubeVirt cluster.
 */
export interface Resource {
  /** '' for the core group. */
  group: string;
  version: string;
  plural: string;
  namespaced: boolean;
}

export const VMS: Resource = {
  group: 'kubevirt.io',
  version: 'v1',
  plural: 'virtualmachines',
  namespaced: true,
};
export const VMIS: Resource = {
  group: 'kubevirt.io',
  version: 'v1',
  plural: 'virtualmachineinstances',
  namespaced: true,
};
export const CLUSTER_INSTANCETYPES: Resource = {
  group: 'instancetype.kubevirt.io',
  version: 'v1beta1',
  plural: 'virtualmachineclusterinstancetypes',
  namespaced: false,
};
export const CLUSTER_PREFERENCES: Resource = {
  group: 'instancetype.kubevirt.io',
  version: 'v1beta1',
  plural: 'virtualmachineclusterpreferences',
  namespaced: false,
};
export const NAMESPACES: Resource = { group: '', version: 'v1', plural: 'namespaces', namespaced: false };
export const SECRETS: Resource = { group: '', version: 'v1', plural: 'secrets', namespaced: true };
export const EVENTS: Resource = { group: '', version: 'v1', plural: 'events', namespaced: true };

/** KubeVirt's action and streaming subresources. */
export const SUBRESOURCES = { group: 'subresources.kubevirt.io', version: 'v1' };

export const apiVersionOf = (r: Pick<Resource, 'group' | 'version'>): string =>
  r.group === '' ? r.version : `${r.group}/${r.version}`;

/** `/apis/G/V[/namespaces/NS]/PLURAL[/NAME[/SUB]]`; no namespace on a namespaced resource lists all. */
export function resourcePath(
  r: Pick<Resource, 'group' | 'version' | 'plural'>,
  namespace?: string,
  name?: string,
  sub?: string,
): string {
  const parts = [r.group === '' ? '/api' : `/apis/${r.group}`, r.version];
  if (namespace !== undefined) parts.push('namespaces', encodeURIComponent(namespace));
  parts.push(r.plural);
  if (name !== undefined) parts.push(encodeURIComponent(name));
  if (sub !== undefined) parts.push(sub);
  return parts.join('/');
}

export const subresourcePath = (
  plural: 'virtualmachines' | 'virtualmachineinstances',
  namespace: string,
  name: string,
  sub: string,
): string => resourcePath({ ...SUBRESOURCES, plural }, namespace, name, sub);

// Storage, images and networks: the catalog pages and the VM's disk and network tabs.
export const PVCS: Resource = {
  group: '',
  version: 'v1',
  plural: 'persistentvolumeclaims',
  namespaced: true,
};
export const SERVICES: Resource = { group: '', version: 'v1', plural: 'services', namespaced: true };
export const DATAVOLUMES: Resource = {
  group: 'cdi.kubevirt.io',
  version: 'v1beta1',
  plural: 'datavolumes',
  namespaced: true,
};
export const DATASOURCES: Resource = {
  group: 'cdi.kubevirt.io',
  version: 'v1beta1',
  plural: 'datasources',
  namespaced: true,
};
export const NADS: Resource = {
  group: 'k8s.cni.cncf.io',
  version: 'v1',
  plural: 'network-attachment-definitions',
  namespaced: true,
};
export const INSTANCETYPES: Resource = {
  group: 'instancetype.kubevirt.io',
  version: 'v1beta1',
  plural: 'virtualmachineinstancetypes',
  namespaced: true,
};
export const PREFERENCES: Resource = {
  group: 'instancetype.kubevirt.io',
  version: 'v1beta1',
  plural: 'virtualmachinepreferences',
  namespaced: true,
};

/** The VM history API (src/metrics/routes.ts): not a Kubernetes kind, a read-only aggregated API. */
export const seriesPath = (namespace: string, name: string): string =>
  `/apis/metrics.hikube.io/v1alpha1/namespaces/${encodeURIComponent(namespace)}/virtualmachineinstances/${encodeURIComponent(name)}/series`;

// Snapshots (snapshot.kubevirt.io) and Hikube's snapshot schedules (hikube.io): the VM's Snapshots
// tab and the Snapshot schedules page, shown once discovery finds the groups.
export const SNAPSHOT_GROUP = 'snapshot.kubevirt.io';
export const SNAPSHOTS: Resource = {
  group: SNAPSHOT_GROUP,
  version: 'v1beta1',
  plural: 'virtualmachinesnapshots',
  namespaced: true,
};
export const SNAPSHOT_CONTENTS: Resource = {
  group: SNAPSHOT_GROUP,
  version: 'v1beta1',
  plural: 'virtualmachinesnapshotcontents',
  namespaced: true,
};
export const RESTORES: Resource = {
  group: SNAPSHOT_GROUP,
  version: 'v1beta1',
  plural: 'virtualmachinerestores',
  namespaced: true,
};
export const HIKUBE_GROUP = 'hikube.io';
export const SNAPSHOT_SCHEDULES: Resource = {
  group: HIKUBE_GROUP,
  version: 'v1alpha1',
  plural: 'snapshotschedules',
  namespaced: true,
};

// Hikube's own VM kinds (apps.cozystack.io): the create wizard's default and their list pages.
export const COZYSTACK_GROUP = 'apps.cozystack.io';
export const VMDISKS: Resource = {
  group: COZYSTACK_GROUP,
  version: 'v1alpha1',
  plural: 'vmdisks',
  namespaced: true,
};
export const VMINSTANCES: Resource = {
  group: COZYSTACK_GROUP,
  version: 'v1alpha1',
  plural: 'vminstances',
  namespaced: true,
};
/** Where the OS catalog's golden images live, as DataSources (a VMDisk's `source.image.name`). */
export const OS_IMAGES_NAMESPACE = 'kubevirt-os-images';

// Cozystack's backups (backups.cozystack.io): the VM detail's Backups tab and the Backup plans page.
export const BACKUPS_GROUP = 'backups.cozystack.io';
export const BACKUP_CLASSES: Resource = {
  group: BACKUPS_GROUP,
  version: 'v1alpha1',
  plural: 'backupclasses',
  namespaced: false,
};
export const BACKUPS: Resource = {
  group: BACKUPS_GROUP,
  version: 'v1alpha1',
  plural: 'backups',
  namespaced: true,
};
export const BACKUP_JOBS: Resource = {
  group: BACKUPS_GROUP,
  version: 'v1alpha1',
  plural: 'backupjobs',
  namespaced: true,
};
export const RESTORE_JOBS: Resource = {
  group: BACKUPS_GROUP,
  version: 'v1alpha1',
  plural: 'restorejobs',
  namespaced: true,
};
export const PLANS: Resource = {
  group: BACKUPS_GROUP,
  version: 'v1alpha1',
  plural: 'plans',
  namespaced: true,
};
