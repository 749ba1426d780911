/**
 * `hikube start|stop|restart|pause|unpause|softreboot NAME`, as virtctl does them: a PUT on
 * KubeVirt's subresources, so they work the same against a real KubeVirt cluster. `--wait`
 * follows the VM's printableStatus until it settles.
 */
import { parseArgs } from 'node:util';
import type { PrintableStatus } from '../api/kubevirt/status.js';
import type { KubeClient } from '../client/kube.js';
import { connectionOptions, loadClient } from './context.js';
import { UsageError } from './errors.js';

type Target = 'virtualmachines' | 'virtualmachineinstances';

const path = (target: Target, namespace: string, name: string, action: string): string =>
  `/apis/subresources.kubevirt.io/v1/namespaces/${encodeURIComponent(namespace)}/${target}/${encodeURIComponent(name)}/${action}`;

const settled: Record<string, PrintableStatus[]> = {
  start: [
    'Running',
    'ErrorUnschedulable',
    'ErrImagePull',
    'ImagePullBackOff',
    'ErrorPvcNotFound',
    'CrashLoopBackOff',
    'DataVolumeError',
  ],
  stop: ['Stopped'],
  restart: ['Running'],
  pause: ['Paused'],
  unpause: ['Running'],
};

async function waitFor(
  c: KubeClient,
  namespace: string,
  name: string,
  wanted: PrintableStatus[],
  timeoutS: number,
): Promise<string> {
  const deadline = Date.now() + timeoutS * 1000;
  let last = '';
  for (;;) {
    const { value } = await c.call<{ status?: { printableStatus?: string } }>(
      'GET',
      `/apis/kubevirt.io/v1/namespaces/${encodeURIComponent(namespace)}/virtualmachines/${encodeURIComponent(name)}`,
    );
    last = value.status?.printableStatus ?? '';
    if ((wanted as string[]).includes(last)) return last;
    if (Date.now() > deadline)
      throw new Error(
        `timed out after ${timeoutS}s waiting for VM ${JSON.stringify(name)}: status is ${last || 'unknown'}`,
      );
    await new Promise((r) => setTimeout(r, 250));
  }
}

function command(action: string, target: Target): (args: string[]) => Promise<void> {
  return async (args) => {
    const { values, positionals } = parseArgs({
      args,
      allowPositionals: true,
      options: {
        ...connectionOptions,
        wait: { type: 'boolean', default: false },
        timeout: { type: 'string', default: '300' },
        'grace-period': { type: 'string' },
        force: { type: 'boolean', default: false },
      },
    });
    const [name] = positionals;
    if (name === undefined)
      throw new UsageError(`${action} needs a VM name, e.g. \`hikube ${action} dev-vm\``);
    const c = loadClient(values);
    const namespace = values.namespace ?? c.namespace;
    const body: Record<string, unknown> = {};
    const grace = values.force ? '0' : values['grace-period'];
    if (grace !== undefined) {
      const n = Number(grace);
      if (!Number.isInteger(n) || n < 0)
        throw new UsageError(`--grace-period must be a non-negative integer, not ${JSON.stringify(grace)}`);
      body[action === 'restart' ? 'gracePeriodSeconds' : 'gracePeriod'] = n;
    }
    await c.call('PUT', path(target, namespace, name, action), body);
    const noun = target === 'virtualmachines' ? 'VM' : 'VMI';
    const done: Record<string, string> = {
      start: 'was scheduled to start',
      stop: 'was scheduled to stop',
      restart: 'was scheduled to restart',
      pause: 'was paused',
      unpause: 'was unpaused',
      softreboot: 'was scheduled to soft reboot',
    };
    process.stdout.write(`${noun} ${name} ${done[action] ?? action}\n`);
    const wanted = settled[action];
    if (values.wait && wanted !== undefined) {
      const status = await waitFor(c, namespace, name, wanted, Number(values.timeout));
      process.stdout.write(`VM ${name} is ${status}\n`);
      if (status !== 'Running' && status !== 'Stopped' && status !== 'Paused') process.exitCode = 1;
    }
  };
}

export const lifecycleCommands: Record<string, (args: string[]) => Promise<void>> = {
  start: command('start', 'virtualmachines'),
  stop: command('stop', 'virtualmachines'),
  restart: command('restart', 'virtualmachines'),
  pause: command('pause', 'virtualmachineinstances'),
  unpause: command('unpause', 'virtualmachineinstances'),
  softreboot: command('softreboot', 'virtualmachineinstances'),
};
