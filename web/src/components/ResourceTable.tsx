/**
 * A declarative resource list: rows, a key, and columns that say how to show and sort a row. The
 * VM list (and the catalog pages to come) are one of these plus their column definitions.
 */
import { Checkbox } from '@patternfly/react-core';
import { Table, Tbody, Td, Th, Thead, Tr, type ThProps } from '@patternfly/react-table';
import { useMemo, useState, type ReactNode } from 'react';

export interface Column<T> {
  id: string;
  title: string;
  cell: (row: T) => ReactNode;
  /** Sortable when given. */
  sortValue?: (row: T) => string | number;
  width?: ThProps['width'];
  /** Hidden below this breakpoint, so narrow screens keep the essential columns. */
  visibleFrom?: 'md' | 'lg' | 'xl';
}

export interface Selection {
  selected: ReadonlySet<string>;
  onChange: (selected: Set<string>) => void;
}

export interface ResourceTableProps<T> {
  ariaLabel: string;
  rows: readonly T[];
  rowKey: (row: T) => string;
  columns: readonly Column<T>[];
  selection?: Selection;
  /** The last cell of each row (a kebab of actions). */
  rowActions?: (row: T) => ReactNode;
}

export function ResourceTable<T>({
  ariaLabel,
  rows,
  rowKey,
  columns,
  selection,
  rowActions,
}: ResourceTableProps<T>) {
  const [sort, setSort] = useState<{ index: number; direction: 'asc' | 'desc' }>({
    index: 0,
    direction: 'asc',
  });
  const sorted = useMemo(() => {
    const by = columns[sort.index]?.sortValue;
    if (by === undefined) return rows;
    const factor = sort.direction === 'asc' ? 1 : -1;
    return [...rows].sort((a, b) => {
      const x = by(a);
      const y = by(b);
      return (
        (typeof x === 'number' && typeof y === 'number' ? x - y : String(x).localeCompare(String(y))) * factor
      );
    });
  }, [rows, columns, sort]);
  const keys = sorted.map(rowKey);
  const allSelected =
    selection !== undefined && keys.length > 0 && keys.every((k) => selection.selected.has(k));
  return (
    <Table aria-label={ariaLabel} variant="compact">
      <Thead>
        <Tr>
          {selection !== undefined && (
            <Th
              aria-label="Select all"
              select={{
                isSelected: allSelected,
                onSelect: (_e, checked) => selection.onChange(new Set(checked ? keys : [])),
              }}
            />
          )}
          {columns.map((c, index) => (
            <Th
              key={c.id}
              modifier="wrap"
              {...(c.width !== undefined ? { width: c.width } : {})}
              {...visibility(c)}
              {...(c.sortValue !== undefined
                ? {
                    sort: {
                      columnIndex: index,
                      sortBy: { index: sort.index, direction: sort.direction },
                      onSort: (_e, i, direction) => setSort({ index: i, direction }),
                    },
                  }
                : {})}
            >
              {c.title}
            </Th>
          ))}
          {rowActions !== undefined && <Th screenReaderText="Actions" />}
        </Tr>
      </Thead>
      <Tbody>
        {sorted.map((row) => {
          const key = rowKey(row);
          return (
            <Tr key={key} data-testid={`row-${key}`}>
              {selection !== undefined && (
                <Td className="pf-v6-c-table__check">
                  <Checkbox
                    id={`select-${key}`}
                    aria-label={`Select ${key}`}
                    isChecked={selection.selected.has(key)}
                    onChange={(_e, checked) => {
                      const next = new Set(selection.selected);
                      if (checked) next.add(key);
                      else next.delete(key);
                      selection.onChange(next);
                    }}
                  />
                </Td>
              )}
              {columns.map((c) => (
                <Td key={c.id} dataLabel={c.title} data-testid={`cell-${c.id}`} {...visibility(c)}>
                  {c.cell(row)}
                </Td>
              ))}
              {rowActions !== undefined && <Td isActionCell>{rowActions(row)}</Td>}
            </Tr>
          );
        })}
      </Tbody>
    </Table>
  );
}

const VISIBLE_ON = { md: 'visibleOnMd', lg: 'visibleOnLg', xl: 'visibleOnXl' } as const;

function visibility<T>(c: Column<T>): { visibility?: NonNullable<ThProps['visibility']> } {
  return c.visibleFrom === undefined ? {} : { visibility: ['hidden', VISIBLE_ON[c.visibleFrom]] };
}
