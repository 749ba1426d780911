/**
 * The VM controller's volume preconditions: the DataVolumes of spec.dataVolumeTemplates created and
 * owned by the VM, and what a start still waits for (claims, Secrets and attachments that do not
 * exist, DataVolumes not populated, claims not bound), reported in the VM's status.
 */
import { persistentVolumeClaimKind, secretKind } from '../../api/core/core.js';
import { networkAttachmentDefinitionKind } from '../../api/network/nad.js';
import type { KubeObject } from '../../api/meta.js';
import { type VirtualMachine } from '../../api/kubevirt/vm.js';
import { dataVolumeKind, type DataVolume } from '../../api/cdi/datavolume.js';
import { isAlreadyExists } from '../../runtime/transport.js';
import { type VmFacts } from './printable.js';
import { attachmentsOf, secretsOf } from './references.js';
import type { VmContext } from './controller.js';

export function missingPvcs(ctx: VmContext, vm: VirtualMachine): string[] {
  const namespace = vm.metadata.namespace ?? '';
  const templates = new Set((vm.spec.dataVolumeTemplates ?? []).map((t) => t.metadata?.name));
  const claims = (vm.spec.template.spec?.volumes ?? []).flatMap((v) => {
    if (v.persistentVolumeClaim !== undefined) return [v.persistentVolumeClaim.claimName];
    if (
      v.dataVolume !== undefined &&
      !templates.has(v.dataVolume.name) &&
      ctx.api.get(dataVolumeKind, namespace, v.dataVolume.name) === undefined
    )
      return [v.dataVolume.name];
    return [];
  });
  return claims.filter((c) => ctx.api.get(persistentVolumeClaimKind, namespace, c) === undefined);
}

/** Secrets and network attachment definitions the VM names that do not exist (yet). */
export function missingReferences(ctx: VmContext, vm: VirtualMachine): string[] {
  const namespace = vm.metadata.namespace ?? '';
  const secrets = secretsOf(vm)
    .filter((n) => ctx.api.get(secretKind, namespace, n) === undefined)
    .map((n) => `Secret ${JSON.stringify(n)}`);
  const nads = attachmentsOf(vm)
    .filter(([ns, n]) => ctx.api.get(networkAttachmentDefinitionKind, ns, n) === undefined)
    .map(([ns, n]) => `NetworkAttachmentDefinition ${JSON.stringify(`${ns}/${n}`)}`);
  return [...secrets, ...nads];
}

/** Creates the DataVolumes of spec.dataVolumeTemplates that do not exist yet, owned by the VM. */
export async function ensureDataVolumes(ctx: VmContext, vm: VirtualMachine): Promise<void> {
  const namespace = vm.metadata.namespace ?? '';
  for (const t of vm.spec.dataVolumeTemplates ?? []) {
    const name = t.metadata?.name;
    if (name === undefined || ctx.api.get(dataVolumeKind, namespace, name) !== undefined) continue;
    try {
      await ctx.api.create<DataVolume>(dataVolumeKind, {
        apiVersion: 'cdi.kubevirt.io/v1beta1',
        kind: 'DataVolume',
        metadata: {
          name,
          namespace,
          ...(t.metadata?.labels !== undefined ? { labels: t.metadata.labels } : {}),
          ...(t.metadata?.annotations !== undefined ? { annotations: t.metadata.annotations } : {}),
          ownerReferences: [
            {
              apiVersion: 'kubevirt.io/v1',
              kind: 'VirtualMachine',
              name: vm.metadata.name ?? '',
              uid: vm.metadata.uid ?? '',
              controller: true,
              blockOwnerDeletion: true,
            },
          ],
        },
        spec: t.spec,
      });
      ctx.events.record(vm, 'Normal', 'SuccessfulDataVolumeCreate', `Created DataVolume ${name}`);
    } catch (err) {
      // Created a moment ago, not in the cache yet.
      if (isAlreadyExists(err)) continue;
      const message = err instanceof Error ? err.message : String(err);
      ctx.events.record(
        vm,
        'Warning',
        'FailedDataVolumeCreate',
        `Error creating DataVolume ${name}: ${message}`,
      );
    }
  }
}

/** DataVolumes not populated yet or failed, and claims not bound yet, among the VM's volumes. */
export function volumeFacts(
  ctx: VmContext,
  vm: VirtualMachine,
): Pick<VmFacts, 'dataVolumes' | 'unboundPvcs'> {
  const namespace = vm.metadata.namespace ?? '';
  const templates = new Set((vm.spec.dataVolumeTemplates ?? []).map((t) => t.metadata?.name));
  const pending: string[] = [];
  const errors: string[] = [];
  const unbound: string[] = [];
  let usesDataVolumes = false;
  const checkDv = (name: string, dv: DataVolume | undefined): void => {
    usesDataVolumes = true;
    if (dv === undefined) {
      if (templates.has(name)) pending.push(`${name} (not created yet)`);
      return;
    }
    const phase = dv.status?.phase ?? 'Pending';
    const running = dv.status?.conditions?.find((c) => c.type === 'Running');
    if (phase === 'Failed') errors.push(`DataVolume ${name} failed: ${running?.message ?? ''}`);
    else if (
      running?.status === 'False' &&
      running.reason !== undefined &&
      !['Pending', 'Completed'].includes(running.reason)
    )
      errors.push(`DataVolume ${name}: ${running.message ?? running.reason}`);
    else if (phase !== 'Succeeded') pending.push(`${name} (${phase})`);
  };
  for (const v of vm.spec.template.spec?.volumes ?? []) {
    const name = v.dataVolume?.name ?? v.persistentVolumeClaim?.claimName;
    if (name === undefined) continue;
    const dv = ctx.api.get<DataVolume>(dataVolumeKind, namespace, name);
    const claim = ctx.api.get<KubeObject & { status?: { phase?: string } }>(
      persistentVolumeClaimKind,
      namespace,
      name,
    );
    const owner = claim?.metadata.ownerReferences?.find(
      (r) => r.kind === 'DataVolume' && r.controller === true,
    );
    if (v.dataVolume !== undefined && (dv !== undefined || claim === undefined)) checkDv(name, dv);
    else if (owner !== undefined && dv?.metadata.uid === owner.uid) checkDv(name, dv);
    else if (claim?.status?.phase === 'Pending') unbound.push(name);
  }
  return {
    ...(usesDataVolumes ? { dataVolumes: { pending, errors } } : {}),
    ...(unbound.length > 0 ? { unboundPvcs: unbound } : {}),
  };
}
