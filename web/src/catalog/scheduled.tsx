/**
 * What the Snapshot schedules and Backup plans pages share: both list objects that run on a cron
 * schedule (UTC) with their last and next run, offer a gated "create" and a row menu ending in
 * Delete, answer the same way when the server does not serve their group or holds none, and
 * create through a form of text fields each tied to its API paths.
 */
import type { ReactNode } from 'react';
import type { KubeObject } from '../api/types';
import { type Column, ResourceTable } from '../components/ResourceTable';
import { RowMenu, type RowMenuItem } from '../components/RowMenu';
import { TextField } from '../components/TextField';
import { Ago, Until } from '../components/Time';
import { keyOf } from '../vms/selectors';
import { CatalogPage, Empty } from './CatalogPage';
import { CreateButton } from './gate';

/** "Last run" (never, or an age) and "Next run" (none when `next` is undefined). */
export function runColumns<T>(
  now: number,
  last: (row: T) => string | undefined,
  next: (row: T) => string | undefined,
): Column<T>[] {
  return [
    {
      id: 'last',
      title: 'Last run',
      cell: (row) => (last(row) === undefined ? 'never' : <Ago time={last(row)} now={now} />),
      visibleFrom: 'lg',
    },
    { id: 'next', title: 'Next run', cell: (row) => <Until time={next(row)} now={now} /> },
  ];
}

/** The page: its create button, then the list, or why there is none. */
export function ScheduledPage<T extends KubeObject>({
  title,
  description,
  create,
  served,
  notServed,
  list,
  empty,
  columns,
  menu,
  children,
}: {
  title: string;
  description: string;
  create: { id: string; label: string; allowed: true | string; onClick: () => void };
  /** undefined while discovery runs, null when the group is not served. */
  served: string | null | undefined;
  notServed: ReactNode;
  list: { items: readonly T[]; loaded: boolean; error: Error | undefined };
  empty: string;
  columns: readonly Column<T>[];
  /** The row's menu: its label and items (Delete last). */
  menu: (row: T) => { label: string; items: RowMenuItem[] };
  /** Notices and modals. */
  children: ReactNode;
}) {
  return (
    <CatalogPage
      title={title}
      description={description}
      loaded={served === null || list.loaded}
      error={list.error}
      toolbar={
        <CreateButton id={create.id} allowed={create.allowed} onClick={create.onClick}>
          {create.label}
        </CreateButton>
      }
    >
      {served === null ? (
        <Empty>{notServed}</Empty>
      ) : list.items.length === 0 ? (
        <Empty>{empty}</Empty>
      ) : (
        <ResourceTable
          ariaLabel={title}
          rows={list.items}
          rowKey={keyOf}
          columns={columns}
          rowActions={(row) => <RowMenu {...menu(row)} />}
        />
      )}
      {children}
    </CatalogPage>
  );
}

/** A create form's fields, in the order of `fields`: a text input each unless `custom` has one. */
export function FormFields<K extends string>({
  prefix,
  fields,
  labels,
  help,
  required,
  mono = [],
  value,
  onChange,
  custom = {},
}: {
  prefix: string;
  /** Each field's API paths (where the server's causes about it point). */
  fields: Record<K, readonly string[]>;
  labels: Record<K, string>;
  help: Record<K, string>;
  required: readonly K[];
  mono?: readonly K[];
  value: Record<K, string>;
  onChange: (field: K, value: string) => void;
  custom?: Partial<Record<K, ReactNode>>;
}) {
  return (Object.keys(fields) as K[]).map(
    (k) =>
      custom[k] ?? (
        <TextField
          key={k}
          id={`${prefix}-${k}`}
          label={labels[k]}
          value={value[k]}
          onChange={(v) => onChange(k, v)}
          paths={fields[k]}
          isRequired={required.includes(k)}
          mono={mono.includes(k)}
        >
          {help[k]}
        </TextField>
      ),
  );
}

/** The gate of a page's create button: served, then RBAC, then anything else the page needs. */
export const createAllowed = (
  served: string | null | undefined,
  group: string,
  may: true | string,
  also?: string,
): true | string =>
  served === null ? `This server does not serve ${group}` : may !== true ? may : (also ?? true);
