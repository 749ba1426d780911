/**
 * What admission knows of the platform's configuration: the admin switches of `hikube up` that
 * decide whether an object is acceptable (the service CIDR a cluster IP must lie in, whether
 * externalIPs are allowed, the feature gates). The API server holds one value and hands it to
 * every kind's `validate`, so the same object is judged the same way wherever it is written.
 */
import { parseCidr } from './network/cni.js';

/** Cluster IPs come from here unless the node's network options say otherwise (loopback: nothing is reachable from outside). */
export const DEFAULT_SERVICE_CIDR = '127.16.0.0/16';

/** Feature gates this platform knows, as KubeVirt names them. */
export const FEATURE_GATES = ['HostDisk'] as const;
export type FeatureGate = (typeof FEATURE_GATES)[number];

export interface AdmissionSettings {
  /** The service CIDR: cluster IPs must lie in it. */
  serviceCidr: string;
  /** spec.externalIPs of Services may be set (CVE-2020-8554: off unless an admin allows it). */
  allowExternalIPs: boolean;
  featureGates: ReadonlySet<FeatureGate>;
  /** The cluster DNS address (pod network only): no Service may ask for it. */
  clusterDnsIp?: string;
  /** vCPUs per requested CPU when counting a VMI against a quota (KubeVirt's cpuAllocationRatio; 10 when unset). */
  cpuAllocationRatio?: number;
}

export function defaultAdmissionSettings(): AdmissionSettings {
  return { serviceCidr: DEFAULT_SERVICE_CIDR, allowExternalIPs: false, featureGates: new Set() };
}

/** An admin switch given as an environment variable: on when `1` or `true` (any case). */
export function envFlag(name: string, env: NodeJS.ProcessEnv = process.env): boolean {
  const v = (env[name] ?? '').toLowerCase();
  return v === '1' || v === 'true';
}

/** The settings of `hikube up` when no flag says otherwise: $HIKUBE_ALLOW_EXTERNAL_IPS, $HIKUBE_FEATURE_GATES. */
export function admissionSettingsFromEnv(
  serviceCidr: string = DEFAULT_SERVICE_CIDR,
  env: NodeJS.ProcessEnv = process.env,
): AdmissionSettings {
  return {
    serviceCidr,
    allowExternalIPs: envFlag('HIKUBE_ALLOW_EXTERNAL_IPS', env),
    featureGates: parseFeatureGates(env['HIKUBE_FEATURE_GATES'] ?? ''),
  };
}

/** The usable addresses of a CIDR (without its network and broadcast addresses), as numbers. */
export function cidrHosts(cidr: string): { first: number; last: number } | undefined {
  const parsed = parseCidr(cidr);
  if (parsed === undefined) return undefined;
  const size = 2 ** (32 - parsed.prefix);
  return { first: parsed.network + 1, last: parsed.network + size - 2 };
}

/**
 * `HostDisk,Foo=false`: the gates turned on. Names as KubeVirt's featureGates list them, each
 * optionally `=true` or `=false` as kube's --feature-gates writes them.
 * @throws Error naming an unknown gate or a value other than true/false.
 */
export function parseFeatureGates(text: string): Set<FeatureGate> {
  const on = new Set<FeatureGate>();
  for (const item of text.split(',').map((s) => s.trim())) {
    if (item === '') continue;
    const [name = '', value = 'true'] = item.split('=');
    if (!(FEATURE_GATES as readonly string[]).includes(name))
      throw new Error(
        `unknown feature gate ${JSON.stringify(name)}; known gates: ${FEATURE_GATES.join(', ')}`,
      );
    if (value !== 'true' && value !== 'false')
      throw new Error(`feature gate ${name}: ${JSON.stringify(value)} is neither true nor false`);
    if (value === 'true') on.add(name as FeatureGate);
    else on.delete(name as FeatureGate);
  }
  return on;
}
