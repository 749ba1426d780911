/**
 * What admission knows of the platform's configuration: the admin switches of `hikube up` that
 * decide whether an object is acceptable (the service CIDR a cluster IP must lie in, whether
 * externalIPs are allowed, the feature gates). The API server holds one value and hands it to
 * every kind's `validate`, so the same object is judged the same way wherever it is written.
 */
import { parseCidr } from './network/cni.js';
import { parseFeatureGates, type FeatureGate, type FeatureGateChoice } from './feature-gates.js';

export type { FeatureGate } from './feature-gates.js';

/** Cluster IPs come from here unless the node's network options say otherwise (loopback: nothing is reachable from outside). */
export const DEFAULT_SERVICE_CIDR = '127.16.0.0/16';

export interface AdmissionSettings {
  /** The service CIDR: cluster IPs must lie in it. */
  serviceCidr: string;
  /** spec.externalIPs of Services may be set (CVE-2020-8554: off unless an admin allows it). */
  allowExternalIPs: boolean;
  /** Feature gates the admin turned on (KubeVirt's developerConfiguration.featureGates); see feature-gates.ts. */
  featureGates: ReadonlySet<FeatureGate>;
  /** The cluster DNS address (pod network only): no Service may ask for it. */
  clusterDnsIp?: string;
  /** Beta gates the admin turned off (developerConfiguration.disabledFeatureGates). */
  disabledFeatureGates?: ReadonlySet<FeatureGate>;
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
    ...featureGateSettings(parseFeatureGates(env['HIKUBE_FEATURE_GATES'] ?? '')),
  };
}

/** The usable addresses of a CIDR (without its network and broadcast addresses), as numbers. */
export function cidrHosts(cidr: string): { first: number; last: number } | undefined {
  const parsed = parseCidr(cidr);
  if (parsed === undefined) return undefined;
  const size = 2 ** (32 - parsed.prefix);
  return { first: parsed.network + 1, last: parsed.network + size - 2 };
}

/** The gates of the settings as feature-gates.ts decides with them. */
export function gateChoice(settings: AdmissionSettings): FeatureGateChoice {
  return {
    enabled: settings.featureGates,
    ...(settings.disabledFeatureGates !== undefined ? { disabled: settings.disabledFeatureGates } : {}),
  };
}

/** An admin's gate choice as the two sets of the settings. */
export function featureGateSettings(choice: {
  enabled: ReadonlySet<FeatureGate>;
  disabled: ReadonlySet<FeatureGate>;
}): Pick<AdmissionSettings, 'featureGates' | 'disabledFeatureGates'> {
  return { featureGates: choice.enabled, disabledFeatureGates: choice.disabled };
}
