/**
 * Small core/v1 shapes that many kinds embed (references, label selectors, tolerations, the
 * downward API), typed as upstream types them, so that no field is kept free-form here that
 * Kubernetes or KubeVirt checks.
 */
import { Obj, Quantity, StringEnum, StringMap, Type, opt } from '../schema.js';

export const LocalObjectReference = (description: string) =>
  Obj(description, { name: Type.String({ description: 'Name of the object in the same namespace.' }) });

/** A PVC's dataSource / dataSourceRef: a typed reference (dataSourceRef may name a namespace). */
export const TypedObjectReference = (description: string, withNamespace: boolean) =>
  Obj(description, {
    apiGroup: opt(Type.String()),
    kind: Type.String(),
    name: Type.String(),
    ...(withNamespace ? { namespace: opt(Type.String()) } : {}),
  });

export const LabelSelector = (description: string) =>
  Obj(description, {
    matchLabels: opt(StringMap()),
    matchExpressions: opt(
      Type.Array(
        Obj('A label requirement.', {
          key: Type.String(),
          operator: StringEnum(['In', 'NotIn', 'Exists', 'DoesNotExist']),
          values: opt(Type.Array(Type.String())),
        }),
      ),
    ),
  });

export const Toleration = Obj('Lets the VMI run on a node with a matching taint.', {
  key: opt(Type.String()),
  operator: opt(StringEnum(['Exists', 'Equal'])),
  value: opt(Type.String()),
  effect: opt(StringEnum(['NoSchedule', 'PreferNoSchedule', 'NoExecute'])),
  tolerationSeconds: opt(Type.Integer()),
});

export const Taint = Obj('Repels VMIs that do not tolerate it.', {
  key: Type.String(),
  value: opt(Type.String()),
  effect: StringEnum(['NoSchedule', 'PreferNoSchedule', 'NoExecute']),
  timeAdded: opt(Type.String()),
});

export const PodDNSConfig = Obj('DNS settings of the guest, beyond those of dnsPolicy.', {
  nameservers: opt(Type.Array(Type.String())),
  searches: opt(Type.Array(Type.String())),
  options: opt(
    Type.Array(Obj('A resolver option.', { name: opt(Type.String()), value: opt(Type.String()) })),
  ),
});

export const DownwardAPIVolumeFile = Obj('One file of downward API data.', {
  path: Type.String(),
  fieldRef: opt(Obj('A field of the object.', { apiVersion: opt(Type.String()), fieldPath: Type.String() })),
  resourceFieldRef: opt(
    Obj('A resource request or limit.', {
      containerName: opt(Type.String()),
      resource: Type.String(),
      divisor: opt(Quantity()),
    }),
  ),
  mode: opt(Type.Integer()),
});
