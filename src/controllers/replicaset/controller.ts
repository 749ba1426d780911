/**
 * VirtualMachineInstanceReplicaSet: keeps `spec.replicas` VMIs of the template, owned by the set
 * (controller owner reference, so the garbage collector deletes them with it), creating the
 * missing and deleting the newest extra ones; `paused` freezes the count. Status: how many it
 * owns, how many are Ready, and the selector as a string for the scale subresource.
 * Runs on the controller runtime. Counts ask the server (listLive): a cache behind would create
 * a VMI twice.
 */
import { apiVersionOf } from '../../api/kind.js';
import {
  virtualMachineInstanceReplicaSetKind as rsKind,
  type VirtualMachineInstanceReplicaSet,
} from '../../api/kubevirt/replicaset.js';
import { virtualMachineInstanceKind, type VirtualMachineInstance } from '../../api/kubevirt/vmi.js';
import { labelSelectorFromObject } from '../../api/selectors.js';
import { Reconciler } from '../../runtime/reconciler.js';
import type { Manager } from '../../runtime/manager.js';

/** VMIs created in one reconcile of a set, at most (kube's ReplicaSet controller also creates in batches). */
const BURST = 20;

export class ReplicaSetController extends Reconciler {
  constructor(manager: Manager, log: (message: string) => void = () => undefined) {
    super(manager, { name: 'vmi-replicaset', log });
    this.controller.watch(rsKind);
    this.controller.watch(virtualMachineInstanceKind, (o) => {
      const owner = o.metadata.ownerReferences?.find((r) => r.controller === true && r.kind === rsKind.kind);
      return owner === undefined ? [] : [`${o.metadata.namespace ?? ''}/${owner.name}`];
    });
  }

  protected async reconcile(key: string): Promise<void> {
    const [namespace = '', name = ''] = key.split('/');
    const client = this.controller.client;
    const rs = client.get<VirtualMachineInstanceReplicaSet>(rsKind, namespace, name);
    if (rs === undefined || rs.metadata.deletionTimestamp !== undefined) return;
    const uid = rs.metadata.uid ?? '';
    const owned = (
      await client.listLive<VirtualMachineInstance>(virtualMachineInstanceKind, namespace)
    ).filter((v) => v.metadata.ownerReferences?.some((r) => r.controller === true && r.uid === uid) === true);
    const live = owned.filter((v) => v.metadata.deletionTimestamp === undefined);
    const wanted = rs.spec.replicas ?? 1;
    if (rs.spec.paused !== true) {
      // At most BURST creations a pass: each new VMI's event brings the set back for the next ones,
      // so a huge `replicas` cannot hold the queue in one loop.
      for (let i = live.length; i < Math.min(wanted, live.length + BURST); i++)
        await client.create(virtualMachineInstanceKind, this.vmiFor(rs));
      const extra = [...live]
        .sort((a, b) =>
          (b.metadata.creationTimestamp ?? '').localeCompare(a.metadata.creationTimestamp ?? ''),
        )
        .slice(0, Math.max(0, live.length - wanted));
      for (const v of extra)
        await client.delete(virtualMachineInstanceKind, namespace, v.metadata.name ?? '');
    }
    const selector = labelSelectorFromObject(rs.spec.selector).toString();
    await client.mutate<VirtualMachineInstanceReplicaSet>(
      rsKind,
      namespace,
      name,
      (copy) => {
        if (copy.metadata.uid !== uid) return false;
        const stillOwned = rs.spec.paused === true ? live.length : wanted;
        const status = {
          ...copy.status,
          replicas: stillOwned,
          readyReplicas: live.filter(isReady).length,
          labelSelector: selector,
        };
        if (JSON.stringify(status) === JSON.stringify(copy.status)) return false;
        copy.status = status;
        return true;
      },
      true,
    );
  }

  private vmiFor(rs: VirtualMachineInstanceReplicaSet): VirtualMachineInstance {
    const template = rs.spec.template;
    return {
      apiVersion: apiVersionOf(virtualMachineInstanceKind),
      kind: virtualMachineInstanceKind.kind,
      metadata: {
        generateName: rs.metadata.name ?? '',
        namespace: rs.metadata.namespace ?? '',
        ...(template.metadata?.labels !== undefined ? { labels: { ...template.metadata.labels } } : {}),
        ...(template.metadata?.annotations !== undefined
          ? { annotations: { ...template.metadata.annotations } }
          : {}),
        ownerReferences: [
          {
            apiVersion: apiVersionOf(rsKind),
            kind: rsKind.kind,
            name: rs.metadata.name ?? '',
            uid: rs.metadata.uid ?? '',
            controller: true,
            blockOwnerDeletion: true,
          },
        ],
      },
      spec: structuredClone(template.spec ?? { domain: { devices: {} } }),
    };
  }
}

const isReady = (v: VirtualMachineInstance): boolean =>
  v.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true;
