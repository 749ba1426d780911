/**
 * A 403 from the API shown as what it is: what the page wanted to read, and the server's message
 * (which names the user, verb and resource, as kube-apiserver's does). Never a blank page or a
 * spinner that waits forever.
 */
import { EmptyState, EmptyStateBody } from '@patternfly/react-core';
import { LockIcon } from '@patternfly/react-icons/dist/esm/icons/lock-icon';
import { ApiStatusError } from '../api/client';

/** The error when it is a 403 Forbidden, else undefined. */
export const forbidden = (err: Error | undefined): ApiStatusError | undefined =>
  err instanceof ApiStatusError && err.code === 403 ? err : undefined;

export function AccessDenied({ what, error }: { what: string; error: ApiStatusError }) {
  return (
    <EmptyState titleText="Access denied" headingLevel="h2" icon={LockIcon} data-testid="access-denied">
      <EmptyStateBody>
        You may not see {what}. The API server answered: {error.message}
      </EmptyStateBody>
    </EmptyState>
  );
}
