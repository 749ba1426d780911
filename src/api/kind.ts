/**
 * What the API server needs to know about a kind. Adding a kind is one schema plus one
 * KindDefinition registered in src/api/registry.ts; discovery, OpenAPI, validation, tables and
 * storage all follow from it.
 */
import type { TSchema } from './schema.js';
import type { KubeObject } from './meta.js';
import type { AdmissionSettings } from './admission.js';
import type { StructuralResult } from './validate.js';

/** One bad field, reported as a Status cause. `path` is dotted with [i] indexes: `spec.template.spec.domain.devices.disks[0].name`. */
export interface FieldError {
  path: string;
  message: string;
  /** Kubernetes cause type; FieldValueInvalid when omitted. */
  reason?: FieldErrorReason;
}

export type FieldErrorReason =
  | 'FieldValueInvalid'
  | 'FieldValueRequired'
  | 'FieldValueNotSupported'
  | 'FieldValueForbidden'
  | 'FieldValueDuplicate'
  | 'FieldValueTypeInvalid'
  | 'FieldValueNotFound'
  | 'FieldValueUnknown'
  | 'FieldValueTooLong'
  | 'FieldValueTooMany';

export interface PrinterColumn {
  name: string;
  type: 'string' | 'integer' | 'number' | 'boolean' | 'date';
  /** Simple JSONPath such as `.status.printableStatus`; also published as additionalPrinterColumns. */
  jsonPath: string;
  description?: string;
  /** 0: always shown; 1: only with `-o wide`. */
  priority?: 0 | 1;
  format?: string;
  /**
   * Computes the cell instead of `jsonPath`, as kube-apiserver's built-in printers do (src/api/core/printers.ts);
   * `jsonPath` is then only what is published.
   */
  value?: (obj: KubeObject) => unknown;
}

/** NAME, first unless the kind lists its own `Name` column (then the kind lists every column). */
export const nameColumn: PrinterColumn = {
  name: 'Name',
  type: 'string',
  format: 'name',
  jsonPath: '.metadata.name',
  description: 'Name must be unique within a namespace.',
};

/** AGE, last unless the kind places it. */
export const ageColumn: PrinterColumn = {
  name: 'Age',
  type: 'date',
  jsonPath: '.metadata.creationTimestamp',
  description: 'CreationTimestamp is a timestamp representing the server time when this object was created.',
};

export interface KindDefinition<T extends KubeObject = KubeObject> {
  /** '' for the core group. */
  group: string;
  version: string;
  kind: string;
  plural: string;
  singular: string;
  shortNames?: string[];
  categories?: string[];
  namespaced: boolean;
  description: string;
  /** Whole-object schema: apiVersion, kind, metadata, spec/data…, status. */
  schema: TSchema;
  /** With a status subresource, writes to the main resource ignore status and /status ignores the rest. */
  statusSubresource: boolean;
  /**
   * Serves `/scale` (autoscaling/v1 Scale) over `spec.replicas`, `status.replicas` and
   * `status.labelSelector`, as KubeVirt's CRDs declare it (src/apiserver/scale.ts).
   */
  scaleSubresource?: boolean;
  /** Extra columns after NAME (and NAMESPACE) in `kubectl get`. AGE is added where the kind wants it. */
  printerColumns: PrinterColumn[];
  /**
   * Checks beyond the schema, as KubeVirt's admission webhooks do. `old` is set on update;
   * `settings` are the admin switches that decide what is acceptable (service CIDR, gates…); the
   * defaults of src/api/admission.ts when absent.
   */
  validate?: (obj: T, old: T | undefined, settings?: AdmissionSettings) => FieldError[];
  /**
   * Checks that read other objects, as a validating admission webhook would: an instance type in
   * the catalog, the disks a VMInstance names, the source VM of a snapshot, a restore's snapshot
   * being ready. Runs on create and update once the object is well-typed, after `validate`.
   */
  admit?: (obj: T, old: T | undefined, lookup: ObjectLookup) => FieldError[];
  /** Non-fatal remarks returned as `Warning` headers (kubectl prints them). */
  warnings?: (obj: T) => string[];
  /** DELETE answers with a `Status` (Success) rather than the deleted object, as kube-apiserver does for most built-in kinds. */
  deleteReturnsStatus?: boolean;
  /**
   * How names are checked: an RFC 1123 subdomain unless told; RBAC kinds take any path segment
   * (`system:discovery`, `cozy:tenant:use`), as kube-apiserver allows them.
   */
  nameForm?: 'path-segment';
  /** Server-side defaults applied on create and update, after validation. */
  defaults?: (obj: T) => void;
  /**
   * Reads a body in place of the generic walk of `schema`: a custom resource is read through its
   * CRD's structural schema, with defaults and value checks (src/api/crd/structural.ts).
   */
  read?: (body: unknown) => StructuralResult;
  /**
   * A CRD's CEL rules (`x-kubernetes-validations`, src/api/crd/cel/), run on every write, the
   * status subresource included, over the object as it will be stored; `old` is set on update.
   */
  validateRules?: (obj: KubeObject, old: KubeObject | undefined) => FieldError[];
  /** Where `/scale` finds replicas when not at spec.replicas, status.replicas, status.labelSelector. */
  scalePaths?: { specReplicas: string; statusReplicas: string; labelSelector?: string };
  /** A custom resource (served from a CRD): strategic merge patch is refused with 415, as upstream. */
  custom?: boolean;
}

/** Reads another object during admission (undefined when it does not exist). */
export type ObjectLookup = <O extends KubeObject = KubeObject>(
  def: KindDefinition,
  namespace: string,
  name: string,
) => O | undefined;

export const apiVersionOf = (def: Pick<KindDefinition, 'group' | 'version'>): string =>
  def.group === '' ? def.version : `${def.group}/${def.version}`;
