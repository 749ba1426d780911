/**
 * The OVA import's pure parts and its archive reading: the OVF parser (CPUs, memory, firmware,
 * disks, NICs; ignored and unknown devices), the instance type choice (exact, nearest larger,
 * none), NIC models, member names, and readOvaStream on real tar files built here (a `../x` member, a
 * descriptor not first, a disk the archive lacks).
 */
import assert from 'node:assert/strict';
import { createReadStream, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { INSTANCE_SIZES } from '../../../src/api/catalog.js';
import { readOvaStream } from '../../../src/storage/ova/archive.js';
import { OvfError, parseOvf, unitBytes } from '../../../src/storage/ova/ovf.js';
import {
  chooseInstanceType,
  memberNameProblem,
  nicModel,
  objectName,
  planHikube,
  planImport,
} from '../../../src/storage/ova/plan.js';
import { ovfXml, writeOva } from '../../support/ova.js';

const GiB = 2 ** 30;
const readOva = (file: string): ReturnType<typeof readOvaStream> =>
  readOvaStream(createReadStream(file), { maxBytes: GiB });
const base = {
  name: 'Web Server 01',
  cpus: 2,
  memoryMiB: 4096,
  disks: [{ href: 'web-disk1.vmdk', capacity: 10 * GiB }],
};

describe('OVF parser', () => {
  test('reads what VMware writes: CPUs, memory, disks, NICs, firmware; video ignored', () => {
    const ovf = parseOvf(
      ovfXml({
        ...base,
        disks: [...base.disks, { href: 'web-disk2.vmdk', capacity: 2 * GiB }],
        nics: ['VmxNet3', 'E1000e'],
        firmware: 'efi',
      }),
    );
    assert.equal(ovf.name, 'Web Server 01');
    assert.equal(ovf.cpus, 2);
    assert.equal(ovf.memoryBytes, 4 * GiB);
    assert.equal(ovf.firmware, 'efi');
    assert.deepEqual(
      ovf.disks.map((d) => [d.id, d.href, d.capacityBytes]),
      [
        ['vmdisk0', 'web-disk1.vmdk', 10 * GiB],
        ['vmdisk1', 'web-disk2.vmdk', 2 * GiB],
      ],
    );
    assert.match(ovf.disks[0]?.format ?? '', /streamOptimized/);
    assert.deepEqual(
      ovf.nics.map((n) => [n.model, n.network]),
      [
        ['VmxNet3', 'VM Network'],
        ['E1000e', 'VM Network'],
      ],
    );
    assert.deepEqual(ovf.ignored, ['Video card: video card (the VM has its own), not imported']);
    assert.deepEqual(ovf.unknown, []);
  });

  test('a device it does not know is reported, not guessed', () => {
    const ovf = parseOvf(
      ovfXml({
        ...base,
        extraItems:
          '      <Item><rasd:ElementName>PCI passthrough 0</rasd:ElementName><rasd:InstanceID>99</rasd:InstanceID><rasd:ResourceType>1</rasd:ResourceType></Item>',
      }),
    );
    assert.deepEqual(ovf.unknown, ['PCI passthrough 0 (ResourceType 1)']);
  });

  for (const [what, xml, message] of [
    ['not XML', '<Envelope><oops', /not XML|no Envelope|CPU/],
    ['no envelope', '<?xml version="1.0"?><Other/>', /no Envelope/],
    [
      'no CPU count',
      ovfXml(base).replace(
        /<rasd:ResourceType>3<\/rasd:ResourceType>/,
        '<rasd:ResourceType>99</rasd:ResourceType>',
      ),
      /no CPU count/,
    ],
    [
      'a disk naming no file',
      ovfXml(base).replace('ovf:fileRef="file0"', 'ovf:fileRef="nope"'),
      /names no file/,
    ],
    ['an unknown unit', ovfXml(base).replace('byte * 2^20', 'furlongs'), /unknown allocation unit/],
  ] as const)
    test(`refused: ${what}`, () =>
      assert.throws(
        () => parseOvf(xml),
        (e: unknown) => e instanceof OvfError && message.test(e.message),
      ));

  test('units of DSP0004 and the older names', () => {
    assert.equal(unitBytes('byte * 2^20'), 2 ** 20);
    assert.equal(unitBytes('byte*2^30'), GiB);
    assert.equal(unitBytes('MegaBytes'), 2 ** 20);
    assert.equal(unitBytes(undefined), 1);
    assert.equal(unitBytes('hertz * 10^6'), undefined);
  });
});

describe('import choices', () => {
  const cases: [number, number, string, boolean][] = [
    [2, 4, 'cx1.medium', true],
    [1, 2, 's1.small', true],
    [3, 5, 'cx1.large', false],
    [1, 0.125, 's1.small', false],
  ];
  for (const [cpu, gib, name, exact] of cases)
    test(`${cpu} vCPU ${gib} GiB → ${name}${exact ? '' : ' (nearest larger)'}`, () => {
      const c = chooseInstanceType(cpu, gib * GiB, INSTANCE_SIZES);
      assert.equal(c?.name, name);
      assert.equal(c?.exact, exact);
    });

  test('nothing large enough: no choice', () =>
    assert.equal(chooseInstanceType(512, GiB, INSTANCE_SIZES), undefined));

  test('NIC models: e1000 kept, VmxNet3 becomes virtio and says so', () => {
    assert.deepEqual(nicModel({ name: 'n', model: 'E1000', network: '' }), { model: 'e1000' });
    const v = nicModel({ name: 'Network adapter 1', model: 'VmxNet3', network: '' });
    assert.equal(v.model, 'virtio');
    assert.match(v.note ?? '', /VmxNet3 adapter becomes virtio/);
  });

  test('member names: plain files only', () => {
    for (const bad of ['../x', '/etc/passwd', 'a/b.vmdk', 'a\\b', '..', '', 'x\ny'])
      assert.notEqual(memberNameProblem(bad), undefined, bad);
    assert.equal(memberNameProblem('disk-1.vmdk'), undefined);
  });

  test('the plan: one DataVolume per disk, the VM Halted on them, EFI kept', () => {
    const ovf = parseOvf(ovfXml({ ...base, firmware: 'efi' }));
    const choice = chooseInstanceType(ovf.cpus, ovf.memoryBytes, INSTANCE_SIZES);
    assert.ok(choice);
    const plan = planImport(ovf, objectName(ovf.name), choice);
    assert.equal(objectName(ovf.name), 'web-server-01');
    assert.deepEqual(plan.volumes, [
      { dataVolume: 'web-server-01-disk0', size: '10240Mi', href: 'web-disk1.vmdk' },
    ]);
    const spec = plan.vm['spec'] as {
      runStrategy: string;
      template: { spec: { domain: { firmware?: unknown } } };
    };
    assert.equal(spec.runStrategy, 'Halted');
    assert.deepEqual(spec.template.spec.domain.firmware, { bootloader: { efi: { secureBoot: false } } });
    assert.match(plan.notes[0] ?? '', /cx1\.medium .*an exact match/);
  });
});

describe('reading an OVA', () => {
  const dir = mkdtempSync(join(tmpdir(), 'hikube-ova-unit-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const ovf = Buffer.from(ovfXml(base));

  test('a good OVA: the OVF parsed, the members listed', async () => {
    const file = join(dir, 'good.ova');
    await writeOva(file, [
      ['web.ovf', ovf],
      ['web.mf', Buffer.from('SHA256(web-disk1.vmdk)= 00\n')],
      ['web-disk1.vmdk', Buffer.alloc(1024)],
    ]);
    const r = await readOva(file);
    assert.equal(r.ovf.cpus, 2);
    assert.deepEqual([...r.members], ['web.ovf', 'web.mf', 'web-disk1.vmdk']);
  });

  for (const [what, members, message] of [
    [
      'a member named ../x',
      [
        ['web.ovf', ovf],
        ['../x', Buffer.from('x')],
        ['web-disk1.vmdk', Buffer.alloc(8)],
      ],
      /"\.\.\/x" names a path/,
    ],
    [
      'an absolute member',
      [
        ['web.ovf', ovf],
        ['/tmp/evil', Buffer.from('x')],
        ['web-disk1.vmdk', Buffer.alloc(8)],
      ],
      /names a path/,
    ],
    [
      'the descriptor not first',
      [
        ['web-disk1.vmdk', Buffer.alloc(8)],
        ['web.ovf', ovf],
      ],
      /first member of an OVA must be its \.ovf/,
    ],
    ['a disk the archive lacks', [['web.ovf', ovf]], /no member "web-disk1\.vmdk"/],
  ] as const)
    test(`refused: ${what}`, async () => {
      const file = join(dir, `${what.replace(/\W+/g, '-')}.ova`);
      await writeOva(
        file,
        members.map(([n, b]) => [n, b]),
      );
      await assert.rejects(readOva(file), (e: unknown) => e instanceof Error && message.test(e.message));
    });
});

describe('the --hikube plan', () => {
  test('one VMDisk with an upload source per disk, a VMInstance on them with the instance type', () => {
    const ovf = parseOvf(ovfXml(base));
    const choice = chooseInstanceType(ovf.cpus, ovf.memoryBytes, INSTANCE_SIZES);
    assert.ok(choice);
    const plan = planHikube(ovf, 'web', choice);
    assert.deepEqual(plan.disks, [
      {
        apiVersion: 'apps.cozystack.io/v1alpha1',
        kind: 'VMDisk',
        metadata: { name: 'web-disk0' },
        spec: { source: { upload: {} }, storage: '10240Mi' },
      },
    ]);
    assert.deepEqual(plan.uploads, [{ dataVolume: 'vm-disk-web-disk0', href: 'web-disk1.vmdk' }]);
    assert.deepEqual((plan.instance['spec'] as Record<string, unknown>)['disks'], [
      { name: 'web-disk0', bus: 'virtio' },
    ]);
    assert.equal((plan.instance['spec'] as Record<string, unknown>)['instanceType'], 'cx1.medium');
  });

  test('an EFI machine is refused: a VMInstance has no firmware field', () => {
    const ovf = parseOvf(ovfXml({ ...base, firmware: 'efi' }));
    const choice = chooseInstanceType(ovf.cpus, ovf.memoryBytes, INSTANCE_SIZES);
    assert.ok(choice);
    assert.throws(() => planHikube(ovf, 'web', choice), /EFI firmware.*without --hikube/);
  });
});
