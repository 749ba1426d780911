/**
 * Renders API objects for the terminal: -o table|wide|json|yaml|name. Tables come from the
 * server (as=Table) so the CLI shows the same columns as kubectl.
 */
import { stringify } from 'yaml';
import type { KubeObject } from '../api/meta.js';
import { UsageError } from './errors.js';

export const OUTPUT_FORMATS = ['table', 'wide', 'json', 'yaml', 'name'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

/** The `-o` of a listing command, checked: an unknown format is a usage error naming the known ones. */
export function outputFormat(value: string | undefined): OutputFormat {
  const format = (value ?? 'table') as OutputFormat;
  if (!OUTPUT_FORMATS.includes(format))
    throw new UsageError(`unknown output format ${JSON.stringify(value)}: use ${OUTPUT_FORMATS.join('|')}`);
  return format;
}

/** `-o` and `-A`, the flags every listing command takes besides the connection's. */
export const listFlags = {
  output: { type: 'string', short: 'o', default: 'table' },
  'all-namespaces': { type: 'boolean', short: 'A' },
} as const;

export interface Table {
  columnDefinitions: { name: string; priority: number }[];
  rows: { cells: unknown[]; object?: { metadata?: { namespace?: string } } }[];
}

export function renderTable(table: Table, wide: boolean, withNamespace: boolean): string {
  const shown = table.columnDefinitions.map((c, i) => ({ c, i })).filter(({ c }) => wide || c.priority === 0);
  const header = [...(withNamespace ? ['NAMESPACE'] : []), ...shown.map(({ c }) => c.name.toUpperCase())];
  const rows = table.rows.map((r) => [
    ...(withNamespace ? [r.object?.metadata?.namespace ?? ''] : []),
    ...shown.map(({ i }) => cellText(r.cells[i])),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  return [header, ...rows]
    .map((r) =>
      r
        .map((v, i) => (i === r.length - 1 ? v : v.padEnd((widths[i] ?? 0) + 3)))
        .join('')
        .trimEnd(),
    )
    .join('\n');
}

const cellText = (v: unknown): string =>
  v === null || v === undefined
    ? '<none>'
    : typeof v === 'string'
      ? v
      : typeof v === 'number' || typeof v === 'boolean'
        ? v.toString()
        : JSON.stringify(v);

/** A single object, or a List when there are several (as kubectl prints them). */
export function renderObjects(
  objects: KubeObject[],
  format: 'json' | 'yaml' | 'name',
  single: boolean,
  resource: string,
  group: string,
): string {
  if (format === 'name')
    return objects
      .map((o) => `${group === '' ? resource : `${resource}.${group}`}/${o.metadata.name ?? ''}`)
      .join('\n');
  const value =
    single && objects.length === 1
      ? objects[0]
      : { apiVersion: 'v1', kind: 'List', metadata: { resourceVersion: '' }, items: objects };
  return format === 'json' ? JSON.stringify(value, null, 2) : stringify(value).trimEnd();
}
