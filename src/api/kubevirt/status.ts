/**
 * KubeVirt's status vocabulary: phases, printable statuses, condition types and reasons. The
 * controllers, the CLI and the console import these; none of them re-declares a status string.
 */
import type { TProperties } from '@sinclair/typebox';
import { Obj, Preserve, StringEnum, Type, type Static, opt } from '../schema.js';

export const PRINTABLE_STATUSES = [
  'Stopped',
  'Provisioning',
  'Starting',
  'Running',
  'Paused',
  'Stopping',
  'Terminating',
  'CrashLoopBackOff',
  'Migrating',
  'Unknown',
  'ErrorUnschedulable',
  'ErrImagePull',
  'ImagePullBackOff',
  'ErrorPvcNotFound',
  'DataVolumeError',
  'WaitingForVolumeBinding',
  'WaitingForReceiver',
] as const;
export type PrintableStatus = (typeof PRINTABLE_STATUSES)[number];

export const VMI_PHASES = [
  'Pending',
  'Scheduling',
  'Scheduled',
  'Running',
  'Succeeded',
  'Failed',
  'Unknown',
] as const;
export type VmiPhase = (typeof VMI_PHASES)[number];

export const RUN_STRATEGIES = ['Always', 'RerunOnFailure', 'Once', 'Manual', 'Halted'] as const;
export type RunStrategy = (typeof RUN_STRATEGIES)[number];

export const CONDITION_STATUSES = ['True', 'False', 'Unknown'] as const;

/** Condition types used on VMs and VMIs. */
export const ConditionType = {
  Ready: 'Ready',
  Paused: 'Paused',
  Failure: 'Failure',
  RestartRequired: 'RestartRequired',
  AgentConnected: 'AgentConnected',
  PodScheduled: 'PodScheduled',
  Provisioning: 'Provisioning',
  LiveMigratable: 'LiveMigratable',
  DataVolumesReady: 'DataVolumesReady',
} as const;

export const Condition = Obj('An observation of the object state.', {
  type: Type.String({ description: 'Condition type, e.g. Ready.' }),
  status: StringEnum(CONDITION_STATUSES, 'True, False or Unknown.'),
  reason: opt(Type.String({ description: 'One-word CamelCase reason for the last transition.' })),
  message: opt(Type.String({ description: 'Human-readable detail.' })),
  lastProbeTime: opt(Type.Union([Type.String(), Type.Null()])),
  lastTransitionTime: opt(Type.Union([Type.String(), Type.Null()])),
  observedGeneration: opt(Type.Integer()),
});
export type Condition = Static<typeof Condition>;

export const Conditions = Type.Array(Condition, {
  'x-kubernetes-list-type': 'map',
  'x-kubernetes-list-map-keys': ['type'],
  'x-kubernetes-patch-merge-key': 'type',
  'x-kubernetes-patch-strategy': 'merge',
});

/** Status subtrees we keep as written when a field is not listed (forward compatibility with KubeVirt). */
export const OpenStatus = <P extends TProperties>(description: string, properties: P) =>
  Obj(description, properties, { 'x-kubernetes-preserve-unknown-fields': true });

export const AnyList = Type.Array(Preserve());
