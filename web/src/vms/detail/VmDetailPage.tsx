/**
 * One VM: its header (status, actions) and tabs for the overview, metrics, disks, network, snapshots, the
 * serial console, VNC and the YAML. Every tab but the overview is a lazy chunk (uPlot, xterm.js,
 * noVNC, CodeMirror load only when their tab opens).
 */
import {
  Breadcrumb,
  BreadcrumbItem,
  EmptyState,
  EmptyStateBody,
  Flex,
  FlexItem,
  PageSection,
  Tab,
  Tabs,
  TabTitleText,
  Title,
} from '@patternfly/react-core';
import { Suspense, useMemo } from 'react';
import { lazyRetry } from '../../app/lazy';
import { useApiGroup } from '../../api/discovery';
import { VMIS, VMS } from '../../api/resources';
import type { VirtualMachine, VirtualMachineInstance } from '../../api/types';
import { useWatchObject } from '../../api/useWatch';
import { Loading } from '../../components/Loading';
import { hrefOf, linkClick, navigate, type VmTab } from '../../app/router';
import { ActionsMenu } from '../../components/ActionsMenu';
import { Link } from '../../components/Link';
import { useNotices } from '../../components/Notices';
import { useAccess } from '../../auth/AccessContext';
import { AccessDenied, forbidden } from '../../components/AccessDenied';
import { cloneAction, permitted, snapshotAction, VM_ACTIONS } from '../actions';
import { printableStatus, type VmView } from '../selectors';
import { StatusLabel } from '../StatusLabel';
import { Overview } from './Overview';

const MetricsTab = lazyRetry(() => import('./MetricsTab'));
const DisksTab = lazyRetry(() => import('./DisksTab'));
const NetworkTab = lazyRetry(() => import('./NetworkTab'));
const SnapshotsTab = lazyRetry(() => import('./SnapshotsTab'));
const BackupsTab = lazyRetry(() => import('./BackupsTab'));
const ConsoleTab = lazyRetry(() => import('./ConsoleTab'));
const VncTab = lazyRetry(() => import('./VncTab'));
const YamlTab = lazyRetry(() => import('./YamlTab'));

export default function VmDetailPage({
  namespace,
  name,
  tab,
}: {
  namespace: string;
  name: string;
  tab: VmTab;
}) {
  const vm = useWatchObject<VirtualMachine>(VMS, namespace, name);
  const vmi = useWatchObject<VirtualMachineInstance>(VMIS, namespace, name);
  const { notices, report } = useNotices();
  const snapshots = useApiGroup('snapshot.kubevirt.io');
  const clones = useApiGroup('clone.kubevirt.io');
  const { may } = useAccess();
  const actions = useMemo(
    () =>
      permitted(
        [
          ...VM_ACTIONS.slice(0, -1),
          snapshotAction(snapshots),
          cloneAction(clones, snapshots),
          ...VM_ACTIONS.slice(-1),
        ],
        may,
      ),
    [snapshots, clones, may],
  );
  const breadcrumb = (
    <Breadcrumb>
      <BreadcrumbItem to={hrefOf({ page: 'vms' })} onClick={linkClick({ page: 'vms' })}>
        Virtual machines
      </BreadcrumbItem>
      <BreadcrumbItem isActive>{name}</BreadcrumbItem>
    </Breadcrumb>
  );
  const denied = forbidden(vm.error);
  if (denied !== undefined)
    return (
      <PageSection>
        {breadcrumb}
        <AccessDenied what={`VM "${name}" in namespace ${namespace}`} error={denied} />
      </PageSection>
    );
  if (!vm.loaded) return <Loading />;
  if (vm.object === undefined) {
    return (
      <PageSection>
        {breadcrumb}
        <EmptyState titleText={`VM "${name}" not found`} headingLevel="h1">
          <EmptyStateBody>
            There is no VM {name} in namespace {namespace} (any more).{' '}
            <Link to={{ page: 'vms' }}>Back to the list</Link>
          </EmptyStateBody>
        </EmptyState>
      </PageSection>
    );
  }
  const view: VmView = { vm: vm.object, vmi: vmi.object };
  const go = (t: VmTab) => navigate({ page: 'vm', namespace, name, tab: t }, true);
  return (
    <>
      {notices}
      <PageSection>
        {breadcrumb}
        <Flex
          alignItems={{ default: 'alignItemsCenter' }}
          justifyContent={{ default: 'justifyContentSpaceBetween' }}
        >
          <Flex alignItems={{ default: 'alignItemsCenter' }}>
            <FlexItem>
              <Title headingLevel="h1">{name}</Title>
            </FlexItem>
            <FlexItem>
              <StatusLabel status={printableStatus(view.vm)} />
            </FlexItem>
          </Flex>
          <FlexItem>
            <ActionsMenu actions={actions} target={view} targetName={`VM "${name}"`} onError={report} />
          </FlexItem>
        </Flex>
      </PageSection>
      <PageSection type="tabs">
        <Tabs
          activeKey={tab}
          onSelect={(_e, k) => go(k as VmTab)}
          aria-label="VM details"
          mountOnEnter
          unmountOnExit
          usePageInsets
        >
          <Tab eventKey="overview" title={<TabTitleText>Overview</TabTitleText>}>
            <Panel>{tab === 'overview' && <Overview view={view} />}</Panel>
          </Tab>
          <Tab eventKey="metrics" title={<TabTitleText>Metrics</TabTitleText>}>
            <Panel>{tab === 'metrics' && <MetricsTab view={view} />}</Panel>
          </Tab>
          <Tab eventKey="disks" title={<TabTitleText>Disks</TabTitleText>}>
            <Panel>{tab === 'disks' && <DisksTab view={view} />}</Panel>
          </Tab>
          <Tab eventKey="network" title={<TabTitleText>Network</TabTitleText>}>
            <Panel>{tab === 'network' && <NetworkTab view={view} />}</Panel>
          </Tab>
          <Tab eventKey="snapshots" title={<TabTitleText>Snapshots</TabTitleText>}>
            <Panel>{tab === 'snapshots' && <SnapshotsTab view={view} />}</Panel>
          </Tab>
          <Tab eventKey="backups" title={<TabTitleText>Backups</TabTitleText>}>
            <Panel>{tab === 'backups' && <BackupsTab view={view} />}</Panel>
          </Tab>
          <Tab eventKey="console" title={<TabTitleText>Serial console</TabTitleText>}>
            <Panel>{tab === 'console' && <ConsoleTab view={view} />}</Panel>
          </Tab>
          <Tab eventKey="vnc" title={<TabTitleText>VNC</TabTitleText>}>
            <Panel>{tab === 'vnc' && <VncTab view={view} />}</Panel>
          </Tab>
          <Tab eventKey="yaml" title={<TabTitleText>YAML</TabTitleText>}>
            <Panel>{tab === 'yaml' && <YamlTab vm={view.vm} />}</Panel>
          </Tab>
        </Tabs>
      </PageSection>
    </>
  );
}

const Panel = ({ children }: { children: React.ReactNode }) => (
  <PageSection isFilled>
    <Suspense fallback={<Loading />}>{children}</Suspense>
  </PageSection>
);
