/**
 * The VirtualMachineExport controller, as KubeVirt's: it generates the token Secret when the
 * export names none (owned by the export, so it goes with it), makes the export Ready with its
 * download links once the source's disks can be read consistently (src/controllers/export/
 * sources.ts; otherwise Pending with KubeVirt's reason), and deletes the export when its
 * ttlDuration has passed since creation. The download server (src/storage/export) serves the
 * links; it asks the same source question on every request.
 */
import { randomBytes } from 'node:crypto';
import { persistentVolumeClaimKind, secretKind } from '../../api/core/core.js';
import {
  EXPORT_API_VERSION,
  TOKEN_KEY,
  generatedTokenSecretName,
  ttlOf,
  virtualMachineExportKind,
  type ExportCondition,
  type VirtualMachineExport,
} from '../../api/export/export.js';
import type { KubeObject } from '../../api/meta.js';
import { virtualMachineKind } from '../../api/kubevirt/vm.js';
import { virtualMachineInstanceKind } from '../../api/kubevirt/vmi.js';
import { virtualMachineSnapshotContentKind } from '../../api/snapshot/content.js';
import { virtualMachineSnapshotKind } from '../../api/snapshot/snapshot.js';
import type { Client } from '../../runtime/client.js';
import type { EventRecorder } from '../../runtime/events.js';
import type { Manager } from '../../runtime/manager.js';
import { Reconciler } from '../../runtime/reconciler.js';
import { isAlreadyExists, objectKey, splitKey } from '../../runtime/transport.js';
import { exportLink } from '../../storage/export/paths.js';
import { readSource, type SourceState } from './sources.js';

export interface ExportControllerOptions {
  manager: Manager;
  events: EventRecorder;
  /** The disk file of a bound, populated claim (the provisioner's claimPath). */
  claimPath: (namespace: string, claim: string) => string | undefined;
  /**
   * The download server's base URL (this API server's, known once it listens) and the PEM of the
   * CA that signed it.
   */
  url: () => string;
  caCert: string;
  log?: (message: string) => void;
  now?: () => Date;
}

const DAY_MS = 86_400_000;

type Secret = KubeObject & { data?: Record<string, string>; type?: string };
type Status = NonNullable<VirtualMachineExport['status']>;

/** A new token: 32 characters of URL-safe base64 (192 random bits). */
export const newToken = (): string => randomBytes(24).toString('base64url');

export class ExportController extends Reconciler {
  private readonly o: ExportControllerOptions;
  private readonly api: Client;
  private readonly now: () => Date;

  constructor(o: ExportControllerOptions) {
    super(o.manager, {
      name: 'export-controller',
      backoff: { baseMs: 200, maxMs: 10_000 },
      ...(o.log !== undefined ? { log: o.log } : {}),
    });
    this.o = o;
    this.now = o.now ?? (() => new Date());
    this.api = this.controller.client;
    // Any change of a source kind or a Secret in a namespace wakes the exports of that namespace.
    const exportsIn = (x: KubeObject): string[] =>
      this.api.list<KubeObject>(virtualMachineExportKind, x.metadata.namespace).map(objectKey);
    this.controller.watch(virtualMachineExportKind);
    for (const def of [
      virtualMachineKind,
      virtualMachineInstanceKind,
      virtualMachineSnapshotKind,
      virtualMachineSnapshotContentKind,
      persistentVolumeClaimKind,
      secretKind,
    ])
      this.controller.watch(def, exportsIn);
  }

  protected async reconcile(key: string): Promise<void> {
    const { namespace: ns, name } = splitKey(key);
    const e = this.api.get<VirtualMachineExport>(virtualMachineExportKind, ns, name);
    if (e === undefined || e.metadata.deletionTimestamp !== undefined) return;
    const now = this.now();
    const created = Date.parse(e.metadata.creationTimestamp ?? '');
    const expires = (Number.isFinite(created) ? created : now.getTime()) + ttlOf(e);
    if (now.getTime() >= expires) return this.expire(e);
    // Back at the expiry (within a day at most: longer timer delays overflow to immediate).
    this.controller.queue.addAfter(key, Math.min(expires - now.getTime(), DAY_MS));
    const secretName = e.spec.tokenSecretRef ?? generatedTokenSecretName(name);
    if (e.spec.tokenSecretRef === undefined && this.api.get(secretKind, ns, secretName) === undefined)
      await this.createTokenSecret(e, secretName);
    const state = this.sourceState(e, secretName);
    await this.writeStatus(e, state, this.statusOf(e, state, secretName, new Date(expires), now));
  }

  /** Writes `next` when it differs, with an Event when the phase changes. */
  private async writeStatus(e: VirtualMachineExport, state: SourceState, next: Status): Promise<void> {
    if (JSON.stringify(next) === JSON.stringify(e.status)) return;
    if (e.status?.phase !== next.phase) {
      const [reason, message] = readiness(state);
      this.o.events.record(e, next.phase === 'Ready' ? 'Normal' : 'Warning', reason, message);
    }
    await this.api.mutate<VirtualMachineExport>(
      virtualMachineExportKind,
      e.metadata.namespace ?? '',
      e.metadata.name ?? '',
      (x) => {
        x.status = next;
      },
      true,
    );
  }

  private async expire(e: VirtualMachineExport): Promise<void> {
    const ns = e.metadata.namespace ?? '';
    const name = e.metadata.name ?? '';
    this.o.events.record(e, 'Normal', 'Expired', `export ${ns}/${name} reached its ttlDuration`);
    await this.api.delete(virtualMachineExportKind, ns, name);
  }

  /** Whether the export can be served: its token first, then its source's disks. */
  private sourceState(e: VirtualMachineExport, secretName: string): SourceState {
    const ns = e.metadata.namespace ?? '';
    const secret = this.api.get<Secret>(secretKind, ns, secretName);
    if ((secret?.data?.[TOKEN_KEY] ?? '') !== '')
      return readSource({ api: this.api, claimPath: this.o.claimPath }, e);
    return {
      state: 'pending',
      reason: 'TokenSecretNotFound',
      message: `secret ${ns}/${secretName} with a ${JSON.stringify(TOKEN_KEY)} key does not exist yet`,
    };
  }

  private statusOf(
    e: VirtualMachineExport,
    state: SourceState,
    secretName: string,
    expires: Date,
    now: Date,
  ): Status {
    const [reason, message] = readiness(state);
    const name = e.metadata.name ?? '';
    const next: Status = {
      phase: state.state === 'ready' ? 'Ready' : state.state === 'skipped' ? 'Skipped' : 'Pending',
      tokenSecretRef: secretName,
      ttlExpirationTime: expires.toISOString().replace(/\.\d{3}Z$/, 'Z'),
      serviceName: `virt-export-${name}`,
      ...(e.spec.source.kind === 'VirtualMachine' ? { virtualMachineName: e.spec.source.name } : {}),
      conditions: condition(e.status?.conditions, state.state === 'ready', reason, message, now),
    };
    if (state.state === 'ready') {
      const volumes = state.volumes.map((v) => v.name);
      const link = exportLink(
        this.o.url(),
        this.o.caCert,
        e.metadata.namespace ?? '',
        name,
        volumes,
        state.vm !== undefined,
      );
      next.links = { internal: link, external: link };
    }
    return next;
  }

  private async createTokenSecret(e: VirtualMachineExport, secretName: string): Promise<void> {
    const secret: Secret = {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: {
        name: secretName,
        namespace: e.metadata.namespace ?? '',
        ownerReferences: [
          {
            apiVersion: EXPORT_API_VERSION,
            kind: 'VirtualMachineExport',
            name: e.metadata.name ?? '',
            uid: e.metadata.uid ?? '',
            controller: true,
          },
        ],
      },
      type: 'Opaque',
      data: { [TOKEN_KEY]: Buffer.from(newToken()).toString('base64') },
    };
    try {
      await this.api.create(secretKind, secret);
    } catch (err) {
      if (!isAlreadyExists(err)) throw err;
    }
  }
}

/** The Ready condition's reason and message for a source state. */
const readiness = (state: SourceState): [reason: string, message: string] =>
  state.state === 'ready' ? ['PodReady', 'the volumes can be downloaded'] : [state.reason, state.message];

/** The Ready condition, its lastTransitionTime moving only when its status changes. */
function condition(
  old: ExportCondition[] | undefined,
  ready: boolean,
  reason: string,
  message: string,
  now: Date,
): ExportCondition[] {
  const status = ready ? 'True' : 'False';
  const before = (old ?? []).find((c) => c.type === 'Ready');
  const at =
    before !== undefined && before.status === status
      ? (before.lastTransitionTime ?? now.toISOString())
      : now.toISOString();
  return [{ type: 'Ready', status, reason, message, lastProbeTime: null, lastTransitionTime: at }];
}
