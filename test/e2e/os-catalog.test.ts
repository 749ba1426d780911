/**
 * The OS catalog end to end: one DataSource per OS in kubevirt-os-images with its default
 * preference label; those whose image is local (debian-12 and hikube-tiny, built by setup) are
 * Ready on a golden PVC (an overlay of the local image) that clones fine; an OS not imported says
 * how to import it, and is Ready once `hikube image import` brought a file in; `hikube image list`
 * shows them. `hikube vm create` prints its manifests with --dry-run, refuses bad flags with a
 * reason each, and creates a VM from an instance type and an OS that boots.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parse } from 'yaml';
import { openConsole, waitStatus } from '../support/guest.js';
import { raw } from '../support/http.js';
import { kubectlOk, startTestPlatform, type TestPlatform } from '../support/platform.js';
import { eventually } from '../support/wait.js';
import { makeImages, type Images } from '../unit/storage/image-server.js';

let p: TestPlatform;
let fixtures: Images;

before(async () => {
  p = await startTestPlatform();
  fixtures = makeImages(await mkdtemp(join(tmpdir(), 'hikube-os-')));
});
after(async () => {
  await p.cleanup();
  await rm(fixtures.dir, { recursive: true, force: true });
});

const kubectl = (args: string[], input?: string): Promise<string> => kubectlOk(p, args, input);
const hikube = async (args: string[]): Promise<{ stdout: string; stderr: string }> => {
  const r = await p.hikube(args);
  assert.equal(r.code, 0, `hikube ${args.join(' ')} failed: ${r.stderr}`);
  return r;
};

interface Ds {
  metadata: { name: string; labels: Record<string, string>; annotations: Record<string, string> };
  status?: { conditions?: { type: string; status: string; reason: string; message: string }[] };
}
const ready = (d: Ds | undefined) => d?.status?.conditions?.find((c) => c.type === 'Ready');
const dataSource = async (name: string): Promise<Ds> =>
  JSON.parse(await kubectl(['get', 'datasource', name, '-n', 'kubevirt-os-images', '-o', 'json'])) as Ds;
const readyDs = (name: string): Promise<Ds> =>
  eventually(
    async () => {
      const d = await dataSource(name);
      return ready(d)?.status === 'True' ? d : undefined;
    },
    `DataSource ${name} Ready`,
    30_000,
    250,
  );

describe('the OS catalog', () => {
  test('one DataSource per OS with its preference; local images Ready; others say how to import', async () => {
    const list = JSON.parse(
      await kubectl(['get', 'datasources', '-n', 'kubevirt-os-images', '-o', 'json']),
    ) as { items: Ds[] };
    const names = list.items.map((d) => d.metadata.name);
    for (const n of [
      'debian-11',
      'debian-12',
      'ubuntu-2004',
      'ubuntu-2204',
      'ubuntu-2404',
      'rocky-9',
      'almalinux-9',
      'centos-stream-9',
      'centos-stream-8',
      'centos-7',
      'windows-2019',
      'windows-2022',
      'hikube-tiny',
    ])
      assert.ok(names.includes(n), `DataSource ${n} in ${names.join(', ')}`);
    const ubuntu = list.items.find((d) => d.metadata.name === 'ubuntu-2204');
    assert.equal(ubuntu?.metadata.labels['instancetype.kubevirt.io/default-preference'], 'ubuntu');
    assert.match(
      ubuntu?.metadata.annotations['os.hikube.io/upstream'] ?? '',
      /cloud-images\.ubuntu\.com.*jammy/,
    );
    assert.equal(
      ubuntu?.metadata.annotations['os.hikube.io/containerdisk'],
      'quay.io/containerdisks/ubuntu:22.04',
    );
    const win = list.items.find((d) => d.metadata.name === 'windows-2022');
    assert.equal(win?.metadata.labels['instancetype.kubevirt.io/default-preference'], 'windows');

    const debian = await readyDs('debian-12');
    assert.equal(debian.metadata.annotations['os.hikube.io/local-image'], 'debian:12');
    const boot = JSON.parse(debian.metadata.annotations['os.hikube.io/kernel-boot'] ?? '{}') as {
      container: { image: string };
    };
    assert.equal(boot.container.image, 'debian:12');
    await readyDs('hikube-tiny');
    const notHere = ready(await dataSource('ubuntu-2204'));
    assert.equal(notHere?.status, 'False');
    assert.match(
      notHere?.message ?? '',
      /not imported yet \(hikube image import ubuntu-2204 \[FILE\|URL\]\)/,
    );

    // The golden PVC is an overlay of the built-in image: a clone reads through it.
    await kubectl(
      ['apply', '-f', '-'],
      `apiVersion: cdi.kubevirt.io/v1beta1\nkind: DataVolume\nmetadata: {name: deb-clone}\nspec:\n  sourceRef: {kind: DataSource, name: debian-12, namespace: kubevirt-os-images}\n  storage: {resources: {requests: {storage: 4Gi}}}\n`,
    );
    const phase = await eventually(
      async () => {
        const dv = JSON.parse(await kubectl(['get', 'dv', 'deb-clone', '-o', 'json'])) as {
          status?: { phase?: string; conditions?: { message?: string }[] };
        };
        const ph = dv.status?.phase;
        return ph === 'Succeeded' || ph === 'Failed'
          ? `${ph} ${JSON.stringify(dv.status?.conditions)}`
          : undefined;
      },
      'the clone of debian-12',
      90_000,
      500,
    );
    assert.match(phase, /^Succeeded/);
    await kubectl(['delete', 'dv', 'deb-clone']);
  });

  test('hikube image import brings an OS in; image list shows name, OS, size, source, status', async () => {
    const imported = await hikube(['image', 'import', 'ubuntu-2204', join(fixtures.dir, 'disk.qcow2')]);
    assert.match(imported.stdout, /image ubuntu-2204 imported/);
    await readyDs('ubuntu-2204');
    const table = (await hikube(['image', 'list'])).stdout;
    assert.match(table, /^NAME\s+OS\s+SIZE\s+SOURCE\s+STATUS\n/);
    assert.match(table, /\ndebian-12\s+debian-12\s+\d+(\.\d+)?[MG]i\s+local debian:12\s+Ready\n/);
    assert.match(table, /\nubuntu-2204\s+ubuntu-22\.04\s+8Mi\s+local ubuntu-2204:latest\s+Ready\n/);
    assert.match(
      table,
      /\nubuntu-2404\s+ubuntu-24\.04\s+-\s+https:\/\/cloud-images\.ubuntu\.com\/\S+\s+NotImported\n/,
    );
    assert.match(table, /\nhikube-tiny\s+linux-busybox\s+1Gi\s+local hikube\/tiny\s+Ready\n/);
    const names = (await hikube(['image', 'list', '-o', 'name'])).stdout;
    assert.match(names, /datasource\.cdi\.kubevirt\.io\/windows-2022/);
  });
});

describe('hikube vm create', () => {
  test('--dry-run -o yaml prints the VM: instance type, preference, a root disk of its size from the OS, extra disks, the key', async () => {
    const key = join(fixtures.dir, 'id.pub');
    await writeFile(key, 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHikubeTestKey user@host\n');
    const out = await hikube([
      'vm',
      'create',
      'web',
      '--instancetype',
      'cx1.medium',
      '--os',
      'debian-12',
      '--ssh-key',
      key,
      '--disk',
      'name=data,size=50Gi',
      '--dry-run',
      '-o',
      'yaml',
    ]);
    const vm = parse(out.stdout) as {
      kind: string;
      spec: {
        instancetype: { name: string };
        preference: { name: string };
        dataVolumeTemplates: { metadata: { name: string }; spec: Record<string, unknown> }[];
        template: {
          spec: {
            domain: { firmware?: { kernelBoot?: { container: { image: string } } } };
            volumes: { name: string; cloudInitNoCloud?: { userData: string } }[];
          };
        };
      };
    };
    assert.equal(vm.kind, 'VirtualMachine');
    assert.equal(vm.spec.instancetype.name, 'cx1.medium');
    assert.equal(vm.spec.preference.name, 'debian');
    assert.deepEqual(vm.spec.dataVolumeTemplates[0], {
      metadata: { name: 'web-root' },
      spec: {
        sourceRef: { kind: 'DataSource', name: 'debian-12', namespace: 'kubevirt-os-images' },
        storage: { resources: { requests: { storage: '20Gi' } } },
      },
    });
    assert.deepEqual(vm.spec.dataVolumeTemplates[1], {
      metadata: { name: 'web-data' },
      spec: { source: { blank: {} }, storage: { resources: { requests: { storage: '50Gi' } } } },
    });
    assert.equal(vm.spec.template.spec.domain.firmware?.kernelBoot?.container.image, 'debian:12');
    const ci = vm.spec.template.spec.volumes.find((v) => v.name === 'cloudinit');
    assert.match(
      ci?.cloudInitNoCloud?.userData ?? '',
      /^#cloud-config\nssh_authorized_keys:\n {2}- ssh-ed25519 AAAA/,
    );
    assert.notEqual((await p.kubectl(['get', 'vm', 'web'])).code, 0, 'a dry run creates nothing');
  });

  test('bad flags get one reason each', async () => {
    const r = await p.hikube([
      'vm',
      'create',
      'Bad_Name',
      '--disk',
      'name=root,size=1Gi',
      '--disk',
      'size=-3',
      '--disk',
      'name=x,size=1Gi,bus=floppy',
    ]);
    assert.notEqual(r.code, 0);
    for (const line of [
      /NAME "Bad_Name" must be a DNS label/,
      /--instancetype is required/,
      /--os is required/,
      /--disk name=root,size=1Gi: the name root is taken/,
      /--disk size=-3: name=… is required/,
      /--disk size=-3: size "-3" is not a positive quantity/,
      /--disk name=x,size=1Gi,bus=floppy: bus "floppy" is not one of virtio, sata, scsi, usb/,
    ])
      assert.match(r.stderr, line);
    const noType = await p.hikube(['vm', 'create', 'v', '--instancetype', 'cx9.huge', '--os', 'debian-12']);
    assert.match(noType.stderr, /--instancetype cx9\.huge: no such instance type; there are .*cx1\.medium/);
    const noOs = await p.hikube(['vm', 'create', 'v', '--instancetype', 'cx1.medium', '--os', 'plan9']);
    assert.match(noOs.stderr, /--os plan9: no such image; there are .*debian-12/);
  });

  test('a VM from an instance type and the tiny OS image runs', async () => {
    const out = await hikube(['vm', 'create', 'small', '--instancetype', 'u1.small', '--os', 'hikube-tiny']);
    assert.match(
      out.stdout,
      /virtualmachine\.kubevirt\.io\/small created \(u1\.small, hikube-tiny, root disk 10Gi\)/,
    );
    await waitStatus(p, 'small', 'Running', 120_000);
    const c = await openConsole(p, 'small');
    try {
      await c.waitFor(/hikube-tiny: ready/, 90_000);
    } finally {
      c.close();
    }
    const pvc = JSON.parse(await kubectl(['get', 'pvc', 'small-root', '-o', 'json'])) as {
      status: { capacity: { storage: string } };
    };
    assert.equal(pvc.status.capacity.storage, '10Gi');
  });

  test('disk attach/detach: refused while the VM runs; a stopped VM gets or loses the disk at its next start', async () => {
    await hikube(['disk', 'create', 'extra', '--size', '16Mi', '--wait']);
    const running = await p.hikube(['disk', 'attach', 'small', 'extra']);
    assert.notEqual(running.code, 0);
    assert.match(running.stderr, /cannot attach a disk while small runs \(phase Running\): stop it first/);
    await hikube(['stop', 'small', '--wait']);
    await eventually(async () => (await p.kubectl(['get', 'vmi', 'small'])).code !== 0, 'VMI gone', 30_000);
    assert.match(
      (await hikube(['disk', 'attach', 'small', 'extra', '--bus', 'virtio'])).stdout,
      /disk extra attached to small: the guest sees it at its next start/,
    );
    // KubeVirt's subresources themselves: bad options get one cause per field.
    const sub = '/apis/subresources.kubevirt.io/v1/namespaces/default/virtualmachines/small';
    const json = { 'Content-Type': 'application/json' };
    const bad = await raw(
      p,
      'PUT',
      `${sub}/addvolume`,
      JSON.stringify({ disk: { disk: { bus: 'floppy' } }, volumeSource: {} }),
      json,
    );
    assert.equal(bad.code, 422);
    const causes = (bad.json['details'] as { causes: { field: string; message: string }[] }).causes;
    assert.deepEqual(
      causes.map((x) => x.field),
      ['name', 'volumeSource', 'disk.disk.bus'],
    );
    const gone = await raw(p, 'PUT', `${sub}/removevolume`, JSON.stringify({ name: 'nothing' }), json);
    assert.equal(gone.code, 404);
    assert.match(
      String(gone.json['message']),
      /Unable to remove volume \[nothing\] because it does not exist/,
    );
    const again = await p.hikube(['disk', 'attach', 'small', 'extra']);
    assert.match(again.stderr, /disk extra is already attached to small \(as extra\)/);
    const missing = await p.hikube(['disk', 'attach', 'small', 'nope']);
    assert.match(missing.stderr, /disk nope not found in default/);
    const blocks = async (): Promise<string> => {
      await hikube(['start', 'small', '--wait']);
      await waitStatus(p, 'small', 'Running', 120_000);
      const c = await openConsole(p, 'small');
      try {
        await c.waitFor(/hikube-tiny: ready/, 90_000);
        c.send('echo "@@B"; ls /sys/block | grep vd | tr "\\n" " "; echo "@@E"\n');
        const m = await c.waitFor(/@@B\r?\n([^@]*)@@E/, 20_000);
        return (m[1] ?? '').trim();
      } finally {
        c.close();
      }
    };
    assert.equal(await blocks(), 'vda vdb');
    const vm = JSON.parse(await kubectl(['get', 'vm', 'small', '-o', 'json'])) as {
      spec: { template: { spec: { volumes: { name: string; dataVolume?: { name: string } }[] } } };
    };
    assert.deepEqual(
      vm.spec.template.spec.volumes.find((v) => v.name === 'extra'),
      { name: 'extra', dataVolume: { name: 'extra' } },
    );
    await hikube(['stop', 'small', '--wait']);
    await eventually(async () => (await p.kubectl(['get', 'vmi', 'small'])).code !== 0, 'VMI gone', 30_000);
    assert.match(
      (await hikube(['disk', 'detach', 'small', 'extra'])).stdout,
      /disk extra detached from small/,
    );
    const notThere = await p.hikube(['disk', 'detach', 'small', 'extra']);
    assert.match(notThere.stderr, /disk extra is not attached to small/);
    assert.equal(await blocks(), 'vda');
    await kubectl(['delete', 'vm', 'small', '--wait=false']);
  });
});
