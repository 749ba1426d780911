/**
 * Cron expressions for SnapshotSchedule.spec.schedule: the five fields of crontab(5) (minute,
 * hour, day of month, month, day of week) with `*`, lists, ranges, steps, month and weekday
 * names, and the macros @yearly/@annually, @monthly, @weekly, @daily/@midnight, @hourly.
 * As in Vixie cron (and Kubernetes CronJobs), when both day of month and day of week are
 * restricted a day matching either one fires. Times are always UTC: there is no time zone and so
 * no daylight saving time to skip or repeat an hour.
 */

export interface Cron {
  /** The expression as written. */
  readonly source: string;
  /** The first firing time strictly after `after`, on a whole minute; undefined if it never fires. */
  next(after: Date): Date | undefined;
}

/** A cron expression that does not parse, with the reason. */
export class CronError extends Error {
  override readonly name = 'CronError';
}

interface FieldSpec {
  name: string;
  min: number;
  max: number;
  names?: readonly string[];
}

const MONTHS = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
const DAYS = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];

const FIELDS: readonly FieldSpec[] = [
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day of month', min: 1, max: 31 },
  { name: 'month', min: 1, max: 12, names: MONTHS },
  // 7 is Sunday too, as in crontab(5).
  { name: 'day of week', min: 0, max: 7, names: DAYS },
];

const MACROS: Readonly<Record<string, string>> = {
  '@yearly': '0 0 1 1 *',
  '@annually': '0 0 1 1 *',
  '@monthly': '0 0 1 * *',
  '@weekly': '0 0 * * 0',
  '@daily': '0 0 * * *',
  '@midnight': '0 0 * * *',
  '@hourly': '0 * * * *',
};

/** Enough to cross every leap-year cycle: an expression with no firing in this span never fires. */
const SEARCH_YEARS = 9;
const MINUTE_MS = 60_000;

export function parseCron(source: string): Cron {
  const text = source.trim();
  if (text === '') throw new CronError('empty expression: expected five fields or a macro such as @daily');
  const expanded = text.startsWith('@') ? MACROS[text.toLowerCase()] : text;
  if (expanded === undefined)
    throw new CronError(
      `unknown macro ${JSON.stringify(text)}: use one of ${Object.keys(MACROS).join(', ')}`,
    );
  const parts = expanded.split(/\s+/);
  if (parts.length !== 5)
    throw new CronError(
      `expected 5 fields (minute hour day-of-month month day-of-week), found ${parts.length}`,
    );
  const sets = parts.map((part, i) => parseField(part, FIELDS[i] as FieldSpec));
  const [minutes, hours, doms, months, dows] = sets as [
    Set<number>,
    Set<number>,
    Set<number>,
    Set<number>,
    Set<number>,
  ];
  if (dows.has(7)) dows.add(0);
  // Vixie cron: a field starting with `*` is unrestricted for the day-of-month/day-of-week rule.
  const domStar = (parts[2] ?? '').startsWith('*');
  const dowStar = (parts[4] ?? '').startsWith('*');
  const dayMatches = (d: Date): boolean => {
    const dom = doms.has(d.getUTCDate());
    const dow = dows.has(d.getUTCDay());
    if (domStar || dowStar) return dom && dow;
    return dom || dow;
  };
  const cron: Cron = {
    source,
    next(after) {
      let t = new Date(Math.floor(after.getTime() / MINUTE_MS) * MINUTE_MS + MINUTE_MS);
      const limit = Date.UTC(t.getUTCFullYear() + SEARCH_YEARS, 0, 1);
      while (t.getTime() < limit) {
        if (!months.has(t.getUTCMonth() + 1)) {
          t = new Date(Date.UTC(t.getUTCFullYear(), t.getUTCMonth() + 1, 1));
        } else if (!dayMatches(t)) {
          t = new Date(Date.UTC(t.getUTCFullYear(), t.getUTCMonth(), t.getUTCDate() + 1));
        } else if (!hours.has(t.getUTCHours())) {
          t = new Date(Date.UTC(t.getUTCFullYear(), t.getUTCMonth(), t.getUTCDate(), t.getUTCHours() + 1));
        } else if (!minutes.has(t.getUTCMinutes())) {
          t = new Date(t.getTime() + MINUTE_MS);
        } else {
          return t;
        }
      }
      return undefined;
    },
  };
  if (cron.next(new Date(Date.UTC(2000, 0, 1))) === undefined)
    throw new CronError('the day of month and month never occur together (e.g. 30 February)');
  return cron;
}

function parseField(text: string, spec: FieldSpec): Set<number> {
  const values = new Set<number>();
  const fail = (message: string): never => {
    throw new CronError(`${spec.name} ${JSON.stringify(text)}: ${message}`);
  };
  if (text === '') fail('empty field');
  for (const item of text.split(',')) {
    if (item === '') fail('empty list item');
    const [range = '', stepText, extra] = item.split('/');
    if (extra !== undefined) fail(`more than one '/' in ${JSON.stringify(item)}`);
    let step = 1;
    if (stepText !== undefined) {
      if (!/^\d+$/.test(stepText)) fail(`step ${JSON.stringify(stepText)} is not a positive number`);
      step = Number(stepText);
      if (step < 1) fail('step must be at least 1');
    }
    let low: number;
    let high: number;
    if (range === '*') {
      low = spec.min;
      high = spec.max;
    } else {
      const bounds = range.split('-');
      if (bounds.length > 2 || bounds.some((b) => b === ''))
        fail(`${JSON.stringify(range)} is not a value or a range`);
      low = valueOf(bounds[0] ?? '', spec, fail);
      // `5/15` means from 5 to the end of the range, every 15, as in Vixie cron.
      high =
        bounds.length === 2 ? valueOf(bounds[1] ?? '', spec, fail) : stepText !== undefined ? spec.max : low;
      if (low > high) fail(`range ${low}-${high} runs backwards`);
    }
    for (let v = low; v <= high; v += step) values.add(v);
  }
  return values;
}

function valueOf(text: string, spec: FieldSpec, fail: (m: string) => never): number {
  const named = spec.names?.indexOf(text.toUpperCase()) ?? -1;
  if (named >= 0) return named + (spec.name === 'month' ? 1 : 0);
  if (!/^\d+$/.test(text))
    return fail(`${JSON.stringify(text)} is not a number${spec.names ? ' or a name' : ''}`);
  const v = Number(text);
  if (v < spec.min || v > spec.max) fail(`${v} is out of range ${spec.min}-${spec.max}`);
  return v;
}

/** Every firing time in (after, until], at most `limit` of them (counting stops there). */
export function firingsBetween(cron: Cron, after: Date, until: Date, limit = 1000): Date[] {
  const out: Date[] = [];
  let t = cron.next(after);
  while (t !== undefined && t.getTime() <= until.getTime() && out.length < limit) {
    out.push(t);
    t = cron.next(t);
  }
  return out;
}

/** The last firing time in (after, until], found by looking back from `until` in widening steps. */
export function lastFiringBetween(cron: Cron, after: Date, until: Date): Date | undefined {
  for (const back of [
    MINUTE_MS,
    60 * MINUTE_MS,
    1440 * MINUTE_MS,
    32 * 1440 * MINUTE_MS,
    367 * 1440 * MINUTE_MS,
    Infinity,
  ]) {
    const from = new Date(Math.max(after.getTime(), until.getTime() - back));
    let t = cron.next(from);
    if (t === undefined || t.getTime() > until.getTime()) {
      if (from.getTime() === after.getTime()) return undefined;
      continue;
    }
    for (;;) {
      const n = cron.next(t);
      if (n === undefined || n.getTime() > until.getTime()) return t;
      t = n;
    }
  }
  return undefined;
}
