/**
 * The API's own types, imported from the schemas (src/api): the console never re-declares a kind.
 * Type-only imports: nothing of the server's runtime ends up in the bundle.
 */
export type { KubeObject, Status, StatusCause } from '../../../src/api/meta.js';
export type { VirtualMachine } from '../../../src/api/kubevirt/vm.js';
export type { VirtualMachineInstance } from '../../../src/api/kubevirt/vmi.js';
export type { Condition, PrintableStatus, VmiPhase, RunStrategy } from '../../../src/api/kubevirt/status.js';
export type { InstancetypeSpec, PreferenceSpec } from '../../../src/api/instancetype/instancetype.js';
export type { Event } from '../../../src/api/core/core.js';

import type { KubeObject } from '../../../src/api/meta.js';
import type { InstancetypeSpec, PreferenceSpec } from '../../../src/api/instancetype/instancetype.js';

export interface ClusterInstancetype extends KubeObject {
  spec: InstancetypeSpec;
}
export interface ClusterPreference extends KubeObject {
  spec: PreferenceSpec;
}
export interface Secret extends KubeObject {
  data?: Record<string, string>;
  type?: string;
}
export interface KubeList<T> {
  apiVersion: string;
  kind: string;
  metadata: { resourceVersion?: string };
  items: T[];
}
