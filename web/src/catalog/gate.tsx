/**
 * RBAC on the catalog pages' own buttons, as the VM pages have it: a button the signed-in user may
 * not use stays, disabled, with the reason from their SelfSubjectRulesReview (AccessContext's
 * `may`). With "All namespaces" picked the target namespace is not known yet: the button is
 * enabled and the API server decides.
 */
import { Button, Tooltip } from '@patternfly/react-core';
import type { ReactNode } from 'react';
import type { Resource } from '../api/resources';
import { useAccess } from '../auth/AccessContext';

/** `(verb, resource, namespace?)` → true, or why not; the namespace defaults to the picked one. */
export function useMay(): (verb: string, r: Resource, namespace?: string) => true | string {
  const { may, namespace: picked } = useAccess();
  return (verb, r, namespace = picked) =>
    namespace === undefined ? true : may({ verb, group: r.group, resource: r.plural }, namespace);
}

/** Why not, or undefined when allowed: what `why` props (row menus, DeleteButton) take. */
export const whyNot = (answer: true | string): string | undefined => (answer === true ? undefined : answer);

/** A page's create button: disabled, with the reason in a tooltip and its description, when RBAC says no. */
export function CreateButton({
  id,
  allowed,
  onClick,
  children,
}: {
  id: string;
  allowed: true | string;
  onClick: () => void;
  children: ReactNode;
}) {
  const why = whyNot(allowed);
  const button = (
    <Button
      variant="primary"
      onClick={onClick}
      isAriaDisabled={why !== undefined}
      data-testid={id}
      {...(why !== undefined ? { 'aria-describedby': `${id}-why` } : {})}
    >
      {children}
    </Button>
  );
  if (why === undefined) return button;
  return (
    <>
      <Tooltip content={why}>{button}</Tooltip>
      <span id={`${id}-why`} hidden>
        {why}
      </span>
    </>
  );
}
