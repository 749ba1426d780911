/**
 * `hikube backup create|list|restore|delete` and `hikube backup plan …` (backup-plan.ts): Cozystack's
 * backups.cozystack.io objects through the Kubernetes API only, so kubectl sees the same. `create`
 * makes a BackupJob (the controller makes the Backup when the artifact is whole), `restore` a
 * RestoreJob; `--wait` follows the job's phase and message and fails with its reason.
 */
import { parseArgs } from 'node:util';
import { STOP_VM_ANNOTATION } from '../api/backups/common.js';
import type { KubeObject } from '../api/meta.js';
import { connectionOptions, loadClient } from './context.js';
import { UsageError } from './errors.js';
import { listNamespace, parseFlags, runVerb, waitFlags, waitGone } from './verbs.js';
import { listFlags, outputFormat } from './output.js';
import { apiVersion, applicationRef, backupsPath, listAs, waitForJob } from './backup-common.js';
import { runBackupPlan } from './backup-plan.js';

const USAGE = `usage:
  hikube backup create APP [--name NAME] [--class default] [--kind VMInstance|VirtualMachine] [--wait]
      APP is a VMInstance (or, when none has that name, a KubeVirt VirtualMachine)
  hikube backup list [APP] [-o table|wide|json|yaml|name] [-A]
  hikube backup restore BACKUP [--to NEWAPP] [--stop] [--name NAME] [--wait]
      in place unless --to names a new application; --stop lets it stop a running VM
  hikube backup delete NAME... [--wait]        (deletes the artifact from the target too)
  hikube backup jobs [-o …]                    BackupJobs and RestoreJobs
  hikube backup plan create NAME --app APP --schedule CRON [--class default] [--keep N] [--max-age AGE]
  hikube backup plan list|delete NAME`;

const waitOptions = waitFlags('1800');

export async function runBackup(args: string[]): Promise<void> {
  return runVerb(
    args,
    {
      create,
      list,
      ls: list,
      restore,
      delete: remove,
      rm: remove,
      jobs,
      plan: runBackupPlan,
      plans: runBackupPlan,
    },
    USAGE,
  );
}

const stampName = (prefix: string): string =>
  `${prefix}-${new Date().toISOString().replace(/[-:]/g, '').replace(/\..*$/, '').toLowerCase()}`;

async function create(args: string[]): Promise<void> {
  const { values, positionals } = parseFlags(args, {
    ...waitOptions,
    name: { type: 'string' },
    class: { type: 'string', default: 'default' },
    kind: { type: 'string' },
  });
  const [app] = positionals;
  if (app === undefined) throw new UsageError(`backup create needs an APP\n${USAGE}`);
  const c = loadClient(values);
  const ns = values.namespace ?? c.namespace;
  const ref = await applicationRef(c, ns, app, values.kind);
  const name = values.name ?? stampName(app);
  await c.call('POST', backupsPath('backupjobs', ns), {
    apiVersion,
    kind: 'BackupJob',
    metadata: { name },
    spec: { applicationRef: ref, backupClassName: values.class },
  });
  process.stdout.write(`backupjob.backups.cozystack.io/${name} created (${ref.kind} ${app})\n`);
  if (values.wait) {
    await waitForJob(c, backupsPath('backupjobs', ns, name), Number(values.timeout));
    process.stdout.write(`backup.backups.cozystack.io/${name} ready\n`);
  }
}

interface Ref {
  spec: { applicationRef: { name: string } };
}

async function list(args: string[]): Promise<void> {
  const { values, positionals } = parseFlags(args, { ...listFlags });
  const c = loadClient(values);
  const ns = listNamespace(values, c);
  const [app] = positionals;
  await listAs(c, 'backups', ns, outputFormat(values.output), 'backup', (o) =>
    app === undefined ? true : (o as KubeObject & Ref).spec.applicationRef.name === app,
  );
}

async function jobs(args: string[]): Promise<void> {
  const { values } = parseArgs({ args, options: { ...connectionOptions, ...listFlags } });
  const c = loadClient(values);
  const ns = listNamespace(values, c);
  await listAs(c, 'backupjobs', ns, outputFormat(values.output), 'backupjob');
  await listAs(c, 'restorejobs', ns, outputFormat(values.output), 'restorejob');
}

async function restore(args: string[]): Promise<void> {
  const { values, positionals } = parseFlags(args, {
    ...waitOptions,
    to: { type: 'string' },
    stop: { type: 'boolean', default: false },
    name: { type: 'string' },
  });
  const [backup] = positionals;
  if (backup === undefined) throw new UsageError(`backup restore needs a BACKUP\n${USAGE}`);
  const c = loadClient(values);
  const ns = values.namespace ?? c.namespace;
  const { value } = await c.call<
    KubeObject & { spec: { applicationRef: { apiGroup?: string; kind: string } } }
  >('GET', backupsPath('backups', ns, backup));
  const name = values.name ?? stampName(`restore-${backup}`.slice(0, 40));
  const source = value.spec.applicationRef;
  await c.call('POST', backupsPath('restorejobs', ns), {
    apiVersion,
    kind: 'RestoreJob',
    metadata: { name, ...(values.stop ? { annotations: { [STOP_VM_ANNOTATION]: 'true' } } : {}) },
    spec: {
      backupRef: { name: backup },
      ...(values.to !== undefined
        ? {
            targetApplicationRef: {
              ...(source.apiGroup ? { apiGroup: source.apiGroup } : {}),
              kind: source.kind,
              name: values.to,
            },
          }
        : {}),
    },
  });
  process.stdout.write(`restorejob.backups.cozystack.io/${name} created\n`);
  if (values.wait) {
    const done = await waitForJob(c, backupsPath('restorejobs', ns, name), Number(values.timeout));
    process.stdout.write(`${done.status?.message ?? 'restored'}\n`);
  }
}

async function remove(args: string[]): Promise<void> {
  const { values, positionals } = parseFlags(args, { ...waitOptions });
  if (positionals.length === 0) throw new UsageError(`backup delete needs a NAME\n${USAGE}`);
  const c = loadClient(values);
  const ns = values.namespace ?? c.namespace;
  for (const name of positionals) {
    await c.call('DELETE', backupsPath('backups', ns, name), { propagationPolicy: 'Background' });
    if (values.wait)
      await waitGone(
        c,
        backupsPath('backups', ns, name),
        Number(values.timeout),
        `timed out waiting for backup ${name} to go`,
      );
    process.stdout.write(`backup.backups.cozystack.io "${name}" deleted\n`);
  }
}
