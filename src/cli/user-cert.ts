/**
 * `hikube user create NAME --cert`: a user known by an x509 client certificate instead of a
 * ServiceAccount token, for group bindings as Cozystack makes them (CN = the user, O = each
 * `--group`). Signing needs the platform's CA key, so this runs where the data dir is (as kubeadm's
 * `kubeconfig user` does on a control-plane node). With `--tenant` and `--role`, the user (kind
 * User) is bound to the tenant role as a token user would be; without, only the groups' bindings
 * apply. Nothing revokes a certificate before it expires: give it a short `--duration`.
 */
import { chmodSync, writeFileSync } from 'node:fs';
import { issueClientCert } from '../apiserver/auth/client-certs.js';
import { TENANT_ACCESS_LEVELS, type TenantAccessLevel } from '../controllers/tenant/compile.js';
import { renderKubeconfig } from '../platform/kubeconfig.js';
import { dataPaths, defaultDataDir } from '../platform/paths.js';
import type { KubeClient } from '../client/kube.js';
import { UsageError } from './errors.js';
import { parentNamespace } from './tenant.js';

export interface CertUserOptions {
  name: string;
  groups: readonly string[];
  tenant?: string | undefined;
  role?: string | undefined;
  seconds: number;
  dataDir?: string | undefined;
  output?: string | undefined;
}

/** Leeway for clocks a little behind the server's. */
const BACKDATE_MS = 5 * 60_000;

export async function createCertUser(c: KubeClient, o: CertUserOptions, bindingName: string): Promise<void> {
  if ((o.tenant === undefined) !== (o.role === undefined))
    throw new UsageError('--tenant and --role go together (or neither: only --group bindings apply)');
  const role = o.role as TenantAccessLevel | undefined;
  if (role !== undefined && !TENANT_ACCESS_LEVELS.includes(role))
    throw new UsageError(`--role is one of ${TENANT_ACCESS_LEVELS.join(', ')}`);
  const namespace = o.tenant === undefined ? 'default' : parentNamespace(o.tenant);
  const now = Date.now();
  const credential = await issueClientCert(dataPaths(o.dataDir ?? defaultDataDir()).pki, {
    user: o.name,
    groups: o.groups,
    notBefore: new Date(now - BACKDATE_MS),
    notAfter: new Date(now + o.seconds * 1000),
  });
  if (role !== undefined) {
    await c.call(
      'POST',
      `/apis/rbac.authorization.k8s.io/v1/namespaces/${encodeURIComponent(namespace)}/rolebindings`,
      {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'RoleBinding',
        metadata: { name: bindingName, namespace },
        subjects: [{ kind: 'User', apiGroup: 'rbac.authorization.k8s.io', name: o.name }],
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: `cozy:tenant:${role}` },
      },
    );
  }
  const kubeconfig = renderKubeconfig(c.server, c.caCertificate() ?? '', credential, {
    user: o.name,
    namespace,
  });
  if (o.output === undefined) {
    process.stdout.write(kubeconfig);
    return;
  }
  writeFileSync(o.output, kubeconfig, { mode: 0o600 });
  chmodSync(o.output, 0o600);
  const groups = o.groups.length === 0 ? 'no group' : `groups ${o.groups.join(', ')}`;
  process.stdout.write(
    `certificate for user ${o.name} (${groups}) valid ${o.seconds}s; kubeconfig written to ${o.output}\n`,
  );
}
