/** The VM list, declared: which columns it has and how each reads a VM (through the selectors). */
import { Link } from '../components/Link';
import type { Column } from '../components/ResourceTable';
import { StatusLabel } from './StatusLabel';
import {
  age,
  instanceTypeOf,
  ipsOf,
  nameOf,
  namespaceOf,
  nodeOf,
  osOf,
  printableStatus,
  type VmView,
} from './selectors';

export const vmColumns = (now: number): Column<VmView>[] => [
  {
    id: 'name',
    title: 'Name',
    sortValue: (v) => nameOf(v.vm),
    width: 15,
    cell: (v) => (
      <Link to={{ page: 'vm', namespace: namespaceOf(v.vm), name: nameOf(v.vm), tab: 'overview' }}>
        {nameOf(v.vm)}
      </Link>
    ),
  },
  {
    id: 'namespace',
    title: 'Namespace',
    sortValue: (v) => namespaceOf(v.vm),
    cell: (v) => namespaceOf(v.vm),
  },
  {
    id: 'status',
    title: 'Status',
    sortValue: (v) => printableStatus(v.vm),
    cell: (v) => <StatusLabel status={printableStatus(v.vm)} />,
  },
  {
    id: 'instancetype',
    title: 'Instance type',
    sortValue: (v) => instanceTypeOf(v.vm),
    cell: (v) => instanceTypeOf(v.vm),
    visibleFrom: 'md',
  },
  { id: 'os', title: 'OS', cell: (v) => osOf(v), visibleFrom: 'lg' },
  {
    id: 'ip',
    title: 'IP address',
    cell: (v) => <span className="hk-mono">{ipsOf(v.vmi).join(', ')}</span>,
    visibleFrom: 'md',
  },
  { id: 'node', title: 'Node', cell: (v) => nodeOf(v.vmi), visibleFrom: 'lg' },
  {
    id: 'age',
    title: 'Age',
    sortValue: (v) => -Date.parse(v.vm.metadata.creationTimestamp ?? '0'),
    cell: (v) => age(v.vm.metadata.creationTimestamp, now),
  },
];
