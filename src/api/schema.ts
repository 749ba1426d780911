/**
 * Schema building blocks. Every kind is described once with TypeBox: the same value gives the
 * TypeScript type (Static<>), the runtime validation (src/api/validate.ts) and the OpenAPI document
 * served to kubectl (src/apiserver/openapi.ts). These helpers add the Kubernetes shapes JSON Schema
 * has no word for: quantities, int-or-string, string maps, and subtrees kept as they are.
 */
import {
  Type,
  type TOptional,
  type TSchema,
  type TUnsafe,
  type ObjectOptions,
  type TProperties,
} from '@sinclair/typebox';

export { Type, type Static, type TProperties, type TSchema } from '@sinclair/typebox';

/** A resource quantity such as `4Gi`, `500m` or `2`: kept as written, checked by the validator. */
export const Quantity = (description?: string): TUnsafe<string | number> =>
  Type.Unsafe<string | number>({
    'x-kubernetes-int-or-string': true,
    anyOf: [{ type: 'integer' }, { type: 'string' }],
    format: 'quantity',
    ...(description === undefined ? {} : { description }),
  });

/** A field that is either an integer or a string (ports, percentages). */
export const IntOrString = (description?: string): TUnsafe<string | number> =>
  Type.Unsafe<string | number>({
    'x-kubernetes-int-or-string': true,
    anyOf: [{ type: 'integer' }, { type: 'string' }],
    ...(description === undefined ? {} : { description }),
  });

/** A map with free keys, such as labels or a resource list. */
export const MapOf = <T extends TSchema>(
  value: T,
  description?: string,
): TUnsafe<Record<string, T['static']>> =>
  Type.Unsafe<Record<string, T['static']>>({
    type: 'object',
    additionalProperties: value,
    ...(description === undefined ? {} : { description }),
  });

export const StringMap = (description?: string): TUnsafe<Record<string, string>> =>
  MapOf(Type.String(), description);

/** A subtree the server keeps verbatim without checking it (e.g. `status` of an opaque kind). */
export const Preserve = (description?: string): TUnsafe<Record<string, unknown>> =>
  Type.Unsafe<Record<string, unknown>>({
    type: 'object',
    'x-kubernetes-preserve-unknown-fields': true,
    ...(description === undefined ? {} : { description }),
  });

/** An empty marker object such as `disk: {}` or `bridge: {}`. */
export const Empty = (description?: string) =>
  Type.Object({}, description === undefined ? {} : { description });

/** Object with a description: a shorthand used throughout the kind schemas. */
export const Obj = <P extends TProperties>(description: string, properties: P, options: ObjectOptions = {}) =>
  Type.Object(properties, { description, ...options });

/** A list whose items are merged by a key in strategic merge patches (KubeVirt's `name` lists). */
export const ListMap = <T extends TSchema>(item: T, key: string, description?: string) =>
  Type.Array(item, {
    'x-kubernetes-list-type': 'map',
    'x-kubernetes-list-map-keys': [key],
    'x-kubernetes-patch-merge-key': key,
    'x-kubernetes-patch-strategy': 'merge',
    ...(description === undefined ? {} : { description }),
  });

/**
 * A string restricted to a set of values, as `{type: string, enum: [...]}` (OpenAPI's form; TypeBox's
 * Union of Literals would render as anyOf). Use this for every enum, e.g. runStrategy or phase.
 */
export const StringEnum = <const V extends readonly string[]>(
  values: V,
  description?: string,
): TUnsafe<V[number]> =>
  Type.Unsafe<V[number]>({
    type: 'string',
    enum: [...values],
    ...(description === undefined ? {} : { description }),
  });

/** Type.Optional as a plain function (usable unbound, as `opt(...)` in the kind files). */
export function opt<T extends TSchema>(schema: T): TOptional<T> {
  return Type.Optional(schema) as TOptional<T>;
}

/** The schema keyword marking a field kept as given but not acted on (see NoEffect). */
export const NO_EFFECT = 'x-hikube-no-effect';

/**
 * A field of the upstream API that this platform accepts and keeps as given but does not act on
 * (e.g. DRA GPU claims: there are no GPUs here). Writing it is answered with a Kubernetes warning,
 * `<path>: accepted, has no effect on this platform` (src/apiserver/registry.ts): the one mechanism
 * for such fields. The marker is also published in the OpenAPI documents.
 */
export function NoEffect<T extends TSchema>(schema: T): T {
  return Object.assign(schema, { [NO_EFFECT]: true });
}

/** The warning a request that sets a NoEffect field gets, one per field. */
export const noEffectWarning = (path: string): string => `${path}: accepted, has no effect on this platform`;
