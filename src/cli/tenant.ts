/**
 * `hikube tenant create|list|delete`: Cozystack tenants. A tenant is created in its parent's
 * namespace (tenant-root unless `--parent` names another tenant) and gets the namespace
 * tenant-<name> (nested: <parent namespace>-<name>), with a quota from `--cpu`, `--memory`,
 * `--storage`, `--gpu` and `--quota NAME=VALUE`.
 */
import { parseArgs } from 'node:util';
import { ROOT_TENANT_NAMESPACE, tenantNamespace, type Tenant } from '../api/cozystack/tenant.js';
import { COZYSTACK_GROUP, COZYSTACK_VERSION } from '../api/cozystack/vmdisk.js';
import { parseQuantity } from '../api/quantity.js';
import type { KubeClient } from '../client/kube.js';
import { connectionOptions, loadClient } from './context.js';
import { UsageError } from './errors.js';
import { parseFlags, runVerb } from './verbs.js';
import { outputFormat, renderObjects, renderTable, type Table } from './output.js';

const USAGE = `usage:
  hikube tenant create NAME [--parent TENANT] [--cpu N] [--memory Q] [--storage Q] [--gpu N]
                            [--quota NAME=VALUE]... [--wait]
  hikube tenant list [-o table|wide|json|yaml|name]
  hikube tenant delete NAME... [--parent TENANT]
TENANT is a tenant's namespace (tenant-acme) or the part after tenant- (acme, acme-dev); root by default.`;

const tenantsPath = (namespace?: string, name?: string): string =>
  `/apis/${COZYSTACK_GROUP}/${COZYSTACK_VERSION}${namespace === undefined ? '' : `/namespaces/${encodeURIComponent(namespace)}`}/tenants${name === undefined ? '' : `/${encodeURIComponent(name)}`}`;

/** `--parent`: absent or `root` is tenant-root; `acme` is tenant-acme; `tenant-acme` as it is. */
export function parentNamespace(parent: string | undefined): string {
  if (parent === undefined || parent === '' || parent === 'root') return ROOT_TENANT_NAMESPACE;
  return parent.startsWith('tenant-') ? parent : `tenant-${parent}`;
}

export async function runTenant(args: string[]): Promise<void> {
  return runVerb(args, { create, list, ls: list, delete: remove, rm: remove }, USAGE);
}

function quotasOf(values: {
  cpu?: string | undefined;
  memory?: string | undefined;
  storage?: string | undefined;
  gpu?: string | undefined;
  quota?: string[] | undefined;
}): Record<string, string> {
  const quotas: Record<string, string> = {};
  const add = (name: string, value: string, flag: string): void => {
    if (parseQuantity(value) === undefined)
      throw new UsageError(`${flag}: ${JSON.stringify(value)} is not a quantity (e.g. 4, 500m, 8Gi)`);
    quotas[name] = value;
  };
  if (values.cpu !== undefined) add('cpu', values.cpu, '--cpu');
  if (values.memory !== undefined) add('memory', values.memory, '--memory');
  if (values.storage !== undefined) add('storage', values.storage, '--storage');
  if (values.gpu !== undefined) add('nvidia.com/gpu', values.gpu, '--gpu');
  for (const item of values.quota ?? []) {
    const eq = item.indexOf('=');
    if (eq <= 0)
      throw new UsageError(
        `--quota wants NAME=VALUE (e.g. services.loadbalancers=1), not ${JSON.stringify(item)}`,
      );
    add(item.slice(0, eq), item.slice(eq + 1), '--quota');
  }
  return quotas;
}

async function create(args: string[]): Promise<void> {
  const { values, positionals } = parseFlags(args, {
    parent: { type: 'string' },
    cpu: { type: 'string' },
    memory: { type: 'string' },
    storage: { type: 'string' },
    gpu: { type: 'string' },
    quota: { type: 'string', multiple: true },
    wait: { type: 'boolean', default: false },
    timeout: { type: 'string', default: '60' },
  });
  const [name] = positionals;
  if (name === undefined || positionals.length > 1)
    throw new UsageError(`tenant create needs one NAME\n${USAGE}`);
  const parent = parentNamespace(values.parent);
  const resourceQuotas = quotasOf(values);
  const c = loadClient(values);
  const tenant: Tenant = {
    apiVersion: `${COZYSTACK_GROUP}/${COZYSTACK_VERSION}`,
    kind: 'Tenant',
    metadata: { name, namespace: parent },
    spec: Object.keys(resourceQuotas).length > 0 ? { resourceQuotas } : {},
  };
  await c.call('POST', tenantsPath(parent), tenant);
  const namespace = tenantNamespace(parent, name);
  process.stdout.write(`tenant.${COZYSTACK_GROUP}/${name} created (namespace ${namespace})\n`);
  if (values.wait) await waitReady(c, parent, name, Number(values.timeout));
}

async function waitReady(c: KubeClient, parent: string, name: string, timeoutS: number): Promise<void> {
  const deadline = Date.now() + timeoutS * 1000;
  for (;;) {
    const { value } = await c.call<Tenant>('GET', tenantsPath(parent, name));
    const ready = (value.status?.conditions ?? []).find((x) => x.type === 'Ready');
    if (ready?.status === 'True') {
      process.stdout.write(`tenant ${name} is ready: ${ready.message ?? ''}\n`);
      return;
    }
    if (Date.now() > deadline)
      throw new Error(
        `timed out after ${timeoutS}s waiting for tenant ${name}${ready?.message !== undefined ? `: ${ready.message}` : ''}`,
      );
    await new Promise((r) => setTimeout(r, 250));
  }
}

async function list(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: { ...connectionOptions, output: { type: 'string', short: 'o', default: 'table' } },
  });
  const format = outputFormat(values.output);
  const c = loadClient(values);
  if (format === 'table' || format === 'wide') {
    const { value } = await c.call<Table>('GET', tenantsPath(), undefined, {
      Accept: 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json',
    });
    if (value.rows.length === 0) {
      process.stderr.write('No tenants found.\n');
      return;
    }
    process.stdout.write(`${renderTable(value, format === 'wide', true)}\n`);
    return;
  }
  const { value } = await c.call<{ items: Tenant[] }>('GET', tenantsPath());
  process.stdout.write(`${renderObjects(value.items, format, false, 'tenant', COZYSTACK_GROUP)}\n`);
}

async function remove(args: string[]): Promise<void> {
  const { values, positionals } = parseFlags(args, { parent: { type: 'string' } });
  if (positionals.length === 0) throw new UsageError(`tenant delete needs a NAME\n${USAGE}`);
  const parent = parentNamespace(values.parent);
  const c = loadClient(values);
  for (const name of positionals) {
    await c.call('DELETE', tenantsPath(parent, name), { propagationPolicy: 'Background' });
    process.stdout.write(
      `tenant.${COZYSTACK_GROUP} "${name}" deleted (namespace ${tenantNamespace(parent, name)} and its tenants go with it)\n`,
    );
  }
}
