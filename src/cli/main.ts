/**
 * The `hikube` command line: `hikube up` runs the platform; every other verb talks to it (or to a
 * real cluster) through the Kubernetes API with a kubeconfig.
 */
import { parseArgs } from 'node:util';
import { KubeApiError, resourcePath } from '../client/kube.js';
import { applyObject, readManifests } from './apply.js';
import { describeError, UsageError } from './errors.js';
import { renderObjects, renderTable, type Table, outputFormat } from './output.js';
import { runUp } from './up.js';
import { runOperator } from './operator.js';
import { runConsole } from './console.js';
import { runVnc } from './vnc.js';
import { connectionOptions, loadClient } from './context.js';
import { lifecycleCommands } from './lifecycle.js';
import { runImage } from './image.js';
import { runDisk } from './disk.js';
import { runVm } from './vm-create.js';
import { runPortForward, runSsh } from './portforward.js';
import { runExpose } from './expose.js';
import { runTop } from './top.js';
import { runMetrics } from './metrics.js';
import { runClone, runRestore, runSnapshot } from './snapshot.js';
import { runBackup } from './backup.js';
import { runTenant } from './tenant.js';
import { runUser } from './user.js';
import { runAudit } from './audit.js';
import type { KubeObject } from '../api/meta.js';

const USAGE = `Usage:
  hikube up [--data-dir DIR] [--listen HOST:PORT] [--lb-pool ADDR|CIDR,...] [--no-bridges]
            [--allow-private-targets] [--allow-external-ips] [--feature-gates GATE,...]
            [--cpu-allocation-ratio N] [--without-hikube-controllers] [--backup-dirs DIR,...]
                                                       run the platform in the foreground
  hikube operator [--kubeconfig FILE] [--health-listen HOST:PORT] [--skip-catalog] [--namespace NS]
                  [--leader-elect true|false] [--leader-elect-namespace NS]
                  [--leader-elect-lease-duration D] [--leader-elect-renew-deadline D]
                  [--leader-elect-retry-period D]
                                                       run Hikube's controllers against a Kubernetes API
  hikube apply -f FILE|-                               create or update objects from a manifest
  hikube get KIND [NAME] [-o table|wide|json|yaml|name] [-n NS | -A] [-l SELECTOR]
  hikube delete KIND NAME [-n NS]
  hikube console NAME [-n NS] [--linger SECONDS]      attach to the serial console (Ctrl+] leaves)
  hikube vnc NAME [-n NS] [--port P] [--address A]    serve the VM's screen to a local VNC viewer
  hikube start|stop|restart NAME [--wait]              change whether a VM runs (stop: --grace-period N, --force)
  hikube pause|unpause|softreboot NAME                 act on the running guest
  hikube image list [-o wide|json|yaml|name]           the OS catalog and imported images (name, OS, size, source, status)
  hikube image import NAME [FILE|URL|--from IMAGE]     add a disk image (a catalog NAME alone: from its upstream)
  hikube vm create NAME --instancetype T --os OS [--ssh-key F] [--user-data F] [--disk name=N,size=S]... [--dry-run -o yaml]
  hikube vm export NAME --output DIR [--format raw|gzip|qcow2] [--keep]   download a stopped VM's disks and manifest
  hikube vm import FILE.ova [--name N] [--hikube] [--allow-unknown] [--dry-run]   a VM from an OVA (disks uploaded, instance type fitted)
  hikube image upload dv NAME --image-path FILE [--size SIZE]   upload a disk image into a new DataVolume
  hikube disk create NAME --size SIZE [--from-url URL|--from-disk D|--from-datasource DS|--upload FILE] [--wait]
  hikube disk list|resize NAME SIZE|delete NAME        persistent disks (DataVolumes and their PVCs)
  hikube disk attach|detach VM DISK [--bus B]          add or remove a disk of a stopped VM
  hikube port-forward vm/NAME [HOST_PORT:]GUEST_PORT   forward local ports to the guest (--stdio for one stream)
  hikube ssh [USER@]NAME [-i KEY] [-- COMMAND]         ssh into the guest through a port forward
  hikube expose vm NAME --port P [--target-port T] [--type ClusterIP|NodePort|LoadBalancer] [--name SVC] [--protocol TCP|UDP]
                                                       a Service in front of the VM (as virtctl expose)
  hikube top vm [NAME] [-A] [--watch]                  CPU, memory, network and disk usage of running VMs
  hikube metrics NAME [--metric M] [--since 1h] [--step 1m] [-o json]   a VM's metrics history
  hikube snapshot schedule create NAME --schedule CRON --selector SEL [--keep N] [--max-age 7d]
  hikube snapshot schedule list|delete|suspend|resume NAME   scheduled snapshots (cron in UTC)
  hikube snapshot create VM [--name N] [--wait] | list [VM] | delete NAME...   VM snapshots
  hikube restore VM SNAPSHOT [--to NEWVM] [--stop] [--wait]   bring a snapshot back (onto VM or a new VM)
  hikube clone SOURCE [TARGET] [--full] [--from-snapshot] [--wait]   a new VM from a VM or a snapshot
  hikube backup create APP [--wait] | list [APP] | restore BACKUP [--to NEW] [--stop] | delete NAME   backups to a bucket
  hikube backup plan create NAME --app APP --schedule CRON [--keep N] [--max-age 7d] | list | delete
  hikube tenant create NAME [--parent T] [--cpu N] [--memory Q] [--storage Q] [--quota NAME=V]... [--wait]
  hikube tenant list|delete NAME [--parent T]          Cozystack tenants: a namespace each, with its quota
  hikube user create NAME --tenant T --role view|use|admin|super-admin [--output FILE]
  hikube user list|delete NAME --tenant T              a tenant's users: a ServiceAccount, its role, a kubeconfig
  hikube audit [--since 1h|TIME] [--user U] [--verb V] [--resource R] [-n NS] [-o table|wide|json|yaml]
                                                  the API's audit log and export downloads (on this machine)

Global flags: --kubeconfig FILE (else $KUBECONFIG, else DATA_DIR/kubeconfig), --data-dir DIR`;

const globalOptions = connectionOptions;
const client = loadClient;

async function get(args: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      ...globalOptions,
      output: { type: 'string', short: 'o', default: 'table' },
      'all-namespaces': { type: 'boolean', short: 'A' },
      selector: { type: 'string', short: 'l' },
    },
  });
  const [kind, name] = positionals;
  if (kind === undefined) throw new UsageError('get needs a KIND, e.g. `hikube get vm`');
  const format = outputFormat(values.output);
  const c = client(values);
  const r = await c.resolve(kind);
  const all = values['all-namespaces'] === true && name === undefined;
  const namespace = all ? undefined : (values.namespace ?? c.namespace);
  const query = values.selector !== undefined ? `?labelSelector=${encodeURIComponent(values.selector)}` : '';
  const path = `${resourcePath(r, namespace, name)}${query}`;
  if (format === 'table' || format === 'wide') {
    const { value } = await c.call<Table>('GET', path, undefined, {
      Accept: 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json',
    });
    if (value.rows.length === 0) {
      process.stderr.write(
        `No resources found${r.namespaced && namespace !== undefined ? ` in ${namespace} namespace` : ''}.\n`,
      );
      return;
    }
    process.stdout.write(`${renderTable(value, format === 'wide', all && r.namespaced)}\n`);
    return;
  }
  const { value } = await c.call<KubeObject & { items?: KubeObject[] }>('GET', path);
  const objects = name === undefined ? (value.items ?? []) : [value];
  process.stdout.write(
    `${renderObjects(objects, format, name !== undefined, r.kind.toLowerCase(), r.group)}\n`,
  );
}

async function apply(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: { ...globalOptions, filename: { type: 'string', short: 'f' } },
  });
  if (values.filename === undefined) throw new UsageError('apply needs -f FILE (or -f - for standard input)');
  const c = client(values);
  let failed = 0;
  for (const object of await readManifests(values.filename)) {
    try {
      const { line, warnings } = await applyObject(c, object, values.namespace);
      for (const w of warnings) process.stderr.write(`Warning: ${w}\n`);
      process.stdout.write(`${line}\n`);
    } catch (err) {
      failed++;
      process.stderr.write(`${describeError(err)}\n`);
    }
  }
  if (failed > 0) process.exitCode = 1;
}

async function remove(args: string[]): Promise<void> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: globalOptions });
  const [kind, ...names] = positionals;
  if (kind === undefined || names.length === 0)
    throw new UsageError('delete needs KIND and NAME, e.g. `hikube delete vm dev-vm`');
  const c = client(values);
  const r = await c.resolve(kind);
  const namespace = values.namespace ?? c.namespace;
  for (const name of names) {
    await c.call('DELETE', resourcePath(r, namespace, name), { propagationPolicy: 'Background' });
    process.stdout.write(`${r.kind.toLowerCase()}${r.group === '' ? '' : `.${r.group}`} "${name}" deleted\n`);
  }
}

const commands: Record<string, (args: string[]) => Promise<void>> = {
  up: runUp,
  operator: runOperator,
  get,
  apply,
  delete: remove,
  console: runConsole,
  vnc: runVnc,
  ...lifecycleCommands,
  image: runImage,
  disk: runDisk,
  vm: runVm,
  'port-forward': runPortForward,
  ssh: runSsh,
  expose: runExpose,
  top: runTop,
  metrics: runMetrics,
  snapshot: runSnapshot,
  backup: runBackup,
  restore: runRestore,
  clone: runClone,
  tenant: runTenant,
  user: runUser,
  audit: runAudit,
};

/** Global flags may come before the verb (`hikube --kubeconfig F get vm`); they are moved just after it. */
function splitVerb(argv: string[]): [string | undefined, string[]] {
  const leading: string[] = [];
  let i = 0;
  while (i < argv.length) {
    const arg = argv[i] ?? '';
    if (arg === '--kubeconfig' || arg === '--data-dir' || arg === '-n' || arg === '--namespace') {
      leading.push(arg, argv[i + 1] ?? '');
      i += 2;
    } else if (/^--(kubeconfig|data-dir|namespace)=/.test(arg)) {
      leading.push(arg);
      i += 1;
    } else break;
  }
  return [argv[i], [...leading, ...argv.slice(i + 1)]];
}

export async function main(argv: string[]): Promise<number> {
  const [verb, rest] = splitVerb(argv);
  if (verb === undefined || verb === 'help' || verb === '--help' || verb === '-h') {
    process.stdout.write(`${USAGE}\n`);
    return verb === undefined ? 1 : 0;
  }
  const command = commands[verb];
  if (command === undefined) {
    process.stderr.write(`error: unknown command ${JSON.stringify(verb)}\n${USAGE}\n`);
    return 1;
  }
  try {
    await command(rest);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (err) {
    process.stderr.write(`${describeError(err)}\n`);
    if (
      err instanceof UsageError ||
      (err instanceof TypeError && 'code' in err && String(err.code).startsWith('ERR_PARSE_ARGS'))
    )
      process.stderr.write(`${USAGE}\n`);
    return err instanceof KubeApiError ? 1 : 1;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`${describeError(err)}\n`);
    process.exitCode = 1;
  },
);
