/**
 * Driving real guests in tests: wait for a VM's printableStatus, talk to the serial console over
 * KubeVirt's console WebSocket (as any client would), and find the QEMU processes of a data dir.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { readFileSync as read } from 'node:fs';
import { join } from 'node:path';
import WebSocket from 'ws';
import { raw } from './http.js';
import type { TestPlatform } from './platform.js';
import { eventually } from './wait.js';

export const VMS = '/apis/kubevirt.io/v1/namespaces/default/virtualmachines';
export const VMIS = '/apis/kubevirt.io/v1/namespaces/default/virtualmachineinstances';

export interface VmView {
  status?: {
    printableStatus?: string;
    conditions?: { type: string; status: string; reason?: string; message?: string }[];
    startFailure?: unknown;
  };
  metadata: { uid?: string };
}

export async function vm(p: TestPlatform, name: string): Promise<VmView> {
  return (await raw(p, 'GET', `${VMS}/${name}`)).json as unknown as VmView;
}

export function waitStatus(
  p: TestPlatform,
  name: string,
  status: string,
  timeoutMs = 30_000,
): Promise<VmView> {
  let last = '';
  return eventually(
    async () => {
      const v = await vm(p, name);
      last = v.status?.printableStatus ?? '';
      return last === status ? v : undefined;
    },
    `VM ${name} to be ${status} (last seen: ${last})`,
    timeoutMs,
    100,
  );
}

/** Pids of the QEMU processes whose command line mentions `marker` (a data dir, or guest=NS/NAME). */
export function qemuPids(marker: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      const stat = read(`/proc/${entry}/stat`, 'utf8');
      const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
      if (cmdline.startsWith('qemu-system') && cmdline.includes(marker) && state !== 'Z')
        pids.push(Number(entry));
    } catch {
      // The process went away while we looked.
    }
  }
  return pids;
}

export const guestPids = (p: TestPlatform, name: string): number[] =>
  qemuPids(`guest=default/${name},`).filter((pid) => qemuPids(p.dataDir).includes(pid));

export interface Console {
  output(): string;
  send(text: string): void;
  /** Waits until the output (after `from`) matches. */
  waitFor(pattern: RegExp, timeoutMs?: number, from?: number): Promise<RegExpMatchArray>;
  close(): void;
}

export async function openConsole(p: TestPlatform, name: string, namespace = 'default'): Promise<Console> {
  const ca = readFileSync(join(p.dataDir, 'pki', 'ca.crt'));
  const url = new URL(
    `/apis/subresources.kubevirt.io/v1/namespaces/${namespace}/virtualmachineinstances/${name}/console`,
    p.url.replace('https:', 'wss:'),
  );
  const ws = new WebSocket(url, ['plain.kubevirt.io'], {
    ca,
    headers: { Authorization: `Bearer ${p.token}` },
  });
  let out = '';
  ws.on('message', (data: Buffer) => (out += data.toString('utf8')));
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
    ws.once('unexpected-response', (_req, res) =>
      reject(new Error(`console refused: HTTP ${res.statusCode ?? 0}`)),
    );
  });
  return {
    output: () => out,
    send: (text) => ws.send(Buffer.from(text)),
    waitFor: (pattern, timeoutMs = 30_000, from = 0) =>
      eventually(
        () => out.slice(from).match(pattern) ?? undefined,
        `console output matching ${String(pattern)}; got:\n${out.slice(-600)}`,
        timeoutMs,
        50,
      ),
    close: () => ws.close(),
  };
}

/** A minimal VM manifest booting the tiny built-in image, with a #!/bin/sh user-data script. */
export function tinyVm(
  name: string,
  opts: { runStrategy?: string; userData?: string; hostname?: string } = {},
): string {
  const userData = opts.userData ?? '#!/bin/sh\necho user-data-ran';
  return [
    'apiVersion: kubevirt.io/v1',
    'kind: VirtualMachine',
    'metadata:',
    `  name: ${name}`,
    'spec:',
    `  runStrategy: ${opts.runStrategy ?? 'Always'}`,
    '  template:',
    '    spec:',
    ...(opts.hostname !== undefined ? [`      hostname: ${opts.hostname}`] : []),
    '      terminationGracePeriodSeconds: 10',
    '      domain:',
    '        devices:',
    '          disks:',
    '          - name: root',
    '            disk: {}',
    '          - name: cloudinit',
    '            disk: {}',
    '        memory:',
    '          guest: 128Mi',
    '      volumes:',
    '      - name: root',
    '        containerDisk:',
    '          image: hikube/tiny',
    '      - name: cloudinit',
    '        cloudInitNoCloud:',
    '          userData: |',
    ...userData.split('\n').map((l) => `            ${l}`),
    '',
  ].join('\n');
}

let seq = 0;
/** Runs a shell command on a guest's serial console and returns what it printed. */
export async function sh(c: Console, command: string, timeoutMs = 60_000): Promise<string> {
  const n = ++seq;
  const from = c.output().length;
  // The quotes keep the echoed command line from matching the markers.
  c.send(`echo "@@B""${n}@@"; ${command}; echo "@@E""${n}@@"\n`);
  const m = await c.waitFor(new RegExp(`@@B${n}@@\\r?\\n([\\s\\S]*?)@@E${n}@@`), timeoutMs, from);
  return (m[1] ?? '').replace(/\r/g, '').trim();
}

/**
 * Waits until a hikube/tiny guest has finished booting: its ready marker, or, when the console was
 * opened after the marker went by (the console does not replay), its shell answering a probe that
 * prints the marker (the shell starts only once the boot script, user-data included, has run).
 */
export async function waitTinyReady(c: Console, timeoutMs = 90_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await c.waitFor(/hikube-tiny: ready/, 5_000, 0);
      return;
    } catch (err) {
      if (Date.now() >= deadline) throw err;
      // The quotes keep the echoed command line from matching.
      c.send('\necho "hikube-tiny: re""ady"\n');
    }
  }
}
