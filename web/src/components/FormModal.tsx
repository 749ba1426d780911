/**
 * A small form in a modal: its fields, a submit that talks to the API, and the API's answer when
 * it refuses (the Status message and one line per cause, with its field path). Used by every
 * "add", "create", "resize" and "expose" of the detail and catalog pages.
 */
import { Alert, Button, Form, Modal, ModalBody, ModalFooter, ModalHeader } from '@patternfly/react-core';
import { useState, type ReactNode } from 'react';
import { ApiStatusError, causeText, errorMessage } from '../api/client';

export function FormModal({
  id,
  title,
  submitLabel,
  onSubmit,
  onClose,
  children,
}: {
  id: string;
  title: string;
  submitLabel: string;
  /** Resolves when done (the modal closes); throws to show the error. */
  onSubmit: () => Promise<void>;
  onClose: () => void;
  children: ReactNode;
}) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<{ title: string; lines: string[] } | undefined>(undefined);
  const submit = async () => {
    setBusy(true);
    setError(undefined);
    try {
      await onSubmit();
      onClose();
    } catch (err) {
      setError(
        err instanceof ApiStatusError
          ? { title: err.message, lines: err.causes.map(causeText) }
          : { title: errorMessage(err), lines: [] },
      );
    } finally {
      setBusy(false);
    }
  };
  return (
    <Modal isOpen variant="small" onClose={onClose} aria-labelledby={`${id}-title`}>
      <ModalHeader title={title} labelId={`${id}-title`} />
      <ModalBody>
        <Form
          id={id}
          onSubmit={(e) => {
            e.preventDefault();
            void submit();
          }}
        >
          {error !== undefined && (
            <Alert variant="danger" isInline title={error.title} data-testid={`${id}-error`}>
              {error.lines.length > 0 && (
                <ul>
                  {error.lines.map((l) => (
                    <li key={l}>{l}</li>
                  ))}
                </ul>
              )}
            </Alert>
          )}
          {children}
        </Form>
      </ModalBody>
      <ModalFooter>
        <Button variant="primary" type="submit" form={id} isLoading={busy} isDisabled={busy}>
          {submitLabel}
        </Button>
        <Button variant="link" onClick={onClose}>
          Cancel
        </Button>
      </ModalFooter>
    </Modal>
  );
}
