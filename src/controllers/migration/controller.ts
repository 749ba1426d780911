/**
 * VirtualMachineInstanceMigration on one node: there is no other node to move a guest to, so each
 * migration ends at once in phase Failed, reason NoTargetNode, with a condition, the VMI's
 * migrationState-like `status.migrationState.failureReason` and a `FailedMigration` Event naming the
 * VMI. Nothing happens to the guest. On the controller runtime.
 */
import {
  NO_TARGET_NODE,
  virtualMachineInstanceMigrationKind as migrationKind,
  type VirtualMachineInstanceMigration,
} from '../../api/kubevirt/migration.js';
import { virtualMachineInstanceKind, type VirtualMachineInstance } from '../../api/kubevirt/vmi.js';
import { Reconciler } from '../../runtime/reconciler.js';
import type { EventRecorder } from '../../runtime/events.js';
import type { Manager } from '../../runtime/manager.js';

export class MigrationController extends Reconciler {
  constructor(
    manager: Manager,
    private readonly events: EventRecorder,
    private readonly now: () => Date = () => new Date(),
    log: (message: string) => void = () => undefined,
  ) {
    super(manager, { name: 'migration', log });
    this.controller.watch(migrationKind);
    this.controller.reads(virtualMachineInstanceKind);
  }

  protected async reconcile(key: string): Promise<void> {
    const [namespace = '', name = ''] = key.split('/');
    const api = this.controller.client;
    const m = api.get<VirtualMachineInstanceMigration>(migrationKind, namespace, name);
    if (m === undefined || m.metadata.deletionTimestamp !== undefined) return;
    if (m.status?.phase === 'Failed' || m.status?.phase === 'Succeeded') return;
    const vmi = api.get<VirtualMachineInstance>(virtualMachineInstanceKind, namespace, m.spec.vmiName);
    const node = vmi?.status?.nodeName;
    const message =
      vmi === undefined
        ? `VirtualMachineInstance ${JSON.stringify(m.spec.vmiName)} does not exist, and this platform has one node: nothing to migrate to`
        : `no other node to migrate VirtualMachineInstance ${JSON.stringify(m.spec.vmiName)} to: this platform runs one node${node !== undefined ? ` (${node})` : ''}`;
    const at = this.now()
      .toISOString()
      .replace(/\.\d{3}Z$/, 'Z');
    await api.mutate<VirtualMachineInstanceMigration>(
      migrationKind,
      namespace,
      name,
      (cur) => {
        cur.status = {
          ...cur.status,
          phase: 'Failed',
          phaseTransitionTimestamps: [{ phase: 'Failed', phaseTransitionTimestamp: at }],
          conditions: [
            { type: 'Failed', status: 'True', reason: NO_TARGET_NODE, message, lastTransitionTime: at },
          ],
          migrationState: {
            failed: true,
            completed: true,
            failureReason: message,
            ...(node !== undefined ? { sourceNode: node } : {}),
            endTimestamp: at,
          },
        };
      },
      true,
    );
    this.events.record(m, 'Warning', 'FailedMigration', message);
  }
}
