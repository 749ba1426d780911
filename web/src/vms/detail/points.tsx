/**
 * What the Snapshots and Backups tabs share: both list a VM's restore points (newest first) with
 * the same three actions (restore onto this VM, restore into a new one, delete; each disabled
 * with the reason), a "take one now" bar, the restores made from them, and the same answer when
 * the server does not serve their API group. Each tab gives its own rows, columns and reasons.
 */
import {
  Alert,
  Button,
  Checkbox,
  Content,
  EmptyState,
  EmptyStateBody,
  Flex,
  FlexItem,
} from '@patternfly/react-core';
import type { ReactNode } from 'react';
import { SectionTitle } from '../../catalog/CatalogPage';
import { ResourceTable, type Column } from '../../components/ResourceTable';
import { RowMenu } from '../../components/RowMenu';

export function NotServed({ what, group }: { what: string; group: string }) {
  return (
    <EmptyState titleText={`${what} are not available`} headingLevel="h2">
      <EmptyStateBody>This server does not serve {group}.</EmptyStateBody>
    </EmptyState>
  );
}

/** The tab's first line: what to pick (if anything), the button, and what it does or why not. */
export function TakeBar({
  id,
  label,
  onClick,
  why,
  note,
  picker,
}: {
  id: string;
  label: string;
  onClick: () => void;
  why: string | undefined;
  note: ReactNode;
  picker?: ReactNode;
}) {
  return (
    <Flex className="hk-gap-below" alignItems={{ default: 'alignItemsCenter' }}>
      {picker !== undefined && <FlexItem>{picker}</FlexItem>}
      <FlexItem>
        <Button
          variant="secondary"
          onClick={onClick}
          isAriaDisabled={why !== undefined}
          aria-describedby={`${id}-why`}
        >
          {label}
        </Button>
      </FlexItem>
      <FlexItem>
        <Content component="small" id={`${id}-why`}>
          {why ?? note}
        </Content>
      </FlexItem>
    </Flex>
  );
}

export interface PointActions<R> {
  whyNoRestore: (row: R) => string | undefined;
  whyNoDelete: (row: R) => string | undefined;
  restore: (row: R, toNew: boolean) => void;
  remove: (row: R) => void;
}

/** The restore points, or what the tab says while there are none. */
export function PointsTable<R extends { name: string }>({
  noun,
  rows,
  loaded,
  error,
  columns,
  actions,
}: {
  /** `snapshot`, `backup`: the table is its plural, the empty text and menus name it. */
  noun: string;
  rows: readonly R[];
  loaded: boolean;
  error: Error | undefined;
  columns: readonly Column<R>[];
  actions: PointActions<R>;
}) {
  return (
    <>
      {error !== undefined && (
        <Alert variant="warning" isInline title="The list could not be refreshed" className="hk-gap-below">
          {error.message}
        </Alert>
      )}
      {rows.length === 0 ? (
        <Content component="p" className="hk-subtle">
          {loaded ? `No ${noun} of this VM yet.` : `Loading ${noun}s…`}
        </Content>
      ) : (
        <ResourceTable
          ariaLabel={`${noun[0]?.toUpperCase() ?? ''}${noun.slice(1)}s`}
          rows={rows}
          rowKey={(r) => r.name}
          columns={columns}
          rowActions={(r) => (
            <RowMenu
              label={`Actions for ${noun} "${r.name}"`}
              items={[
                {
                  id: 'restore',
                  label: 'Restore to this VM',
                  onClick: () => actions.restore(r, false),
                  why: actions.whyNoRestore(r),
                },
                {
                  id: 'restore-new',
                  label: 'Restore to a new VM',
                  onClick: () => actions.restore(r, true),
                  why: actions.whyNoRestore(r),
                },
                {
                  id: 'delete',
                  label: 'Delete',
                  danger: true,
                  why: actions.whyNoDelete(r),
                  onClick: () => actions.remove(r),
                },
              ]}
            />
          )}
        />
      )}
    </>
  );
}

/** The restores made from the tab's points; nothing while there are none. */
export function RestoresSection<R extends { name: string }>({
  rows,
  columns,
}: {
  rows: readonly R[];
  columns: readonly Column<R>[];
}) {
  if (rows.length === 0) return null;
  return (
    <>
      <SectionTitle>Restores</SectionTitle>
      <ResourceTable ariaLabel="Restores" rows={rows} rowKey={(r) => r.name} columns={columns} />
    </>
  );
}

/** A restore in place while the VM runs: the warning, and the choice to let the restore stop it. */
export function StopChoice({
  id,
  label,
  description,
  stop,
  onChange,
  children,
}: {
  id: string;
  label: string;
  description?: string;
  stop: boolean;
  onChange: (stop: boolean) => void;
  /** Why the VM must stop. */
  children: ReactNode;
}) {
  return (
    <>
      <Alert variant="warning" isInline title="The VM is running">
        {children}
      </Alert>
      <Checkbox
        id={id}
        label={label}
        {...(description !== undefined ? { description } : {})}
        isChecked={stop}
        onChange={(_e, v) => onChange(v)}
      />
    </>
  );
}
