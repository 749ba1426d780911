/**
 * Hikube VMInstances (apps.cozystack.io): status, IP, external address and endpoints, instance
 * type and disks, and the KubeVirt VM each is compiled to, live. Deleting one keeps its disks.
 */
import { Button } from '@patternfly/react-core';
import { useApiGroup } from '../api/discovery';
import { COZYSTACK_GROUP, resourcePath, VMINSTANCES } from '../api/resources';
import type { VMInstance } from '../api/types';
import { useWatchList } from '../api/useWatch';
import { useScope } from '../auth/AccessContext';
import { navigate } from '../app/router';
import { CatalogPage, Empty } from '../catalog/CatalogPage';
import { DeleteButton } from '../catalog/DeleteButton';
import { Link } from '../components/Link';
import { useNotices } from '../components/Notices';
import { ResourceTable, type Column } from '../components/ResourceTable';
import { keyOf, nameOf, namespaceOf } from '../vms/selectors';
import { StatusLabel } from '../vms/StatusLabel';
import { externalText, instanceVmName } from './hikube';

const columns: Column<VMInstance>[] = [
  { id: 'name', title: 'Name', cell: nameOf, sortValue: nameOf },
  { id: 'namespace', title: 'Namespace', cell: namespaceOf, sortValue: namespaceOf, visibleFrom: 'md' },
  {
    id: 'status',
    title: 'Status',
    cell: (i) => <StatusLabel status={i.status?.printableStatus ?? 'Provisioning'} />,
  },
  { id: 'ip', title: 'IP', cell: (i) => <span className="hk-mono">{i.status?.ipAddress ?? ''}</span> },
  {
    id: 'external',
    title: 'External',
    cell: (i) => <span className="hk-mono hk-break">{externalText(i)}</span>,
    visibleFrom: 'md',
  },
  {
    id: 'type',
    title: 'Instance type',
    cell: (i) => i.spec?.instanceType ?? 'u1.medium',
    visibleFrom: 'lg',
  },
  {
    id: 'disks',
    title: 'Disks',
    cell: (i) => (i.spec?.disks ?? []).map((d) => d.name).join(', '),
    visibleFrom: 'lg',
  },
  {
    id: 'vm',
    title: 'Virtual machine',
    cell: (i) => {
      const vm = i.status?.virtualMachine ?? instanceVmName(nameOf(i));
      return <Link to={{ page: 'vm', namespace: namespaceOf(i), name: vm, tab: 'overview' }}>{vm}</Link>;
    },
    visibleFrom: 'md',
  },
];

export default function VmInstancesPage() {
  const served = useApiGroup(COZYSTACK_GROUP);
  const scope = useScope();
  const instances = useWatchList<VMInstance>(VMINSTANCES, {
    ...scope,
    enabled: served !== null && served !== undefined,
  });
  const { notices, report } = useNotices();
  return (
    <CatalogPage
      title="VM instances"
      description="Hikube VMInstances: each is compiled to a KubeVirt VirtualMachine vm-instance-NAME that boots from its VMDisks."
      loaded={served === null || instances.loaded}
      error={instances.error}
      toolbar={
        <Button variant="primary" onClick={() => navigate({ page: 'create' })}>
          Create VM
        </Button>
      }
    >
      {notices}
      {served === null ? (
        <Empty>This server does not serve {COZYSTACK_GROUP}.</Empty>
      ) : instances.items.length === 0 ? (
        <Empty>No VM instance yet.</Empty>
      ) : (
        <ResourceTable
          ariaLabel="VM instances"
          rows={instances.items}
          rowKey={keyOf}
          columns={columns}
          rowActions={(i) => (
            <DeleteButton
              path={resourcePath(VMINSTANCES, namespaceOf(i), nameOf(i))}
              what={`VMInstance "${nameOf(i)}" (its disks stay)`}
              onError={report}
            />
          )}
        />
      )}
    </CatalogPage>
  );
}
