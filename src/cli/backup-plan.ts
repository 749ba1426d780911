/**
 * `hikube backup plan create|list|delete`: Cozystack Plans (an application, a BackupClass, a cron
 * schedule in UTC). `--keep` and `--max-age` are Hikube's retention extension, written as the
 * Plan annotations backups.hikube.io/keep and backups.hikube.io/max-age, and the finished
 * BackupJobs kept (CronJob's history limits) as backups.hikube.io/successful-jobs-history-limit and
 * failed-jobs-history-limit; the server checks them.
 */
import { parseArgs } from 'node:util';
import {
  FAILED_JOBS_ANNOTATION,
  KEEP_ANNOTATION,
  MAX_AGE_ANNOTATION,
  SUCCESSFUL_JOBS_ANNOTATION,
} from '../api/backups/common.js';
import { connectionOptions, loadClient } from './context.js';
import { UsageError } from './errors.js';
import { listNamespace, parseFlags, runVerb } from './verbs.js';
import { listFlags, outputFormat } from './output.js';
import { apiVersion, applicationRef, backupsPath, listAs } from './backup-common.js';

const USAGE = `usage:
  hikube backup plan create NAME --app APP --schedule CRON [--class default] [--kind VMInstance|VirtualMachine]
                               [--keep N] [--max-age AGE]
                               [--successful-jobs-history-limit N] [--failed-jobs-history-limit N]
      CRON is in UTC: '0 3 * * *', @daily…; AGE such as 7d, 36h, 2w; finished BackupJobs kept: 3 and 1
  hikube backup plan list [-o table|wide|json|yaml|name] [-A]
  hikube backup plan delete NAME...        (its Backups are kept)`;

export async function runBackupPlan(args: string[]): Promise<void> {
  return runVerb(args, { create, list, ls: list, delete: remove, rm: remove }, USAGE);
}

async function create(args: string[]): Promise<void> {
  const { values, positionals } = parseFlags(args, {
    app: { type: 'string' },
    schedule: { type: 'string' },
    class: { type: 'string', default: 'default' },
    kind: { type: 'string' },
    keep: { type: 'string' },
    'max-age': { type: 'string' },
    'successful-jobs-history-limit': { type: 'string' },
    'failed-jobs-history-limit': { type: 'string' },
  });
  const [name] = positionals;
  if (name === undefined) throw new UsageError(`backup plan create needs a NAME\n${USAGE}`);
  if (values.app === undefined) throw new UsageError('backup plan create needs --app, the VMInstance or VM');
  if (values.schedule === undefined)
    throw new UsageError("backup plan create needs --schedule, e.g. '0 3 * * *'");
  const c = loadClient(values);
  const ns = values.namespace ?? c.namespace;
  const annotations = {
    ...(values.keep !== undefined ? { [KEEP_ANNOTATION]: values.keep } : {}),
    ...(values['max-age'] !== undefined ? { [MAX_AGE_ANNOTATION]: values['max-age'] } : {}),
    ...(values['successful-jobs-history-limit'] !== undefined
      ? { [SUCCESSFUL_JOBS_ANNOTATION]: values['successful-jobs-history-limit'] }
      : {}),
    ...(values['failed-jobs-history-limit'] !== undefined
      ? { [FAILED_JOBS_ANNOTATION]: values['failed-jobs-history-limit'] }
      : {}),
  };
  await c.call('POST', backupsPath('plans', ns), {
    apiVersion,
    kind: 'Plan',
    metadata: { name, ...(Object.keys(annotations).length > 0 ? { annotations } : {}) },
    spec: {
      applicationRef: await applicationRef(c, ns, values.app, values.kind),
      backupClassName: values.class,
      schedule: { type: 'cron', cron: values.schedule },
    },
  });
  process.stdout.write(`plan.backups.cozystack.io/${name} created\n`);
}

async function list(args: string[]): Promise<void> {
  const { values } = parseArgs({ args, options: { ...connectionOptions, ...listFlags } });
  const c = loadClient(values);
  const ns = listNamespace(values, c);
  await listAs(c, 'plans', ns, outputFormat(values.output), 'plan');
}

async function remove(args: string[]): Promise<void> {
  const { values, positionals } = parseFlags(args, {});
  if (positionals.length === 0) throw new UsageError(`backup plan delete needs a NAME\n${USAGE}`);
  const c = loadClient(values);
  const ns = values.namespace ?? c.namespace;
  for (const name of positionals) {
    await c.call('DELETE', backupsPath('plans', ns, name), { propagationPolicy: 'Background' });
    process.stdout.write(`plan.backups.cozystack.io "${name}" deleted (its backups are kept)\n`);
  }
}
