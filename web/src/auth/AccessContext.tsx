/**
 * The signed-in user's access for every page: who they are, the namespaces they can see, the one
 * picked (or all, when they may list VMs everywhere), and `may`, which turns RBAC into an action's
 * enabled-or-why-not from the SelfSubjectRulesReview of the target's namespace (asked once per
 * namespace and session).
 */
import { Alert, PageSection } from '@patternfly/react-core';
import { createContext, useCallback, useContext, useEffect, useMemo, useRef, useState } from 'react';
import { errorMessage } from '../api/client';
import { Loading } from '../components/Loading';
import { canI, rulesIn, visibleNamespaces, whoAmI, type Identity } from './access';
import { allows, deniedReason, type Attempt, type ResourceRule } from './rules';

const PICKED = 'hikube.namespace';

export interface Access {
  user: Identity;
  namespaces: string[];
  /** The user may list VMs in every namespace, so "All namespaces" is offered. */
  everywhere: boolean;
  /** The picked namespace; undefined for all namespaces. */
  namespace: string | undefined;
  setNamespace: (namespace: string | undefined) => void;
  /** true when RBAC allows `attempt` in `namespace`, else why not (also while the rules load). */
  may: (attempt: Attempt, namespace: string) => true | string;
}

const AccessContext = createContext<Access | undefined>(undefined);

export function useAccess(): Access {
  const access = useContext(AccessContext);
  if (access === undefined) throw new Error('useAccess outside AccessProvider');
  return access;
}

interface Loaded {
  user: Identity;
  namespaces: string[];
  everywhere: boolean;
}

export function AccessProvider({ children }: { children: React.ReactNode }) {
  const [loaded, setLoaded] = useState<Loaded | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  const [picked, setPicked] = useState<string | undefined>(sessionStorage.getItem(PICKED) ?? undefined);
  const [rules, setRules] = useState<ReadonlyMap<string, ResourceRule[] | Error>>(new Map());
  const asked = useRef(new Set<string>());

  useEffect(() => {
    let live = true;
    void (async () => {
      const user = await whoAmI();
      const [namespaces, everywhere] = await Promise.all([
        visibleNamespaces(user),
        canI('list', 'kubevirt.io', 'virtualmachines'),
      ]);
      if (live) setLoaded({ user, namespaces, everywhere });
    })().catch((err: unknown) => live && setError(errorMessage(err)));
    return () => {
      live = false;
    };
  }, []);

  const may = useCallback(
    (attempt: Attempt, namespace: string): true | string => {
      const held = rules.get(namespace);
      if (!asked.current.has(namespace)) {
        asked.current.add(namespace);
        const keep = (r: ResourceRule[] | Error) => setRules((m) => new Map(m).set(namespace, r));
        rulesIn(namespace).then(keep, (err: unknown) => keep(new Error(errorMessage(err))));
      }
      if (held === undefined) return 'Checking your permissions…';
      if (held instanceof Error) return `Cannot read your permissions: ${held.message}`;
      return allows(held, attempt) || loaded === undefined
        ? true
        : deniedReason(loaded.user.username, attempt, namespace);
    },
    [loaded, rules],
  );

  const access = useMemo((): Access | undefined => {
    if (loaded === undefined) return undefined;
    const fallback = loaded.everywhere ? undefined : loaded.namespaces[0];
    const namespace = picked !== undefined && loaded.namespaces.includes(picked) ? picked : fallback;
    return {
      ...loaded,
      namespace,
      setNamespace: (ns) => {
        if (ns === undefined) sessionStorage.removeItem(PICKED);
        else sessionStorage.setItem(PICKED, ns);
        setPicked(ns);
      },
      may,
    };
    // `may` changes identity with each rules answer, so consumers re-render with the new rules.
  }, [loaded, picked, may]);

  if (error !== undefined)
    return (
      <PageSection>
        <Alert variant="danger" title="Cannot read who you are and what you may see">
          {error}
        </Alert>
      </PageSection>
    );
  if (access === undefined) return <Loading />;
  return <AccessContext.Provider value={access}>{children}</AccessContext.Provider>;
}

/** Where a page's namespaced lists read: the picked namespace, or every namespace (`{}`). */
export function useScope(): { namespace?: string } {
  const { namespace } = useAccess();
  return namespace === undefined ? {} : { namespace };
}
