/**
 * A small history router: the console's pages are few and their URLs stable, so a route is a parsed
 * pathname under /console/. `hikube up` answers every /console/* path with the app.
 */
import { useSyncExternalStore } from 'react';

export const BASE = '/console';

/** The catalog pages of the navigation, by their path segment. */
export const CATALOG_PAGES = [
  'images',
  'volumes',
  'networks',
  'services',
  'instancetypes',
  'snapshotschedules',
  'backupplans',
  'vminstances',
  'vmdisks',
] as const;
export type CatalogPage = (typeof CATALOG_PAGES)[number];

export type Route =
  | { page: 'vms' }
  | { page: CatalogPage }
  | { page: 'create' }
  | { page: 'vm'; namespace: string; name: string; tab: VmTab }
  | { page: 'notFound'; path: string };

export const VM_TABS = [
  'overview',
  'metrics',
  'disks',
  'network',
  'snapshots',
  'backups',
  'console',
  'vnc',
  'yaml',
] as const;
export type VmTab = (typeof VM_TABS)[number];

export function parseRoute(pathname: string): Route {
  const rest = pathname.startsWith(BASE) ? pathname.slice(BASE.length) : pathname;
  const parts = rest
    .split('/')
    .filter((p) => p !== '')
    .map(decodeURIComponent);
  if (parts.length === 0 || (parts.length === 1 && parts[0] === 'vms')) return { page: 'vms' };
  if (parts.length === 2 && parts[0] === 'vms' && parts[1] === 'new') return { page: 'create' };
  if (parts.length === 1 && (CATALOG_PAGES as readonly string[]).includes(parts[0] ?? ''))
    return { page: parts[0] as CatalogPage };
  if (parts[0] === 'ns' && parts[2] === 'vms' && parts.length >= 4 && parts.length <= 5) {
    const tab = (VM_TABS as readonly string[]).includes(parts[4] ?? '') ? (parts[4] as VmTab) : 'overview';
    return { page: 'vm', namespace: parts[1] ?? '', name: parts[3] ?? '', tab };
  }
  return { page: 'notFound', path: pathname };
}

export function hrefOf(route: Route): string {
  switch (route.page) {
    case 'vms':
      return `${BASE}/vms`;
    case 'create':
      return `${BASE}/vms/new`;
    case 'vm': {
      const base = `${BASE}/ns/${encodeURIComponent(route.namespace)}/vms/${encodeURIComponent(route.name)}`;
      return route.tab === 'overview' ? base : `${base}/${route.tab}`;
    }
    case 'notFound':
      return route.path;
    default:
      return `${BASE}/${route.page}`;
  }
}

const listeners = new Set<() => void>();
window.addEventListener('popstate', () => listeners.forEach((l) => l()));

export function navigate(route: Route | string, replace = false): void {
  const href = typeof route === 'string' ? route : hrefOf(route);
  if (replace) history.replaceState(null, '', href);
  else history.pushState(null, '', href);
  listeners.forEach((l) => l());
}

export function useRoute(): Route {
  const pathname = useSyncExternalStore(
    (l) => {
      listeners.add(l);
      return () => listeners.delete(l);
    },
    () => location.pathname,
  );
  return parseRoute(pathname);
}

/** onClick for an <a href>: client-side navigation unless the user asked for a new tab. */
export function linkClick(route: Route): (e: React.MouseEvent) => void {
  return (e) => {
    if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    e.preventDefault();
    navigate(route);
  };
}
