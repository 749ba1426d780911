/**
 * Renders action descriptors as a dropdown. A disabled item stays focusable and shows why it is
 * disabled; destructive ones ask for confirmation first. Failures are reported to `onError`.
 */
import {
  Button,
  Dropdown,
  DropdownItem,
  DropdownList,
  MenuToggle,
  Modal,
  ModalBody,
  ModalFooter,
  ModalHeader,
} from '@patternfly/react-core';
import { EllipsisVIcon } from '@patternfly/react-icons/dist/esm/icons/ellipsis-v-icon';
import { useState } from 'react';
import { errorMessage } from '../api/client';
import { whyNot, type Action } from './actions';

export interface ActionsMenuProps<T> {
  actions: readonly Action<T>[];
  target: T;
  /** Shown in confirmations: `Delete VM "tiny"?`. */
  targetName: string;
  onError: (message: string) => void;
  variant?: 'kebab' | 'button';
}

export function ActionsMenu<T>({
  actions,
  target,
  targetName,
  onError,
  variant = 'button',
}: ActionsMenuProps<T>) {
  const [open, setOpen] = useState(false);
  const [confirming, setConfirming] = useState<Action<T> | undefined>(undefined);
  const run = (action: Action<T>) => {
    action
      .run(target)
      .catch((err: unknown) => onError(`${action.label} ${targetName}: ${errorMessage(err)}`));
  };
  return (
    <>
      <Dropdown
        isOpen={open}
        onOpenChange={setOpen}
        popperProps={{ position: 'right' }}
        toggle={(ref) =>
          variant === 'kebab' ? (
            <MenuToggle
              ref={ref}
              variant="plain"
              aria-label={`Actions for ${targetName}`}
              onClick={() => setOpen(!open)}
              isExpanded={open}
              icon={<EllipsisVIcon />}
            />
          ) : (
            <MenuToggle ref={ref} onClick={() => setOpen(!open)} isExpanded={open}>
              Actions
            </MenuToggle>
          )
        }
      >
        <DropdownList>
          {actions.map((action) => {
            const reason = whyNot(action, target);
            return (
              <DropdownItem
                key={action.id}
                data-testid={`action-${action.id}`}
                isAriaDisabled={reason !== undefined}
                isDanger={action.danger === true && reason === undefined}
                {...(reason !== undefined ? { description: reason } : {})}
                onClick={() => {
                  setOpen(false);
                  if (reason !== undefined) return;
                  if (action.confirm !== undefined) setConfirming(action);
                  else run(action);
                }}
              >
                {action.label}
              </DropdownItem>
            );
          })}
        </DropdownList>
      </Dropdown>
      {confirming !== undefined && (
        <ConfirmModal
          title={`${confirming.confirm?.title ?? confirming.label} ${targetName}?`}
          verb={confirming.confirm?.verb ?? confirming.label}
          onConfirm={() => {
            run(confirming);
            setConfirming(undefined);
          }}
          onCancel={() => setConfirming(undefined)}
        >
          {confirming.id === 'delete'
            ? 'The VM, its instance and the disks it owns are deleted. This cannot be undone.'
            : 'The guest is powered off at once, without a chance to shut down cleanly.'}
        </ConfirmModal>
      )}
    </>
  );
}

export function ConfirmModal({
  title,
  verb,
  children,
  onConfirm,
  onCancel,
}: {
  title: string;
  verb: string;
  children: React.ReactNode;
  onConfirm: () => void;
  onCancel: () => void;
}) {
  return (
    <Modal
      isOpen
      variant="small"
      onClose={onCancel}
      aria-labelledby="confirm-title"
      aria-describedby="confirm-body"
    >
      <ModalHeader title={title} titleIconVariant="warning" labelId="confirm-title" />
      <ModalBody id="confirm-body">{children}</ModalBody>
      <ModalFooter>
        <Button variant="danger" onClick={onConfirm} data-testid="confirm">
          {verb}
        </Button>
        <Button variant="link" onClick={onCancel}>
          Cancel
        </Button>
      </ModalFooter>
    </Modal>
  );
}
