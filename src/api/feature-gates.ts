/**
 * KubeVirt's feature gates as KubeVirt v1.9.0 registers them (pkg/virt-config/featuregate), with their
 * state in that release: GA gates are always on, Beta gates are on unless disabled, Alpha gates are
 * off unless enabled, Deprecated gates are off unless enabled (with a warning), Discontinued gates
 * cannot be enabled. `hikube up --feature-gates` speaks these names, so an admin's KubeVirt
 * configuration carries over; `effect` says what a gate changes on this platform (docs/feature-gates.md).
 */

export type FeatureGateState = 'GA' | 'Beta' | 'Alpha' | 'Deprecated' | 'Discontinued';

interface GateInfo {
  readonly name: string;
  readonly state: FeatureGateState;
  /** What the gate decides here; absent: the gate is known and kept, and changes nothing here. */
  readonly effect?: string;
}

/** The release whose gates and defaults these are. */
export const FEATURE_GATES_RELEASE = 'KubeVirt v1.9.0';

export const KUBEVIRT_FEATURE_GATES = [
  // Alpha: off unless enabled.
  { name: 'AlignCPUs', state: 'Alpha' },
  { name: 'CPUManager', state: 'Alpha' },
  { name: 'ConfigurableHypervisor', state: 'Alpha' },
  { name: 'ContainerPathVolumes', state: 'Alpha' },
  { name: 'CrossArchitectureVirtualization', state: 'Alpha' },
  { name: 'DecentralizedLiveMigration', state: 'Alpha' },
  {
    name: 'DownwardMetrics',
    state: 'Alpha',
    effect: 'downwardMetrics volumes and devices.downwardMetrics are admitted',
  },
  {
    name: 'EnableVirtioFsStorageVolumes',
    state: 'Alpha',
    effect: 'virtiofs filesystems backed by a PVC or DataVolume are admitted',
  },
  {
    name: 'ExperimentalIgnitionSupport',
    state: 'Alpha',
    effect: 'the kubevirt.io/ignitiondata annotation is admitted',
  },
  { name: 'FirmwareAutoSelection', state: 'Alpha' },
  { name: 'GraceIOVirtualization', state: 'Alpha' },
  {
    name: 'HostDevices',
    state: 'Alpha',
    effect: 'devices.hostDevices are admitted (not passed through here)',
  },
  {
    name: 'HostDisk',
    state: 'Alpha',
    effect: 'hostDisk volumes are admitted (the node still skips them with a warning)',
  },
  { name: 'HypervStrictCheck', state: 'Alpha' },
  { name: 'IOMMUFD', state: 'Alpha' },
  { name: 'IncrementalBackup', state: 'Alpha' },
  { name: 'MigrationStallDetection', state: 'Alpha' },
  {
    name: 'NetworkDevicesWithDRA',
    state: 'Alpha',
    effect: 'networks with a resourceClaim are admitted',
  },
  { name: 'OCIExport', state: 'Alpha' },
  { name: 'ObjectGraph', state: 'Alpha' },
  { name: 'PCINUMAAwareTopology', state: 'Alpha' },
  { name: 'Plugins', state: 'Alpha' },
  {
    name: 'PortRangesSpec',
    state: 'Alpha',
    effect: 'interface portRanges are admitted',
  },
  {
    name: 'ReservedOverheadMemlock',
    state: 'Alpha',
    effect: 'memory.reservedOverhead is admitted',
  },
  { name: 'Root', state: 'Alpha' },
  {
    name: 'Sidecar',
    state: 'Alpha',
    effect: 'the hooks.kubevirt.io/hookSidecars annotation is admitted',
  },
  {
    name: 'UtilityVolumes',
    state: 'Alpha',
    effect: 'spec.utilityVolumes is admitted',
  },
  { name: 'VGPULiveMigration', state: 'Alpha' },
  { name: 'VMStatsCollector', state: 'Alpha' },
  {
    name: 'VSOCK',
    state: 'Alpha',
    effect: 'devices.autoattachVSOCK: true is admitted',
  },
  {
    name: 'WorkloadEncryptionTDX',
    state: 'Alpha',
    effect: 'launchSecurity.tdx is admitted',
  },
  // Beta: on unless disabled.
  {
    name: 'DeclarativeHotplugVolumes',
    state: 'Beta',
    effect: 'a cdrom disk without a volume is admitted (an empty tray)',
  },
  { name: 'ExternalNetResourceInjection', state: 'Beta' },
  { name: 'GPUsWithDRA', state: 'Beta' },
  { name: 'HostDevicesWithDRA', state: 'Beta' },
  { name: 'ImageVolume', state: 'Beta' },
  { name: 'KubevirtSeccompProfile', state: 'Beta' },
  { name: 'LibvirtHooksServerAndClient', state: 'Beta' },
  { name: 'NodeRestriction', state: 'Beta' },
  { name: 'OptOutRoleAggregation', state: 'Beta' },
  {
    name: 'PasstBinding',
    state: 'Beta',
    effect: 'interfaces with passtBinding are admitted',
  },
  { name: 'PodSecondaryInterfaceNamingUpgrade', state: 'Beta' },
  {
    name: 'RebootPolicy',
    state: 'Beta',
    effect: 'domain.rebootPolicy is admitted',
  },
  {
    name: 'Snapshot',
    state: 'Beta',
    effect: 'VirtualMachineSnapshots, VirtualMachineRestores and VirtualMachineClones are admitted',
  },
  { name: 'Template', state: 'Beta' },
  { name: 'VmiMemoryOverheadReport', state: 'Beta' },
  {
    name: 'WorkloadEncryptionSEV',
    state: 'Beta',
    effect: 'launchSecurity.sev and .snp are admitted',
  },
  // GA: always on, no way to turn them off.
  { name: 'AutoResourceLimitsGate', state: 'GA' },
  { name: 'BochsDisplayForEFIGuests', state: 'GA' },
  { name: 'CPUNodeDiscovery', state: 'GA' },
  { name: 'ClusterProfiler', state: 'GA' },
  { name: 'CommonInstancetypesDeploymentGate', state: 'GA' },
  { name: 'DisableCustomSELinuxPolicy', state: 'GA' },
  { name: 'DynamicPodInterfaceNaming', state: 'GA' },
  { name: 'EnableVirtioFsConfigVolumes', state: 'GA' },
  { name: 'ExpandDisks', state: 'GA' },
  { name: 'GPU', state: 'GA' },
  { name: 'HotplugNICs', state: 'GA' },
  { name: 'InstancetypeReferencePolicy', state: 'GA' },
  { name: 'LiveMigration', state: 'GA' },
  { name: 'LiveUpdateNADRef', state: 'GA' },
  { name: 'MigrationPriorityQueue', state: 'GA' },
  { name: 'NUMA', state: 'GA' },
  { name: 'NetworkBindingPlugins', state: 'GA' },
  { name: 'NonRoot', state: 'GA' },
  { name: 'PSA', state: 'GA' },
  { name: 'PanicDevices', state: 'GA' },
  { name: 'PersistentReservation', state: 'GA' },
  { name: 'SRIOVLiveMigration', state: 'GA' },
  { name: 'SecureExecution', state: 'GA' },
  { name: 'VMExport', state: 'GA' },
  { name: 'VMLiveUpdateFeatures', state: 'GA' },
  { name: 'VMPersistentState', state: 'GA' },
  { name: 'VideoConfig', state: 'GA' },
  { name: 'VolumeMigration', state: 'GA' },
  { name: 'VolumesUpdateStrategy', state: 'GA' },
  // Deprecated: off unless enabled; going away.
  { name: 'DisableMDEVConfiguration', state: 'Deprecated' },
  { name: 'DockerSELinuxMCSWorkaround', state: 'Deprecated' },
  { name: 'HotplugVolumes', state: 'Deprecated' },
  { name: 'MultiArchitecture', state: 'Deprecated' },
  // Discontinued: the feature is gone (or always there); the gate cannot be enabled.
  { name: 'ExperimentalVirtiofsSupport', state: 'Discontinued' },
  { name: 'Macvtap', state: 'Discontinued' },
  { name: 'Passt', state: 'Discontinued' },
  { name: 'PasstIPStackMigration', state: 'Discontinued' },
] as const satisfies readonly GateInfo[];

export type FeatureGate = (typeof KUBEVIRT_FEATURE_GATES)[number]['name'];

const BY_NAME: ReadonlyMap<string, GateInfo> = new Map(KUBEVIRT_FEATURE_GATES.map((g) => [g.name, g]));

export function featureGateInfo(name: string): GateInfo | undefined {
  return BY_NAME.get(name);
}

/** An admin's choice, as KubeVirt's developerConfiguration holds it: gates enabled and gates disabled. */
export interface FeatureGateChoice {
  enabled: ReadonlySet<FeatureGate>;
  disabled?: ReadonlySet<FeatureGate>;
}

/** As KubeVirt decides: GA is always on; then an explicit enable; then an explicit disable; then Beta is on. */
export function gateEnabled(gate: FeatureGate, choice: FeatureGateChoice): boolean {
  const state = BY_NAME.get(gate)?.state;
  if (state === 'GA') return true;
  if (state === 'Discontinued') return false;
  if (choice.enabled.has(gate)) return true;
  if (choice.disabled?.has(gate) === true) return false;
  return state === 'Beta';
}

/**
 * `HostDisk,Snapshot=false`: names as KubeVirt's featureGates list them, each optionally `=true` or
 * `=false` as kube's --feature-gates writes them. The last mention of a gate wins.
 * @throws Error naming an unknown gate (with the list of known ones), a value other than true/false,
 * a GA gate turned off or a Discontinued gate turned on.
 */
export function parseFeatureGates(text: string): { enabled: Set<FeatureGate>; disabled: Set<FeatureGate> } {
  const enabled = new Set<FeatureGate>();
  const disabled = new Set<FeatureGate>();
  for (const item of text.split(',').map((s) => s.trim())) {
    if (item === '') continue;
    const [name = '', value = 'true', ...rest] = item.split('=');
    const info = BY_NAME.get(name);
    if (info === undefined)
      throw new Error(
        `unknown feature gate ${JSON.stringify(name)}; known gates (${FEATURE_GATES_RELEASE}): ${[...BY_NAME.keys()].sort().join(', ')}`,
      );
    if ((value !== 'true' && value !== 'false') || rest.length > 0)
      throw new Error(
        `feature gate ${name}: ${JSON.stringify(item.slice(name.length + 1))} is neither true nor false`,
      );
    const gate = info.name as FeatureGate;
    if (value === 'false' && info.state === 'GA')
      throw new Error(`feature gate ${name} is GA in ${FEATURE_GATES_RELEASE} and cannot be turned off`);
    if (value === 'true' && info.state === 'Discontinued')
      throw new Error(
        `feature gate ${name} is discontinued in ${FEATURE_GATES_RELEASE} and cannot be turned on`,
      );
    (value === 'true' ? enabled : disabled).add(gate);
    (value === 'true' ? disabled : enabled).delete(gate);
  }
  return { enabled, disabled };
}
