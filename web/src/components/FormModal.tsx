/**
 * A small form in a modal: its fields, a submit that talks to the API, and the API's answer when
 * it refuses (the Status message and one line per cause, with its field path). Used by every
 * "add", "create", "resize" and "expose" of the detail and catalog pages. A form that names its
 * API fields (`fields`) gets their causes under the inputs (`FieldHelp`), the rest in the alert.
 */
import {
  Alert,
  Button,
  Form,
  FormHelperText,
  HelperText,
  HelperTextItem,
  Modal,
  ModalBody,
  ModalFooter,
  ModalHeader,
} from '@patternfly/react-core';
import { createContext, useContext, useState, type ReactNode } from 'react';
import { ApiStatusError, causeText, errorMessage } from '../api/client';
import type { StatusCause } from '../api/types';

/** Whether a cause is about `path` or a field under it (`spec.retention` covers `spec.retention.count`). */
export const causeIsAbout = (cause: StatusCause, path: string): boolean => {
  const f = cause.field ?? '';
  return f === path || f.startsWith(`${path}.`) || f.startsWith(`${path}[`);
};

const CausesContext = createContext<readonly StatusCause[]>([]);

/** The messages of the causes about any of `paths` in the modal's last refusal. */
export function useFieldErrors(paths: readonly string[]): string[] {
  const causes = useContext(CausesContext);
  return causes.filter((c) => paths.some((p) => causeIsAbout(c, p))).map((c) => c.message);
}

/**
 * Under an input: the API's causes about its `paths` (testid `ID-error`), else its help text.
 * Give the input `aria-describedby={`${id}-help`}` and `validated` from `useFieldErrors`.
 */
export function FieldHelp({
  id,
  paths,
  children,
}: {
  id: string;
  paths: readonly string[];
  children?: ReactNode;
}) {
  const errors = useFieldErrors(paths);
  if (errors.length === 0 && children === undefined) return null;
  return (
    <FormHelperText>
      <HelperText id={`${id}-help`} isLiveRegion>
        {errors.length > 0 ? (
          errors.map((e) => (
            <HelperTextItem key={e} variant="error" data-testid={`${id}-error`}>
              {e}
            </HelperTextItem>
          ))
        ) : (
          <HelperTextItem>{children}</HelperTextItem>
        )}
      </HelperText>
    </FormHelperText>
  );
}

/** `validated` of an input whose API fields are `paths`. */
export const useValidated = (paths: readonly string[]): 'error' | 'default' =>
  useFieldErrors(paths).length > 0 ? 'error' : 'default';

export function FormModal({
  id,
  title,
  submitLabel,
  onSubmit,
  onClose,
  fields = [],
  children,
}: {
  id: string;
  title: string;
  submitLabel: string;
  /** API field paths shown under their inputs (FieldHelp) rather than in the alert. */
  fields?: readonly string[];
  /** Resolves when done (the modal closes); throws to show the error. */
  onSubmit: () => Promise<void>;
  onClose: () => void;
  children: ReactNode;
}) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<{ title: string; lines: string[] } | undefined>(undefined);
  const [causes, setCauses] = useState<readonly StatusCause[]>([]);
  const submit = async () => {
    setBusy(true);
    setError(undefined);
    setCauses([]);
    try {
      await onSubmit();
      onClose();
    } catch (err) {
      const all = err instanceof ApiStatusError ? err.causes : [];
      const elsewhere = all.filter((c) => !fields.some((f) => causeIsAbout(c, f)));
      setCauses(all);
      setError(
        err instanceof ApiStatusError
          ? { title: err.message, lines: elsewhere.map(causeText) }
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
          <CausesContext.Provider value={causes}>{children}</CausesContext.Provider>
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
