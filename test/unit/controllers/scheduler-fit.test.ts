/**
 * Table tests for what a VMI asks of a node (requestsOf, vcpusOf) and the messages a user reads
 * when no node has it (shortages), starting with the seed's gpu-vm on a node without a GPU.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { DomainSpec } from '../../../src/api/kubevirt/domain.js';
import type { VirtualMachineInstance } from '../../../src/api/kubevirt/vmi.js';
import {
  guestMemoryOf,
  requestsOf,
  shortages,
  sumResources,
  vcpusOf,
  type Resources,
} from '../../../src/controllers/scheduler/fit.js';

const GI = 2 ** 30;
const policy = { cpuAllocationRatio: 10 };

const vmi = (domain: Partial<DomainSpec>): VirtualMachineInstance => ({
  apiVersion: 'kubevirt.io/v1',
  kind: 'VirtualMachineInstance',
  metadata: { name: 'vm', namespace: 'default' },
  spec: { domain: { devices: {}, ...domain } },
});

/** examples/gpu-vm.yaml, as the VM controller turns it into a VMI. */
const gpuVm = vmi({
  devices: {
    disks: [{ name: 'containerdisk', disk: {} }],
    gpus: [{ deviceName: 'nvidia.com/gpu', name: 'gpu1' }],
  },
  resources: {
    requests: { memory: '32Gi', cpu: 16, 'nvidia.com/gpu': 1 },
    limits: { memory: '32Gi', cpu: 16, 'nvidia.com/gpu': 1 },
  },
});

describe('the seed gpu-vm on a node without a GPU', () => {
  test('asks for 16 cores, 32Gi and one GPU, the gpus entry and the request counted once', () => {
    assert.deepEqual(requestsOf(gpuVm, policy), { cpu: 16, memory: 32 * GI, 'nvidia.com/gpu': 1 });
  });

  test('is short of the GPU and of memory, not of CPU', () => {
    const allocatable: Resources = { cpu: 16, memory: 23 * GI, 'nvidia.com/gpu': 0 };
    const messages = shortages(requestsOf(gpuVm, policy), allocatable, {});
    assert.ok(
      messages.includes('insufficient nvidia.com/gpu: requested 1, allocatable 0'),
      `got ${JSON.stringify(messages)}`,
    );
    assert.deepEqual(messages.sort(), [
      'insufficient memory: requested 32Gi, allocatable 23Gi',
      'insufficient nvidia.com/gpu: requested 1, allocatable 0',
    ]);
  });

  test('a node that does not advertise the device at all counts as allocatable 0', () => {
    const messages = shortages(requestsOf(gpuVm, policy), { cpu: 32, memory: 64 * GI }, {});
    assert.deepEqual(messages, ['insufficient nvidia.com/gpu: requested 1, allocatable 0']);
  });
});

describe('requestsOf', () => {
  const cases: [string, Partial<DomainSpec>, number, Resources][] = [
    [
      'cpu request wins over the ratio',
      { cpu: { sockets: 4 }, resources: { requests: { cpu: 2, memory: '1Gi' } } },
      10,
      { cpu: 2, memory: GI },
    ],
    ['millicores', { resources: { requests: { cpu: '500m', memory: '1Gi' } } }, 10, { cpu: 0.5, memory: GI }],
    [
      'cpu limit when there is no request',
      { resources: { limits: { cpu: 3, memory: '2Gi' } } },
      10,
      { cpu: 3, memory: 2 * GI },
    ],
    [
      'no cpu request: vCPUs over the ratio',
      { cpu: { sockets: 4 }, memory: { guest: '1Gi' } },
      10,
      { cpu: 0.4, memory: GI },
    ],
    [
      'no cpu request, ratio 1',
      { cpu: { sockets: 2, cores: 2 }, memory: { guest: '1Gi' } },
      1,
      { cpu: 4, memory: GI },
    ],
    ['no cpu at all: one vCPU over the ratio', { memory: { guest: '1Gi' } }, 4, { cpu: 0.25, memory: GI }],
    [
      'memory from memory.guest when not requested',
      { memory: { guest: '3Gi' } },
      10,
      { cpu: 0.1, memory: 3 * GI },
    ],
    [
      'memory request wins over memory.guest',
      { memory: { guest: '4Gi' }, resources: { requests: { memory: '2Gi' } } },
      10,
      { cpu: 0.1, memory: 2 * GI },
    ],
    [
      'memory limit when there is no request',
      { resources: { limits: { memory: '512Mi' } } },
      10,
      { cpu: 0.1, memory: 512 * 2 ** 20 },
    ],
    [
      'two gpus entries and a request of one: two',
      {
        memory: { guest: '1Gi' },
        devices: {
          gpus: [
            { name: 'a', deviceName: 'nvidia.com/gpu' },
            { name: 'b', deviceName: 'nvidia.com/gpu' },
          ],
        },
        resources: { requests: { 'nvidia.com/gpu': 1 } },
      },
      10,
      { cpu: 0.1, memory: GI, 'nvidia.com/gpu': 2 },
    ],
    [
      'host devices counted by resource name',
      {
        memory: { guest: '1Gi' },
        devices: {
          hostDevices: [
            { name: 'a', deviceName: 'intel.com/qat' },
            { name: 'b', deviceName: 'intel.com/qat' },
          ],
        },
      },
      10,
      { cpu: 0.1, memory: GI, 'intel.com/qat': 2 },
    ],
    [
      'a device limit above its request: the limit',
      { memory: { guest: '1Gi' }, resources: { requests: { 'x.io/fpga': 1 }, limits: { 'x.io/fpga': 2 } } },
      10,
      { cpu: 0.1, memory: GI, 'x.io/fpga': 2 },
    ],
  ];
  for (const [name, domain, ratio, want] of cases) {
    test(name, () => {
      assert.deepEqual(requestsOf(vmi(domain), { cpuAllocationRatio: ratio }), want);
    });
  }
});

describe('vcpusOf and guestMemoryOf', () => {
  const vcpus: [string, Partial<DomainSpec>, number][] = [
    ['nothing: one', {}, 1],
    ['sockets × cores × threads', { cpu: { sockets: 2, cores: 3, threads: 2 } }, 12],
    ['cores alone', { cpu: { cores: 4 } }, 4],
    ['topology wins over the cpu request', { cpu: { sockets: 2 }, resources: { requests: { cpu: 8 } } }, 2],
    ['from the cpu request', { resources: { requests: { cpu: 3 } } }, 3],
    ['a fractional request rounds up', { resources: { requests: { cpu: '1500m' } } }, 2],
    ['a small request is still one vCPU', { resources: { requests: { cpu: '100m' } } }, 1],
    ['from the limit when no request', { resources: { limits: { cpu: 6 } } }, 6],
  ];
  for (const [name, domain, want] of vcpus) {
    test(`vcpusOf: ${name}`, () => assert.equal(vcpusOf(vmi(domain)), want));
  }

  const memory: [string, Partial<DomainSpec>, number][] = [
    ['memory.guest first', { memory: { guest: '2Gi' }, resources: { requests: { memory: '1Gi' } } }, 2 * GI],
    ['then the request', { resources: { requests: { memory: '1Gi' }, limits: { memory: '4Gi' } } }, GI],
    ['then the limit', { resources: { limits: { memory: '4Gi' } } }, 4 * GI],
    ['nothing: 0', {}, 0],
  ];
  for (const [name, domain, want] of memory) {
    test(`guestMemoryOf: ${name}`, () => assert.equal(guestMemoryOf(vmi(domain)), want));
  }
});

describe('shortages', () => {
  const cases: [string, Resources, Resources, Resources, string[]][] = [
    ['everything fits', { cpu: 2, memory: 4 * GI }, { cpu: 4, memory: 8 * GI }, {}, []],
    [
      'exactly full fits',
      { cpu: 2, memory: 4 * GI },
      { cpu: 4, memory: 8 * GI },
      { cpu: 2, memory: 4 * GI },
      [],
    ],
    ['fractional cpu sums do not trip on rounding', { cpu: 0.3 }, { cpu: 1 }, { cpu: 0.7 }, []],
    [
      'in use is named',
      { cpu: 2, memory: 4 * GI },
      { cpu: 4, memory: 8 * GI },
      { cpu: 3, memory: 6 * GI },
      [
        'insufficient cpu: requested 2, allocatable 4 (3 in use)',
        'insufficient memory: requested 4Gi, allocatable 8Gi (6Gi in use)',
      ],
    ],
    [
      'millicores printed as such',
      { cpu: 0.5 },
      { cpu: 0.25 },
      {},
      ['insufficient cpu: requested 500m, allocatable 250m'],
    ],
    [
      'memory that is not a whole Mi is printed in Gi with one decimal',
      { memory: 1.25 * GI + 1 },
      { memory: GI },
      {},
      ['insufficient memory: requested 1.3Gi, allocatable 1Gi'],
    ],
    [
      'memory in Mi',
      { memory: 1536 * 2 ** 20 },
      { memory: GI },
      {},
      ['insufficient memory: requested 1536Mi, allocatable 1Gi'],
    ],
    ['a zero request never fails', { 'nvidia.com/gpu': 0 }, {}, {}, []],
  ];
  for (const [name, request, allocatable, used, want] of cases) {
    test(name, () => assert.deepEqual(shortages(request, allocatable, used), want));
  }

  test('sumResources adds per resource name', () => {
    assert.deepEqual(
      sumResources([
        { cpu: 1, memory: GI },
        { cpu: 0.5, 'nvidia.com/gpu': 1 },
      ]),
      {
        cpu: 1.5,
        memory: GI,
        'nvidia.com/gpu': 1,
      },
    );
  });
});
