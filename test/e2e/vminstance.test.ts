/**
 * Hikube's VMInstance and VMDisk with the real kubectl, the hikube CLI and real QEMU guests.
 * A VMDisk imported over HTTP from a loopback server boots a tiny guest (its kernel named by the
 * disk's kernel-image annotation): the load balancer of an external VMInstance forwards only its
 * externalPorts (another port is refused) until WholeIP forwards any port; a new cloudInitSeed
 * asks for a restart and gives a new SMBIOS UUID; deleting the VMInstance keeps the VMDisk, and
 * a new VMInstance attaching it reads what the first one wrote. Every bad input gets its Status.
 * (Hikube's quick start on debian-12 is in vminstance-debian.test.ts.)
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type Console, openConsole, sh, waitStatus } from '../support/guest.js';
import { httpName, udpAsk, udpEchoBase64 } from '../support/network.js';
import { kubectlOk, repoRoot, startTestPlatform, type TestPlatform } from '../support/platform.js';
import { eventually } from '../support/wait.js';
import {
  GOLDEN,
  makeImages,
  serveImages,
  type ImageServer,
  type Images,
} from '../unit/storage/image-server.js';
import { stableUuid } from '../../src/controllers/cozystack/compile.js';

/** Load balancer addresses of this test alone, so a refused port means what it says. */
const POOL = ['127.93.41.1', '127.93.41.2'];

let p: TestPlatform;
let fixtures: Images;
let server: ImageServer;

before(async () => {
  process.env['HIKUBE_LB_POOL'] = POOL.join(',');
  p = await startTestPlatform();
  fixtures = makeImages(await mkdtemp(join(tmpdir(), 'hikube-vmi-images-')));
  server = await serveImages(fixtures.dir);
});
after(async () => {
  await p.cleanup();
  await server.close();
  await rm(fixtures.dir, { recursive: true, force: true });
});

const kubectl = (args: string[], input?: string): Promise<string> => kubectlOk(p, args, input);
const json = async <T>(args: string[]): Promise<T> => JSON.parse(await kubectl([...args, '-o', 'json'])) as T;

interface Cond {
  type: string;
  status: string;
  reason?: string;
}
interface InstanceView {
  status?: {
    printableStatus?: string;
    ipAddress?: string;
    externalAddress?: string;
    externalEndpoints?: string[];
    firmwareUUID?: string;
    conditions?: Cond[];
  };
}
const instance = (name: string): Promise<InstanceView> => json<InstanceView>(['get', 'vminstance', name]);

async function bootTiny(vm: string): Promise<Console> {
  await waitStatus(p, vm, 'Running', 120_000);
  const c = await openConsole(p, vm);
  await c.waitFor(/hikube-tiny: ready/, 60_000);
  return c;
}

/** Resolves with the error code of a connection attempt, or 'connected'. */
function dial(host: string, port: number): Promise<string> {
  return new Promise((resolve) => {
    const s = connect({ host, port });
    s.once('connect', () => {
      s.destroy();
      resolve('connected');
    });
    s.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
  });
}

const tinyDisk = (name: string): string => `apiVersion: apps.cozystack.io/v1alpha1
kind: VMDisk
metadata:
  name: ${name}
  annotations:
    vm-disk.hikube.io/kernel-image: hikube/tiny
spec:
  source:
    http:
      url: ${server.url}/disk.qcow2
  storage: 64Mi
`;

/** HTTP on 8080 (the hostname) and 8081 ("other-port"), a UDP echo on 9001. */
const userData = (): string[] => [
  '#!/bin/sh',
  'mkdir -p /tmp/a /tmp/b && hostname > /tmp/a/index.html && echo other-port > /tmp/b/index.html',
  'httpd -p 8080 -h /tmp/a',
  'httpd -p 8081 -h /tmp/b',
  `echo ${udpEchoBase64()} | base64 -d > /tmp/udpecho && chmod +x /tmp/udpecho`,
  '/tmp/udpecho 9001 &',
  'echo user-data-ran',
];

const tinyInstance = (name: string, extra: string[] = []): string =>
  [
    'apiVersion: apps.cozystack.io/v1alpha1',
    'kind: VMInstance',
    'metadata:',
    `  name: ${name}`,
    'spec:',
    '  instanceType: ""',
    '  instanceProfile: ""',
    '  resources: {cpu: 1, sockets: 1, memory: 128Mi}',
    '  disks:',
    '  - name: data',
    '  cloudInit: |',
    ...userData().map((l) => `    ${l}`),
    ...extra.map((l) => `  ${l}`),
    '',
  ].join('\n');

describe('VMInstance and VMDisk on tiny guests', () => {
  test(
    'import, external PortList then WholeIP, a new seed, and a disk that outlives its VM',
    { timeout: 420_000 },
    async () => {
      await kubectl(['apply', '-f', '-'], tinyDisk('data'));
      await eventually(
        async () =>
          (await json<{ status?: { phase?: string } }>(['get', 'vmdisk', 'data'])).status?.phase ===
          'Succeeded',
        'the VMDisk import to succeed',
        90_000,
        500,
      );
      const table = await kubectl(['get', 'vmdisk']);
      assert.match(table, /^NAME\s+PHASE\s+SIZE\s+STORAGECLASS\s+AGE/);
      assert.match(table, /\ndata\s+Succeeded\s+64Mi\s+local\s+/);
      const cli = await p.hikube(['get', 'vmdisk']);
      assert.equal(cli.code, 0, cli.stderr);
      assert.match(cli.stdout, /data\s+Succeeded\s+64Mi\s+local/);
      assert.ok(await kubectl(['get', 'datavolume', 'vm-disk-data', '-o', 'name']));

      await kubectl(['apply', '-f', '-'], tinyInstance('t1', ['external: true', 'externalPorts: [8080]']));
      let c = await bootTiny('vm-instance-t1');
      assert.equal(await sh(c, 'head -c 19 /dev/vda'), GOLDEN.trim(), 'the guest sees the imported disk');
      await sh(c, 'echo persisted-by-t1 | dd of=/dev/vda bs=512 seek=4096 conv=fsync 2>/dev/null; sync');

      const running = await eventually(
        async () => {
          const v = await instance('t1');
          return v.status?.printableStatus === 'Running' && v.status.externalAddress !== undefined
            ? v
            : undefined;
        },
        'the VMInstance to be Running with an external address',
        60_000,
        500,
      );
      const address = running.status?.externalAddress ?? '';
      assert.ok(POOL.includes(address), address);
      assert.equal(running.status?.ipAddress, '10.0.2.15');
      assert.deepEqual(running.status?.externalEndpoints, [`${address}:8080`]);
      const list = await kubectl(['get', 'vminstance']);
      assert.match(list, /^NAME\s+STATUS\s+IP\s+EXTERNAL\s+AGE/);
      assert.match(
        list,
        new RegExp(`\\nt1\\s+Running\\s+10\\.0\\.2\\.15\\s+${address.replace(/\./g, '\\.')}\\s+`),
      );
      const hl = await p.hikube(['get', 'vminstance', 't1', '-o', 'wide']);
      assert.equal(hl.code, 0, hl.stderr);
      assert.match(hl.stdout, /ENDPOINT\s+INSTANCETYPE/);
      assert.match(
        hl.stdout,
        new RegExp(`t1\\s+Running\\s+10\\.0\\.2\\.15\\s+\\S+\\s+${address.replace(/\./g, '\\.')}:8080\\s`),
      );

      // PortList: 8080 goes to the guest, 8081 (served by the guest too) is not forwarded.
      assert.equal(
        await eventually(
          () => httpName(address, 8080).catch(() => undefined),
          'port 8080 through the load balancer',
          60_000,
          500,
        ),
        'vm-instance-t1',
      );
      assert.equal(await dial(address, 8081), 'ECONNREFUSED', 'a port not in externalPorts is refused');
      await assert.rejects(udpAsk(address, 9001, 'ping', 1500), /no UDP answer/, 'nor is UDP forwarded');

      // WholeIP: the same address forwards any port.
      await kubectl([
        'patch',
        'vminstance',
        't1',
        '--type',
        'merge',
        '-p',
        '{"spec":{"externalMethod":"WholeIP"}}',
      ]);
      await eventually(
        async () =>
          (
            await json<{ metadata: { annotations?: Record<string, string> } }>([
              'get',
              'service',
              'vm-instance-t1',
            ])
          ).metadata.annotations?.['networking.cozystack.io/wholeIP'] === 'true',
        'the Service to turn whole-IP',
      );
      const whole = await eventually(
        async () => (await instance('t1')).status?.externalAddress,
        'the whole-IP address',
        30_000,
        300,
      );
      assert.equal(
        await eventually(
          () => httpName(whole, 8081).catch(() => undefined),
          'port 8081 through WholeIP',
          60_000,
          500,
        ),
        'other-port',
      );
      assert.equal(await httpName(whole, 8080), 'vm-instance-t1');
      assert.equal(
        await eventually(
          () => udpAsk(whole, 9001, 'ping').catch(() => undefined),
          'UDP 9001 through WholeIP',
          20_000,
          200,
        ),
        'vm-instance-t1 ping',
      );

      // A new seed: a new SMBIOS UUID, once the VM restarts (RestartRequired says so).
      const before = await sh(c, 'cat /sys/class/dmi/id/product_uuid');
      assert.equal(before, (await instance('t1')).status?.firmwareUUID);
      assert.equal(before, stableUuid('default', 't1', ''));
      await kubectl([
        'patch',
        'vminstance',
        't1',
        '--type',
        'merge',
        '-p',
        '{"spec":{"cloudInitSeed":"upd1"}}',
      ]);
      await eventually(
        async () =>
          (await instance('t1')).status?.conditions?.some(
            (x) => x.type === 'RestartRequired' && x.status === 'True',
          ),
        'RestartRequired on the VMInstance',
        30_000,
        300,
      );
      c.close();
      const restart = await p.hikube(['restart', 'vm-instance-t1', '--wait']);
      assert.equal(restart.code, 0, restart.stderr);
      c = await bootTiny('vm-instance-t1');
      const afterSeed = await sh(c, 'cat /sys/class/dmi/id/product_uuid');
      assert.equal(afterSeed, stableUuid('default', 't1', 'upd1'));
      assert.notEqual(afterSeed, before);
      assert.match(c.output(), /user-data-ran/, 'cloud-init ran again');
      c.close();
      await eventually(
        async () =>
          !((await instance('t1')).status?.conditions ?? []).some((x) => x.type === 'RestartRequired'),
        'RestartRequired to clear after the restart',
        30_000,
        300,
      );

      // Deleting the VMInstance takes its VM, Service and Secrets, not its VMDisk.
      await kubectl(['delete', 'vminstance', 't1']);
      await eventually(
        async () =>
          (await p.kubectl(['get', 'vm', 'vm-instance-t1'])).code !== 0 &&
          (await p.kubectl(['get', 'service', 'vm-instance-t1'])).code !== 0 &&
          (await p.kubectl(['get', 'secret', 'vm-instance-t1-cloud-init'])).code !== 0,
        'the VM, Service and Secret of t1 to go',
        60_000,
        500,
      );
      assert.match(await kubectl(['get', 'vmdisk', 'data']), /Succeeded/);
      assert.ok(await kubectl(['get', 'pvc', 'vm-disk-data', '-o', 'name']));

      await kubectl(['apply', '-f', '-'], tinyInstance('t2'));
      c = await bootTiny('vm-instance-t2');
      assert.equal(
        await sh(c, "dd if=/dev/vda bs=512 skip=4096 count=1 2>/dev/null | head -n1 | tr -d '\\000'"),
        'persisted-by-t1',
        'the second VM reads what the first wrote',
      );
      c.close();
      const headless = await json<{ spec: { clusterIP?: string; type?: string } }>([
        'get',
        'service',
        'vm-instance-t2',
      ]);
      assert.equal(headless.spec.clusterIP, 'None');
      await kubectl(['delete', 'vminstance', 't2']);
    },
  );

  test('bad input: one Status cause per bad field, and nothing created', async () => {
    const bad = async (manifest: string, pattern: RegExp): Promise<void> => {
      const r = await p.kubectl(['apply', '-f', '-'], manifest);
      assert.notEqual(r.code, 0, `accepted:\n${manifest}`);
      assert.match(r.stderr, pattern);
    };
    await bad(
      `apiVersion: apps.cozystack.io/v1alpha1
kind: VMDisk
metadata: {name: two}
spec:
  source:
    http: {url: "${server.url}/disk.qcow2"}
    upload: {}
`,
      /The VMDisk "two" is invalid: spec\.source: Invalid value: .*exactly one type of source is expected/,
    );
    await kubectl(
      ['apply', '-f', '-'],
      'apiVersion: apps.cozystack.io/v1alpha1\nkind: VMDisk\nmetadata: {name: grow}\nspec: {storage: 32Mi}\n',
    );
    await bad(
      'apiVersion: apps.cozystack.io/v1alpha1\nkind: VMDisk\nmetadata: {name: grow}\nspec: {storage: 16Mi}\n',
      /spec\.storage: Forbidden: a disk can only grow/,
    );
    await bad(
      'apiVersion: apps.cozystack.io/v1alpha1\nkind: VMDisk\nmetadata: {name: grow}\nspec: {storage: 32Mi, storageClass: fast}\n',
      /spec\.storageClass: Forbidden: field is immutable/,
    );
    // Referents that do not exist yet are accepted, as Cozystack and KubeVirt accept them: the
    // instance waits (`kubectl apply -f dir/` applies in file-name order).
    for (const [name, spec] of [
      ['early-type', '{instanceType: x9.huge}'],
      ['early-disk', '{disks: [{name: missing}]}'],
    ] as const) {
      const r = await p.kubectl(
        ['apply', '-f', '-'],
        `apiVersion: apps.cozystack.io/v1alpha1\nkind: VMInstance\nmetadata: {name: ${name}}\nspec: ${spec}\n`,
      );
      assert.equal(r.code, 0, r.stderr);
    }
    await eventually(
      async () =>
        (await instance('early-disk')).status?.conditions?.find((c) => c.type === 'Ready')?.reason ===
        'DiskNotFound',
      'the instance to wait for its disk',
      30_000,
      300,
    );
    await kubectl(['delete', 'vminstance', 'early-type', 'early-disk']);
    await bad(
      'apiVersion: apps.cozystack.io/v1alpha1\nkind: VMInstance\nmetadata: {name: bad}\nspec:\n  instanceType: ""\n  resources: {cpu: 1, memory: 1Gi}\n',
      /spec\.resources\.sockets: Required value/,
    );
    assert.equal((await p.kubectl(['get', 'vmdisk', 'two'])).code, 1);
    assert.equal((await p.kubectl(['get', 'vminstance', 'bad'])).code, 1);
    assert.equal((await p.kubectl(['get', 'vm', 'vm-instance-bad'])).code, 1);
    assert.ok(await kubectl(['get', 'datavolume', 'vm-disk-grow', '-o', 'name']));
    await kubectl(['delete', 'vmdisk', 'grow']);
    await eventually(
      async () =>
        (await p.kubectl(['get', 'datavolume', 'vm-disk-grow'])).code !== 0 &&
        (await p.kubectl(['get', 'pvc', 'vm-disk-grow'])).code !== 0,
      'a deleted VMDisk to take its DataVolume and PVC',
      30_000,
      300,
    );
  });

  test('the example manifest pair is accepted once the catalog has debian-12', async () => {
    // The golden image catalog (DataSources in kubevirt-os-images) may already have it.
    if ((await p.kubectl(['get', 'namespace', 'kubevirt-os-images'])).code !== 0)
      await kubectl(['create', 'namespace', 'kubevirt-os-images']);
    if ((await p.kubectl(['get', 'datasource', '-n', 'kubevirt-os-images', 'debian-12'])).code !== 0)
      await kubectl(
        ['create', '-f', '-'],
        'apiVersion: cdi.kubevirt.io/v1beta1\nkind: DataSource\nmetadata: {name: debian-12, namespace: kubevirt-os-images}\nspec: {source: {pvc: {name: debian-12, namespace: kubevirt-os-images}}}\n',
      );
    const examples = join(repoRoot, 'examples', 'hikube');
    // Accepted before its disk exists, as Cozystack accepts it (the controller waits for the disk).
    assert.match(
      await kubectl(['apply', '--dry-run=server', '-f', join(examples, 'vminstance.yaml')]),
      /vminstance.*my-first-vm created \(server dry run\)/,
    );
    assert.match(await kubectl(['apply', '-f', join(examples, 'vmdisk.yaml')]), /vmdisk.* created/);
    assert.match(
      await kubectl(['apply', '--dry-run=server', '-f', join(examples, 'vminstance.yaml')]),
      /vminstance.*my-first-vm created \(server dry run\)/,
    );
    await kubectl(['delete', 'vmdisk', 'vm-system-disk']);
  });
});
