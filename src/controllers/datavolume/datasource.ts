/**
 * Keeps each DataSource's Ready condition: True once the PVC it names is bound and, when a
 * DataVolume fills it, populated; so `kubectl get datasources` says which golden images can be
 * cloned now. DataVolumes read the DataSource themselves and wait on the PVC, not on this.
 */
import { persistentVolumeClaimKind } from '../../api/core/core.js';
import { dataSourceKind, type DataSource } from '../../api/cdi/datasource.js';
import { dataVolumeKind, type DataVolume } from '../../api/cdi/datavolume.js';
import { awaitingPopulation, type Claim } from '../../storage/claims.js';
import { UPSTREAM_ANNOTATION } from '../../storage/os-catalog.js';
import { Reconciler } from '../../runtime/reconciler.js';
import type { Manager } from '../../runtime/manager.js';
import type { Timers } from '../../runtime/queue.js';
import { objectKey } from '../../runtime/transport.js';
import { timestamp } from '../../api/kubevirt/vmistatus.js';

export class DataSourceController extends Reconciler {
  constructor(
    manager: Manager,
    private readonly now: () => Date = () => new Date(),
    timers?: Timers,
  ) {
    super(manager, {
      name: 'datasource',
      ...(timers !== undefined ? { timers } : {}),
    });
    const all = (): string[] => this.api.list<DataSource>(dataSourceKind).map(objectKey);
    this.controller.watch(dataSourceKind).watch(persistentVolumeClaimKind, all).watch(dataVolumeKind, all);
  }

  private get api() {
    return this.controller.client;
  }

  protected async reconcile(key: string): Promise<void> {
    const [namespace = '', name = ''] = key.split('/');
    const ds = this.api.get<DataSource>(dataSourceKind, namespace, name);
    if (ds === undefined) return;
    const ready = this.readiness(ds);
    await this.api.mutate<DataSource>(
      dataSourceKind,
      namespace,
      name,
      (current) => {
        const old = current.status?.conditions?.find((c) => c.type === 'Ready');
        if (old?.status === ready.status && old.reason === ready.reason && old.message === ready.message)
          return false;
        current.status = {
          ...current.status,
          source: current.spec.source,
          conditions: [
            {
              type: 'Ready',
              status: ready.status,
              reason: ready.reason,
              message: ready.message,
              lastTransitionTime: timestamp(this.now()),
              lastHeartbeatTime: timestamp(this.now()),
            },
          ],
        };
        return true;
      },
      true,
    );
  }

  private readiness(ds: DataSource): { status: 'True' | 'False'; reason: string; message: string } {
    const ref = ds.spec.source.pvc;
    if (ref === undefined) return { status: 'False', reason: 'NoSource', message: 'No source PVC set' };
    const namespace = ref.namespace ?? ds.metadata.namespace ?? '';
    const claim = this.api.get<Claim>(persistentVolumeClaimKind, namespace, ref.name);
    if (claim === undefined) {
      const upstream = ds.metadata.annotations?.[UPSTREAM_ANNOTATION];
      return {
        status: 'False',
        reason: 'NotFound',
        message:
          upstream === undefined
            ? `PVC ${namespace}/${ref.name} not found`
            : `PVC ${namespace}/${ref.name} not found: not imported yet (hikube image import ${ds.metadata.name ?? ''} [FILE|URL])`,
      };
    }
    if (awaitingPopulation(claim))
      return {
        status: 'False',
        reason: 'Pending',
        message: `PVC ${namespace}/${ref.name} is being populated`,
      };
    const dv = this.api.get<DataVolume>(dataVolumeKind, namespace, ref.name);
    if (dv !== undefined && dv.status?.phase !== 'Succeeded')
      return {
        status: 'False',
        reason: dv.status?.phase ?? 'Pending',
        message: `DataVolume ${namespace}/${ref.name} is ${dv.status?.phase ?? 'Pending'}`,
      };
    if (claim.status?.phase !== 'Bound')
      return { status: 'False', reason: 'Pending', message: `PVC ${namespace}/${ref.name} is not bound` };
    return { status: 'True', reason: 'Ready', message: 'DataSource is ready to be consumed' };
  }
}
