/**
 * Strategic merge patch: the patches kubectl apply/edit/patch send for built-in-style kinds, cases
 * taken from apimachinery's strategicpatch tests, and every way a patch is refused.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Type } from '@sinclair/typebox';
import { ListMap } from '../../../src/api/schema.js';
import { PatchError } from '../../../src/apiserver/patch/json-patch.js';
import { cloneJson } from '../../../src/apiserver/patch/merge-patch.js';
import {
  applyStrategicMergePatch,
  type JsonSchemaLike,
} from '../../../src/apiserver/patch/strategic-merge-patch.js';

const str: JsonSchemaLike = { type: 'string' };
const stringMap: JsonSchemaLike = { type: 'object', additionalProperties: str };
const byName = (properties: Record<string, JsonSchemaLike>, strategy = 'merge'): JsonSchemaLike => ({
  type: 'array',
  items: { type: 'object', properties: { name: str, ...properties } },
  'x-kubernetes-patch-strategy': strategy,
  'x-kubernetes-patch-merge-key': 'name',
});

/** Shaped like the Kubernetes OpenAPI kubectl reads for ConfigMap, Service, Deployment. */
const schema: JsonSchemaLike = {
  type: 'object',
  properties: {
    metadata: {
      type: 'object',
      properties: {
        labels: stringMap,
        annotations: stringMap,
        finalizers: { type: 'array', items: str, 'x-kubernetes-patch-strategy': 'merge' },
      },
    },
    data: stringMap,
    ports: {
      type: 'array',
      items: { type: 'object', properties: { port: { type: 'integer' }, name: str } },
      'x-kubernetes-patch-strategy': 'merge',
      'x-kubernetes-patch-merge-key': 'port',
    },
    spec: {
      type: 'object',
      properties: {
        ports: {
          type: 'array',
          items: { type: 'object', properties: { port: { type: 'integer' }, name: str } },
          'x-kubernetes-patch-strategy': 'merge',
          'x-kubernetes-patch-merge-key': 'port',
        },
        selector: stringMap,
        externalIPs: { type: 'array', items: str },
        containers: byName({
          env: byName({ value: str }),
          args: { type: 'array', items: str },
        }),
        volumes: byName({}, 'merge,retainKeys'),
        strategy: { type: 'object', 'x-kubernetes-patch-strategy': 'retainKeys' },
        template: { type: 'object', 'x-kubernetes-patch-strategy': 'replace' },
        nullableDisks: { anyOf: [{ type: 'null' }, byName({})] },
        objectsWithoutKey: {
          type: 'array',
          items: { type: 'object' },
          'x-kubernetes-patch-strategy': 'merge',
        },
        tags: { type: 'array', items: str, 'x-kubernetes-patch-strategy': 'merge' },
      },
    },
  },
};

interface Case {
  name: string;
  target: unknown;
  patch: unknown;
  result: unknown;
}
const run = (cases: Case[], s: JsonSchemaLike | undefined) => {
  for (const c of cases)
    test(c.name, () => assert.deepEqual(applyStrategicMergePatch(c.target, c.patch, s), c.result));
};

const service = {
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name: 'web', labels: { app: 'web' } },
  spec: {
    selector: { app: 'web' },
    ports: [
      { port: 80, name: 'http' },
      { port: 443, protocol: 'TCP' },
    ],
  },
};
const withPorts = (ports: unknown[]) => ({ ...service, spec: { ...service.spec, ports } });

describe('strategic merge patch: kubectl edit of a Service', () => {
  run(
    [
      {
        name: 'changing one port: $setElementOrder plus the changed item',
        target: service,
        patch: {
          spec: {
            '$setElementOrder/ports': [{ port: 80 }, { port: 443 }],
            ports: [{ port: 443, name: 'https' }],
          },
        },
        result: withPorts([
          { port: 80, name: 'http' },
          { port: 443, protocol: 'TCP', name: 'https' },
        ]),
      },
      {
        name: 'removing a port: a $patch delete item',
        target: service,
        patch: {
          spec: { '$setElementOrder/ports': [{ port: 443 }], ports: [{ $patch: 'delete', port: 80 }] },
        },
        result: withPorts([{ port: 443, protocol: 'TCP' }]),
      },
      {
        name: 'adding a port in the middle',
        target: service,
        patch: {
          spec: {
            '$setElementOrder/ports': [{ port: 80 }, { port: 8080 }, { port: 443 }],
            ports: [{ port: 8080, name: 'alt' }],
          },
        },
        result: withPorts([
          { port: 80, name: 'http' },
          { port: 8080, name: 'alt' },
          { port: 443, protocol: 'TCP' },
        ]),
      },
      {
        name: 'reordering ports only',
        target: service,
        patch: { spec: { '$setElementOrder/ports': [{ port: 443 }, { port: 80 }] } },
        result: withPorts([
          { port: 443, protocol: 'TCP' },
          { port: 80, name: 'http' },
        ]),
      },
      {
        name: 'a port removed by setting a field to null inside a merged item',
        target: service,
        patch: {
          spec: {
            '$setElementOrder/ports': [{ port: 80 }, { port: 443 }],
            ports: [{ port: 80, name: null }],
          },
        },
        result: withPorts([{ port: 80 }, { port: 443, protocol: 'TCP' }]),
      },
      {
        name: 'replacing the selector with $patch: replace',
        target: service,
        patch: { spec: { selector: { $patch: 'replace', app: 'api' } } },
        result: { ...service, spec: { ...service.spec, selector: { app: 'api' } } },
      },
      {
        name: 'emptying the selector with $patch: delete (apimachinery leaves an empty map)',
        target: service,
        patch: { spec: { selector: { $patch: 'delete' } } },
        result: { ...service, spec: { ...service.spec, selector: {} } },
      },
      {
        name: 'replacing all ports with a $patch: replace item',
        target: service,
        patch: { spec: { ports: [{ $patch: 'replace' }, { port: 8443, name: 'tls' }] } },
        result: withPorts([{ port: 8443, name: 'tls' }]),
      },
      {
        name: 'a list without patch strategy is replaced',
        target: { spec: { externalIPs: ['10.0.0.1', '10.0.0.2'] } },
        patch: { spec: { externalIPs: ['10.0.0.3'] } },
        result: { spec: { externalIPs: ['10.0.0.3'] } },
      },
    ],
    schema,
  );

  test("the brief's top-level form: $setElementOrder/ports next to ports", () => {
    const result = applyStrategicMergePatch(
      { ports: [{ port: 80, name: 'http' }, { port: 443 }] },
      { '$setElementOrder/ports': [{ port: 80 }, { port: 443 }], ports: [{ port: 443, name: 'https' }] },
      schema,
    );
    assert.deepEqual(result, {
      ports: [
        { port: 80, name: 'http' },
        { port: 443, name: 'https' },
      ],
    });
  });
});

describe('strategic merge patch: kubectl apply and edit of a ConfigMap', () => {
  const configMap = {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'cfg', labels: { app: 'web', tier: 'db' } },
    data: { a: '1', b: '2' },
  };
  run(
    [
      {
        name: 'edit: change one key, remove another, add an annotation',
        target: configMap,
        patch: {
          data: { a: '10', b: null, c: '3' },
          metadata: { annotations: { 'kubectl.kubernetes.io/last-applied-configuration': '{}' } },
        },
        result: {
          ...configMap,
          metadata: {
            ...configMap.metadata,
            annotations: { 'kubectl.kubernetes.io/last-applied-configuration': '{}' },
          },
          data: { a: '10', c: '3' },
        },
      },
      {
        name: 'apply: drop a label',
        target: configMap,
        patch: { metadata: { labels: { tier: null } } },
        result: { ...configMap, metadata: { name: 'cfg', labels: { app: 'web' } } },
      },
      {
        name: 'removing what is not there changes nothing',
        target: configMap,
        patch: { data: { zzz: null }, binaryData: null },
        result: configMap,
      },
      {
        name: 'a whole map removed with null',
        target: configMap,
        patch: { data: null },
        result: { apiVersion: 'v1', kind: 'ConfigMap', metadata: configMap.metadata },
      },
    ],
    schema,
  );
});

describe('strategic merge patch: lists of scalars with strategy merge', () => {
  run(
    [
      {
        name: 'finalizers: kubectl apply removes one and adds one',
        target: { metadata: { finalizers: ['a', 'b'] } },
        patch: {
          metadata: {
            '$deleteFromPrimitiveList/finalizers': ['a'],
            '$setElementOrder/finalizers': ['b', 'c'],
            finalizers: ['c'],
          },
        },
        result: { metadata: { finalizers: ['b', 'c'] } },
      },
      {
        name: 'union without duplicates',
        target: { spec: { tags: ['1', '2'] } },
        patch: { spec: { tags: ['2', '3'] } },
        result: { spec: { tags: ['1', '2', '3'] } },
      },
      {
        name: 'order of the patch wins, live items keep their place (apimachinery: merging int list)',
        target: { spec: { tags: ['1', '2', '3'] } },
        patch: { spec: { tags: ['3', '1'] } },
        result: { spec: { tags: ['2', '3', '1'] } },
      },
      {
        name: '$setElementOrder on scalars with a server-only item',
        target: { metadata: { finalizers: ['a', 'b', 'c'] } },
        patch: { metadata: { '$setElementOrder/finalizers': ['c', 'a'] } },
        result: { metadata: { finalizers: ['b', 'c', 'a'] } },
      },
      {
        name: '$deleteFromPrimitiveList removes every occurrence',
        target: { spec: { tags: ['x', 'y', 'x'] } },
        patch: { spec: { '$deleteFromPrimitiveList/tags': ['x'] } },
        result: { spec: { tags: ['y'] } },
      },
      {
        name: '$deleteFromPrimitiveList also applies to a list without strategy',
        target: { spec: { externalIPs: ['1', '2'] } },
        patch: { spec: { '$deleteFromPrimitiveList/externalIPs': ['2'] } },
        result: { spec: { externalIPs: ['1'] } },
      },
      {
        name: '$deleteFromPrimitiveList of a missing list adds nothing',
        target: { spec: {} },
        patch: { spec: { '$deleteFromPrimitiveList/tags': ['x'] } },
        result: { spec: {} },
      },
    ],
    schema,
  );
});

describe('strategic merge patch: lists of objects merged by key', () => {
  const pod = {
    spec: {
      containers: [
        {
          name: 'app',
          image: 'app:1',
          env: [
            { name: 'A', value: '1' },
            { name: 'B', value: '2' },
          ],
          args: ['--x'],
        },
        { name: 'sidecar', image: 'side:1' },
      ],
    },
  };
  run(
    [
      {
        name: 'nested merge: a container env var changed, args replaced',
        target: pod,
        patch: { spec: { containers: [{ name: 'app', env: [{ name: 'B', value: '3' }], args: ['--y'] }] } },
        result: {
          spec: {
            containers: [
              {
                name: 'app',
                image: 'app:1',
                env: [
                  { name: 'A', value: '1' },
                  { name: 'B', value: '3' },
                ],
                args: ['--y'],
              },
              { name: 'sidecar', image: 'side:1' },
            ],
          },
        },
      },
      {
        // Without $setElementOrder, apimachinery puts items new to the list before the live ones.
        name: 'a container deleted by key and one added (new items first)',
        target: pod,
        patch: {
          spec: {
            containers: [
              { name: 'sidecar', $patch: 'delete' },
              { name: 'init', image: 'init:1', debug: null },
            ],
          },
        },
        result: { spec: { containers: [{ name: 'init', image: 'init:1' }, pod.spec.containers[0]] } },
      },
      {
        name: 'deleting a missing item changes nothing',
        target: pod,
        patch: { spec: { containers: [{ name: 'nope', $patch: 'delete' }] } },
        result: pod,
      },
      {
        name: 'apimachinery: delete and reorder in one list, reorder in another',
        target: {
          spec: {
            containers: [
              { name: 'a', value: 'a' },
              { name: 'b', value: 'b' },
            ],
            volumes: [
              { name: 'c', value: 'c' },
              { name: 'd', value: 'd' },
            ],
          },
        },
        patch: {
          spec: {
            '$setElementOrder/containers': [{ name: 'b' }],
            '$setElementOrder/volumes': [{ name: 'd' }, { name: 'c' }],
            containers: [{ $patch: 'delete', name: 'a' }],
          },
        },
        result: {
          spec: {
            containers: [{ name: 'b', value: 'b' }],
            volumes: [
              { name: 'd', value: 'd' },
              { name: 'c', value: 'c' },
            ],
          },
        },
      },
      {
        name: 'apimachinery: set elements order in a list with server-only items',
        target: {
          spec: {
            containers: [
              { name: '1', other: 'a' },
              { name: '3', value: 3 },
              { name: '4', value: 4 },
              { name: '2', value: 2 },
              { name: '9' },
            ],
          },
        },
        patch: {
          spec: {
            '$setElementOrder/containers': [{ name: '4' }, { name: '2' }, { name: '3' }, { name: '1' }],
          },
        },
        result: {
          spec: {
            containers: [
              { name: '4', value: 4 },
              { name: '2', value: 2 },
              { name: '3', value: 3 },
              { name: '1', other: 'a' },
              { name: '9' },
            ],
          },
        },
      },
      {
        name: 'apimachinery: set elements order in a list with server-only items 2',
        target: {
          spec: {
            containers: [
              { name: '1', other: 'a' },
              { name: '2', value: 2 },
              { name: '9' },
              { name: '3', value: 3 },
              { name: '4', value: 4 },
            ],
          },
        },
        patch: {
          spec: {
            '$setElementOrder/containers': [{ name: '2' }, { name: '1' }, { name: '4' }, { name: '3' }],
          },
        },
        result: {
          spec: {
            containers: [
              { name: '2', value: 2 },
              { name: '1', other: 'a' },
              { name: '9' },
              { name: '4', value: 4 },
              { name: '3', value: 3 },
            ],
          },
        },
      },
      {
        name: 'apimachinery: preserve the order from the patch in a merging list 2',
        target: { spec: { containers: [{ name: '1' }, { name: '2', value: 'b' }, { name: '3' }] } },
        patch: {
          spec: {
            containers: [
              { name: '3', value: 'c' },
              { name: '1', value: 'a' },
            ],
          },
        },
        result: {
          spec: {
            containers: [
              { name: '2', value: 'b' },
              { name: '3', value: 'c' },
              { name: '1', value: 'a' },
            ],
          },
        },
      },
      {
        name: 'apimachinery: add an item in a list and preserve order',
        target: {
          spec: {
            containers: [
              { name: '1', other: 'a' },
              { name: '2', value: 2, other: 'b' },
            ],
          },
        },
        patch: {
          spec: {
            '$setElementOrder/containers': [{ name: '3' }, { name: '1' }, { name: '2' }],
            containers: [{ name: '3', value: 3 }],
          },
        },
        result: {
          spec: {
            containers: [
              { name: '3', value: 3 },
              { name: '1', other: 'a' },
              { name: '2', value: 2, other: 'b' },
            ],
          },
        },
      },
      {
        name: 'apimachinery: retainKeys list of maps clears a field',
        target: { spec: { volumes: [{ name: 'bar' }, { name: 'foo', value: 'a', other: 'x' }] } },
        patch: {
          spec: {
            '$setElementOrder/volumes': [{ name: 'bar' }, { name: 'foo' }],
            volumes: [{ $retainKeys: ['name', 'value'], name: 'foo' }],
          },
        },
        result: { spec: { volumes: [{ name: 'bar' }, { name: 'foo', value: 'a' }] } },
      },
      {
        name: 'apimachinery: delete all duplicate entries in a merging list',
        target: {
          spec: {
            containers: [
              { name: '1' },
              { name: '1' },
              { name: '2', value: 'a' },
              { name: '3' },
              { name: '3' },
            ],
          },
        },
        patch: {
          spec: {
            containers: [
              { name: '1', $patch: 'delete' },
              { name: '3', $patch: 'delete' },
            ],
          },
        },
        result: { spec: { containers: [{ name: '2', value: 'a' }] } },
      },
      {
        name: 'a list that does not exist yet takes the patch, without directives',
        target: { spec: {} },
        patch: {
          spec: {
            '$setElementOrder/containers': [{ name: 'a' }],
            containers: [{ name: 'a', env: [{ name: 'gone', $patch: 'delete' }] }],
          },
        },
        result: { spec: { containers: [{ name: 'a', env: [] }] } },
      },
      {
        name: 'a merging list behind anyOf (a nullable field) still merges',
        target: { spec: { nullableDisks: [{ name: 'root', size: 1 }] } },
        patch: { spec: { nullableDisks: [{ name: 'data', size: 2 }] } },
        result: {
          spec: {
            nullableDisks: [
              { name: 'data', size: 2 },
              { name: 'root', size: 1 },
            ],
          },
        },
      },
    ],
    schema,
  );

  test('with a TypeBox schema built by ListMap (the kinds of this project)', () => {
    const vmSchema = Type.Object({
      spec: Type.Object({ disks: ListMap(Type.Object({ name: Type.String(), bus: Type.String() }), 'name') }),
    });
    const result = applyStrategicMergePatch(
      {
        spec: {
          disks: [
            { name: 'root', bus: 'virtio' },
            { name: 'cloudinit', bus: 'sata' },
          ],
        },
      },
      {
        spec: {
          '$setElementOrder/disks': [{ name: 'root' }, { name: 'cloudinit' }],
          disks: [{ name: 'root', bus: 'scsi' }],
        },
      },
      vmSchema,
    );
    assert.deepEqual(result, {
      spec: {
        disks: [
          { name: 'root', bus: 'scsi' },
          { name: 'cloudinit', bus: 'sata' },
        ],
      },
    });
  });
});

describe('strategic merge patch: maps', () => {
  run(
    [
      {
        name: '$retainKeys clears the fields it does not list (Deployment strategy)',
        target: { spec: { strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1 } } } },
        patch: { spec: { strategy: { $retainKeys: ['type'], type: 'Recreate' } } },
        result: { spec: { strategy: { type: 'Recreate' } } },
      },
      {
        name: '$retainKeys inside a merged list item (volume source switched)',
        target: {
          spec: {
            volumes: [
              { name: 'v', hostPath: { path: '/x' } },
              { name: 'w', emptyDir: {} },
            ],
          },
        },
        patch: { spec: { volumes: [{ name: 'v', $retainKeys: ['emptyDir', 'name'], emptyDir: {} }] } },
        result: {
          spec: {
            volumes: [
              { name: 'v', emptyDir: {} },
              { name: 'w', emptyDir: {} },
            ],
          },
        },
      },
      {
        name: 'a map with strategy replace is replaced',
        target: { spec: { template: { a: 1, b: { c: 2 } } } },
        patch: { spec: { template: { b: { d: 3 } } } },
        result: { spec: { template: { b: { d: 3 } } } },
      },
      {
        name: '$patch: replace at the top level',
        target: { a: 1, b: 2 },
        patch: { $patch: 'replace', c: 3 },
        result: { c: 3 },
      },
      {
        name: '$patch: delete on a map that is not there leaves it out',
        target: { spec: {} },
        patch: { spec: { selector: { $patch: 'delete' } } },
        result: { spec: {} },
      },
      {
        name: 'a value replacing one of another type loses its directives',
        target: { spec: { other: 'x' } },
        patch: {
          spec: {
            other: {
              $retainKeys: ['a'],
              a: 1,
              b: null,
              '$setElementOrder/l': [],
              inner: { $patch: 'replace', z: 1 },
            },
          },
        },
        result: { spec: { other: { a: 1, inner: { z: 1 } } } },
      },
      {
        name: 'a $setElementOrder for a list on neither side is dropped',
        target: { metadata: { name: 'x' } },
        patch: { metadata: { '$setElementOrder/finalizers': ['a'] } },
        result: { metadata: { name: 'x' } },
      },
      {
        name: 'a target that is not an object is treated as empty',
        target: null,
        patch: { a: { b: 1, c: null } },
        result: { a: { b: 1 } },
      },
    ],
    schema,
  );
});

describe('strategic merge patch: without schema it is a merge patch', () => {
  run(
    [
      {
        name: 'lists are replaced',
        target: { spec: { ports: [{ port: 80 }, { port: 443 }], m: { a: 1, b: 2 } } },
        patch: { spec: { ports: [{ port: 443, name: 'https' }], m: { a: null, c: 3 } } },
        result: { spec: { ports: [{ port: 443, name: 'https' }], m: { b: 2, c: 3 } } },
      },
      {
        name: 'directives still apply to maps and are stripped from lists',
        target: { spec: { m: { a: 1 }, l: [1] } },
        patch: { spec: { m: { $patch: 'replace', b: 2 }, l: [{ $patch: 'replace' }, 2] } },
        result: { spec: { m: { b: 2 }, l: [2] } },
      },
    ],
    undefined,
  );
});

test('strategic merge patch leaves its inputs as they were and shares nothing with them', () => {
  const target = { spec: { ports: [{ port: 80, name: 'http' }], selector: { app: 'a' } } };
  const patch = {
    spec: {
      '$setElementOrder/ports': [{ port: 80 }, { port: 81 }],
      ports: [{ port: 81, extra: { x: [1] } }],
    },
  };
  const before = [cloneJson(target), cloneJson(patch)];
  const result = applyStrategicMergePatch(target, patch, schema) as typeof target;
  assert.deepEqual([target, patch], before);
  (result.spec.ports[0] as { name: string }).name = 'changed';
  result.spec.selector.app = 'changed';
  assert.deepEqual([target, patch], before);
});

describe('strategic merge patch: errors', () => {
  const target = {
    metadata: { finalizers: ['a'] },
    spec: {
      ports: [{ port: 80 }],
      strategy: { type: 'RollingUpdate' },
      objectsWithoutKey: [{ a: 1 }],
      tags: ['x'],
      selector: { app: 'a' },
    },
  };
  const cases: { name: string; patch: unknown; message: string }[] = [
    {
      name: 'patch not an object',
      patch: [{ op: 'add' }],
      message: 'a strategic merge patch must be a JSON object',
    },
    {
      name: 'unknown $patch on a map',
      patch: { spec: { selector: { $patch: 'merge' } } },
      message: 'spec.selector: unknown $patch directive "merge" (expected "replace" or "delete")',
    },
    {
      name: 'unknown $patch on a new map',
      patch: { spec: { newField: { deep: { $patch: 'remove' } } } },
      message: 'spec.newField.deep: unknown $patch directive "remove" (expected "replace" or "delete")',
    },
    {
      name: 'unknown $patch on a list item',
      patch: { spec: { ports: [{ port: 80, $patch: 'merge' }] } },
      message: 'spec.ports[0]: unknown $patch directive "merge" (expected "replace" or "delete")',
    },
    {
      name: 'item without merge key',
      patch: { spec: { ports: [{ name: 'http' }] } },
      message: 'spec.ports: item 0 has no merge key "port"',
    },
    {
      name: 'delete item without merge key',
      patch: { spec: { ports: [{ port: 80 }, { $patch: 'delete', name: 'http' }] } },
      message: 'spec.ports: item 1 has no merge key "port"',
    },
    {
      name: 'merge strategy on objects without a merge key',
      patch: { spec: { objectsWithoutKey: [{ a: 2 }] } },
      message: 'spec.objectsWithoutKey: cannot merge a list of objects without a merge key',
    },
    {
      name: 'list mixing objects and scalars',
      patch: { metadata: { finalizers: [{ name: 'b' }] } },
      message: 'metadata.finalizers: cannot merge a list that mixes objects and scalars',
    },
    {
      name: 'list of lists',
      patch: { spec: { tags: [['y']] } },
      message: 'spec.tags: cannot merge a list of lists',
    },
    {
      name: '$setElementOrder not a list',
      patch: { spec: { '$setElementOrder/ports': { port: 80 } } },
      message: 'spec: $setElementOrder/ports must be a list',
    },
    {
      name: '$setElementOrder without field',
      patch: { spec: { $setElementOrder: [] } },
      message: 'spec: directive "$setElementOrder" must have the form $setElementOrder/<field>',
    },
    {
      name: '$setElementOrder item without merge key',
      patch: { spec: { '$setElementOrder/ports': [{ name: 'http' }] } },
      message: 'spec.ports: item 0 of $setElementOrder/ports has no merge key "port"',
    },
    {
      name: '$setElementOrder that contradicts the patch list',
      patch: {
        spec: { '$setElementOrder/ports': [{ port: 80 }, { port: 81 }], ports: [{ port: 81 }, { port: 80 }] },
      },
      message: 'spec.ports: the items of the patch are not in the order given by $setElementOrder/ports',
    },
    {
      name: '$setElementOrder that misses an item of the patch',
      patch: { spec: { '$setElementOrder/ports': [{ port: 80 }], ports: [{ port: 82 }] } },
      message: 'spec.ports: the items of the patch are not in the order given by $setElementOrder/ports',
    },
    {
      name: '$setElementOrder next to a field that is not a list',
      patch: { spec: { '$setElementOrder/selector': ['app'] } },
      message: 'spec.selector: expected a list alongside $setElementOrder/selector',
    },
    {
      name: '$deleteFromPrimitiveList not a list',
      patch: { metadata: { '$deleteFromPrimitiveList/finalizers': 'a' } },
      message: 'metadata: $deleteFromPrimitiveList/finalizers must be a list',
    },
    {
      name: '$deleteFromPrimitiveList without field',
      patch: { metadata: { $deleteFromPrimitiveListfinalizers: ['a'] } },
      message:
        'metadata: directive "$deleteFromPrimitiveListfinalizers" must have the form $deleteFromPrimitiveList/<field>',
    },
    {
      name: '$retainKeys not a list of names',
      patch: { spec: { strategy: { $retainKeys: 'type' } } },
      message: 'spec.strategy: $retainKeys must be a list of field names',
    },
    {
      name: '$retainKeys missing a field the patch sets',
      patch: {
        spec: { strategy: { $retainKeys: ['type'], type: 'RollingUpdate', rollingUpdate: { maxSurge: 1 } } },
      },
      message: 'spec.strategy: field "rollingUpdate" is set by the patch but missing from $retainKeys',
    },
    {
      name: 'unknown $patch at the top level',
      patch: { $patch: 'bogus' },
      message: 'patch: unknown $patch directive "bogus" (expected "replace" or "delete")',
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      assert.throws(
        () => applyStrategicMergePatch(target, c.patch, schema),
        (err: unknown) => {
          assert.ok(err instanceof PatchError, String(err));
          assert.equal(err.message, c.message);
          return true;
        },
      );
    });
  }
});
