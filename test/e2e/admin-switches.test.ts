/**
 * What the admin switches of `hikube up` decide, over the HTTP API of a real platform: without
 * them, a cluster IP outside the service CIDR, externalIPs, QEMU values that cannot render and
 * hostDisk volumes are refused with one cause per field (422), and an http import from loopback is
 * accepted (as CDI accepts it) then fails at reconcile with "connection failed: target not allowed"
 * without the server seeing a request, as does a BackupJob to a BackupStrategy whose S3 endpoint
 * is on loopback; with --allow-external-ips, --feature-gates HostDisk and --allow-private-targets
 * the same objects are accepted, the import succeeds and the endpoint passes.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { raw, type RawResponse } from '../support/http.js';
import { startTestPlatform, type TestPlatform } from '../support/platform.js';
import { eventually } from '../support/wait.js';
import { makeImages, serveImages, type ImageServer, type Images } from '../unit/storage/image-server.js';

let closed: TestPlatform;
let open: TestPlatform;
let fixtures: Images;
let server: ImageServer;

before(async () => {
  [closed, open] = await Promise.all([
    startTestPlatform({ allowPrivateTargets: false }),
    startTestPlatform({ allowExternalIPs: true, featureGates: new Set(['HostDisk']) }),
  ]);
  fixtures = makeImages(await mkdtemp(join(tmpdir(), 'hikube-switch-images-')));
  server = await serveImages(fixtures.dir);
});
after(async () => {
  await Promise.all([closed.cleanup(), open.cleanup(), server.close()]);
  await rm(fixtures.dir, { recursive: true, force: true });
});

const SVCS = '/api/v1/namespaces/default/services';
const VMS = '/apis/kubevirt.io/v1/namespaces/default/virtualmachines';
const DVS = '/apis/cdi.kubevirt.io/v1beta1/namespaces/default/datavolumes';

interface Cause {
  field?: string;
  reason: string;
  message: string;
}
const causesOf = (r: RawResponse): Cause[] =>
  (r.json['details'] as { causes?: Cause[] } | undefined)?.causes ?? [];

function assertInvalid(r: RawResponse, fields: string[]): Cause[] {
  assert.equal(r.code, 422, r.body);
  assert.equal(r.json['reason'], 'Invalid', r.body);
  const causes = causesOf(r);
  assert.deepEqual(causes.map((c) => c.field ?? '').sort(), [...fields].sort(), r.body);
  return causes;
}

const service = (name: string, spec: Record<string, unknown>): string =>
  JSON.stringify({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name },
    spec: { selector: { app: name }, ports: [{ port: 80 }], ...spec },
  });

const vm = (name: string, template: Record<string, unknown>): string =>
  JSON.stringify({
    apiVersion: 'kubevirt.io/v1',
    kind: 'VirtualMachine',
    metadata: { name },
    spec: { runStrategy: 'Halted', template: { spec: template } },
  });

const hostile = {
  domain: {
    machine: { type: 'q35,kernel=/etc/shadow' },
    cpu: { model: 'max,+vmx', features: [{ name: 'x,kernel=/etc/passwd' }] },
    firmware: { uuid: 'x,y', serial: 'a,b' },
    resources: { requests: { memory: '128Mi' } },
    devices: { disks: [{ name: 'root', disk: {}, serial: 's,kernel=/etc/passwd' }] },
  },
  volumes: [{ name: 'root', containerDisk: { image: 'hikube/tiny' } }],
};

const withHostDisk = {
  domain: { resources: { requests: { memory: '128Mi' } }, devices: {} },
  volumes: [{ name: 'host', hostDisk: { path: '/etc/shadow', type: 'Disk' } }],
};

describe('Services', () => {
  test('a cluster IP outside the service CIDR is refused on spec.clusterIP', async () => {
    for (const [name, ip] of [
      ['any', '0.0.0.0'],
      ['host', '127.0.0.1'],
      ['far', '10.0.0.1'],
    ] as const) {
      const causes = assertInvalid(await raw(closed, 'POST', SVCS, service(name, { clusterIP: ip })), [
        'spec.clusterIP',
      ]);
      assert.match(causes[0]?.message ?? '', /not in the valid range.*127\.16\.0\.0\/16/);
    }
    const inRange = await raw(closed, 'POST', SVCS, service('inside', { clusterIP: '127.16.0.77' }));
    assert.equal(inRange.code, 201, inRange.body);
  });

  test('externalIPs are refused unless --allow-external-ips', async () => {
    const body = service('ext', { externalIPs: ['198.51.100.10'] });
    const causes = assertInvalid(await raw(closed, 'POST', SVCS, body), ['spec.externalIPs']);
    assert.equal(causes[0]?.reason, 'FieldValueForbidden');
    assert.match(causes[0]?.message ?? '', /CVE-2020-8554.*--allow-external-ips/);
    const allowed = await raw(open, 'POST', SVCS, body);
    assert.equal(allowed.code, 201, allowed.body);
    assertInvalid(await raw(open, 'POST', SVCS, service('ext-bad', { externalIPs: ['0.0.0.0'] })), [
      'spec.externalIPs[0]',
    ]);
  });
});

describe('VirtualMachines', () => {
  test('values that cannot reach QEMU are refused at admission, each on its field', async () => {
    const p = 'spec.template.spec.domain';
    assertInvalid(await raw(closed, 'POST', VMS, vm('hostile', hostile)), [
      `${p}.machine.type`,
      `${p}.cpu.model`,
      `${p}.cpu.features[0].name`,
      `${p}.firmware.uuid`,
      `${p}.firmware.serial`,
      `${p}.devices.disks[0].serial`,
    ]);
    const missing = await raw(closed, 'GET', `${VMS}/hostile`);
    assert.equal(missing.code, 404, 'nothing was created');
  });

  test('KubeVirt machine types are accepted; others are not supported', async () => {
    const ok = await raw(
      closed,
      'POST',
      VMS,
      vm('versioned', { ...hostile, domain: { ...withHostDisk.domain, machine: { type: 'pc-q35-7.2' } } }),
    );
    assert.equal(ok.code, 201, ok.body);
    const causes = assertInvalid(
      await raw(
        closed,
        'POST',
        VMS,
        vm('micro', { domain: { ...withHostDisk.domain, machine: { type: 'microvm' } } }),
      ),
      ['spec.template.spec.domain.machine.type'],
    );
    assert.equal(causes[0]?.reason, 'FieldValueNotSupported');
  });

  test('hostDisk volumes need the HostDisk feature gate', async () => {
    const causes = assertInvalid(await raw(closed, 'POST', VMS, vm('hostdisk', withHostDisk)), [
      'spec.template.spec.volumes[0]',
    ]);
    assert.match(causes[0]?.message ?? '', /HostDisk feature gate is not enabled/);
    const gated = await raw(open, 'POST', VMS, vm('hostdisk', withHostDisk));
    assert.equal(gated.code, 201, gated.body);
  });
});

describe('DataVolume http imports from loopback', () => {
  interface Dv {
    status?: {
      phase?: string;
      conditions?: { type: string; status: string; reason?: string; message?: string }[];
    };
  }
  const dv = (name: string): string =>
    JSON.stringify({
      apiVersion: 'cdi.kubevirt.io/v1beta1',
      kind: 'DataVolume',
      metadata: { name },
      spec: {
        source: { http: { url: `${server.url}/disk.qcow2` } },
        storage: { resources: { requests: { storage: '32Mi' } } },
      },
    });
  const finished = (p: TestPlatform, name: string): Promise<Dv> =>
    eventually(
      async () => {
        const got = (await raw(p, 'GET', `${DVS}/${name}`)).json as Dv;
        return got.status?.phase === 'Succeeded' || got.status?.phase === 'Failed' ? got : undefined;
      },
      `DataVolume ${name} to finish`,
      60_000,
      200,
    );

  test('without --allow-private-targets: accepted, then Failed with "connection failed: target not allowed"', async () => {
    const created = await raw(closed, 'POST', DVS, dv('local'));
    assert.equal(created.code, 201, created.body);
    const done = await finished(closed, 'local');
    assert.equal(done.status?.phase, 'Failed');
    const running = done.status?.conditions?.find((c) => c.type === 'Running');
    assert.equal(running?.reason, 'TargetNotAllowed');
    assert.match(
      running?.message ?? '',
      /connection failed: target not allowed: 127\.0\.0\.1 is a loopback address/,
    );
    assert.equal(server.hits.get('/disk.qcow2') ?? 0, 0, 'the server saw no request');
  });

  test('with it: the same import succeeds', async () => {
    const created = await raw(open, 'POST', DVS, dv('local'));
    assert.equal(created.code, 201, created.body);
    const done = await finished(open, 'local');
    assert.equal(done.status?.phase, 'Succeeded', JSON.stringify(done.status));
  });
});

describe('BackupStrategy S3 endpoints on loopback', () => {
  const setUp = async (p: TestPlatform): Promise<void> => {
    const objects: [string, object][] = [
      ['/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'hikube-system' } }],
      [
        '/api/v1/namespaces/hikube-system/secrets',
        {
          apiVersion: 'v1',
          kind: 'Secret',
          metadata: { name: 'bucket' },
          stringData: { accessKeyId: 'k', secretAccessKey: 's' },
        },
      ],
      [
        '/apis/backups.hikube.io/v1alpha1/backupstrategies',
        {
          apiVersion: 'backups.hikube.io/v1alpha1',
          kind: 'BackupStrategy',
          metadata: { name: 'loop' },
          spec: {
            target: 's3',
            endpoint: 'http://127.0.0.1:9',
            bucket: 'vms',
            credentialsSecretRef: { namespace: 'hikube-system', name: 'bucket' },
          },
        },
      ],
      [
        '/apis/backups.cozystack.io/v1alpha1/backupclasses',
        {
          apiVersion: 'backups.cozystack.io/v1alpha1',
          kind: 'BackupClass',
          metadata: { name: 'loop' },
          spec: {
            strategies: [
              {
                strategyRef: { apiGroup: 'backups.hikube.io', kind: 'BackupStrategy', name: 'loop' },
                application: { apiGroup: 'kubevirt.io', kind: 'VirtualMachine' },
              },
            ],
          },
        },
      ],
      [
        '/apis/backups.cozystack.io/v1alpha1/namespaces/default/backupjobs',
        {
          apiVersion: 'backups.cozystack.io/v1alpha1',
          kind: 'BackupJob',
          metadata: { name: 'loop' },
          spec: {
            applicationRef: { apiGroup: 'kubevirt.io', kind: 'VirtualMachine', name: 'none' },
            backupClassName: 'loop',
          },
        },
      ],
    ];
    for (const [path, body] of objects) {
      const r = await raw(p, 'POST', path, JSON.stringify(body));
      assert.equal(r.code, 201, `${path}: ${r.body}`);
    }
  };
  const failure = (p: TestPlatform): Promise<string> =>
    eventually(
      async () => {
        const j = (
          await raw(p, 'GET', '/apis/backups.cozystack.io/v1alpha1/namespaces/default/backupjobs/loop')
        ).json as { status?: { phase?: string; message?: string } };
        return j.status?.phase === 'Failed' ? (j.status.message ?? '') : undefined;
      },
      'the BackupJob to fail',
      60_000,
      200,
    );

  test('without --allow-private-targets: the BackupJob fails with "target not allowed"', async () => {
    await setUp(closed);
    assert.match(
      await failure(closed),
      /^backup failed: BackupStrategy loop: endpoint http:\/\/127\.0\.0\.1:9: target not allowed: 127\.0\.0\.1 is a loopback address/,
    );
  });

  test('with --allow-private-targets: the endpoint passes (the job fails later, on the missing VM)', async () => {
    await setUp(open);
    const message = await failure(open);
    assert.doesNotMatch(message, /target not allowed/);
    assert.match(message, /VirtualMachine default\/none not found/);
  });
});
