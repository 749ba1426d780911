/** Small kinds for testing the generic machinery without the real schemas. */
import type { KindDefinition } from '../../src/api/kind.js';
import { ObjectMeta } from '../../src/api/meta.js';
import { Preserve, Quantity, StringEnum, Type } from '../../src/api/schema.js';

export const namespaceKind: KindDefinition = {
  group: '',
  version: 'v1',
  kind: 'Namespace',
  plural: 'namespaces',
  singular: 'namespace',
  namespaced: false,
  description: 'test namespace',
  schema: Type.Object({
    apiVersion: Type.String(),
    kind: Type.String(),
    metadata: ObjectMeta,
    spec: Type.Optional(Type.Object({ finalizers: Type.Optional(Type.Array(Type.String())) })),
    status: Type.Optional(Type.Object({ phase: Type.Optional(Type.String()) })),
  }),
  statusSubresource: true,
  printerColumns: [{ name: 'Status', type: 'string', jsonPath: '.status.phase' }],
};

export const widgetKind: KindDefinition = {
  group: 'test.hikube.io',
  version: 'v1',
  kind: 'Widget',
  plural: 'widgets',
  singular: 'widget',
  shortNames: ['wd'],
  namespaced: true,
  description: 'test widget',
  schema: Type.Object({
    apiVersion: Type.String(),
    kind: Type.String(),
    metadata: ObjectMeta,
    spec: Type.Optional(
      Type.Object({
        size: Type.Optional(Quantity()),
        colour: Type.Optional(StringEnum(['red', 'blue'])),
        count: Type.Optional(Type.Integer()),
        extra: Type.Optional(Preserve()),
      }),
    ),
    status: Type.Optional(Type.Object({ phase: Type.Optional(Type.String()) })),
  }),
  statusSubresource: true,
  printerColumns: [{ name: 'Phase', type: 'string', jsonPath: '.status.phase' }],
  validate: (obj) => {
    const spec = obj['spec'] as { count?: number } | undefined;
    return spec?.count !== undefined && spec.count < 0
      ? [{ path: 'spec.count', message: 'Invalid value: must be >= 0' }]
      : [];
  },
};

export const testKinds = [namespaceKind, widgetKind];
