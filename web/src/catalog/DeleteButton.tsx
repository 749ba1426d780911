/**
 * Deleting a row's object: a confirmation, then DELETE; the API's refusal shows as a toast through
 * `onError`. As a button (`DeleteButton`) or as an item of a row's kebab (`useDelete`).
 */
import { Button, Tooltip } from '@patternfly/react-core';
import { useState } from 'react';
import { api, errorMessage } from '../api/client';
import { ConfirmModal } from '../components/ActionsMenu';
import type { RowMenuItem } from '../components/RowMenu';

/** `ask(path, what)` opens the confirmation; render `modal` somewhere in the page. */
export function useDelete(onError: (message: string) => void): {
  ask: (path: string, what: string) => void;
  modal: React.ReactNode;
} {
  const [target, setTarget] = useState<{ path: string; what: string } | undefined>(undefined);
  const modal =
    target === undefined ? null : (
      <ConfirmModal
        title={`Delete ${target.what}?`}
        verb="Delete"
        onCancel={() => setTarget(undefined)}
        onConfirm={() => {
          setTarget(undefined);
          api
            .delete(target.path)
            .catch((err: unknown) => onError(`Delete ${target.what}: ${errorMessage(err)}`));
        }}
      >
        It is removed from the server. This cannot be undone.
      </ConfirmModal>
    );
  return { ask: (path, what) => setTarget({ path, what }), modal };
}

/** A row menu's last item: Delete, disabled with `why`, else confirmed through `ask` (useDelete). */
export const deleteItem = (
  ask: (path: string, what: string) => void,
  why: string | undefined,
  path: string,
  what: string,
): RowMenuItem => ({ id: 'delete', label: 'Delete', danger: true, why, onClick: () => ask(path, what) });

export function DeleteButton({
  path,
  what,
  onError,
  why,
}: {
  path: string;
  /** `DataVolume "x"`. */
  what: string;
  onError: (message: string) => void;
  /** Why it may not be deleted now: the button stays, disabled, saying so. */
  why?: string | undefined;
}) {
  const { ask, modal } = useDelete(onError);
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
      <Button variant="link" isInline isDanger onClick={() => ask(path, what)} aria-label={`Delete ${what}`}>
        Delete
      </Button>
      {modal}
    </>
  );
}
