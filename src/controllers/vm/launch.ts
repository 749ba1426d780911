/**
 * The launch phase of the VM controller: the VMI made from the VM's template, expanded with the
 * instance type and preference (each recorded in a ControllerRevision, so a later edit of the
 * instance type does not resize a running VM), presets merged, and owned by the VM.
 */
import { createHash } from 'node:crypto';
import { controllerRevisionKind, type ControllerRevision } from '../../api/core/core.js';
import {
  applyPresets,
  PRESET_ANNOTATION_PREFIX,
  virtualMachineInstancePresetKind,
  type VirtualMachineInstancePreset,
} from '../../api/kubevirt/preset.js';
import {
  virtualMachineClusterInstancetypeKind,
  virtualMachineClusterPreferenceKind,
  virtualMachineInstancetypeKind,
  virtualMachinePreferenceKind,
  type InstancetypeSpec,
  type PreferenceSpec,
} from '../../api/instancetype/instancetype.js';
import { canonicalMatcherKind } from '../../api/instancetype/matcher.js';
import type { KindDefinition } from '../../api/kind.js';
import type { KubeObject } from '../../api/meta.js';
import { type VirtualMachine } from '../../api/kubevirt/vm.js';
import { virtualMachineInstanceKind, type VirtualMachineInstance } from '../../api/kubevirt/vmi.js';
import { isAlreadyExists } from '../../runtime/transport.js';
import { ExpansionError, expandSpec } from './expand.js';
import type { VmContext } from './controller.js';
import { withoutTrayMedia } from '../../api/kubevirt/trays.js';

export const VM_NAME_LABEL = 'vm.kubevirt.io/name';
export const VM_GENERATION_ANNOTATION = 'kubevirt.io/vm-generation';
export const TEMPLATE_HASH_ANNOTATION = 'hikube.io/template-hash';

export async function createVmi(
  ctx: VmContext,
  vm: VirtualMachine,
  refs: RevisionRefs,
): Promise<{ vmi: VirtualMachineInstance; revisions: RevisionRefs }> {
  const namespace = vm.metadata.namespace ?? '';
  const name = vm.metadata.name ?? '';
  const template = vm.spec.template;
  if (template.spec === undefined) throw new Error('the VM template has no spec');
  const it = await revision<InstancetypeSpec>(ctx, vm, 'instancetype', refs.instancetype);
  const pref = await revision<PreferenceSpec>(ctx, vm, 'preference', refs.preference);
  const spec = expandSpec(template.spec, it?.spec, pref?.spec);
  spec.domain.firmware = { ...spec.domain.firmware, uuid: spec.domain.firmware?.uuid ?? firmwareUuid(vm) };
  // Deprecated VirtualMachineInstancePresets, merged as KubeVirt merged them into new VMIs.
  const labels = { ...template.metadata?.labels, [VM_NAME_LABEL]: name };
  const presets = applyPresets(
    spec.domain,
    labels,
    ctx.api.list<VirtualMachineInstancePreset>(virtualMachineInstancePresetKind, namespace),
  );
  spec.domain = presets.domain;
  for (const c of presets.conflicts)
    ctx.events.record(
      vm,
      'Warning',
      'PresetFailed',
      `Unable to apply VirtualMachineInstancePreset ${c.preset}: it conflicts with ${c.paths.join(', ')}`,
    );
  const vmi: VirtualMachineInstance = {
    apiVersion: 'kubevirt.io/v1',
    kind: 'VirtualMachineInstance',
    metadata: {
      name,
      namespace,
      labels,
      annotations: {
        ...template.metadata?.annotations,
        ...Object.fromEntries(
          presets.applied.map((p) => [`${PRESET_ANNOTATION_PREFIX}${p}`, 'kubevirt.io/v1']),
        ),
        [VM_GENERATION_ANNOTATION]: String(vm.metadata.generation ?? 1),
        [TEMPLATE_HASH_ANNOTATION]: templateHash(vm),
      },
      ownerReferences: [
        {
          apiVersion: 'kubevirt.io/v1',
          kind: 'VirtualMachine',
          name,
          uid: vm.metadata.uid ?? '',
          controller: true,
          blockOwnerDeletion: true,
        },
      ],
    },
    spec,
    status: { phase: 'Pending' },
  };
  const created = await ctx.api.create(virtualMachineInstanceKind, vmi);
  ctx.events.record(
    vm,
    'Normal',
    'SuccessfulCreate',
    `Started the virtual machine by creating the new virtual machine instance ${name}`,
  );
  return { vmi: created, revisions: { instancetype: it?.ref, preference: pref?.ref } };
}

/** The instance type or preference the VM runs with: the recorded revision if any, else the current object, recorded now. */
async function revision<S>(
  ctx: VmContext,
  vm: VirtualMachine,
  which: 'instancetype' | 'preference',
  recorded: RevisionRef | undefined,
): Promise<{ spec: S; ref: RevisionRef } | undefined> {
  const matcher = vm.spec[which];
  if (matcher?.name === undefined) return undefined;
  const namespace = vm.metadata.namespace ?? '';
  const kind = canonicalMatcherKind(which, matcher.kind);
  if (kind === undefined)
    throw new ExpansionError(`spec.${which}.kind`, `unsupported kind ${JSON.stringify(matcher.kind)}`);
  if (recorded !== undefined && recorded.name === matcher.name && recorded.kind === kind) {
    const rev = ctx.api.get<ControllerRevision>(
      controllerRevisionKind,
      namespace,
      recorded.controllerRevisionRef.name,
    );
    const data = rev?.data as { spec?: S } | undefined;
    if (data?.spec !== undefined) return { spec: data.spec, ref: recorded };
  }
  const def = kindFor(which, kind);
  const source = ctx.api.get<KubeObject & { spec: S }>(def, namespace, matcher.name);
  if (source === undefined) {
    throw new ExpansionError(`spec.${which}.name`, `${kind} ${JSON.stringify(matcher.name)} not found`);
  }
  const revName = `${vm.metadata.name ?? ''}-${matcher.name}-${(source.metadata.uid ?? '').slice(0, 8)}-${source.metadata.generation ?? 1}`;
  if (ctx.api.get(controllerRevisionKind, namespace, revName) === undefined) {
    // Named after the source's uid and generation: one already there (a stale cache) is this one.
    await ctx.api
      .create<ControllerRevision>(controllerRevisionKind, {
        apiVersion: 'apps/v1',
        kind: 'ControllerRevision',
        metadata: {
          name: revName,
          namespace,
          labels: { [VM_NAME_LABEL]: vm.metadata.name ?? '' },
          ownerReferences: [
            {
              apiVersion: 'kubevirt.io/v1',
              kind: 'VirtualMachine',
              name: vm.metadata.name ?? '',
              uid: vm.metadata.uid ?? '',
              controller: true,
            },
          ],
        },
        data: {
          apiVersion: source.apiVersion,
          kind: source.kind,
          metadata: { name: matcher.name },
          spec: source.spec,
        },
        revision: source.metadata.generation ?? 1,
      })
      .catch((err: unknown) => {
        if (!isAlreadyExists(err)) throw err;
      });
  }
  return { spec: source.spec, ref: { name: matcher.name, kind, controllerRevisionRef: { name: revName } } };
}

function kindFor(which: 'instancetype' | 'preference', kind: string): KindDefinition {
  if (which === 'instancetype')
    return kind === 'VirtualMachineInstancetype'
      ? virtualMachineInstancetypeKind
      : virtualMachineClusterInstancetypeKind;
  return kind === 'VirtualMachinePreference'
    ? virtualMachinePreferenceKind
    : virtualMachineClusterPreferenceKind;
}

/** What the VMI was made from: a change means the running guest no longer matches the VM. */
export function templateHash(vm: VirtualMachine): string {
  return createHash('sha256')
    .update(
      JSON.stringify([
        // The trays' media follow the VM live (src/api/kubevirt/trays.ts): no restart for them.
        vm.spec.template.spec === undefined
          ? vm.spec.template
          : { ...vm.spec.template, spec: withoutTrayMedia(vm.spec.template.spec) },
        vm.spec.instancetype?.name,
        vm.spec.instancetype?.kind,
        vm.spec.preference?.name,
        vm.spec.preference?.kind,
      ]),
    )
    .digest('hex')
    .slice(0, 16);
}

/** A stable firmware UUID per VM (SMBIOS system UUID), derived from the VM's uid. */
function firmwareUuid(vm: VirtualMachine): string {
  const h = createHash('sha1')
    .update(`hikube-vm-firmware:${vm.metadata.uid ?? ''}`)
    .digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-${((parseInt(h.slice(16, 18), 16) & 0x3f) | 0x80).toString(16)}${h.slice(18, 20)}-${h.slice(20, 32)}`;
}

export interface RevisionRef {
  name: string;
  kind: string;
  controllerRevisionRef: { name: string };
}

export interface RevisionRefs {
  instancetype: RevisionRef | undefined;
  preference: RevisionRef | undefined;
}
