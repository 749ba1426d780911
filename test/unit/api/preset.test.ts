/**
 * VirtualMachineInstancePreset, as KubeVirt applied it: settings merged where the VMI sets none,
 * presets in name order, a conflicting preset left out whole; creating one is answered with the
 * deprecation warning.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { namespaceKind } from '../../../src/api/core/core.js';
import type { DomainSpec } from '../../../src/api/kubevirt/domain.js';
import {
  applyPresets,
  PRESET_DEPRECATION,
  virtualMachineInstancePresetKind,
  type VirtualMachineInstancePreset,
} from '../../../src/api/kubevirt/preset.js';
import { Registry } from '../../../src/apiserver/registry.js';
import { SqliteStore } from '../../../src/store/sqlite.js';

const preset = (name: string, matchLabels: Record<string, string>, domain: Record<string, unknown>) =>
  ({
    apiVersion: 'kubevirt.io/v1',
    kind: 'VirtualMachineInstancePreset',
    metadata: { name, namespace: 'default' },
    spec: { selector: { matchLabels }, domain },
  }) as VirtualMachineInstancePreset;

const domain = (): DomainSpec => ({ devices: {}, cpu: { cores: 2 } });

describe('applyPresets', () => {
  test('merges where the VMI is silent, in name order; a conflict leaves that preset out', () => {
    const r = applyPresets(domain(), { flavor: 'small', app: 'web' }, [
      preset('b-memory', { flavor: 'small' }, { memory: { guest: '256Mi' } }),
      preset('a-cpu', { flavor: 'small' }, { cpu: { cores: 2, sockets: 1 } }),
      preset('c-clash', { app: 'web' }, { cpu: { cores: 4 }, machine: { type: 'q35' } }),
      preset('d-other', { flavor: 'large' }, { memory: { guest: '8Gi' } }),
    ]);
    assert.deepEqual(r.applied, ['a-cpu', 'b-memory']);
    assert.deepEqual(r.conflicts, [{ preset: 'c-clash', paths: ['spec.domain.cpu.cores'] }]);
    assert.deepEqual(r.domain.cpu, { cores: 2, sockets: 1 });
    assert.deepEqual(r.domain.memory, { guest: '256Mi' });
    assert.equal(r.domain.machine, undefined, 'nothing of a conflicting preset');
  });

  test('no labels match: the domain as it was', () => {
    const r = applyPresets(domain(), undefined, [preset('p', { x: 'y' }, { memory: { guest: '1Gi' } })]);
    assert.deepEqual(r, { domain: domain(), applied: [], conflicts: [] });
  });

  test('creating a preset is answered with the deprecation warning', () => {
    const registry = new Registry(new SqliteStore({ path: ':memory:' }));
    registry.create(namespaceKind, '', { metadata: { name: 'default' } });
    const { warnings } = registry.create(
      virtualMachineInstancePresetKind,
      'default',
      preset('p', { x: 'y' }, { memory: { guest: '1Gi' } }),
    );
    assert.deepEqual(warnings, [PRESET_DEPRECATION]);
  });
});
