/**
 * Fields KubeVirt and Kubernetes type are typed here too, not kept free-form: a sysprep volume is
 * `{secret | configMap}` each `{name}` (the poison VM nested 3,500 levels under it), and
 * the other embedded core shapes (tolerations, DNS config, PVC references and selectors…) are
 * checked the same way, each mistake reported with its field path.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { persistentVolumeClaimKind } from '../../../src/api/core/core.js';
import { virtualMachineKind } from '../../../src/api/kubevirt/vm.js';
import { validateStructure } from '../../../src/api/validate.js';

const T = 'spec.template.spec';

function vm(templateSpec: Record<string, unknown>): Record<string, unknown> {
  return {
    apiVersion: 'kubevirt.io/v1',
    kind: 'VirtualMachine',
    metadata: { name: 'w' },
    spec: { runStrategy: 'Halted', template: { spec: { domain: { devices: {} }, ...templateSpec } } },
  };
}

const check = (value: unknown, schema: typeof virtualMachineKind.schema) => {
  const r = validateStructure(value, schema);
  return { errors: r.errors.map((e) => e.path).sort(), unknown: r.unknownFields.sort() };
};

describe('typed fields', () => {
  test('sysprep: a Secret or ConfigMap reference passes; anything else is named', () => {
    const ok = vm({ volumes: [{ name: 's', sysprep: { secret: { name: 'answers' } } }] });
    assert.deepEqual(check(ok, virtualMachineKind.schema), { errors: [], unknown: [] });
    const cm = vm({ volumes: [{ name: 's', sysprep: { configMap: { name: 'answers' } } }] });
    assert.deepEqual(check(cm, virtualMachineKind.schema), { errors: [], unknown: [] });
    const bad = vm({ volumes: [{ name: 's', sysprep: { secret: { name: 5 }, a: { a: { a: {} } } } }] });
    assert.deepEqual(check(bad, virtualMachineKind.schema), {
      errors: [`${T}.volumes[0].sysprep.secret.name`],
      unknown: [`${T}.volumes[0].sysprep.a`],
    });
  });

  test('tolerations, dnsConfig, memoryDump and downwardAPI are checked field by field', () => {
    const bad = vm({
      tolerations: [{ key: 'k', operator: 'Sometimes', tolerationSeconds: 'soon' }],
      dnsConfig: { nameservers: '1.1.1.1' },
      volumes: [
        { name: 'm', memoryDump: { readOnly: true } },
        { name: 'd', downwardAPI: { fields: [{ fieldRef: { fieldPath: 1 } }] } },
      ],
    });
    assert.deepEqual(check(bad, virtualMachineKind.schema).errors, [
      `${T}.dnsConfig.nameservers`,
      `${T}.tolerations[0].operator`,
      `${T}.tolerations[0].tolerationSeconds`,
      `${T}.volumes[0].memoryDump.claimName`,
      `${T}.volumes[1].downwardAPI.fields[0].fieldRef.fieldPath`,
      `${T}.volumes[1].downwardAPI.fields[0].path`,
    ]);
  });

  test('a dataVolumeTemplate spec is a DataVolume spec', () => {
    const body = {
      ...vm({}),
      spec: {
        runStrategy: 'Halted',
        template: { spec: { domain: { devices: {} } } },
        dataVolumeTemplates: [
          { metadata: { name: 'root' }, spec: { source: { http: { url: 5 } }, storage: { selector: 'x' } } },
        ],
      },
    };
    assert.deepEqual(check(body, virtualMachineKind.schema).errors, [
      'spec.dataVolumeTemplates[0].spec.source.http.url',
      'spec.dataVolumeTemplates[0].spec.storage.selector',
    ]);
  });

  test('a PVC dataSourceRef and selector are typed as upstream', () => {
    const pvc = (spec: Record<string, unknown>) => ({
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: { name: 'c' },
      spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } }, ...spec },
    });
    const good = pvc({
      dataSourceRef: { apiGroup: 'cdi.kubevirt.io', kind: 'VolumeImportSource', name: 'x', namespace: 'n' },
      selector: { matchExpressions: [{ key: 'a', operator: 'In', values: ['b'] }] },
    });
    assert.deepEqual(check(good, persistentVolumeClaimKind.schema).errors, []);
    const bad = pvc({
      dataSourceRef: { name: 'x' },
      selector: { matchExpressions: [{ key: 'a', operator: 'Near' }] },
    });
    assert.deepEqual(check(bad, persistentVolumeClaimKind.schema).errors, [
      'spec.dataSourceRef.kind',
      'spec.selector.matchExpressions[0].operator',
    ]);
  });
});
