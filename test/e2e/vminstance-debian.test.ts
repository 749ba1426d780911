/**
 * Hikube's quick start on a real distribution: a VMDisk imported over HTTP from a loopback server
 * (the debian-12 image, kernel-booted through the disk's kernel-image annotation) and a VMInstance
 * with `external: true`, `externalPorts: [22]`, `sshKeys` and `cloudInit`: SSH through the external
 * (load balancer) address logs in with the key, and cloud-init's runcmd has run.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import { kubectlOk, repoRoot, startTestPlatform, type TestPlatform } from '../support/platform.js';
import { eventually } from '../support/wait.js';
import { serveImages, type ImageServer } from '../unit/storage/image-server.js';

let p: TestPlatform;
let dir: string;
let server: ImageServer;

before(async () => {
  process.env['HIKUBE_LB_POOL'] = '127.93.42.1';
  p = await startTestPlatform();
  dir = await mkdtemp(join(tmpdir(), 'hikube-vmi-debian-'));
  await symlink(join(repoRoot, '.cache', 'images', 'debian-12', 'disk.qcow2'), join(dir, 'debian-12.qcow2'));
  server = await serveImages(dir);
});
after(async () => {
  await p.cleanup();
  await server.close();
  await rm(dir, { recursive: true, force: true });
});

const kubectl = (args: string[], input?: string): Promise<string> => kubectlOk(p, args, input);
interface InstanceView {
  status?: { printableStatus?: string; externalEndpoints?: string[] };
}
const instance = async (name: string): Promise<InstanceView> =>
  JSON.parse(await kubectl(['get', 'vminstance', name, '-o', 'json'])) as InstanceView;

describe("Hikube's quick start on debian-12", () => {
  test('SSH with the key of sshKeys through the external address', { timeout: 480_000 }, async (t) => {
    const started = Date.now();
    const mark = (what: string): void =>
      t.diagnostic(`${what} after ${((Date.now() - started) / 1000).toFixed(1)} s`);
    const key = join(p.dataDir, 'id_ed25519');
    await promisify(execFile)('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', key]);
    const pub = (await readFile(`${key}.pub`, 'utf8')).trim();
    await kubectl(
      ['apply', '-f', '-'],
      `apiVersion: apps.cozystack.io/v1alpha1
kind: VMDisk
metadata:
  name: debian
  annotations:
    vm-disk.hikube.io/kernel-image: "debian:12"
spec:
  source:
    http:
      url: ${server.url}/debian-12.qcow2
  storage: 4Gi
---
apiVersion: apps.cozystack.io/v1alpha1
kind: VMInstance
metadata:
  name: deb
spec:
  instanceType: ""
  instanceProfile: debian
  resources: {cpu: 1, sockets: 2, memory: 512Mi}
  disks:
  - name: debian
  external: true
  externalPorts: [22]
  sshKeys:
  - ${pub}
  cloudInit: |
    #cloud-config
    runcmd:
    - echo cloud-init-ran > /run/hikube-test
`,
    );
    await eventually(
      async () =>
        (await kubectl(['get', 'vmdisk', 'debian', '-o', 'jsonpath={.status.phase}'])) === 'Succeeded',
      'the import of the debian disk',
      240_000,
      500,
    );
    mark('disk imported');
    const endpoint = await eventually(
      async () => (await instance('deb')).status?.externalEndpoints?.[0],
      'the external endpoint of deb',
      240_000,
      1000,
    );
    const [host = '', port = ''] = endpoint.split(':');
    const out = await eventually(
      async () => {
        const r = await promisify(execFile)('ssh', [
          ...['-i', key, '-p', port, '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null'],
          ...['-o', 'BatchMode=yes', '-o', 'ConnectTimeout=5', `debian@${host}`],
          'test -f /run/hikube-test && cat /run/hikube-test && cat ~/.ssh/authorized_keys',
        ]).catch(() => undefined);
        return r?.stdout;
      },
      `ssh debian@${endpoint}`,
      360_000,
      3000,
    );
    mark('ssh answered');
    const lines = out.trim().split('\n');
    assert.equal(lines[0], 'cloud-init-ran');
    assert.ok(lines.includes(pub), 'the key of sshKeys is authorized');
    assert.equal((await instance('deb')).status?.printableStatus, 'Running');
    await kubectl(['delete', 'vminstance', 'deb']);
  });
});
