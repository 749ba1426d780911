/**
 * The BackupClass picker of "Back up now" and of a new backup plan: every class (cluster-scoped,
 * one shared watch), those without a strategy for the application's kind disabled with the
 * reason, `default` preselected when it fits. When there is nothing to pick (the list forbidden by
 * RBAC, not loaded yet, empty, or no class fits) the choice says why, and the caller disables its
 * button with that reason.
 */
import { FormSelect, FormSelectOption } from '@patternfly/react-core';
import { useMemo } from 'react';
import { BACKUP_CLASSES } from '../api/resources';
import type { BackupClass } from '../api/types';
import { useWatchList } from '../api/useWatch';
import { classChoice, type AppRef, type ClassChoice } from './backups';

export function useClassChoice(app: Omit<AppRef, 'name'>, enabled: boolean): ClassChoice {
  const list = useWatchList<BackupClass>(BACKUP_CLASSES, { enabled });
  const { apiGroup, kind } = app;
  return useMemo(() => classChoice(list, { apiGroup, kind }), [list, apiGroup, kind]);
}

export function BackupClassSelect({
  id,
  choice,
  value,
  onChange,
  describedBy,
}: {
  id: string;
  choice: ClassChoice;
  value: string | undefined;
  onChange: (name: string) => void;
  describedBy?: string;
}) {
  return (
    <FormSelect
      id={id}
      value={value ?? ''}
      onChange={(_e, v) => onChange(v)}
      isDisabled={choice.preselected === undefined}
      aria-label="Backup class"
      {...(describedBy !== undefined ? { 'aria-describedby': describedBy } : {})}
    >
      {choice.options.length === 0 && <FormSelectOption value="" label="No backup class" isDisabled />}
      {choice.options.map((o) => (
        <FormSelectOption
          key={o.name}
          value={o.name}
          label={o.why === undefined ? o.name : `${o.name} (${o.why})`}
          isDisabled={o.why !== undefined}
        />
      ))}
    </FormSelect>
  );
}
