/**
 * What `hikube up` is given (PlatformOptions: every admin switch a test or the CLI can set) and what
 * it hands back (Platform: the running platform's addresses, parts and stop). Apart from
 * platform.ts so that the assembly reads as start-up steps, not as a list of settings.
 */
import type { FeatureGate } from '../api/admission.js';
import type { Registry } from '../apiserver/registry.js';
import type { Accel } from '../hypervisor/machine.js';
import type { Metrics, MetricsOptions } from '../metrics/index.js';
import type { Networking } from '../network/index.js';
import type { NetworkOptions } from '../network/options.js';
import type { NodeAgent } from '../node/agent.js';
import type { Overcommit } from '../node/registration.js';
import type { CapacityPolicy } from '../storage/capacity.js';

export interface PlatformOptions {
  dataDir: string;
  host: string;
  /** 0 picks a free port. */
  port: number;
  log?: (message: string) => void;
  /** Shorter bookmark interval for tests. */
  bookmarkIntervalMs?: number;
  /** Changes kept for watch resume (default 10,000); smaller in tests of compaction. */
  historySize?: number;
  /** Name of this node (default: the host name). */
  nodeName?: string;
  /** Skip the KVM probe (tests, or a host known to lack KVM). */
  accel?: Accel;
  overcommit?: Overcommit;
  /** Extra image directories searched before the built-in images. */
  imageDirs?: string[];
  /** Metrics collection interval and history retention (tests use a short interval). */
  metrics?: MetricsOptions;
  /** Load balancer pool, service range, guest outbound NAT, secondary networks (src/network/options.ts). */
  network?: NetworkOptions;
  /** The store's reserve and low-water mark on the data dir (src/store/headroom.ts); smaller in tests. */
  headroom?: { reserveBytes?: number; lowBytes?: number };
  /** Thin volumes may total this many times their pool's filesystem size (default 10). */
  storageOvercommit?: number;
  /** Or the whole capacity policy of the pool (tests: a smaller low-water mark). */
  storageCapacity?: CapacityPolicy;
  /** Registry host → mirror host for containerDisk pulls (default: HIKUBE_REGISTRY_MIRRORS, `host=mirror,…`). */
  registryMirrors?: Record<string, string>;
  /** Imports and pulls may reach loopback and private addresses (default: HIKUBE_ALLOW_PRIVATE_TARGETS). */
  allowPrivateTargets?: boolean;
  /** Directories a local BackupStrategy may use besides DATA_DIR/backups (default: HIKUBE_BACKUP_DIRS). */
  backupDirs?: readonly string[];
  /** Services may set externalIPs (default: HIKUBE_ALLOW_EXTERNAL_IPS; CVE-2020-8554). */
  allowExternalIPs?: boolean;
  /** Feature gates turned on (default: HIKUBE_FEATURE_GATES, e.g. `HostDisk`). */
  featureGates?: ReadonlySet<FeatureGate>;
  /** Beta feature gates turned off (default: the `Name=false` entries of HIKUBE_FEATURE_GATES). */
  disabledFeatureGates?: ReadonlySet<FeatureGate>;
  /** vCPUs per requested CPU (KubeVirt's cpuAllocationRatio; default: HIKUBE_CPU_ALLOCATION_RATIO, else 10). */
  cpuAllocationRatio?: number;
  /** Rotation of DATA_DIR/audit.log (default 100 MiB, 5 files kept); smaller in tests. */
  audit?: { maxBytes?: number; backups?: number };
  /**
   * Leave out what is Hikube's own (src/operator/controllers.ts) for `hikube operator` to run from
   * outside (default: HIKUBE_WITHOUT_HIKUBE_CONTROLLERS=1).
   */
  withoutHikubeControllers?: boolean;
}

export interface Platform {
  url: string;
  /** The web console (web/dist, served by the API server). */
  consoleUrl: string;
  kubeconfigPath: string;
  token: string;
  registry: Registry;
  nodeName: string;
  accel: Accel;
  agent: NodeAgent;
  metrics: Metrics;
  network: Networking;
  stop(): Promise<void>;
}
