/**
 * Load balancers and services: every Service with its type, ports, cluster IP, the load
 * balancer's address (and the port it listens on there) and the VMs its selector picks, live.
 */
import { SERVICES, resourcePath } from '../api/resources';
import type { Service } from '../api/types';
import { useWatchList } from '../api/useWatch';
import { useScope } from '../auth/AccessContext';
import { useNotices } from '../components/Notices';
import { ResourceTable, type Column } from '../components/ResourceTable';
import { loadBalancerText, portsText } from '../vms/exposure';
import { keyOf, nameOf, namespaceOf } from '../vms/selectors';
import { CatalogPage, Empty } from './CatalogPage';
import { DeleteButton } from './DeleteButton';
import { useMay, whyNot } from './gate';

const selectorText = (s: Service): string =>
  Object.entries(s.spec?.selector ?? {})
    .map(([k, v]) => `${k}=${v}`)
    .join(', ');

const columns: Column<Service>[] = [
  { id: 'name', title: 'Name', cell: nameOf, sortValue: nameOf },
  { id: 'namespace', title: 'Namespace', cell: namespaceOf, sortValue: namespaceOf, visibleFrom: 'md' },
  {
    id: 'type',
    title: 'Type',
    cell: (s) => s.spec?.type ?? 'ClusterIP',
    sortValue: (s) => s.spec?.type ?? '',
  },
  { id: 'ports', title: 'Ports', cell: (s) => portsText(s).join(', ') },
  {
    id: 'clusterip',
    title: 'Cluster IP',
    cell: (s) => <span className="hk-mono">{s.spec?.clusterIP ?? ''}</span>,
    visibleFrom: 'lg',
  },
  {
    id: 'lb',
    title: 'Load balancer',
    cell: (s) => <span className="hk-mono">{loadBalancerText(s).join('; ')}</span>,
  },
  {
    id: 'selector',
    title: 'Selector',
    cell: (s) => <span className="hk-mono hk-break">{selectorText(s)}</span>,
    visibleFrom: 'xl',
  },
];

export default function ServicesPage() {
  const scope = useScope();
  const services = useWatchList<Service>(SERVICES, scope);
  const { notices, report } = useNotices();
  const may = useMay();
  return (
    <CatalogPage
      title="Services"
      description="Stable addresses in front of VMs: cluster IPs, node ports and load balancers. Expose a VM's port from its Network tab."
      loaded={services.loaded}
      error={services.error}
    >
      {notices}
      {services.items.length === 0 ? (
        <Empty>No Service yet.</Empty>
      ) : (
        <ResourceTable
          ariaLabel="Services"
          rows={services.items}
          rowKey={keyOf}
          columns={columns}
          rowActions={(s) => (
            <DeleteButton
              path={resourcePath(SERVICES, namespaceOf(s), nameOf(s))}
              what={`Service "${nameOf(s)}"`}
              onError={report}
              why={whyNot(may('delete', SERVICES, namespaceOf(s)))}
            />
          )}
        />
      )}
    </CatalogPage>
  );
}
