/**
 * `hikube port-forward vm/NAME [HOST_PORT:]GUEST_PORT…` and `hikube ssh [USER@]NAME`, as virtctl
 * does them: each local connection becomes a WebSocket to KubeVirt's `portforward` subresource;
 * `--stdio` relays standard input and output instead, which is how `ssh` reaches the guest
 * (ProxyCommand), so no guest port is ever exposed on the host.
 */
import { spawn } from 'node:child_process';
import { constants as osConstants } from 'node:os';
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

/** One word for `sh`: single-quoted, with embedded quotes closed, escaped and reopened. */
export const shellWord = (a: string): string => `'${a.replace(/'/g, `'\\''`)}'`;

const LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
/** A login name ssh takes as such (never an option: no leading `-`). */
const LOGIN = /^[A-Za-z_][A-Za-z0-9_.-]{0,31}$/;

/**
 * ssh's argument list for `hikube ssh`. The ProxyCommand is a shell line that ssh runs with
 * `sh -c`: every word in it is quoted (`self` is the quoted command that runs this CLI), and the
 * name, namespace, login and port are checked first, so no argument can add shell syntax or an
 * ssh option.
 */
export function sshArgv(o: {
  self: string;
  name: string;
  namespace: string;
  user: string | undefined;
  port: string;
  passthrough: string[];
  identity: string | undefined;
  knownHosts: string | undefined;
  command: string[];
}): string[] {
  for (const [what, v] of [
    ['VM name', o.name],
    ['namespace', o.namespace],
  ] as const)
    if (!LABEL.test(v)) throw new UsageError(`${JSON.stringify(v)} is not a ${what} (an RFC 1123 label)`);
  if (o.user !== undefined && !LOGIN.test(o.user))
    throw new UsageError(`${JSON.stringify(o.user)} is not a login name`);
  const { remote } = parsePorts(o.port);
  const proxy = [
    o.self,
    ...['port-forward', '--stdio', ...o.passthrough, '-n', o.namespace, `vmi/${o.name}`, String(remote)].map(
      shellWord,
    ),
  ].join(' ');
  return [
    '-o',
    `ProxyCommand=${proxy}`,
    '-o',
    `HostKeyAlias=vmi.${o.name}.${o.namespace}`,
    '-o',
    `UserKnownHostsFile=${o.knownHosts ?? '/dev/null'}`,
    '-o',
    'StrictHostKeyChecking=no',
    '-o',
    'LogLevel=ERROR',
    ...(o.identity !== undefined ? ['-i', o.identity, '-o', 'IdentitiesOnly=yes'] : []),
    '--',
    `${o.user !== undefined ? `${o.user}@` : ''}vmi.${o.name}.${o.namespace}`,
    ...o.command,
  ];
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
  const client = loadClient(values);
  const { name, namespace } = parseTarget(
    at >= 0 ? target.slice(at + 1) : target,
    values.namespace ?? client.namespace,
  );
  const sshArgs = sshArgv({
    self: [process.execPath, ...process.execArgv, process.argv[1] ?? ''].map(shellWord).join(' '),
    name,
    namespace,
    user: at >= 0 ? target.slice(0, at) : undefined,
    port: values.port,
    passthrough: [
      ...(values.kubeconfig !== undefined ? ['--kubeconfig', values.kubeconfig] : []),
      ...(values['data-dir'] !== undefined ? ['--data-dir', values['data-dir']] : []),
    ],
    identity: values.identity,
    knownHosts: values['known-hosts'],
    command,
  });
  const code = await new Promise<number>((resolve, reject) => {
    const child = spawn('ssh', sshArgs, { stdio: 'inherit' });
    // A signal for this process (a script's timeout, a service manager) goes on to ssh, which ends
    // its ProxyCommand: nothing is left running behind a stopped `hikube ssh`. (At a terminal,
    // Ctrl-C reaches ssh directly, as one process group.)
    const forward = (signal: NodeJS.Signals): void => void child.kill(signal);
    const signals = ['SIGTERM', 'SIGINT', 'SIGHUP'] as const;
    for (const signal of signals) process.on(signal, forward);
    child.once('error', (err) =>
      reject(new Error(`failed running ssh: ${err.message} (install openssh-client)`)),
    );
    child.once('exit', (c, signal) => {
      for (const s of signals) process.off(s, forward);
      resolve(c ?? (signal !== null ? 128 + (osConstants.signals[signal] ?? 0) : 1));
    });
  });
  process.exitCode = code;
}
