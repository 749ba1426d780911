import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { VirtualMachineInstance } from '../../../src/api/kubevirt/vmi.js';
import { canonicalQuotaName, formatQuotaAmount, quotaNameProblem } from '../../../src/api/quota/names.js';
import { memoryLimitsRatioOf, memoryOverheadOf, usageOf, vmiUsage } from '../../../src/api/quota/usage.js';

const Mi = 2 ** 20;
const policy = { cpuAllocationRatio: 10, memoryLimitsRatio: 2 };
const vmi = (domain: Record<string, unknown>, phase?: string): VirtualMachineInstance =>
  ({
    apiVersion: 'kubevirt.io/v1',
    kind: 'VirtualMachineInstance',
    metadata: { name: 'v', namespace: 'n' },
    spec: { domain: { devices: {}, ...domain } },
    ...(phase !== undefined ? { status: { phase } } : {}),
  }) as unknown as VirtualMachineInstance;

describe('quota resource names', () => {
  test('accepted and refused names', () => {
    for (const ok of [
      'requests.cpu',
      'limits.memory',
      'services.loadbalancers',
      'count/virtualmachines.kubevirt.io',
      'count/secrets',
      'requests.nvidia.com/gpu',
      'gold.storageclass.storage.k8s.io/requests.storage',
      'cpu',
    ])
      assert.equal(quotaNameProblem(ok), undefined, ok);
    for (const bad of ['nvidia.com/gpu', 'limits.nvidia.com/gpu', 'virtualmachines', 'count/', 'not a name'])
      assert.notEqual(quotaNameProblem(bad), undefined, bad);
  });

  test('aliases and amounts as kube prints them', () => {
    assert.equal(canonicalQuotaName('cpu'), 'requests.cpu');
    assert.equal(canonicalQuotaName('count/services'), 'services');
    assert.equal(formatQuotaAmount('requests.cpu', 0.4), '400m');
    assert.equal(formatQuotaAmount('limits.cpu', 4), '4');
    assert.equal(formatQuotaAmount('requests.storage', 8 * 2 ** 30), '8Gi');
    assert.equal(formatQuotaAmount('services', 2), '2');
  });
});

describe('a VMI counted as its launcher pod', () => {
  const table: [string, VirtualMachineInstance, Record<string, number>][] = [
    [
      '2 vCPUs, 1Gi guest: vCPUs / 10 requested, vCPUs as the limit, memory + overhead, limit twice the request',
      vmi({ cpu: { cores: 2 }, memory: { guest: '1Gi' } }),
      {
        'requests.cpu': 0.2,
        'limits.cpu': 2,
        'requests.memory': 1024 * Mi + 116 * Mi + 2 * Mi,
        'limits.memory': 2 * (1024 * Mi + 116 * Mi + 2 * Mi),
      },
    ],
    [
      'explicit requests and limits win; overcommitGuestOverhead drops the overhead from the request only',
      vmi({
        cpu: { cores: 4 },
        resources: {
          requests: { cpu: '1', memory: '512Mi' },
          limits: { cpu: '3', memory: '1Gi' },
          overcommitGuestOverhead: true,
        },
      }),
      {
        'requests.cpu': 1,
        'limits.cpu': 3,
        'requests.memory': 512 * Mi,
        'limits.memory': 1024 * Mi + 100 * Mi + 32 * Mi + 1 * Mi,
      },
    ],
    [
      'a finished VMI counts for nothing',
      vmi({ cpu: { cores: 2 }, memory: { guest: '1Gi' } }, 'Succeeded'),
      {},
    ],
  ];
  for (const [what, v, want] of table) test(what, () => assert.deepEqual(vmiUsage(v, policy), want));

  test('GPUs count as requests.<resource>; 3 vCPUs at ratio 10 round up to whole millicores', () => {
    const u = vmiUsage(
      vmi({ cpu: { cores: 1 }, devices: { gpus: [{ name: 'g', deviceName: 'nvidia.com/gpu' }] } }),
      policy,
    );
    assert.equal(u['requests.nvidia.com/gpu'], 1);
    assert.equal(
      vmiUsage(vmi({ cpu: { cores: 1 } }), { ...policy, cpuAllocationRatio: 3 })['requests.cpu'],
      0.334,
    );
  });

  test('overhead, memory ratio label, object counts', () => {
    assert.equal(
      memoryOverheadOf(vmi({ cpu: { cores: 1 }, memory: { guest: '512Mi' } })),
      100 * Mi + 8 * Mi + Mi,
    );
    assert.equal(
      memoryLimitsRatioOf({
        apiVersion: 'v1',
        kind: 'Namespace',
        metadata: { labels: { 'alpha.kubevirt.io/auto-memory-limits-ratio': '1.0' } },
      }),
      1,
    );
    assert.equal(
      memoryLimitsRatioOf({
        apiVersion: 'v1',
        kind: 'Namespace',
        metadata: { labels: { 'alpha.kubevirt.io/auto-memory-limits-ratio': 'x' } },
      }),
      2,
    );
    assert.deepEqual(
      usageOf(
        'kubevirt.io/virtualmachines',
        { apiVersion: 'kubevirt.io/v1', kind: 'VirtualMachine', metadata: { name: 'x' } },
        policy,
      ),
      {
        'count/virtualmachines.kubevirt.io': 1,
      },
    );
    assert.deepEqual(
      usageOf(
        '/services',
        {
          apiVersion: 'v1',
          kind: 'Service',
          metadata: { name: 's' },
          spec: { type: 'NodePort', ports: [{ port: 1 }, { port: 2 }] },
        },
        policy,
      ),
      { 'count/services': 1, services: 1, 'services.nodeports': 2 },
    );
  });
});
