/**
 * Tests of the cloud-init seed a guest reads at first boot: NoCloud and ConfigDrive files, user
 * data from every source, and SSH keys from accessCredentials merged into cloud-config.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parse } from 'yaml';
import type { VirtualMachineInstance, VirtualMachineInstanceSpec } from '../../../src/api/kubevirt/vmi.js';
import type { Volume } from '../../../src/api/kubevirt/volumes.js';
import {
  CloudInitError,
  renderSeed,
  sshKeysOf,
  withSshKeys,
  type SecretLookup,
} from '../../../src/node/cloudinit.js';

const b64 = (s: string): string => Buffer.from(s, 'utf8').toString('base64');
const KEY_A = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAAA alice@laptop';
const KEY_B = 'ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAAB bob@desk';

function vmi(
  spec: Partial<VirtualMachineInstanceSpec> = {},
  meta: { uid?: string; name?: string } = {},
): VirtualMachineInstance {
  return {
    apiVersion: 'kubevirt.io/v1',
    kind: 'VirtualMachineInstance',
    metadata: {
      name: meta.name ?? 'web-1',
      namespace: 'default',
      uid: meta.uid ?? '6f1c7a52-0000-4000-8000-000000000001',
    },
    spec: { domain: { devices: {} }, ...spec },
  };
}

const noCloud = (source: NonNullable<Volume['cloudInitNoCloud']>): Volume => ({
  name: 'cloudinit',
  cloudInitNoCloud: source,
});
const secrets =
  (all: Record<string, Record<string, string>>): SecretLookup =>
  (name) =>
    all[name];
const none: SecretLookup = () => undefined;

const withKeys = (secretName = 'ssh-keys'): Partial<VirtualMachineInstanceSpec> => ({
  accessCredentials: [
    { sshPublicKey: { source: { secret: { secretName } }, propagationMethod: { noCloud: {} } } },
  ],
});

describe('renderSeed: NoCloud', () => {
  test('meta-data: instance-id is the VMI uid, local-hostname the VMI name', () => {
    const seed = renderSeed(vmi(), noCloud({ userData: '#cloud-config\n' }), none);
    assert.equal(seed.label, 'cidata');
    assert.deepEqual(parse(seed.files['meta-data'] ?? ''), {
      'instance-id': '6f1c7a52-0000-4000-8000-000000000001',
      'local-hostname': 'web-1',
    });
  });

  test('local-hostname is spec.hostname when set', () => {
    const seed = renderSeed(vmi({ hostname: 'db' }), noCloud({ userData: '' }), none);
    assert.equal((parse(seed.files['meta-data'] ?? '') as Record<string, string>)['local-hostname'], 'db');
  });

  test('a new VMI of the same VM gets a new instance-id', () => {
    const first = renderSeed(vmi({}, { uid: 'uid-1' }), noCloud({ userData: '' }), none);
    const second = renderSeed(vmi({}, { uid: 'uid-2' }), noCloud({ userData: '' }), none);
    assert.notEqual(first.files['meta-data'], second.files['meta-data']);
  });

  const userData: [
    string,
    NonNullable<Volume['cloudInitNoCloud']>,
    Record<string, Record<string, string>>,
    string,
  ][] = [
    ['inline', { userData: '#cloud-config\npassword: x\n' }, {}, '#cloud-config\npassword: x\n'],
    ['base64', { userDataBase64: b64('#!/bin/sh\necho hi\n') }, {}, '#!/bin/sh\necho hi\n'],
    [
      'Secret with key userdata',
      { secretRef: { name: 'ud' } },
      { ud: { userdata: b64('#cloud-config\nhostname: a\n') } },
      '#cloud-config\nhostname: a\n',
    ],
    [
      'Secret with key userData',
      { secretRef: { name: 'ud' } },
      { ud: { userData: b64('#cloud-config\nhostname: b\n') } },
      '#cloud-config\nhostname: b\n',
    ],
    ['Secret with neither key: empty', { secretRef: { name: 'ud' } }, { ud: { other: b64('x') } }, ''],
    ['no user data at all: empty', {}, {}, ''],
  ];
  for (const [name, source, all, want] of userData) {
    test(`user-data: ${name}`, () => {
      assert.equal(renderSeed(vmi(), noCloud(source), secrets(all)).files['user-data'], want);
    });
  }

  test('a missing user data Secret is a CloudInitError naming the Secret and the volume', () => {
    assert.throws(
      () => renderSeed(vmi(), noCloud({ secretRef: { name: 'my-userdata' } }), none),
      (err: unknown) => {
        assert.ok(err instanceof CloudInitError);
        assert.equal(err.message, 'secret "my-userdata" for volume "cloudinit" not found');
        return true;
      },
    );
  });

  test('network-config only when network data is given', () => {
    assert.equal(renderSeed(vmi(), noCloud({ userData: '' }), none).files['network-config'], undefined);
    const inline = renderSeed(vmi(), noCloud({ networkData: 'version: 2\n' }), none);
    assert.equal(inline.files['network-config'], 'version: 2\n');
    const fromSecret = renderSeed(
      vmi(),
      noCloud({ networkDataSecretRef: { name: 'net' } }),
      secrets({ net: { networkData: b64('version: 1\n') } }),
    );
    assert.equal(fromSecret.files['network-config'], 'version: 1\n');
  });

  test('a volume that is not cloud-init is refused by name', () => {
    assert.throws(
      () => renderSeed(vmi(), { name: 'root', containerDisk: { image: 'debian' } }, none),
      /volume "root" is not a cloud-init volume/,
    );
  });
});

describe('renderSeed: SSH keys from accessCredentials', () => {
  const keySecret = { 'ssh-keys': { alice: b64(`${KEY_A}\n`), bob: b64(`# bob's key\n${KEY_B}\n\n`) } };

  test('appended to #cloud-config user data, which keeps its other settings', () => {
    const seed = renderSeed(
      vmi(withKeys()),
      noCloud({
        userData: '#cloud-config\npackages: [nginx]\nssh_authorized_keys:\n  - ssh-ed25519 AAAA old@key\n',
      }),
      secrets(keySecret),
    );
    const user = seed.files['user-data'] ?? '';
    assert.ok(user.startsWith('#cloud-config\n'), user);
    assert.deepEqual(parse(user), {
      packages: ['nginx'],
      ssh_authorized_keys: ['ssh-ed25519 AAAA old@key', KEY_A, KEY_B],
    });
  });

  test('a key already listed is not repeated', () => {
    const user = withSshKeys(`#cloud-config\nssh_authorized_keys: ["${KEY_A}"]\n`, [KEY_A, KEY_B]);
    assert.deepEqual((parse(user) as Record<string, unknown>)['ssh_authorized_keys'], [KEY_A, KEY_B]);
  });

  test('empty user data becomes a cloud-config with the keys', () => {
    const seed = renderSeed(vmi(withKeys()), noCloud({}), secrets(keySecret));
    const user = seed.files['user-data'] ?? '';
    assert.ok(user.startsWith('#cloud-config\n'), user);
    assert.deepEqual(parse(user), { ssh_authorized_keys: [KEY_A, KEY_B] });
  });

  test('a #cloud-config with nothing else gets the keys', () => {
    assert.deepEqual(parse(withSshKeys('#cloud-config\n', [KEY_A])), { ssh_authorized_keys: [KEY_A] });
  });

  test('a shell script is left unchanged', () => {
    const script = '#!/bin/sh\necho hello > /tmp/x\n';
    const seed = renderSeed(vmi(withKeys()), noCloud({ userData: script }), secrets(keySecret));
    assert.equal(seed.files['user-data'], script);
  });

  test('no keys: user data unchanged', () => {
    assert.equal(withSshKeys('#cloud-config\npackages: [a]\n', []), '#cloud-config\npackages: [a]\n');
    assert.equal(withSshKeys('', []), '');
  });

  test('a missing key Secret is a CloudInitError naming it', () => {
    assert.throws(
      () => renderSeed(vmi(withKeys('team-keys')), noCloud({}), none),
      (err: unknown) =>
        err instanceof CloudInitError && err.message === 'secret "team-keys" for accessCredentials not found',
    );
  });
});

describe('sshKeysOf', () => {
  test('every value of the Secret, one key a line, comments and blanks skipped', () => {
    const keys = sshKeysOf(
      vmi(withKeys()),
      secrets({ 'ssh-keys': { a: b64(`  ${KEY_A}  \n#comment\n\n${KEY_B}`) } }),
    );
    assert.deepEqual(keys, [KEY_A, KEY_B]);
  });

  test('keys for the guest agent only are not put in cloud-init', () => {
    const spec: Partial<VirtualMachineInstanceSpec> = {
      accessCredentials: [
        {
          sshPublicKey: {
            source: { secret: { secretName: 'agent-keys' } },
            propagationMethod: { qemuGuestAgent: { users: ['root'] } },
          },
        },
      ],
    };
    assert.deepEqual(sshKeysOf(vmi(spec), none), []);
  });

  test('configDrive propagation counts too', () => {
    const spec: Partial<VirtualMachineInstanceSpec> = {
      accessCredentials: [
        { sshPublicKey: { source: { secret: { secretName: 'k' } }, propagationMethod: { configDrive: {} } } },
      ],
    };
    assert.deepEqual(sshKeysOf(vmi(spec), secrets({ k: { key: b64(KEY_B) } })), [KEY_B]);
  });
});

describe('renderSeed: ConfigDrive', () => {
  test('openstack/latest files, label config-2', () => {
    const seed = renderSeed(
      vmi({ ...withKeys(), hostname: 'app' }, { uid: 'uid-9' }),
      { name: 'cd', cloudInitConfigDrive: { userData: '#cloud-config\n', networkData: '{"links":[]}' } },
      secrets({ 'ssh-keys': { a: b64(KEY_A) } }),
    );
    assert.equal(seed.label, 'config-2');
    assert.deepEqual(Object.keys(seed.files).sort(), [
      'openstack/latest/meta_data.json',
      'openstack/latest/network_data.json',
      'openstack/latest/user_data',
    ]);
    assert.deepEqual(JSON.parse(seed.files['openstack/latest/meta_data.json'] ?? ''), {
      uuid: 'uid-9',
      hostname: 'app',
      name: 'app',
    });
    assert.deepEqual(parse(seed.files['openstack/latest/user_data'] ?? ''), { ssh_authorized_keys: [KEY_A] });
    assert.equal(seed.files['openstack/latest/network_data.json'], '{"links":[]}');
  });

  test('no network data: no network_data.json', () => {
    const seed = renderSeed(
      vmi(),
      { name: 'cd', cloudInitConfigDrive: { userDataBase64: b64('#!/bin/sh\n') } },
      none,
    );
    assert.deepEqual(Object.keys(seed.files).sort(), [
      'openstack/latest/meta_data.json',
      'openstack/latest/user_data',
    ]);
    assert.equal(seed.files['openstack/latest/user_data'], '#!/bin/sh\n');
  });
});
