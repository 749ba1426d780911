/**
 * One labelled text input of a FormModal: its help text, or the API's causes about its field
 * paths in its place (red, with the input marked). Every create and restore form builds its text
 * inputs from this, so a refusal always shows under the input it is about.
 */
import { FormGroup, TextInput } from '@patternfly/react-core';
import type { ReactNode } from 'react';
import { FieldHelp, useValidated } from './FormModal';

export function TextField({
  id,
  label,
  value,
  onChange,
  paths,
  isRequired = false,
  mono = false,
  placeholder,
  children,
}: {
  id: string;
  label: string;
  value: string;
  onChange: (v: string) => void;
  /** The API fields this input fills. */
  paths: readonly string[];
  isRequired?: boolean;
  mono?: boolean;
  placeholder?: string;
  /** The help text. */
  children: ReactNode;
}) {
  const validated = useValidated(paths);
  return (
    <FormGroup label={label} fieldId={id} isRequired={isRequired}>
      <TextInput
        id={id}
        value={value}
        isRequired={isRequired}
        className={mono ? 'hk-mono' : ''}
        onChange={(_e, v) => onChange(v)}
        validated={validated}
        aria-describedby={`${id}-help`}
        {...(placeholder !== undefined ? { placeholder } : {})}
      />
      <FieldHelp id={id} paths={paths}>
        {children}
      </FieldHelp>
    </FormGroup>
  );
}
