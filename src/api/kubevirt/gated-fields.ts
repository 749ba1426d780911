/**
 * Fields of a VMI spec (and annotations of its metadata) that KubeVirt v1.9 admits only when a
 * feature gate is on, refused as its validating webhook refuses them: same message, same field
 * path, when the gate is off (src/api/feature-gates.ts holds the gates and their defaults).
 */
import type { FieldError } from '../kind.js';
import { gateEnabled, type FeatureGate, type FeatureGateChoice } from '../feature-gates.js';
import type { VirtualMachineInstanceSpec } from './vmi.js';

export const IGNITION_ANNOTATION = 'kubevirt.io/ignitiondata';
export const SIDECAR_ANNOTATION = 'hooks.kubevirt.io/hookSidecars';

const present = (o: unknown, key: string): boolean =>
  typeof o === 'object' && o !== null && (o as Record<string, unknown>)[key] !== undefined;

/**
 * Causes for gated fields whose gate is off. `at` is the spec's path, `metaAt` its metadata's
 * (`metadata` for a VMI, `spec.template.metadata` for a VM's template).
 */
export function gatedFieldErrors(
  spec: VirtualMachineInstanceSpec,
  annotations: Readonly<Record<string, string>> | undefined,
  at: string,
  metaAt: string,
  gates: FeatureGateChoice,
): FieldError[] {
  const errors: FieldError[] = [];
  const off = (gate: FeatureGate): boolean => !gateEnabled(gate, gates);
  const refuse = (path: string, message: string): void =>
    void errors.push({ path, reason: 'FieldValueInvalid', message });
  const domain = spec.domain;
  const devices = domain.devices;
  const volumes = spec.volumes ?? [];
  const volumeNames = new Set(volumes.map((v) => v.name));

  if (annotations?.[IGNITION_ANNOTATION] !== undefined && annotations[IGNITION_ANNOTATION] !== '')
    if (off('ExperimentalIgnitionSupport'))
      refuse(
        `${metaAt}.annotations`,
        `ExperimentalIgnitionSupport feature gate is not enabled in kubevirt-config, invalid entry ${metaAt}.annotations.${IGNITION_ANNOTATION}`,
      );
  if (annotations?.[SIDECAR_ANNOTATION] !== undefined && annotations[SIDECAR_ANNOTATION] !== '')
    if (off('Sidecar'))
      refuse(
        `${metaAt}.annotations`,
        `sidecar feature gate is not enabled in kubevirt-config, invalid entry ${metaAt}.annotations.${SIDECAR_ANNOTATION}`,
      );

  if (devices.downwardMetrics !== undefined && off('DownwardMetrics'))
    refuse(
      `${at}.domain.devices.downwardMetrics`,
      'downwardMetrics virtio serial is not allowed: DownwardMetrics feature gate is not enabled',
    );
  if (devices.hostDevices !== undefined && off('HostDevices'))
    refuse(`${at}.domain.devices.HostDevices`, 'Host Devices feature gate is not enabled in kubevirt-config');
  if (devices.autoattachVSOCK === true && off('VSOCK'))
    refuse(`${at}.domain.devices.autoattachVSOCK`, 'VSOCK feature gate is not enabled in kubevirt-config');
  (devices.disks ?? []).forEach((d, i) => {
    if (d.cdrom !== undefined && !volumeNames.has(d.name) && off('DeclarativeHotplugVolumes'))
      refuse(
        `${at}.domain.devices.disks[${i}].name`,
        'DeclarativeHotplugVolumes feature gate not enabled, cannot define an empty CD-ROM disk',
      );
  });
  const storageBacked = new Set(
    volumes
      .filter((v) => v.persistentVolumeClaim !== undefined || v.dataVolume !== undefined)
      .map((v) => v.name),
  );
  if (
    (devices.filesystems ?? []).some((f) => storageBacked.has(f.name)) &&
    off('EnableVirtioFsStorageVolumes')
  )
    refuse(
      `${at}.domain.devices.filesystems`,
      'virtiofs is not allowed: virtiofs feature gate is not enabled for PVC',
    );
  (devices.interfaces ?? []).forEach((nic, i) => {
    if (nic.passtBinding !== undefined && off('PasstBinding'))
      refuse(`${at}.domain.devices.interfaces[${i}].name`, 'PasstBinding feature gate is not enabled');
    if (nic.portRanges !== undefined && off('PortRangesSpec'))
      refuse(
        `${at}.domain.devices.interfaces[${i}].name`,
        'portRanges is specified on interface but the PortRangesSpec feature gate is not enabled',
      );
  });
  if ((spec.networks ?? []).some((n) => n.resourceClaim !== undefined) && off('NetworkDevicesWithDRA'))
    refuse(
      `${at}.networks`,
      'vmi.spec.networks contains DRA networks but NetworkDevicesWithDRA feature gate is not enabled',
    );
  if (domain.rebootPolicy !== undefined && off('RebootPolicy'))
    refuse(
      `${at}.domain.rebootPolicy`,
      'RebootPolicy is specified but the RebootPolicy feature gate is not enabled',
    );
  if (domain.memory?.reservedOverhead !== undefined && off('ReservedOverheadMemlock'))
    refuse(
      `${at}.domain.memory.reservedOverhead`,
      'Reserved overhead memlock feature gate is not enabled in kubevirt-config',
    );
  const security = domain.launchSecurity;
  const sev = present(security, 'sev') || present(security, 'snp');
  const tdx = present(security, 'tdx');
  if (sev !== tdx) {
    const gate = sev ? 'WorkloadEncryptionSEV' : 'WorkloadEncryptionTDX';
    if (off(gate))
      refuse(`${at}.domain.launchSecurity`, `${gate} feature gate is not enabled in kubevirt-config`);
  }
  volumes.forEach((v, i) => {
    if (v.downwardMetrics !== undefined && off('DownwardMetrics'))
      refuse(
        `${at}.volumes[${i}]`,
        'downwardMetrics disks are not allowed: DownwardMetrics feature gate is not enabled.',
      );
    if (v.hostDisk !== undefined && off('HostDisk'))
      refuse(`${at}.volumes[${i}]`, 'HostDisk feature gate is not enabled');
  });
  if ((spec.utilityVolumes ?? []).length > 0 && off('UtilityVolumes'))
    refuse(`${at}.utilityVolumes`, 'UtilityVolumes feature gate is not enabled');
  return errors;
}

/**
 * The Snapshot gate (Beta, on by default): when an admin turns it off, new VirtualMachineSnapshots,
 * Restores and Clones are refused with KubeVirt's message for each kind.
 */
export function snapshotGateErrors(
  old: unknown,
  gates: FeatureGateChoice,
  message:
    | 'snapshot feature gate not enabled'
    | 'Snapshot/Restore feature gate not enabled'
    | 'snapshot feature gate is not enabled',
): FieldError[] {
  if (old !== undefined || gateEnabled('Snapshot', gates)) return [];
  return [{ path: 'spec', reason: 'FieldValueForbidden', message }];
}
