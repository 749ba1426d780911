/**
 * The node this agent runs on, as a core/v1 Node: what it has (capacity), what the scheduler may
 * hand out (allocatable, after the overcommit ratios), and labels saying which accelerator runs
 * guests here, and the host's system info (nodeinfo.ts). Devices such as `nvidia.com/gpu` are
 * counted from the host (0 here).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { availableParallelism, hostname } from 'node:os';
import { nodeKind } from '../api/core/core.js';
import type { KubeObject } from '../api/meta.js';
import { formatBytes } from '../api/quantity.js';
import type { Accel } from '../hypervisor/machine.js';
import type { Client } from '../runtime/client.js';
import { timestamp } from '../api/kubevirt/vmistatus.js';
import type { NodeSystemInfo } from './nodeinfo.js';

export interface Overcommit {
  /** Allocatable CPU = host cores × this (KubeVirt users overcommit vCPUs heavily). Default 8. */
  cpu: number;
  /** Allocatable memory = (host memory − reserved) × this. Default 1.0. */
  memory: number;
}

export const DEFAULT_OVERCOMMIT: Overcommit = { cpu: 8, memory: 1 };

/** Memory kept for the host and the platform itself. */
const RESERVED_MEMORY = 512 * 1024 * 1024;

export const defaultNodeName = (): string =>
  hostname()
    .toLowerCase()
    .replace(/[^a-z0-9.-]/g, '-');

function memTotal(): number {
  const line = readFileSync('/proc/meminfo', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('MemTotal:'));
  return Number(/(\d+)/.exec(line ?? '')?.[1] ?? '0') * 1024;
}

function nvidiaGpus(): number {
  try {
    return readdirSync('/dev').filter((d) => /^nvidia\d+$/.test(d)).length;
  } catch {
    return 0;
  }
}

/** Creates or refreshes this node's Node object (read from the server: it runs once, at start). */
export async function registerNode(
  api: Pick<Client, 'getLive' | 'create' | 'update' | 'updateStatus'>,
  name: string,
  accel: Accel,
  overcommit: Overcommit,
  now: Date,
  nodeInfo: NodeSystemInfo,
): Promise<void> {
  const cores = availableParallelism();
  const memory = memTotal();
  const gpus = nvidiaGpus();
  const allocMemory =
    Math.floor(((memory - RESERVED_MEMORY) * overcommit.memory) / (1024 * 1024)) * 1024 * 1024;
  const status = {
    capacity: {
      cpu: String(cores),
      memory: formatBytes(memory),
      'nvidia.com/gpu': String(gpus),
      'devices.kubevirt.io/kvm': accel === 'kvm' ? '1k' : '0',
    },
    allocatable: {
      cpu: String(cores * overcommit.cpu),
      memory: formatBytes(allocMemory),
      'nvidia.com/gpu': String(gpus),
      'devices.kubevirt.io/kvm': accel === 'kvm' ? '1k' : '0',
    },
    conditions: [
      {
        type: 'Ready',
        status: 'True',
        reason: 'KubeletReady',
        message: `hikube node agent is ready (accelerator: ${accel})`,
        lastHeartbeatTime: timestamp(now),
        lastTransitionTime: timestamp(now),
      },
    ],
    addresses: [
      { type: 'Hostname', address: name },
      { type: 'InternalIP', address: '127.0.0.1' },
    ],
    nodeInfo: { ...nodeInfo },
  };
  const labels = {
    'kubernetes.io/hostname': name,
    'kubernetes.io/os': 'linux',
    'kubernetes.io/arch': 'amd64',
    'kubevirt.io/schedulable': 'true',
    'hikube.io/accelerator': accel,
  };
  const existing = await api.getLive<KubeObject>(nodeKind, '', name);
  const node =
    existing === undefined
      ? await api.create<KubeObject>(nodeKind, {
          apiVersion: 'v1',
          kind: 'Node',
          metadata: { name, labels },
          spec: {},
        })
      : await api.update<KubeObject>(nodeKind, {
          ...existing,
          metadata: { ...existing.metadata, labels: { ...existing.metadata.labels, ...labels } },
        });
  await api.updateStatus<KubeObject>(nodeKind, { ...node, status });
}
