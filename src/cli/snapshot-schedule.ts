/**
 * `hikube snapshot schedule create|list|delete|suspend|resume`: SnapshotSchedules
 * (hikube.io/v1alpha1) through the Kubernetes API only. `--selector` takes kubectl's label
 * selector syntax and is stored as a metav1.LabelSelector; the server validates the rest (a bad
 * cron expression or a negative --keep comes back as a Status naming the field).
 */
import { parseArgs } from 'node:util';
import { HIKUBE_GROUP, HIKUBE_VERSION, type SnapshotScheduleSpec } from '../api/hikube/snapshotschedule.js';
import type { KubeObject } from '../api/meta.js';
import { parseLabelSelector, SelectorError, type LabelSelector } from '../api/selectors.js';
import { connectionOptions, loadClient } from './context.js';
import { UsageError } from './errors.js';
import { parseFlags, runVerb } from './verbs.js';
import { renderObjects, renderTable, type Table, outputFormat, listFlags } from './output.js';

const USAGE = `usage:
  hikube snapshot schedule create NAME --schedule CRON --selector SELECTOR [--keep N] [--max-age AGE]
                                   [--suspend] [--failure-deadline DURATION]
      CRON is in UTC: '*/5 * * * *', '0 3 * * *', @hourly, @daily, @weekly, @monthly
      SELECTOR picks the VMs of the namespace, as kubectl -l does: 'app=web,tier in (a,b)'; '' is all
      AGE such as 7d, 36h, 2w
  hikube snapshot schedule list [-o table|wide|json|yaml|name] [-A]
  hikube snapshot schedule delete NAME...        (the snapshots it took are kept)
  hikube snapshot schedule suspend|resume NAME...`;

const RESOURCE = 'snapshotschedules';

const schedulesPath = (namespace: string | undefined, name?: string): string =>
  `/apis/${HIKUBE_GROUP}/${HIKUBE_VERSION}${namespace === undefined ? '' : `/namespaces/${encodeURIComponent(namespace)}`}/${RESOURCE}${name === undefined ? '' : `/${encodeURIComponent(name)}`}`;

export async function runSnapshotSchedule(args: string[]): Promise<void> {
  return runVerb(
    args,
    {
      create,
      list,
      ls: list,
      delete: remove,
      rm: remove,
      suspend: (rest) => setSuspend(rest, true),
      resume: (rest) => setSuspend(rest, false),
    },
    USAGE,
  );
}

async function create(args: string[]): Promise<void> {
  const { values, positionals } = parseFlags(args, {
    schedule: { type: 'string' },
    selector: { type: 'string', short: 'l' },
    keep: { type: 'string' },
    'max-age': { type: 'string' },
    suspend: { type: 'boolean', default: false },
    'failure-deadline': { type: 'string' },
  });
  const [name] = positionals;
  if (name === undefined) throw new UsageError(`snapshot schedule create needs a NAME\n${USAGE}`);
  if (values.schedule === undefined)
    throw new UsageError("snapshot schedule create needs --schedule, e.g. --schedule '0 3 * * *'");
  if (values.selector === undefined)
    throw new UsageError(
      "snapshot schedule create needs --selector, e.g. --selector app=web ('' for every VM)",
    );
  let keep: number | undefined;
  if (values.keep !== undefined) {
    if (!/^-?\d+$/.test(values.keep))
      throw new UsageError(`--keep ${JSON.stringify(values.keep)} is not a whole number`);
    keep = Number(values.keep);
  }
  const spec: SnapshotScheduleSpec = {
    schedule: values.schedule,
    selector: selectorObject(values.selector),
    ...(keep !== undefined || values['max-age'] !== undefined
      ? {
          retention: {
            ...(keep !== undefined ? { count: keep } : {}),
            ...(values['max-age'] !== undefined ? { maxAge: values['max-age'] } : {}),
          },
        }
      : {}),
    ...(values.suspend ? { suspend: true } : {}),
    ...(values['failure-deadline'] !== undefined
      ? { snapshotTemplate: { failureDeadline: values['failure-deadline'] } }
      : {}),
  };
  const c = loadClient(values);
  const namespace = values.namespace ?? c.namespace;
  await c.call('POST', schedulesPath(namespace), {
    apiVersion: `${HIKUBE_GROUP}/${HIKUBE_VERSION}`,
    kind: 'SnapshotSchedule',
    metadata: { name },
    spec,
  });
  process.stdout.write(`snapshotschedule.${HIKUBE_GROUP}/${name} created\n`);
}

/** kubectl's selector syntax as a metav1.LabelSelector; `>` and `<` have no such form. */
export function selectorObject(text: string): SnapshotScheduleSpec['selector'] {
  let parsed: LabelSelector;
  try {
    parsed = parseLabelSelector(text);
  } catch (err) {
    if (err instanceof SelectorError) throw new UsageError(`--selector: ${err.message}`);
    throw err;
  }
  const matchLabels: Record<string, string> = {};
  const matchExpressions: NonNullable<SnapshotScheduleSpec['selector']['matchExpressions']> = [];
  for (const r of parsed.requirements) {
    switch (r.operator) {
      case 'Equals':
        matchLabels[r.key] = r.values[0] ?? '';
        break;
      case 'NotEquals':
        matchExpressions.push({ key: r.key, operator: 'NotIn', values: [...r.values] });
        break;
      case 'In':
      case 'NotIn':
        matchExpressions.push({ key: r.key, operator: r.operator, values: [...r.values] });
        break;
      case 'Exists':
      case 'DoesNotExist':
        matchExpressions.push({ key: r.key, operator: r.operator });
        break;
      default:
        throw new UsageError(
          `--selector: ${r.key} ${r.operator}: only =, !=, in, notin, KEY and !KEY fit a VM selector`,
        );
    }
  }
  return {
    ...(Object.keys(matchLabels).length > 0 ? { matchLabels } : {}),
    ...(matchExpressions.length > 0 ? { matchExpressions } : {}),
  };
}

async function list(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      ...connectionOptions,
      ...listFlags,
    },
  });
  const format = outputFormat(values.output);
  const c = loadClient(values);
  const all = values['all-namespaces'] === true;
  const namespace = all ? undefined : (values.namespace ?? c.namespace);
  if (format === 'table' || format === 'wide') {
    const { value } = await c.call<Table>('GET', schedulesPath(namespace), undefined, {
      Accept: 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json',
    });
    if (value.rows.length === 0) {
      process.stderr.write(
        `No snapshot schedules found${namespace !== undefined ? ` in ${namespace} namespace` : ''}.\n`,
      );
      return;
    }
    process.stdout.write(`${renderTable(value, format === 'wide', all)}\n`);
    return;
  }
  const { value } = await c.call<{ items: KubeObject[] }>('GET', schedulesPath(namespace));
  process.stdout.write(`${renderObjects(value.items, format, false, 'snapshotschedule', HIKUBE_GROUP)}\n`);
}

async function remove(args: string[]): Promise<void> {
  const { values, positionals } = parseFlags(args, {});
  if (positionals.length === 0) throw new UsageError(`snapshot schedule delete needs a NAME\n${USAGE}`);
  const c = loadClient(values);
  const namespace = values.namespace ?? c.namespace;
  for (const name of positionals) {
    await c.call('DELETE', schedulesPath(namespace, name), { propagationPolicy: 'Background' });
    process.stdout.write(`snapshotschedule.${HIKUBE_GROUP} "${name}" deleted (its snapshots are kept)\n`);
  }
}

async function setSuspend(args: string[], suspend: boolean): Promise<void> {
  const { values, positionals } = parseFlags(args, {});
  if (positionals.length === 0)
    throw new UsageError(`snapshot schedule ${suspend ? 'suspend' : 'resume'} needs a NAME\n${USAGE}`);
  const c = loadClient(values);
  const namespace = values.namespace ?? c.namespace;
  for (const name of positionals) {
    await c.call(
      'PATCH',
      schedulesPath(namespace, name),
      { spec: { suspend } },
      { 'Content-Type': 'application/merge-patch+json' },
    );
    process.stdout.write(`snapshotschedule.${HIKUBE_GROUP}/${name} ${suspend ? 'suspended' : 'resumed'}\n`);
  }
}
