/**
 * The console's shell: the login gate, the user's access (AccessProvider), the masthead (who is
 * signed in, the namespace picker) and navigation, and the page for the route.
 * Every page is a lazy chunk: the first load is the shell and the login form.
 */
import {
  Button,
  Masthead,
  MastheadBrand,
  MastheadContent,
  MastheadLogo,
  MastheadMain,
  MastheadToggle,
  PageToggleButton,
  Nav,
  NavItem,
  NavList,
  Page,
  PageSidebar,
  PageSidebarBody,
  SkipToContent,
  Toolbar,
  ToolbarContent,
  ToolbarItem,
  EmptyState,
  EmptyStateBody,
} from '@patternfly/react-core';
import { Suspense, useEffect, useState } from 'react';
import { AccessProvider } from '../auth/AccessContext';
import { LoginPage } from '../auth/LoginPage';
import { NamespacePicker, WhoAmI } from '../auth/NamespacePicker';
import { Loading } from '../components/Loading';
import { getToken, onSessionChange, signOut } from '../auth/session';
import { PageErrorBoundary } from '../components/PageErrorBoundary';
import { lazyRetry } from './lazy';
import { hrefOf, linkClick, useRoute, type Route } from './router';

const VmListPage = lazyRetry(() => import('../vms/VmListPage').then((m) => ({ default: m.VmListPage })));
const CreateVmPage = lazyRetry(() => import('../vms/create/CreateVmPage'));
const VmDetailPage = lazyRetry(() => import('../vms/detail/VmDetailPage'));
const ImagesPage = lazyRetry(() => import('../catalog/ImagesPage'));
const VolumesPage = lazyRetry(() => import('../catalog/VolumesPage'));
const NetworksPage = lazyRetry(() => import('../catalog/NetworksPage'));
const ServicesPage = lazyRetry(() => import('../catalog/ServicesPage'));
const InstanceTypesPage = lazyRetry(() => import('../catalog/InstanceTypesPage'));
const SnapshotSchedulesPage = lazyRetry(() => import('../catalog/SnapshotSchedulesPage'));
const BackupPlansPage = lazyRetry(() => import('../catalog/BackupPlansPage'));
const VmInstancesPage = lazyRetry(() => import('../hikube/VmInstancesPage'));
const VmDisksPage = lazyRetry(() => import('../hikube/VmDisksPage'));

/** The navigation: each section and the routes that belong to it. */
const SECTIONS: { route: Route; label: string; owns: Route['page'][] }[] = [
  { route: { page: 'vms' }, label: 'Virtual machines', owns: ['vms', 'create', 'vm'] },
  { route: { page: 'vminstances' }, label: 'VM instances', owns: ['vminstances'] },
  { route: { page: 'vmdisks' }, label: 'VM disks', owns: ['vmdisks'] },
  { route: { page: 'images' }, label: 'Images', owns: ['images'] },
  { route: { page: 'volumes' }, label: 'Volumes', owns: ['volumes'] },
  { route: { page: 'networks' }, label: 'Networks', owns: ['networks'] },
  { route: { page: 'services' }, label: 'Services', owns: ['services'] },
  { route: { page: 'instancetypes' }, label: 'Instance types', owns: ['instancetypes'] },
  { route: { page: 'snapshotschedules' }, label: 'Snapshot schedules', owns: ['snapshotschedules'] },
  { route: { page: 'backupplans' }, label: 'Backup plans', owns: ['backupplans'] },
];

export function App() {
  const [token, setToken] = useState(getToken());
  const [reason, setReason] = useState<string | undefined>(undefined);
  useEffect(
    () =>
      onSessionChange((why) => {
        setToken(getToken());
        setReason(why);
      }),
    [],
  );
  if (token === undefined) return <LoginPage reason={reason} />;
  return (
    <AccessProvider>
      <Shell />
    </AccessProvider>
  );
}

function Shell() {
  const route = useRoute();
  useEffect(() => {
    document.title =
      route.page === 'vm'
        ? `${route.name} · Hikube VMs`
        : route.page === 'create'
          ? 'Create VM · Hikube VMs'
          : 'Virtual machines · Hikube VMs';
  }, [route]);
  const masthead = (
    <Masthead>
      <MastheadMain>
        <MastheadToggle>
          <PageToggleButton isHamburgerButton aria-label="Navigation" />
        </MastheadToggle>
        <MastheadBrand>
          <MastheadLogo href={hrefOf({ page: 'vms' })} onClick={linkClick({ page: 'vms' })}>
            <span className="hk-brand">Hikube VMs</span>
          </MastheadLogo>
        </MastheadBrand>
      </MastheadMain>
      <MastheadContent>
        <Toolbar isFullHeight className="hk-masthead-tools">
          <ToolbarContent>
            <ToolbarItem align={{ default: 'alignEnd' }}>
              <NamespacePicker />
            </ToolbarItem>
            <ToolbarItem>
              <WhoAmI />
            </ToolbarItem>
            <ToolbarItem>
              <Button variant="secondary" onClick={() => signOut()}>
                Log out
              </Button>
            </ToolbarItem>
          </ToolbarContent>
        </Toolbar>
      </MastheadContent>
    </Masthead>
  );
  const sidebar = (
    <PageSidebar>
      <PageSidebarBody>
        <Nav aria-label="Console sections">
          <NavList>
            {SECTIONS.map((s) => (
              <NavItem
                key={s.route.page}
                itemId={s.route.page}
                isActive={s.owns.includes(route.page)}
                to={hrefOf(s.route)}
                onClick={(e) => linkClick(s.route)(e as unknown as React.MouseEvent)}
              >
                {s.label}
              </NavItem>
            ))}
          </NavList>
        </Nav>
      </PageSidebarBody>
    </PageSidebar>
  );
  return (
    <Page
      masthead={masthead}
      sidebar={sidebar}
      isManagedSidebar
      mainContainerId="main"
      skipToContent={<SkipToContent href="#main">Skip to content</SkipToContent>}
    >
      <PageErrorBoundary resetKey={hrefOf(route)}>
        <Suspense fallback={<Loading />}>
          {route.page === 'vms' && <VmListPage />}
          {route.page === 'create' && <CreateVmPage />}
          {route.page === 'vm' && (
            <VmDetailPage namespace={route.namespace} name={route.name} tab={route.tab} />
          )}
          {route.page === 'images' && <ImagesPage />}
          {route.page === 'volumes' && <VolumesPage />}
          {route.page === 'networks' && <NetworksPage />}
          {route.page === 'services' && <ServicesPage />}
          {route.page === 'instancetypes' && <InstanceTypesPage />}
          {route.page === 'snapshotschedules' && <SnapshotSchedulesPage />}
          {route.page === 'backupplans' && <BackupPlansPage />}
          {route.page === 'vminstances' && <VmInstancesPage />}
          {route.page === 'vmdisks' && <VmDisksPage />}
          {route.page === 'notFound' && (
            <EmptyState titleText="Page not found" headingLevel="h1">
              <EmptyStateBody>Nothing lives at {route.path}.</EmptyStateBody>
            </EmptyState>
          )}
        </Suspense>
      </PageErrorBoundary>
    </Page>
  );
}
