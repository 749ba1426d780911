/**
 * `hikube expose vm|vmi NAME --port P [--target-port T] [--type ClusterIP|NodePort|LoadBalancer]
 * [--name SVC] [--protocol TCP|UDP]`, as `virtctl expose` does it: a core/v1 Service whose selector
 * is the labels of the VM's template (or of the VMI). A template without labels gets the
 * `vm.kubevirt.io/name` label the VM controller puts on every VMI, instead of virtctl's error.
 */
import { parseArgs } from 'node:util';
import { stringify } from 'yaml';
import type { KubeObject } from '../api/meta.js';
import type { Service, ServiceType } from '../api/core/service.js';
import { resourcePath } from '../client/kube.js';
import { VM_NAME_LABEL } from '../controllers/vm/controller.js';
import { connectionOptions, loadClient } from './context.js';
import { UsageError } from './errors.js';

const TYPES: readonly ServiceType[] = ['ClusterIP', 'NodePort', 'LoadBalancer'];

interface Labeled extends KubeObject {
  spec?: { template?: { metadata?: { labels?: Record<string, string> } } };
}

export async function runExpose(args: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      ...connectionOptions,
      port: { type: 'string' },
      'target-port': { type: 'string' },
      'port-name': { type: 'string' },
      type: { type: 'string', default: 'ClusterIP' },
      name: { type: 'string' },
      protocol: { type: 'string', default: 'TCP' },
      'load-balancer-ip': { type: 'string' },
      output: { type: 'string', short: 'o' },
      'dry-run': { type: 'boolean', default: false },
    },
  });
  const [what, target] = positionals;
  if (
    (what !== 'vm' && what !== 'vmi' && what !== 'virtualmachine' && what !== 'virtualmachineinstance') ||
    target === undefined
  )
    throw new UsageError('expose needs a VM, e.g. `hikube expose vm web --port 80 --type LoadBalancer`');
  const port = Number(values.port);
  if (values.port === undefined || !Number.isInteger(port) || port < 1 || port > 65535)
    throw new UsageError('expose needs --port, the service port (1-65535)');
  const type = values.type as ServiceType;
  if (!TYPES.includes(type))
    throw new UsageError(`--type must be one of ${TYPES.join(', ')}, not ${JSON.stringify(values.type)}`);
  const protocol = values.protocol.toUpperCase();
  if (protocol !== 'TCP' && protocol !== 'UDP')
    throw new UsageError(`--protocol must be TCP or UDP, not ${JSON.stringify(values.protocol)}`);
  const rawTarget = values['target-port'];
  const targetPort = rawTarget === undefined ? port : /^\d+$/.test(rawTarget) ? Number(rawTarget) : rawTarget;

  const client = loadClient(values);
  const namespace = values.namespace ?? client.namespace;
  const isVm = what === 'vm' || what === 'virtualmachine';
  const r = await client.resolve(
    isVm ? 'virtualmachines.kubevirt.io' : 'virtualmachineinstances.kubevirt.io',
  );
  const { value: object } = await client.call<Labeled>('GET', resourcePath(r, namespace, target));
  const labels = isVm ? object.spec?.template?.metadata?.labels : object.metadata.labels;
  const selector =
    labels !== undefined && Object.keys(labels).length > 0 ? labels : { [VM_NAME_LABEL]: target };

  const service: Service = {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: values.name ?? target, namespace },
    spec: {
      type,
      selector,
      ports: [
        {
          ...(values['port-name'] !== undefined ? { name: values['port-name'] } : {}),
          port,
          targetPort,
          protocol: protocol,
        },
      ],
      ...(values['load-balancer-ip'] !== undefined ? { loadBalancerIP: values['load-balancer-ip'] } : {}),
    },
  };
  const svcs = await client.resolve('services');
  const created = values['dry-run']
    ? service
    : (await client.call<Service>('POST', resourcePath(svcs, namespace), service)).value;
  if (values.output === 'yaml') process.stdout.write(`${stringify(created)}`);
  else if (values.output === 'json') process.stdout.write(`${JSON.stringify(created, null, 2)}\n`);
  else
    process.stdout.write(
      `Service ${created.metadata.name ?? ''} successfully exposed for ${isVm ? 'vm' : 'vmi'} ${target}\n`,
    );
}
