/**
 * The platform's state as `hikube up` opens it, before any controller runs: the data dir's serving
 * certificates and tokens, the SQLite store (keeping its own headroom on the data dir, so deletes
 * work on a full disk), the Registry over it with the admission settings of the options and the
 * environment, and what every start or only the first one puts in it.
 */
import { admissionSettingsFromEnv, type AdmissionSettings } from '../api/admission.js';
import { cpuAllocationRatioFromEnv } from '../api/quota/usage.js';
import { findKindByGvk, kinds } from '../api/registry.js';
import { Registry } from '../apiserver/registry.js';
import type { ServingCerts } from '../apiserver/tls.js';
import { ensureServingCerts } from '../apiserver/tls.js';
import { reconcileBootstrapPolicy } from '../controllers/rbac/bootstrap.js';
import { clusterDnsIp, networkModeOf, serviceCidrOf } from '../network/options.js';
import { hikubeCatalog } from '../operator/controllers.js';
import { GuardedStore } from '../store/guarded.js';
import { Headroom } from '../store/headroom.js';
import { SqliteStore } from '../store/sqlite.js';
import { ensureDefaultBackupClass } from './backups.js';
import type { PlatformOptions } from './options.js';
import { dataPaths } from './paths.js';
import { storageSeedObjects } from './storage.js';
import { ensureSigningKey, ensureToken } from './tokens.js';

const BUILTIN_NAMESPACES = ['default', 'kube-system', 'kube-public'];

export interface PlatformState {
  paths: ReturnType<typeof dataPaths>;
  certs: ServingCerts;
  token: string;
  scrapeToken: string;
  signingKey: Buffer;
  store: GuardedStore;
  registry: Registry;
  /** Hikube's own controllers run here (not left to `hikube operator`). */
  ours: boolean;
  cpuAllocationRatio: number;
}

export async function openState(options: PlatformOptions): Promise<PlatformState> {
  const paths = dataPaths(options.dataDir);
  const certs = await ensureServingCerts(paths.pki, [options.host]);
  const token = await ensureToken(paths.token);
  const scrapeToken = await ensureToken(paths.scrapeToken);
  const signingKey = await ensureSigningKey(paths.signingKey);
  const store = new GuardedStore(
    new SqliteStore({
      path: paths.database,
      ...(options.historySize !== undefined ? { historySize: options.historySize } : {}),
    }),
    new Headroom({ dir: options.dataDir, ...options.headroom }),
  );
  const cpuAllocationRatio = options.cpuAllocationRatio ?? cpuAllocationRatioFromEnv();
  const registry = new Registry(store, undefined, registrySettings(options, cpuAllocationRatio));
  const ours = !(options.withoutHikubeControllers ?? withoutHikubeControllersFromEnv());
  if (store.currentRv() === 0) seed(registry, ours);
  // Built-in ClusterRoles and bindings, at this release's version on every start.
  reconcileBootstrapPolicy(registry, kinds);
  ensureDefaultBackupClass(registry, options.dataDir);
  return { paths, certs, token, scrapeToken, signingKey, store, registry, ours, cpuAllocationRatio };
}

/** Admission settings: the options', else the environment's. */
function registrySettings(options: PlatformOptions, cpuAllocationRatio: number): AdmissionSettings {
  const fromEnv = admissionSettingsFromEnv(serviceCidrOf(options.network));
  return {
    serviceCidr: fromEnv.serviceCidr,
    ...(networkModeOf(options.network) === 'pod' ? { clusterDnsIp: clusterDnsIp(fromEnv.serviceCidr) } : {}),
    allowExternalIPs: options.allowExternalIPs ?? fromEnv.allowExternalIPs,
    featureGates: options.featureGates ?? fromEnv.featureGates,
    disabledFeatureGates: options.disabledFeatureGates ?? fromEnv.disabledFeatureGates ?? new Set(),
    cpuAllocationRatio,
  };
}

/** HIKUBE_WITHOUT_HIKUBE_CONTROLLERS=1 (or true): `hikube up --without-hikube-controllers`. */
export function withoutHikubeControllersFromEnv(): boolean {
  const v = process.env['HIKUBE_WITHOUT_HIKUBE_CONTROLLERS'] ?? '';
  return v === '1' || v === 'true';
}

/**
 * First start: the built-in namespaces, the local pool's default StorageClass and, with Hikube's
 * controllers, Hikube's catalog (without them `hikube operator` installs it).
 */
function seed(registry: Registry, ours: boolean): void {
  const nsDef = findKindByGvk('v1', 'Namespace');
  if (nsDef === undefined) throw new Error('seed: Namespace kind missing');
  for (const name of BUILTIN_NAMESPACES) registry.create(nsDef, '', { metadata: { name } });
  for (const object of [...storageSeedObjects(), ...(ours ? hikubeCatalog() : [])]) {
    const def = findKindByGvk(object.apiVersion, object.kind);
    if (def === undefined) throw new Error(`seed: unknown kind ${object.apiVersion} ${object.kind}`);
    registry.create(def, object.metadata.namespace ?? '', object);
  }
}
