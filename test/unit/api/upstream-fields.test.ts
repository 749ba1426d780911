/**
 * Schema parity with pinned upstream releases: every field path of KubeVirt's and CDI's published
 * OpenAPI, for every kind we serve (src/api/upstream-fields/*.json, written by
 * scripts/upstream-fields.sh), is in our schema — implemented, or kept as NoEffect and answered with
 * a warning. A path that is neither fails here, naming it. The derivation itself is tested on a
 * small document: references, arrays, maps, cycles, NoEffect and preserved subtrees.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, test } from 'node:test';
import { kinds } from '../../../src/api/registry.js';
import { NoEffect, Obj, Preserve, StringMap, Type, opt } from '../../../src/api/schema.js';
import {
  coverage,
  fieldPaths,
  type SwaggerDocument,
  type UpstreamFields,
} from '../../../src/api/upstream-fields/derive.js';

const load = (name: string): UpstreamFields =>
  JSON.parse(
    readFileSync(
      fileURLToPath(new URL(`../../../../src/api/upstream-fields/${name}.json`, import.meta.url)),
      'utf8',
    ),
  ) as UpstreamFields;

const RELEASES: [string, string, string][] = [
  ['kubevirt', 'kubevirt/kubevirt', 'v1.9.0'],
  ['cdi', 'kubevirt/containerized-data-importer', 'v1.66.0'],
];

describe('upstream field paths', () => {
  for (const [name, repository, release] of RELEASES) {
    const fields = load(name);
    test(`${name}: the pinned release is recorded`, () => {
      assert.equal(fields.repository, repository);
      assert.equal(fields.release, release);
      assert.equal(fields.file, 'api/openapi-spec/swagger.json');
      assert.ok(Object.keys(fields.kinds).length > 0);
    });
    for (const [key, paths] of Object.entries(fields.kinds)) {
      test(`${name} ${key}: every upstream path is ours or NoEffect`, () => {
        const [groupVersion, kind] = key.split(' ');
        const def = kinds.find((k) => `${k.group}/${k.version}` === groupVersion && k.kind === kind);
        assert.ok(def, `${key} is served`);
        const missing = paths.filter((p) => coverage(def.schema, p) === 'missing');
        assert.deepEqual(missing, [], `${key}: upstream fields refused by our schema`);
      });
    }
  }

  test('the lists cover the upstream kinds we serve', () => {
    const listed = new Set(RELEASES.flatMap(([name]) => Object.keys(load(name).kinds)));
    for (const key of [
      'kubevirt.io/v1 VirtualMachine',
      'kubevirt.io/v1 VirtualMachineInstance',
      'kubevirt.io/v1 VirtualMachineInstanceReplicaSet',
      'instancetype.kubevirt.io/v1beta1 VirtualMachineClusterPreference',
      'snapshot.kubevirt.io/v1beta1 VirtualMachineRestore',
      'clone.kubevirt.io/v1beta1 VirtualMachineClone',
      'cdi.kubevirt.io/v1beta1 DataVolume',
      'cdi.kubevirt.io/v1beta1 CDIConfig',
      'cdi.kubevirt.io/v1beta1 DataImportCron',
      'upload.cdi.kubevirt.io/v1beta1 UploadTokenRequest',
      'kubevirt.io/v1 VirtualMachineInstanceMigration',
      'migrations.kubevirt.io/v1alpha1 MigrationPolicy',
      'export.kubevirt.io/v1 VirtualMachineExport',
    ])
      assert.ok(listed.has(key), key);
  });

  test('a newer field we keep is no-effect, one we act on implemented', () => {
    const vm = kinds.find((k) => k.kind === 'VirtualMachine');
    assert.ok(vm);
    const T = 'spec.template.spec';
    assert.equal(coverage(vm.schema, `${T}.domain.devices.gpus[].claimName`), 'no-effect');
    assert.equal(coverage(vm.schema, `${T}.domain.devices.disks[].bootOrder`), 'implemented');
    assert.equal(coverage(vm.schema, `${T}.domain.devices.disks[].noSuchField`), 'missing');
  });
});

describe('status paths of VirtualMachineExport (the lists leave status out)', () => {
  // KubeVirt v1.9.0's v1.VirtualMachineExportStatus (links.internal has the same shape as links.external).
  const paths = [
    'conditions',
    'conditions[]',
    'conditions[].lastProbeTime',
    'conditions[].lastTransitionTime',
    'conditions[].message',
    'conditions[].reason',
    'conditions[].status',
    'conditions[].type',
    'links',
    'links.external',
    'links.external.backups',
    'links.external.backups[]',
    'links.external.backups[].endpoints',
    'links.external.backups[].endpoints[]',
    'links.external.backups[].endpoints[].endpoint',
    'links.external.backups[].endpoints[].url',
    'links.external.backups[].name',
    'links.external.cert',
    'links.external.manifests',
    'links.external.manifests[]',
    'links.external.manifests[].type',
    'links.external.manifests[].url',
    'links.external.volumes',
    'links.external.volumes[]',
    'links.external.volumes[].formats',
    'links.external.volumes[].formats[]',
    'links.external.volumes[].formats[].format',
    'links.external.volumes[].formats[].url',
    'links.external.volumes[].name',
    'phase',
    'serviceName',
    'tokenSecretRef',
    'ttlExpirationTime',
    'virtualMachineName',
  ];
  test('every one is in our schema, links.internal as links.external', () => {
    const def = kinds.find((k) => k.kind === 'VirtualMachineExport');
    assert.ok(def);
    const all = [
      ...paths,
      ...paths.filter((p) => p.startsWith('links.external')).map((p) => p.replace('external', 'internal')),
    ];
    const missing = all.filter((p) => coverage(def.schema, `status.${p}`) === 'missing');
    assert.deepEqual(missing, []);
  });
});

describe('deriving the paths', () => {
  const doc: SwaggerDocument = {
    definitions: {
      'v1.Thing': {
        properties: {
          apiVersion: { type: 'string' },
          metadata: { $ref: '#/definitions/k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMeta' },
          spec: { $ref: '#/definitions/v1.ThingSpec' },
          status: { $ref: '#/definitions/v1.ThingStatus' },
        },
      },
      'v1.ThingSpec': {
        properties: {
          labels: { type: 'object', additionalProperties: { type: 'string' } },
          parts: { type: 'array', items: { $ref: '#/definitions/v1.Part' } },
        },
      },
      'v1.Part': { properties: { name: { type: 'string' }, child: { $ref: '#/definitions/v1.Part' } } },
      'v1.ThingStatus': { properties: { phase: { type: 'string' } } },
    },
  };

  test('references, arrays and maps are followed; a type inside itself stops; metadata and status are left out', () => {
    assert.deepEqual(fieldPaths(doc, 'v1.Thing'), [
      'spec',
      'spec.labels',
      'spec.labels.*',
      'spec.parts',
      'spec.parts[]',
      'spec.parts[].child',
      'spec.parts[].name',
    ]);
  });

  test('coverage: implemented, under NoEffect, under a preserved subtree, through a map, missing', () => {
    const schema = Obj('t', {
      spec: Obj('s', {
        labels: opt(StringMap()),
        parts: opt(Type.Array(Obj('p', { name: Type.String(), child: opt(NoEffect(Obj('c', {}))) }))),
        free: opt(Preserve()),
      }),
    });
    assert.equal(coverage(schema, 'spec.parts[].name'), 'implemented');
    assert.equal(coverage(schema, 'spec.parts[].child'), 'no-effect');
    assert.equal(coverage(schema, 'spec.labels.*'), 'implemented');
    assert.equal(coverage(schema, 'spec.free.anything[].deep'), 'implemented');
    assert.equal(coverage(schema, 'spec.parts[].other'), 'missing');
    assert.equal(coverage(schema, 'spec.nothing'), 'missing');
  });
});
