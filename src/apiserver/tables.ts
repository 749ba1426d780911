/**
 * `meta.k8s.io/v1 Table` responses for `kubectl get`: the server renders the columns (and dates as
 * ages, "5m"), as kube-apiserver does for additionalPrinterColumns.
 */
import { ageColumn, nameColumn, type KindDefinition, type PrinterColumn } from '../api/kind.js';
import type { KubeObject } from '../api/meta.js';

export type IncludeObject = 'None' | 'Metadata' | 'Object';

/**
 * NAME, the kind's columns, and AGE at the end unless the kind places it itself. A kind that lists
 * a `Name` column lists every column (kube's Event table has no leading NAME).
 */
export function columnsOf(def: KindDefinition): PrinterColumn[] {
  const has = (name: string): boolean => def.printerColumns.some((c) => c.name.toUpperCase() === name);
  if (has('NAME')) return def.printerColumns;
  return [nameColumn, ...def.printerColumns, ...(has('AGE') ? [] : [ageColumn])];
}

export function renderTable(
  def: KindDefinition,
  objects: KubeObject[],
  rv: string,
  include: IncludeObject,
  now: Date,
  listMeta: Record<string, unknown> = {},
): unknown {
  const columns = columnsOf(def);
  return {
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata: { resourceVersion: rv, ...listMeta },
    columnDefinitions: columns.map((c) => ({
      name: c.name,
      type: c.type === 'date' ? 'string' : c.type,
      format: c.format ?? (c.type === 'date' ? 'date' : ''),
      description: c.description ?? '',
      priority: c.priority ?? 0,
    })),
    rows: objects.map((o) => ({ cells: columns.map((c) => cell(c, o, now)), object: rowObject(o, include) })),
  };
}

function rowObject(o: KubeObject, include: IncludeObject): unknown {
  if (include === 'None') return undefined;
  if (include === 'Object') return o;
  return { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: o.metadata };
}

function cell(c: PrinterColumn, o: KubeObject, now: Date): unknown {
  const v = c.value !== undefined ? c.value(o) : evaluatePath(o, c.jsonPath);
  if (v === undefined || v === null) return c.type === 'date' ? '<unknown>' : null;
  if (c.type === 'date') {
    const t = typeof v === 'string' || typeof v === 'number' ? Date.parse(String(v)) : Number.NaN;
    return Number.isNaN(t) ? '<invalid>' : humanDuration((now.getTime() - t) / 1000);
  }
  if (typeof v === 'object') return JSON.stringify(v);
  return v;
}

type Step =
  | { kind: 'field'; name: string }
  | { kind: 'index'; index: number }
  | { kind: 'filter'; key: string; value: string }
  | { kind: 'never' };

/** Printer column paths, parsed once each: a Table of 10,000 rows evaluates each path per row. */
const compiled = new Map<string, Step[]>();
const MAX_COMPILED = 1000;

function compile(path: string): Step[] {
  const tokens = path.match(/\.(?:\\\.|[^.[\\])+|\[\?\(@\.[\w-]+==["'][^"']*["']\)\]|\[\d+\]/g) ?? [];
  return tokens.map((token): Step => {
    if (token.startsWith('[?')) {
      const m = /\[\?\(@\.([\w-]+)==["']([^"']*)["']\)\]/.exec(token);
      return m === null ? { kind: 'never' } : { kind: 'filter', key: m[1] ?? '', value: m[2] ?? '' };
    }
    if (token.startsWith('[')) return { kind: 'index', index: Number(token.slice(1, -1)) };
    return { kind: 'field', name: token.slice(1).replaceAll('\\.', '.') };
  });
}

/** Evaluates the JSONPath subset printer columns use: `.a.b`, `[0]`, `[?(@.type=="Ready")]`. */
export function evaluatePath(root: unknown, path: string): unknown {
  let steps = compiled.get(path);
  if (steps === undefined) {
    steps = compile(path);
    // paths come from kind definitions (CRDs included); the bound only guards against churn
    if (compiled.size >= MAX_COMPILED) compiled.clear();
    compiled.set(path, steps);
  }
  let v: unknown = root;
  for (const step of steps) {
    if (v === undefined || v === null) return undefined;
    switch (step.kind) {
      case 'never':
        return undefined;
      case 'filter':
        if (!Array.isArray(v)) return undefined;
        v = (v as Record<string, unknown>[]).find((item) => String(item[step.key]) === step.value);
        break;
      case 'index':
        v = Array.isArray(v) ? (v as unknown[])[step.index] : undefined;
        break;
      case 'field':
        v = typeof v === 'object' ? (v as Record<string, unknown>)[step.name] : undefined;
    }
  }
  return v;
}

/** Kubernetes' HumanDuration: "45s", "3m20s", "5h", "3d4h", "2y10d". */
export function humanDuration(seconds: number): string {
  if (seconds < -1) return '<invalid>';
  const s = Math.max(0, Math.floor(seconds));
  if (s < 120) return `${s}s`;
  const minutes = Math.floor(s / 60);
  if (minutes < 10) return s % 60 === 0 ? `${minutes}m` : `${minutes}m${s % 60}s`;
  if (minutes < 180) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 8) return minutes % 60 === 0 ? `${hours}h` : `${hours}h${minutes % 60}m`;
  if (hours < 48) return `${hours}h`;
  const days = Math.floor(hours / 24);
  if (hours < 24 * 8) return hours % 24 === 0 ? `${days}d` : `${days}d${hours % 24}h`;
  if (hours < 24 * 365 * 2) return `${days}d`;
  const years = Math.floor(days / 365);
  if (hours < 24 * 365 * 8) return days % 365 === 0 ? `${years}y` : `${years}y${days % 365}d`;
  return `${years}y`;
}
