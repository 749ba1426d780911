/**
 * The masthead's view of the user's access: who is signed in (from SelfSubjectReview) and the
 * namespace picker, offering only the namespaces the user can see (and "All namespaces" to a user
 * who may list VMs in all of them).
 */
import { FormSelect, FormSelectOption } from '@patternfly/react-core';
import { useAccess } from './AccessContext';

const ALL = '';

export function NamespacePicker() {
  const { namespaces, everywhere, namespace, setNamespace } = useAccess();
  return (
    <FormSelect
      id="namespace-picker"
      aria-label="Namespace"
      value={namespace ?? ALL}
      onChange={(_e, v) => setNamespace(v === ALL ? undefined : v)}
    >
      {everywhere && <FormSelectOption value={ALL} label="All namespaces" />}
      {namespaces.length === 0 && !everywhere && (
        <FormSelectOption value={ALL} label="No namespace in reach" isDisabled />
      )}
      {namespaces.map((ns) => (
        <FormSelectOption key={ns} value={ns} label={ns} />
      ))}
    </FormSelect>
  );
}

export function WhoAmI() {
  const { user } = useAccess();
  return (
    <span className="hk-user" data-testid="whoami" title={user.groups.join(', ')}>
      {user.username}
    </span>
  );
}
