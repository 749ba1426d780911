/** A row's delete, confirmed first; the API's refusal shows as a toast through `onError`. */
import { Button } from '@patternfly/react-core';
import { useState } from 'react';
import { api, errorMessage } from '../api/client';
import { ConfirmModal } from '../components/ActionsMenu';

export function DeleteButton({
  path,
  what,
  onError,
}: {
  path: string;
  /** `DataVolume "x"`. */
  what: string;
  onError: (message: string) => void;
}) {
  const [confirming, setConfirming] = useState(false);
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
