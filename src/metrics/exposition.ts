/**
 * The Prometheus text exposition format (version 0.0.4), both ways: rendering metric families for
 * `/metrics`, and parsing what a guest serves for custom metrics. Pure functions, no I/O.
 */

export type MetricType = 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped';

export type Labels = Readonly<Record<string, string>>;

export interface Sample {
  /** The sample's own name when it differs from the family's (`_bucket`, `_sum`, `_count`). */
  name?: string;
  labels: Labels;
  value: number;
}

export interface Family {
  name: string;
  help: string;
  type: MetricType;
  samples: Sample[];
}

export const CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

export const validMetricName = (name: string): boolean => METRIC_NAME.test(name);
export const validLabelName = (name: string): boolean => LABEL_NAME.test(name) && !name.startsWith('__');

export function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

const escapeLabel = (v: string): string =>
  v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
const escapeHelp = (v: string): string => v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');

/** `{a="1",b="2"}` with labels in a stable order; empty values are left out (as Prometheus does). */
export function renderLabels(labels: Labels): string {
  const keys = Object.keys(labels)
    .filter((k) => labels[k] !== '')
    .sort();
  if (keys.length === 0) return '';
  return `{${keys.map((k) => `${k}="${escapeLabel(labels[k] ?? '')}"`).join(',')}}`;
}

/** Families in the given order; a family with no samples still gets its HELP and TYPE. */
export function renderText(families: readonly Family[]): string {
  const out: string[] = [];
  for (const f of families) {
    out.push(`# HELP ${f.name} ${escapeHelp(f.help)}`, `# TYPE ${f.name} ${f.type}`);
    for (const s of f.samples)
      out.push(`${s.name ?? f.name}${renderLabels(s.labels)} ${formatValue(s.value)}`);
  }
  return out.length === 0 ? '' : `${out.join('\n')}\n`;
}

export interface ParsedSample {
  name: string;
  labels: Record<string, string>;
  value: number;
  /** From the `# TYPE` line of the sample's family, `untyped` when none. */
  type: MetricType;
  help?: string;
}

/**
 * The samples of a text exposition. Lines that do not parse are skipped (a guest's endpoint is
 * untrusted input); timestamps are ignored. Throws nothing.
 */
export function parseText(text: string): ParsedSample[] {
  const types = new Map<string, MetricType>();
  const helps = new Map<string, string>();
  const out: ParsedSample[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '') continue;
    if (line.startsWith('#')) {
      const m = /^#\s+(TYPE|HELP)\s+(\S+)\s*(.*)$/.exec(line);
      if (m === null) continue;
      const [, kind = '', name = '', rest = ''] = m;
      if (kind === 'TYPE') {
        const t = rest.trim();
        if (['counter', 'gauge', 'histogram', 'summary', 'untyped'].includes(t))
          types.set(name, t as MetricType);
      } else helps.set(name, rest.replace(/\\n/g, '\n').replace(/\\\\/g, '\\'));
      continue;
    }
    const sample = parseSampleLine(line);
    if (sample === undefined) continue;
    const family = familyOf(sample.name, types);
    const type = types.get(family) ?? 'untyped';
    const help = helps.get(family);
    out.push({ ...sample, type, ...(help !== undefined ? { help } : {}) });
  }
  return out;
}

function familyOf(name: string, types: Map<string, MetricType>): string {
  if (types.has(name)) return name;
  for (const suffix of ['_bucket', '_sum', '_count', '_total', '_created']) {
    if (name.endsWith(suffix) && types.has(name.slice(0, -suffix.length)))
      return name.slice(0, -suffix.length);
  }
  return name;
}

function parseSampleLine(
  line: string,
): { name: string; labels: Record<string, string>; value: number } | undefined {
  const nameMatch = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(line);
  if (nameMatch === null) return undefined;
  const name = nameMatch[0];
  let i = name.length;
  const labels: Record<string, string> = {};
  if (line[i] === '{') {
    i++;
    for (;;) {
      while (line[i] === ' ' || line[i] === ',') i++;
      if (line[i] === '}') {
        i++;
        break;
      }
      const key = /^[a-zA-Z_][a-zA-Z0-9_]*/.exec(line.slice(i));
      if (key === null) return undefined;
      i += key[0].length;
      while (line[i] === ' ') i++;
      if (line[i] !== '=') return undefined;
      i++;
      while (line[i] === ' ') i++;
      if (line[i] !== '"') return undefined;
      i++;
      let value = '';
      for (;;) {
        const c = line[i];
        if (c === undefined) return undefined;
        if (c === '"') break;
        if (c === '\\') {
          const n = line[i + 1];
          value += n === 'n' ? '\n' : (n ?? '');
          i += 2;
        } else {
          value += c;
          i++;
        }
      }
      i++;
      labels[key[0]] = value;
    }
  }
  const rest = line.slice(i).trim().split(/\s+/);
  const value = parseValue(rest[0] ?? '');
  if (value === undefined) return undefined;
  return { name, labels, value };
}

function parseValue(text: string): number | undefined {
  switch (text) {
    case '+Inf':
    case 'Inf':
      return Infinity;
    case '-Inf':
      return -Infinity;
    case 'NaN':
      return NaN;
  }
  if (text === '' || !/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(text)) return undefined;
  return Number(text);
}
