/**
 * Instance types (vCPU, memory, Hikube's root disk size) and preferences (the OS defaults), cluster-
 * wide and per namespace, as `instancetype.kubevirt.io` serves them.
 */
import { STORAGE_ANNOTATION } from '../../../src/api/catalog.js';
import { CLUSTER_INSTANCETYPES, CLUSTER_PREFERENCES, INSTANCETYPES, PREFERENCES } from '../api/resources';
import type { ClusterInstancetype, ClusterPreference } from '../api/types';
import { useWatchList } from '../api/useWatch';
import { useScope } from '../auth/AccessContext';
import { ResourceTable, type Column } from '../components/ResourceTable';
import { nameOf, namespaceOf } from '../vms/selectors';
import { CatalogPage, Empty, SectionTitle } from './CatalogPage';

const scope = (o: { metadata: { namespace?: string } }): string => namespaceOf(o) || 'Cluster';
const key = (o: { metadata: { name?: string; namespace?: string } }) => `${scope(o)}/${nameOf(o)}`;

const typeColumns: Column<ClusterInstancetype>[] = [
  { id: 'name', title: 'Name', cell: nameOf, sortValue: nameOf },
  { id: 'scope', title: 'Scope', cell: scope, sortValue: scope, visibleFrom: 'md' },
  { id: 'cpu', title: 'vCPU', cell: (t) => t.spec.cpu.guest, sortValue: (t) => t.spec.cpu.guest },
  { id: 'memory', title: 'Memory', cell: (t) => String(t.spec.memory.guest) },
  { id: 'disk', title: 'Root disk', cell: (t) => t.metadata.annotations?.[STORAGE_ANNOTATION] ?? '' },
  {
    id: 'usage',
    title: 'Description',
    cell: (t) => t.metadata.annotations?.['instancetype.kubevirt.io/description'] ?? '',
    visibleFrom: 'lg',
  },
];

const preferenceColumns: Column<ClusterPreference>[] = [
  { id: 'name', title: 'Name', cell: nameOf, sortValue: nameOf },
  { id: 'scope', title: 'Scope', cell: scope, sortValue: scope, visibleFrom: 'md' },
  {
    id: 'display',
    title: 'Operating system',
    cell: (p) => p.metadata.annotations?.['openshift.io/display-name'] ?? '',
  },
  {
    id: 'disk',
    title: 'Disk bus',
    cell: (p) => p.spec.devices?.preferredDiskBus ?? '',
    visibleFrom: 'md',
  },
  {
    id: 'nic',
    title: 'NIC model',
    cell: (p) => p.spec.devices?.preferredInterfaceModel ?? '',
    visibleFrom: 'md',
  },
];

export default function InstanceTypesPage() {
  const scope = useScope();
  const clusterTypes = useWatchList<ClusterInstancetype>(CLUSTER_INSTANCETYPES, scope);
  const types = useWatchList<ClusterInstancetype>(INSTANCETYPES, scope);
  const clusterPrefs = useWatchList<ClusterPreference>(CLUSTER_PREFERENCES, scope);
  const prefs = useWatchList<ClusterPreference>(PREFERENCES, scope);
  const allTypes = [...clusterTypes.items, ...types.items];
  const allPrefs = [...clusterPrefs.items, ...prefs.items];
  return (
    <CatalogPage
      title="Instance types"
      description="VM sizes (instance types) and operating system defaults (preferences) the create wizard offers."
      loaded={clusterTypes.loaded && types.loaded && clusterPrefs.loaded && prefs.loaded}
      error={clusterTypes.error ?? types.error ?? clusterPrefs.error ?? prefs.error}
    >
      <SectionTitle>Instance types</SectionTitle>
      {allTypes.length === 0 ? (
        <Empty>No instance type.</Empty>
      ) : (
        <ResourceTable ariaLabel="Instance types" rows={allTypes} rowKey={key} columns={typeColumns} />
      )}
      <SectionTitle>Preferences</SectionTitle>
      {allPrefs.length === 0 ? (
        <Empty>No preference.</Empty>
      ) : (
        <ResourceTable ariaLabel="Preferences" rows={allPrefs} rowKey={key} columns={preferenceColumns} />
      )}
    </CatalogPage>
  );
}
