/**
 * Hikube VMDisks (apps.cozystack.io): source, phase with the import's progress, size, storage
 * class and the VMInstances that attach each, live. A disk in use cannot be deleted.
 */
import { useApiGroup } from '../api/discovery';
import { COZYSTACK_GROUP, resourcePath, VMDISKS, VMINSTANCES } from '../api/resources';
import type { VMDisk, VMInstance } from '../api/types';
import { useWatchList } from '../api/useWatch';
import { useScope } from '../auth/AccessContext';
import { CatalogPage, Empty } from '../catalog/CatalogPage';
import { DeleteButton } from '../catalog/DeleteButton';
import { ImportPhase } from '../components/ImportPhase';
import { useNotices } from '../components/Notices';
import { ResourceTable, type Column } from '../components/ResourceTable';
import { keyOf, nameOf, namespaceOf } from '../vms/selectors';
import { diskProgress, diskSize, diskSourceText, diskUsers } from './hikube';

interface DiskRow {
  disk: VMDisk;
  users: VMInstance[];
}

function PhaseCell({ disk }: { disk: VMDisk }) {
  return (
    <ImportPhase
      name={nameOf(disk)}
      phase={disk.status?.phase}
      progress={diskProgress(disk) === undefined ? undefined : disk.status?.progress}
    />
  );
}

const columns: Column<DiskRow>[] = [
  { id: 'name', title: 'Name', cell: (r) => nameOf(r.disk), sortValue: (r) => nameOf(r.disk) },
  {
    id: 'namespace',
    title: 'Namespace',
    cell: (r) => namespaceOf(r.disk),
    sortValue: (r) => namespaceOf(r.disk),
    visibleFrom: 'md',
  },
  {
    id: 'source',
    title: 'Source',
    cell: (r) => <span className="hk-mono hk-break">{diskSourceText(r.disk)}</span>,
    visibleFrom: 'md',
  },
  { id: 'phase', title: 'Phase', cell: (r) => <PhaseCell disk={r.disk} />, width: 25 },
  { id: 'size', title: 'Size', cell: (r) => diskSize(r.disk) },
  {
    id: 'class',
    title: 'Storage class',
    cell: (r) => r.disk.status?.storageClass ?? r.disk.spec?.storageClass ?? '',
    visibleFrom: 'lg',
  },
  { id: 'users', title: 'Used by', cell: (r) => r.users.map(nameOf).join(', ') },
];

export default function VmDisksPage() {
  const served = useApiGroup(COZYSTACK_GROUP);
  const enabled = served !== null && served !== undefined;
  const scope = useScope();
  const disks = useWatchList<VMDisk>(VMDISKS, { ...scope, enabled });
  const instances = useWatchList<VMInstance>(VMINSTANCES, { ...scope, enabled });
  const { notices, report } = useNotices();
  const rows = disks.items.map((disk) => ({ disk, users: diskUsers(disk, instances.items) }));
  return (
    <CatalogPage
      title="VM disks"
      description="Hikube VMDisks: disks with a life of their own (a VMInstance may go, its disks stay), each a DataVolume vm-disk-NAME."
      loaded={served === null || (disks.loaded && instances.loaded)}
      error={disks.error ?? instances.error}
    >
      {notices}
      {served === null ? (
        <Empty>This server does not serve {COZYSTACK_GROUP}.</Empty>
      ) : rows.length === 0 ? (
        <Empty>No VM disk yet.</Empty>
      ) : (
        <ResourceTable
          ariaLabel="VM disks"
          rows={rows}
          rowKey={(r) => keyOf(r.disk)}
          columns={columns}
          rowActions={(r) => (
            <DeleteButton
              path={resourcePath(VMDISKS, namespaceOf(r.disk), nameOf(r.disk))}
              what={`VMDisk "${nameOf(r.disk)}"`}
              onError={report}
              why={r.users.length > 0 ? `Used by ${r.users.map(nameOf).join(', ')}` : undefined}
            />
          )}
        />
      )}
    </CatalogPage>
  );
}
