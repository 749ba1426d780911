/**
 * Disks and volumes: every PersistentVolumeClaim with its size, phase, the DataVolume that fills
 * it (phase and progress) and the VMs whose template uses it, live.
 */
import { Link } from '../components/Link';
import { DATAVOLUMES, PVCS, resourcePath, VMS } from '../api/resources';
import type { DataVolume, PersistentVolumeClaim, VirtualMachine } from '../api/types';
import { useWatchList } from '../api/useWatch';
import { useScope } from '../auth/AccessContext';
import { useNotices } from '../components/Notices';
import { ResourceTable, type Column } from '../components/ResourceTable';
import { claimSize, dataVolumeStatus, usersOf } from '../vms/disks';
import { keyOf, nameOf, namespaceOf } from '../vms/selectors';
import { CatalogPage, Empty } from './CatalogPage';
import { DeleteButton } from './DeleteButton';
import { useMay, whyNot } from './gate';

interface VolumeRow {
  claim: PersistentVolumeClaim;
  dataVolume: DataVolume | undefined;
  users: VirtualMachine[];
}

const columns: Column<VolumeRow>[] = [
  { id: 'name', title: 'Name', cell: (r) => nameOf(r.claim), sortValue: (r) => nameOf(r.claim) },
  {
    id: 'namespace',
    title: 'Namespace',
    cell: (r) => namespaceOf(r.claim),
    sortValue: (r) => namespaceOf(r.claim),
    visibleFrom: 'md',
  },
  { id: 'size', title: 'Size', cell: (r) => claimSize(r.claim) },
  { id: 'phase', title: 'Phase', cell: (r) => r.claim.status?.phase ?? 'Pending' },
  {
    id: 'datavolume',
    title: 'DataVolume',
    cell: (r) => dataVolumeStatus(r.dataVolume),
    visibleFrom: 'lg',
  },
  {
    id: 'class',
    title: 'Storage class',
    cell: (r) => r.claim.spec.storageClassName ?? '',
    visibleFrom: 'xl',
  },
  {
    id: 'users',
    title: 'Used by',
    cell: (r) =>
      r.users.map((vm, i) => (
        <span key={keyOf(vm)}>
          {i > 0 && ', '}
          <Link to={{ page: 'vm', namespace: namespaceOf(vm), name: nameOf(vm), tab: 'disks' }}>
            {nameOf(vm)}
          </Link>
        </span>
      )),
  },
];

export default function VolumesPage() {
  const scope = useScope();
  const claims = useWatchList<PersistentVolumeClaim>(PVCS, scope);
  const dataVolumes = useWatchList<DataVolume>(DATAVOLUMES, scope);
  const vms = useWatchList<VirtualMachine>(VMS, scope);
  const { notices, report } = useNotices();
  const may = useMay();
  const rows = claims.items.map((claim) => ({
    claim,
    dataVolume: dataVolumes.items.find((d) => keyOf(d) === keyOf(claim)),
    users: usersOf(claim, vms.items),
  }));
  return (
    <CatalogPage
      title="Volumes"
      description="Persistent disks: claims, the DataVolumes that fill them, and the VMs that use them."
      loaded={claims.loaded && dataVolumes.loaded && vms.loaded}
      error={claims.error ?? dataVolumes.error ?? vms.error}
    >
      {notices}
      {rows.length === 0 ? (
        <Empty>No volume yet: add a disk to a VM, or import an image.</Empty>
      ) : (
        <ResourceTable
          ariaLabel="Volumes"
          rows={rows}
          rowKey={(r) => keyOf(r.claim)}
          columns={columns}
          rowActions={(r) => (
            <DeleteButton
              path={
                r.dataVolume !== undefined
                  ? resourcePath(DATAVOLUMES, namespaceOf(r.claim), nameOf(r.claim))
                  : resourcePath(PVCS, namespaceOf(r.claim), nameOf(r.claim))
              }
              what={`${r.dataVolume !== undefined ? 'DataVolume' : 'claim'} "${nameOf(r.claim)}"`}
              onError={report}
              why={
                r.users.length > 0
                  ? `Used by ${r.users.map((vm) => nameOf(vm)).join(', ')}`
                  : whyNot(
                      may('delete', r.dataVolume !== undefined ? DATAVOLUMES : PVCS, namespaceOf(r.claim)),
                    )
              }
            />
          )}
        />
      )}
    </CatalogPage>
  );
}
