/**
 * `hikube user create|list|delete`: a tenant's users. A user is a ServiceAccount in the tenant's
 * namespace with a RoleBinding to Cozystack's `cozy:tenant:<role>`; `create` prints (or writes,
 * mode 0600) a kubeconfig holding a TokenRequest token for it. Deleting the user deletes the
 * account, which revokes every token issued for it. `create --cert` makes an x509 user instead
 * (user-cert.ts).
 */
import { chmodSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { KubeObject } from '../api/meta.js';
import { TENANT_ACCESS_LEVELS, type TenantAccessLevel } from '../controllers/tenant/compile.js';
import { renderKubeconfig } from '../platform/kubeconfig.js';
import { connectionOptions, loadClient } from './context.js';
import { UsageError } from './errors.js';
import { parseFlags, runVerb } from './verbs.js';
import { createCertUser } from './user-cert.js';
import { outputFormat, renderObjects, renderTable } from './output.js';
import { parentNamespace } from './tenant.js';

const USAGE = `usage:
  hikube user create NAME --tenant TENANT --role ${TENANT_ACCESS_LEVELS.join('|')} [--duration 720h] [--output FILE]
  hikube user create NAME --cert [--group GROUP]... [--tenant TENANT --role ROLE] [--duration 720h]
      [--data-dir DIR] [--output FILE]   (an x509 client certificate signed by the platform's CA)
  hikube user list [--tenant TENANT] [-o table|wide|json|yaml|name]
  hikube user delete NAME... --tenant TENANT
TENANT is a tenant's namespace (tenant-acme) or the part after tenant- (acme, root).`;

/** On a user's ServiceAccount and RoleBinding: the user's name. */
export const USER_LABEL = 'hikube.io/user';
const RBAC = '/apis/rbac.authorization.k8s.io/v1';
const DEFAULT_DURATION = '720h';

const accountsPath = (ns?: string, name?: string): string =>
  `/api/v1${ns === undefined ? '' : `/namespaces/${encodeURIComponent(ns)}`}/serviceaccounts${name === undefined ? '' : `/${encodeURIComponent(name)}`}`;
const bindingsPath = (ns?: string, name?: string): string =>
  `${RBAC}${ns === undefined ? '' : `/namespaces/${encodeURIComponent(ns)}`}/rolebindings${name === undefined ? '' : `/${encodeURIComponent(name)}`}`;
/** The RoleBinding that gives user NAME its role. */
export const userBindingName = (name: string): string => `hikube-user:${name}`;

/** `--duration` as kubectl takes it (`30m`, `720h`, `3600s`, or seconds), in seconds. */
export function durationSeconds(text: string): number {
  const m = /^(\d+)(h|m|s)?$/.exec(text);
  if (m === null)
    throw new UsageError(`--duration: ${JSON.stringify(text)} is not a duration (e.g. 720h, 30m)`);
  return Number(m[1]) * (m[2] === 'h' ? 3600 : m[2] === 'm' ? 60 : 1);
}

export async function runUser(args: string[]): Promise<void> {
  return runVerb(args, { create, list, ls: list, delete: remove, rm: remove }, USAGE);
}

function tenantOf(tenant: string | undefined, verb: string): string {
  if (tenant === undefined || tenant === '') throw new UsageError(`user ${verb} needs --tenant\n${USAGE}`);
  return parentNamespace(tenant);
}

async function create(args: string[]): Promise<void> {
  const { values, positionals } = parseFlags(args, {
    tenant: { type: 'string' },
    role: { type: 'string' },
    duration: { type: 'string', default: DEFAULT_DURATION },
    output: { type: 'string' },
    cert: { type: 'boolean', default: false },
    group: { type: 'string', multiple: true, default: [] },
  });
  const [name] = positionals;
  if (name === undefined || positionals.length > 1)
    throw new UsageError(`user create needs one NAME\n${USAGE}`);
  if (values.cert) {
    const options = {
      name,
      groups: values.group,
      tenant: values.tenant,
      role: values.role,
      seconds: durationSeconds(values.duration),
      dataDir: values['data-dir'],
      output: values.output,
    };
    return createCertUser(loadClient(values), options, userBindingName(name));
  }
  if (values.group.length > 0) throw new UsageError(`--group needs --cert\n${USAGE}`);
  const namespace = tenantOf(values.tenant, 'create');
  const role = values.role as TenantAccessLevel | undefined;
  if (role === undefined || !TENANT_ACCESS_LEVELS.includes(role))
    throw new UsageError(`--role is one of ${TENANT_ACCESS_LEVELS.join(', ')}\n${USAGE}`);
  const seconds = durationSeconds(values.duration);
  const c = loadClient(values);
  const labels = { [USER_LABEL]: name };
  await c.call('POST', accountsPath(namespace), {
    apiVersion: 'v1',
    kind: 'ServiceAccount',
    metadata: { name, namespace, labels },
  });
  await c.call('POST', bindingsPath(namespace), {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'RoleBinding',
    metadata: { name: userBindingName(name), namespace, labels },
    subjects: [{ kind: 'ServiceAccount', name, namespace }],
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: `cozy:tenant:${role}` },
  });
  const { value } = await c.call<{ status?: { token?: string } }>(
    'POST',
    `${accountsPath(namespace, name)}/token`,
    {
      apiVersion: 'authentication.k8s.io/v1',
      kind: 'TokenRequest',
      spec: { expirationSeconds: seconds },
    },
  );
  const token = value.status?.token;
  if (token === undefined) throw new Error(`token request for ${namespace}/${name} returned no token`);
  const ca = c.caCertificate() ?? '';
  const kubeconfig = renderKubeconfig(c.server, ca, token, { user: `${namespace}-${name}`, namespace });
  if (values.output === undefined) {
    process.stdout.write(kubeconfig);
    return;
  }
  writeFileSync(values.output, kubeconfig, { mode: 0o600 });
  chmodSync(values.output, 0o600);
  process.stdout.write(
    `user ${name} created in ${namespace} with role cozy:tenant:${role}; kubeconfig written to ${values.output}\n`,
  );
}

interface Binding extends KubeObject {
  roleRef?: { name?: string };
}

async function list(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      ...connectionOptions,
      tenant: { type: 'string' },
      output: { type: 'string', short: 'o', default: 'table' },
    },
  });
  const format = outputFormat(values.output);
  const namespace = values.tenant === undefined ? undefined : parentNamespace(values.tenant);
  const c = loadClient(values);
  const query = `?labelSelector=${encodeURIComponent(USER_LABEL)}`;
  const { value: accounts } = await c.call<{ items: KubeObject[] }>('GET', accountsPath(namespace) + query);
  if (format !== 'table' && format !== 'wide') {
    process.stdout.write(`${renderObjects(accounts.items, format, false, 'serviceaccount', '')}\n`);
    return;
  }
  if (accounts.items.length === 0) {
    process.stderr.write('No users found.\n');
    return;
  }
  const { value: bindings } = await c.call<{ items: Binding[] }>('GET', bindingsPath(namespace) + query);
  const roleOf = (sa: KubeObject): string =>
    bindings.items.find(
      (b) =>
        b.metadata.namespace === sa.metadata.namespace &&
        b.metadata.name === userBindingName(sa.metadata.name ?? ''),
    )?.roleRef?.name ?? '<none>';
  const table = {
    columnDefinitions: [
      { name: 'Name', priority: 0 },
      { name: 'Role', priority: 0 },
      { name: 'Created', priority: 1 },
    ],
    rows: accounts.items.map((sa) => ({
      cells: [sa.metadata.name ?? '', roleOf(sa), sa.metadata.creationTimestamp ?? ''],
      object: { metadata: { namespace: sa.metadata.namespace ?? '' } },
    })),
  };
  process.stdout.write(`${renderTable(table, format === 'wide', true)}\n`);
}

async function remove(args: string[]): Promise<void> {
  const { values, positionals } = parseFlags(args, { tenant: { type: 'string' } });
  if (positionals.length === 0) throw new UsageError(`user delete needs a NAME\n${USAGE}`);
  const namespace = tenantOf(values.tenant, 'delete');
  const c = loadClient(values);
  for (const name of positionals) {
    await c.call('DELETE', accountsPath(namespace, name));
    const binding = await c.request('DELETE', bindingsPath(namespace, userBindingName(name)));
    if (binding.code !== 404 && (binding.code < 200 || binding.code > 299))
      throw new Error(`failed deleting role binding ${userBindingName(name)}: HTTP ${binding.code}`);
    process.stdout.write(`user "${name}" deleted from ${namespace} (its tokens no longer work)\n`);
  }
}
