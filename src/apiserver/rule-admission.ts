/**
 * Where a CRD's CEL rules meet a write: they see the object as it will be stored (a /status write
 * is the old object with the new status; a main write keeps the old status when the kind has a
 * status subresource), and they are not run over an object whose schema errors would make them
 * trip (a missing required field, a wrong type), as kube-apiserver skips them, saying so.
 */
import type { FieldError, KindDefinition } from '../api/kind.js';
import type { KubeObject } from '../api/meta.js';

/** Schema errors after which rules are not run (kube-apiserver's "blocking" errors). */
const BLOCKING = new Set([
  'FieldValueNotSupported',
  'FieldValueRequired',
  'FieldValueTooLong',
  'FieldValueTooMany',
  'FieldValueTypeInvalid',
]);

export function ruleCauses(
  def: KindDefinition,
  object: KubeObject,
  old: KubeObject | undefined,
  subresource: 'status' | undefined,
  schemaErrors: FieldError[],
): FieldError[] {
  if (def.validateRules === undefined) return [];
  if (schemaErrors.some((e) => BLOCKING.has(e.reason ?? 'FieldValueInvalid')))
    return [
      {
        path: '<nil>',
        message:
          'Invalid value: "null": some validation rules were not checked because the object was invalid; correct the existing errors to complete validation',
      },
    ];
  return def.validateRules(storedView(def, object, old, subresource), old);
}

function storedView(
  def: KindDefinition,
  object: KubeObject,
  old: KubeObject | undefined,
  subresource: 'status' | undefined,
): KubeObject {
  if (old === undefined) return object;
  const view: KubeObject =
    subresource === 'status'
      ? { ...old, status: object['status'] }
      : def.statusSubresource
        ? { ...object, status: old['status'] }
        : object;
  if (view['status'] === undefined) delete view['status'];
  return view;
}
