/**
 * The console's shell: the login gate, the masthead and navigation, and the page for the route.
 * Pages other than the VM list are lazy chunks.
 */
import {
  Button,
  Masthead,
  MastheadBrand,
  MastheadContent,
  MastheadLogo,
  MastheadMain,
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
import { lazy, Suspense, useEffect, useState } from 'react';
import { LoginPage } from '../auth/LoginPage';
import { Loading } from '../components/Loading';
import { getToken, onSessionChange, signOut } from '../auth/session';
import { VmListPage } from '../vms/VmListPage';
import { hrefOf, linkClick, useRoute } from './router';

const CreateVmPage = lazy(() => import('../vms/create/CreateVmPage'));
const VmDetailPage = lazy(() => import('../vms/detail/VmDetailPage'));

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
  return <Shell />;
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
        <MastheadBrand>
          <MastheadLogo href={hrefOf({ page: 'vms' })} onClick={linkClick({ page: 'vms' })}>
            <span className="hk-brand">Hikube VMs</span>
          </MastheadLogo>
        </MastheadBrand>
      </MastheadMain>
      <MastheadContent>
        <Toolbar isFullHeight>
          <ToolbarContent>
            <ToolbarItem align={{ default: 'alignEnd' }}>
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
            <NavItem
              itemId="vms"
              isActive={route.page !== 'notFound'}
              to={hrefOf({ page: 'vms' })}
              onClick={(e) => linkClick({ page: 'vms' })(e as unknown as React.MouseEvent)}
            >
              Virtual machines
            </NavItem>
          </NavList>
        </Nav>
      </PageSidebarBody>
    </PageSidebar>
  );
  return (
    <Page
      masthead={masthead}
      sidebar={sidebar}
      mainContainerId="main"
      skipToContent={<SkipToContent href="#main">Skip to content</SkipToContent>}
    >
      <Suspense fallback={<Loading />}>
        {route.page === 'vms' && <VmListPage />}
        {route.page === 'create' && <CreateVmPage />}
        {route.page === 'vm' && (
          <VmDetailPage namespace={route.namespace} name={route.name} tab={route.tab} />
        )}
        {route.page === 'notFound' && (
          <EmptyState titleText="Page not found" headingLevel="h1">
            <EmptyStateBody>Nothing lives at {route.path}.</EmptyStateBody>
          </EmptyState>
        )}
      </Suspense>
    </Page>
  );
}
