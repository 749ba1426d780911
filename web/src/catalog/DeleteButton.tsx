/** A row's delete, confirmed first; the API's refusal shows as a toast through `onError`. */
import { Button, Tooltip } from '@patternfly/react-core';
import { useState } from 'react';
import { api, errorMessage } from '../api/client';
import { ConfirmModal } from '../components/ActionsMenu';

export function DeleteButton({
  path,
  what,
  onError,
  why,
}: {
  path: string;
  /** Why it may not be deleted now: the button stays, disabled, saying so. */
  why?: string | undefined;
  /** `DataVolume "x"`. */
  what: string;
  onError: (message: string) => void;
}) {
  const [confirming, setConfirming] = useState(false);
  if (why !== undefined)
    return (
      <Tooltip content={why}>
        <Button variant="link" isInline isAriaDisabled aria-label={`Delete ${what}: ${why}`}>
          Delete
        </Button>
      </Tooltip>
    );
  return (
    <>
      <Button
        variant="link"
        isInline
        isDanger
        onClick={() => setConfirming(true)}
        aria-label={`Delete ${what}`}
      >
        Delete
      </Button>
      {confirming && (
        <ConfirmModal
          title={`Delete ${what}?`}
          verb="Delete"
          onCancel={() => setConfirming(false)}
          onConfirm={() => {
            setConfirming(false);
            api.delete(path).catch((err: unknown) => onError(`Delete ${what}: ${errorMessage(err)}`));
          }}
        >
          It is removed from the server. This cannot be undone.
        </ConfirmModal>
      )}
    </>
  );
}
