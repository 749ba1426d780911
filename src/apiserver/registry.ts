/**
 * Generic REST semantics for every kind, on top of the Store: names and namespaces, uid,
 * generation, resourceVersion preconditions, the status subresource, finalizers and graceful
 * deletion, field validation modes. The HTTP layer and the in-process controllers both go through
 * here, so an object written by a controller obeys exactly the rules of one written by kubectl.
 */
import { randomUUID } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import type { KindDefinition, FieldError } from '../api/kind.js';
import { apiVersionOf } from '../api/kind.js';
import { MAX_DEPTH, MAX_OBJECT_BYTES, measure } from '../api/limits.js';
import type { KubeObject } from '../api/meta.js';
import { noEffectWarning } from '../api/schema.js';
import { validateStructure } from '../api/validate.js';
import { defaultAdmissionSettings, type AdmissionSettings } from '../api/admission.js';
import type { ResourceKey, Store, StoredObject } from '../store/store.js';
import { ApiError, invalid, notFound, qualifiedName } from './errors.js';
import { validateMetadata } from './metadata.js';
import { QuotaAdmission } from './quota.js';
import { ruleCauses } from './rule-admission.js';

export type FieldValidation = 'Strict' | 'Warn' | 'Ignore';
export type Propagation = 'Background' | 'Foreground' | 'Orphan';

export interface WriteOptions {
  fieldValidation?: FieldValidation;
  dryRun?: boolean;
  subresource?: 'status';
  /** Refuses what the requester may not write, once the object is valid (RBAC escalation). */
  guard?: (def: KindDefinition, object: KubeObject, namespace: string) => void;
}

export interface DeleteOptions {
  propagationPolicy?: Propagation;
  preconditions?: { uid?: string; resourceVersion?: string };
  dryRun?: boolean;
  /** Seconds the object's owner (e.g. the node agent for a VMI) may take to finish; only ever shortened. */
  gracePeriodSeconds?: number;
}

export interface WriteResult {
  object: KubeObject;
  warnings: string[];
}

export interface Clock {
  now(): Date;
}

export const resourceKey = (def: Pick<KindDefinition, 'group' | 'plural'>): ResourceKey =>
  `${def.group}/${def.plural}`;

export const NAMESPACE_FINALIZER = 'kubernetes';
/** Namespaces the platform itself relies on, as kube-apiserver protects them. */
export const PROTECTED_NAMESPACES = new Set(['default', 'kube-system', 'kube-public']);
export const FOREGROUND_FINALIZER = 'foregroundDeletion';
export const ORPHAN_FINALIZER = 'orphan';

const namespaceResource = '/namespaces';

export class Registry {
  /** ResourceQuota and LimitRange admission, run last before each write. */
  readonly quota: QuotaAdmission;

  constructor(
    readonly store: Store,
    private readonly clock: Clock = { now: () => new Date() },
    /** The admin switches admission obeys (hikube up's flags). */
    readonly admission: AdmissionSettings = defaultAdmissionSettings(),
  ) {
    this.quota = new QuotaAdmission(store, admission.cpuAllocationRatio);
  }

  get(def: KindDefinition, namespace: string, name: string): StoredObject {
    const found = this.store.get(resourceKey(def), scope(def, namespace), name);
    if (found === undefined) throw notFound(def.plural, def.group, name);
    return found;
  }

  create(def: KindDefinition, namespace: string, body: unknown, options: WriteOptions = {}): WriteResult {
    const { object, warnings } = this.admit(def, namespace, body, undefined, options);
    const meta = object.metadata;
    if ((meta.name ?? '') === '' && meta.generateName !== undefined)
      meta.name = this.generateName(def, namespace, meta.generateName);
    this.checkNamespaceOpen(def, namespace);
    const now = this.timestamp();
    object.metadata = {
      ...meta,
      uid: randomUUID(),
      creationTimestamp: now,
      generation: 1,
    };
    delete object.metadata.resourceVersion;
    delete object.metadata.deletionTimestamp;
    if (def.kind === 'Namespace') initNamespace(object);
    // No await from here to the store's write: the quota counted is the quota written against.
    this.quota.admit(def, object, undefined);
    if (options.dryRun === true) return { object, warnings };
    if (this.store.get(resourceKey(def), scope(def, namespace), object.metadata.name ?? '') !== undefined) {
      throw new ApiError(
        'AlreadyExists',
        `${qualifiedName(def.plural, def.group, object.metadata.name ?? '')} already exists`,
        {
          name: object.metadata.name ?? '',
          group: def.group,
          kind: def.plural,
        },
      );
    }
    return { object: this.store.create(resourceKey(def), object).object, warnings };
  }

  /** PUT: the body replaces the object (or only its status, for the status subresource). */
  update(
    def: KindDefinition,
    namespace: string,
    name: string,
    body: unknown,
    options: WriteOptions = {},
  ): WriteResult {
    const current = this.get(def, namespace, name);
    const { object, warnings } = this.admit(def, namespace, body, current.object, options);
    if (object.metadata.name !== name) {
      throw new ApiError(
        'BadRequest',
        `the name of the object (${object.metadata.name ?? ''}) does not match the name on the URL (${name})`,
      );
    }
    const sent = object.metadata.resourceVersion;
    const expected = sent === undefined || sent === '' ? undefined : Number(sent);
    if (expected !== undefined && expected !== current.rv) throw conflict(def, name);
    const merged = this.mergeUpdate(def, current.object, object, options.subresource);
    if (options.subresource !== 'status') this.quota.admit(def, merged, current.object);
    if (options.dryRun === true) return { object: merged, warnings };
    if (unchanged(current.object, merged)) return { object: current.object, warnings };
    return { object: this.commitUpdate(def, merged, current.rv), warnings };
  }

  /** Writes an already-merged object, finishing a deletion when the last finalizer is gone. */
  private commitUpdate(def: KindDefinition, object: KubeObject, rv: number): KubeObject {
    const key = resourceKey(def);
    const meta = object.metadata;
    const finalizers = [...(meta.finalizers ?? []), ...namespaceFinalizers(def, object)];
    if (meta.deletionTimestamp !== undefined && finalizers.length === 0) {
      return this.store.delete(key, meta.namespace ?? '', meta.name ?? '', rv).object;
    }
    return this.store.update(key, object, rv).object;
  }

  delete(def: KindDefinition, namespace: string, name: string, options: DeleteOptions = {}): KubeObject {
    const stub = this.purgeQuarantined(def, namespace, name, options.dryRun === true);
    if (stub !== undefined) return stub;
    const current = this.get(def, namespace, name);
    if (def.kind === 'Namespace' && def.group === '' && PROTECTED_NAMESPACES.has(name)) {
      throw new ApiError(
        'Forbidden',
        `namespaces "${name}" is forbidden: this namespace may not be deleted`,
        { name, kind: 'namespaces' },
      );
    }
    const pre = options.preconditions;
    if (pre?.uid !== undefined && pre.uid !== current.object.metadata.uid) {
      throw new ApiError(
        'Conflict',
        `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${current.object.metadata.uid ?? ''}`,
      );
    }
    if (pre?.resourceVersion !== undefined && Number(pre.resourceVersion) !== current.rv)
      throw conflict(def, name);
    const object = structuredClone(current.object);
    const meta = object.metadata;
    const finalizers = new Set(meta.finalizers ?? []);
    const policy = options.propagationPolicy;
    if (meta.deletionTimestamp === undefined) {
      if (policy === 'Foreground') finalizers.add(FOREGROUND_FINALIZER);
      if (policy === 'Orphan') finalizers.add(ORPHAN_FINALIZER);
    }
    const pending = finalizers.size > 0 || namespaceFinalizers(def, object).length > 0;
    if (options.dryRun === true) return object;
    if (!pending) return this.store.delete(resourceKey(def), scope(def, namespace), name, current.rv).object;
    const grace = options.gracePeriodSeconds;
    const shorter = grace !== undefined && grace < (meta.deletionGracePeriodSeconds ?? Infinity);
    if (
      meta.deletionTimestamp !== undefined &&
      finalizers.size === (meta.finalizers ?? []).length &&
      !shorter
    )
      return current.object;
    meta.deletionTimestamp ??= this.timestamp();
    // Unset means "the owner's default" (a VMI's terminationGracePeriodSeconds).
    if (shorter) meta.deletionGracePeriodSeconds = grace;
    if (finalizers.size > 0) meta.finalizers = [...finalizers];
    if (def.kind === 'Namespace')
      object['status'] = { ...(object['status'] as object | undefined), phase: 'Terminating' };
    return this.store.update(resourceKey(def), object, current.rv).object;
  }

  /**
   * A row the store could not load is deleted outright (no finalizers can run on what cannot be
   * read); what is returned names it, and is all that is known of it.
   */
  private purgeQuarantined(
    def: KindDefinition,
    namespace: string,
    name: string,
    dryRun: boolean,
  ): KubeObject | undefined {
    const key = resourceKey(def);
    const ns = scope(def, namespace);
    const row = this.store
      .quarantined()
      .find((q) => q.resource === key && q.namespace === ns && q.name === name);
    if (row === undefined || this.store.get(key, ns, name) !== undefined) return undefined;
    if (!dryRun) this.store.purge(key, ns, name);
    return {
      apiVersion: apiVersionOf(def),
      kind: def.kind,
      metadata: { name, ...(def.namespaced ? { namespace: ns } : {}), resourceVersion: String(row.rv) },
    };
  }

  /** Validates a body against the kind and the URL, returning a clean copy. */
  private admit(
    def: KindDefinition,
    namespace: string,
    body: unknown,
    old: KubeObject | undefined,
    options: WriteOptions,
  ): WriteResult {
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      throw new ApiError('BadRequest', `the body of the request must be a ${def.kind} object`);
    }
    const raw = body as Record<string, unknown>;
    const apiVersion = apiVersionOf(def);
    if (raw['kind'] !== undefined && raw['kind'] !== def.kind) {
      throw new ApiError(
        'BadRequest',
        `the kind of the object (${JSON.stringify(raw['kind'])}) does not match the kind of the URL (${def.kind})`,
      );
    }
    if (raw['apiVersion'] !== undefined && raw['apiVersion'] !== apiVersion) {
      throw new ApiError(
        'BadRequest',
        `the API version of the object (${JSON.stringify(raw['apiVersion'])}) does not match the URL (${apiVersion})`,
      );
    }
    const rawMeta = raw['metadata'];
    const rawName = isObject(rawMeta) ? rawMeta['name'] : undefined;
    const name = typeof rawName === 'string' ? rawName : '';
    checkObjectLimits(body);
    const typed = { ...raw, apiVersion, kind: def.kind };
    const structural = def.read !== undefined ? def.read(typed) : validateStructure(typed, def.schema);
    const warnings: string[] = [];
    const mode = options.fieldValidation ?? 'Warn';
    if (structural.unknownFields.length > 0 && mode === 'Strict') {
      const list = structural.unknownFields.map((f) => `unknown field ${JSON.stringify(f)}`);
      throw new ApiError(
        'BadRequest',
        `${def.kind} in version "${def.version}" cannot be handled as a ${def.kind}: strict decoding error: ${list.join(', ')}`,
        {
          name,
          group: def.group,
          kind: def.kind,
          causes: structural.unknownFields.map((f) => ({
            path: f,
            reason: 'FieldValueUnknown',
            message: `unknown field ${JSON.stringify(f)}`,
          })),
        },
      );
    }
    if (mode === 'Warn')
      warnings.push(...structural.unknownFields.map((f) => `unknown field ${JSON.stringify(f)}`));
    const object = structural.value as KubeObject;
    // A mistyped metadata is already one of the structural causes: go on with an empty one.
    if (!isObject(object.metadata)) object.metadata = {};
    const causes: FieldError[] = [...structural.errors];
    if (def.namespaced) {
      // As kube-apiserver: an empty namespace in the body (kubectl's protobuf always carries the
      // field) means the request's namespace.
      const given = object.metadata.namespace;
      if (given !== undefined && given !== '' && given !== namespace) {
        causes.push({
          path: 'metadata.namespace',
          message: `Invalid value: ${JSON.stringify(object.metadata.namespace)}: does not match the namespace of the request (${namespace})`,
        });
      }
      object.metadata.namespace = namespace;
    } else {
      delete object.metadata.namespace;
    }
    causes.push(...validateMetadata(object.metadata, def, old !== undefined));
    if (def.validate !== undefined && options.subresource !== 'status')
      causes.push(...semanticErrors(def, object, old, structural.errors.length > 0, this.admission));
    causes.push(...ruleCauses(def, object, old, options.subresource, structural.errors));
    if (def.admit !== undefined && options.subresource !== 'status' && structural.errors.length === 0)
      causes.push(
        ...def.admit(
          object,
          old,
          (d, ns, n) => this.store.get(resourceKey(d), scope(d, ns), n)?.object as never,
        ),
      );
    if (causes.length > 0) throw invalid(def.kind, def.group, name, causes);
    options.guard?.(def, object, namespace);
    if (options.subresource !== 'status') {
      warnings.push(...structural.noEffectFields.map(noEffectWarning));
      warnings.push(...(def.warnings?.(object) ?? []));
    }
    def.defaults?.(object);
    return { object, warnings };
  }

  /** Carries over what the client may not change on this endpoint, and bumps generation on a spec change. */
  private mergeUpdate(
    def: KindDefinition,
    old: KubeObject,
    incoming: KubeObject,
    subresource: 'status' | undefined,
  ): KubeObject {
    let next: KubeObject;
    if (subresource === 'status') {
      next = { ...structuredClone(old), status: incoming['status'] };
      if (incoming['status'] === undefined) delete next['status'];
    } else {
      next = incoming;
      if (def.statusSubresource) {
        if (old['status'] === undefined) delete next['status'];
        else next['status'] = old['status'];
      }
    }
    const oldMeta = old.metadata;
    next.metadata = {
      ...next.metadata,
      uid: oldMeta.uid ?? '',
      creationTimestamp: oldMeta.creationTimestamp ?? '',
      generation: (oldMeta.generation ?? 1) + (specChanged(old, next) ? 1 : 0),
    };
    if (subresource === 'status') next.metadata = { ...oldMeta, generation: oldMeta.generation ?? 1 };
    if (oldMeta.deletionTimestamp !== undefined) next.metadata.deletionTimestamp = oldMeta.deletionTimestamp;
    else delete next.metadata.deletionTimestamp;
    if (def.kind === 'Namespace' && oldMeta.deletionTimestamp !== undefined && subresource !== 'status') {
      next['status'] = old['status'];
    }
    delete next.metadata.resourceVersion;
    return next;
  }

  private checkNamespaceOpen(def: KindDefinition, namespace: string): void {
    if (!def.namespaced) return;
    const ns = this.store.get(namespaceResource, '', namespace);
    if (ns === undefined) throw notFound('namespaces', '', namespace);
    if (ns.object.metadata.deletionTimestamp !== undefined) {
      throw new ApiError(
        'Forbidden',
        `${def.plural} "${namespace}" is forbidden: unable to create new content in namespace ${namespace} because it is being terminated`,
      );
    }
  }

  private generateName(def: KindDefinition, namespace: string, prefix: string): string {
    const alphabet = 'bcdfghjklmnpqrstvwxz2456789';
    for (;;) {
      let suffix = '';
      for (let i = 0; i < 5; i++) suffix += alphabet[Math.floor(Math.random() * alphabet.length)];
      const name = `${prefix}${suffix}`;
      if (this.store.get(resourceKey(def), scope(def, namespace), name) === undefined) return name;
    }
  }

  private timestamp(): string {
    return this.clock
      .now()
      .toISOString()
      .replace(/\.\d{3}Z$/, 'Z');
  }
}

/**
 * The kind's own rules run even when the schema found type errors, so that one round trip reports
 * every mistake; on a mistyped object a rule may trip over a value it did not expect, and then only
 * the schema's causes are reported.
 */
function semanticErrors(
  def: KindDefinition,
  object: KubeObject,
  old: KubeObject | undefined,
  mistyped: boolean,
  settings: AdmissionSettings,
): FieldError[] {
  if (def.validate === undefined) return [];
  if (!mistyped) return def.validate(object, old, settings);
  try {
    return def.validate(object, old, settings);
  } catch {
    return [];
  }
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** Nesting and size limits (src/api/limits.ts), checked before anything recurses into the object. */
function checkObjectLimits(body: unknown): void {
  const m = measure(body);
  if (m.exceeded === 'depth')
    throw new ApiError(
      'BadRequest',
      `the object nests deeper than the limit of ${MAX_DEPTH} levels of objects and arrays`,
    );
  if (m.exceeded === 'bytes')
    throw new ApiError(
      'RequestEntityTooLarge',
      `the object is larger than the limit of ${MAX_OBJECT_BYTES} bytes (serialized as JSON)`,
    );
}

const scope = (def: KindDefinition, namespace: string): string => (def.namespaced ? namespace : '');

const conflict = (def: KindDefinition, name: string): ApiError =>
  new ApiError(
    'Conflict',
    `Operation cannot be fulfilled on ${qualifiedName(def.plural, def.group, name)}: the object has been modified; please apply your changes to the latest version and try again`,
    { name, group: def.group, kind: def.plural },
  );

/** A write that changes nothing is not a write: no new resourceVersion, no watch event. */
function unchanged(current: KubeObject, next: KubeObject): boolean {
  const { resourceVersion: _rv, ...meta } = current.metadata;
  return isDeepStrictEqual({ ...current, metadata: meta }, next);
}

/** Everything but metadata and status is "spec" for the purpose of `generation`. */
function specChanged(a: KubeObject, b: KubeObject): boolean {
  const strip = ({ metadata: _m, status: _s, ...rest }: KubeObject): unknown => rest;
  return !isDeepStrictEqual(strip(a), strip(b));
}

function initNamespace(object: KubeObject): void {
  object['spec'] = { finalizers: [NAMESPACE_FINALIZER], ...(object['spec'] as object | undefined) };
  object['status'] = { phase: 'Active' };
}

function namespaceFinalizers(def: KindDefinition, object: KubeObject): string[] {
  if (def.kind !== 'Namespace') return [];
  return ((object['spec'] as { finalizers?: string[] } | undefined)?.finalizers ?? []).slice();
}
