/**
 * `hikube port-forward vm/NAME [HOST_PORT:]GUEST_PORT…` and `hikube ssh [USER@]NAME`, as virtctl
 * does them: each local connection becomes a WebSocket to KubeVirt's `portforward` subresource;
 * `--stdio` relays standard input and output instead, which is how `ssh` reaches the guest
 * (ProxyCommand), so no guest port is ever exposed on the host.
 */
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { Duplex } from 'node:stream';
import { parseArgs } from 'node:util';
import { openVmiStream, relay } from '../client/websocket.js';
import { connectionOptions, loadClient } from './context.js';
import { UsageError } from './errors.js';

/** `vm/NAME`, `vmi/NAME`, `NAME`, optionally `NAME.NAMESPACE`. */
export function parseTarget(target: string, defaultNamespace: string): { name: string; namespace: string } {
  const bare = target.replace(/^(vm|vmi|virtualmachine|virtualmachineinstance)\//, '');
  const [name = '', namespace] = bare.split('.');
  if (name === '') throw new UsageError(`${JSON.stringify(target)} does not name a VM`);
  return { name, namespace: namespace ?? defaultNamespace };
}

function parsePorts(spec: string): { local: number; remote: number } {
  const m = /^(?:(\d+):)?(\d+)$/.exec(spec);
  const remote = Number(m?.[2]);
  const local = m?.[1] !== undefined ? Number(m[1]) : remote;
  if (m === null || remote < 1 || remote > 65535 || local < 0 || local > 65535) {
    throw new UsageError(`ports are [HOST_PORT:]GUEST_PORT, e.g. 8080:80, not ${JSON.stringify(spec)}`);
  }
  return { local, remote };
}

export async function runPortForward(args: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      ...connectionOptions,
      stdio: { type: 'boolean', default: false },
      address: { type: 'string', default: '127.0.0.1' },
    },
  });
  const [target, ...portSpecs] = positionals;
  if (target === undefined || portSpecs.length === 0)
    throw new UsageError('port-forward needs a VM and ports, e.g. `hikube port-forward vm/web 8080:80`');
  const client = loadClient(values);
  const { name, namespace } = parseTarget(target, values.namespace ?? client.namespace);
  const open = (remote: number): ReturnType<typeof openVmiStream> =>
    openVmiStream(client, namespace, name, `portforward/${remote}/tcp`);
  if (values.stdio) {
    const { remote } = parsePorts(portSpecs[0] ?? '');
    const ws = await open(remote);
    const local = Duplex.from({ readable: process.stdin, writable: process.stdout });
    relay(ws, local);
    await new Promise<void>((resolve) => ws.once('close', () => resolve()));
    return;
  }
  const servers = await Promise.all(
    portSpecs.map(parsePorts).map(
      ({ local, remote }) =>
        new Promise<void>((resolve, reject) => {
          const server = createServer((socket) => {
            open(remote).then(
              (ws) => relay(ws, socket),
              (err: unknown) => {
                process.stderr.write(
                  `error forwarding to port ${remote}: ${err instanceof Error ? err.message : String(err)}\n`,
                );
                socket.destroy();
              },
            );
          });
          server.once('error', reject);
          server.listen(local, values.address, () => {
            const addr = server.address();
            const port = typeof addr === 'object' && addr !== null ? addr.port : local;
            process.stdout.write(`Forwarding from ${values.address}:${port} -> ${remote}\n`);
            resolve();
          });
        }),
    ),
  );
  void servers;
  await new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
}

export async function runSsh(args: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      ...connectionOptions,
      identity: { type: 'string', short: 'i' },
      port: { type: 'string', short: 'p', default: '22' },
      'known-hosts': { type: 'string' },
    },
  });
  const [target, ...command] = positionals;
  if (target === undefined) throw new UsageError('ssh needs a VM, e.g. `hikube ssh debian@web`');
  const at = target.lastIndexOf('@');
  const user = at >= 0 ? target.slice(0, at) : undefined;
  const client = loadClient(values);
  const { name, namespace } = parseTarget(
    at >= 0 ? target.slice(at + 1) : target,
    values.namespace ?? client.namespace,
  );
  const self = [process.execPath, ...process.execArgv, process.argv[1] ?? '']
    .map((a) => `'${a.replace(/'/g, `'\\''`)}'`)
    .join(' ');
  const passthrough = [
    ...(values.kubeconfig !== undefined ? ['--kubeconfig', values.kubeconfig] : []),
    ...(values['data-dir'] !== undefined ? ['--data-dir', values['data-dir']] : []),
  ].map((a) => `'${a}'`);
  const proxy = `${self} port-forward --stdio ${passthrough.join(' ')} -n ${namespace} vmi/${name} ${values.port}`;
  const sshArgs = [
    '-o',
    `ProxyCommand=${proxy}`,
    '-o',
    `HostKeyAlias=vmi.${name}.${namespace}`,
    '-o',
    `UserKnownHostsFile=${values['known-hosts'] ?? '/dev/null'}`,
    '-o',
    'StrictHostKeyChecking=no',
    '-o',
    'LogLevel=ERROR',
    ...(values.identity !== undefined ? ['-i', values.identity, '-o', 'IdentitiesOnly=yes'] : []),
    `${user !== undefined ? `${user}@` : ''}vmi.${name}.${namespace}`,
    ...command,
  ];
  const code = await new Promise<number>((resolve, reject) => {
    const child = spawn('ssh', sshArgs, { stdio: 'inherit' });
    child.once('error', (err) =>
      reject(new Error(`failed running ssh: ${err.message} (install openssh-client)`)),
    );
    child.once('exit', (c) => resolve(c ?? 1));
  });
  process.exitCode = code;
}
