/**
 * A real cloud image: debian:12 boots with an SSH key from `accessCredentials`, cloud-init installs
 * it for the default user, the guest agent reports the OS, and `hikube ssh` logs in through
 * KubeVirt's portforward subresource (no guest port is exposed on the host).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import { eventually } from '../support/wait.js';
import { kubectlOk, startTestPlatform, type TestPlatform } from '../support/platform.js';
import { waitStatus } from '../support/guest.js';

let p: TestPlatform;
before(async () => {
  p = await startTestPlatform();
});
after(async () => {
  await p.cleanup();
});

const ok = (args: string[], input?: string): Promise<string> => kubectlOk(p, args, input);

const manifest = (pub: string): string => `apiVersion: v1
kind: Secret
metadata:
  name: my-keys
stringData:
  key1: ${pub}
---
apiVersion: kubevirt.io/v1
kind: VirtualMachine
metadata:
  name: deb
spec:
  runStrategy: Always
  template:
    spec:
      domain:
        cpu:
          sockets: 2
        devices:
          disks:
          - name: root
            disk: {}
          - name: cloudinit
            disk: {}
        memory:
          guest: 512Mi
      accessCredentials:
      - sshPublicKey:
          source:
            secret:
              secretName: my-keys
          propagationMethod:
            noCloud: {}
      volumes:
      - name: root
        containerDisk:
          image: debian:12
      - name: cloudinit
        cloudInitNoCloud:
          userData: |
            #cloud-config
            runcmd:
            - echo cloud-init-ran > /run/hikube-test
`;

describe('debian:12 with cloud-init, the guest agent and ssh', () => {
  test(
    'the key from accessCredentials lets hikube ssh in; the guest agent reports the OS',
    { timeout: 420_000 },
    async () => {
      const key = join(p.dataDir, 'id_ed25519');
      await promisify(execFile)('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', key]);
      const pub = (await readFile(`${key}.pub`, 'utf8')).trim();
      await ok(['apply', '-f', '-'], manifest(pub));
      await waitStatus(p, 'deb', 'Running');

      const out = await eventually(
        async () => {
          const r = await p.hikube([
            'ssh',
            'debian@deb',
            '-i',
            key,
            '--',
            // sshd answers before cloud-init's last stage has run: retry until runcmd's file exists.
            'test -f /run/hikube-test && cat /etc/hostname /run/hikube-test ~/.ssh/authorized_keys',
          ]);
          return r.code === 0 ? r.stdout : undefined;
        },
        'ssh into the guest through the port forward',
        300_000,
        3000,
      );
      const lines = out.trim().split('\n');
      assert.equal(lines[0], 'deb', 'the hostname cloud-init set');
      assert.equal(lines[1], 'cloud-init-ran');
      assert.ok(lines.includes(pub), 'cloud-init installed the key from the Secret');

      const vmi = await eventually(
        async () => {
          const v = JSON.parse(await ok(['get', 'vmi', 'deb', '-o', 'json'])) as {
            status: {
              conditions: { type: string; status: string }[];
              guestOSInfo?: { prettyName?: string };
              interfaces: { ipAddress?: string }[];
            };
          };
          return v.status.conditions.some((c) => c.type === 'AgentConnected' && c.status === 'True') &&
            v.status.guestOSInfo?.prettyName !== undefined
            ? v
            : undefined;
        },
        'the guest agent to connect',
        60_000,
        1000,
      );
      assert.match(vmi.status.guestOSInfo?.prettyName ?? '', /Debian GNU\/Linux 12/);
      assert.match(vmi.status.interfaces[0]?.ipAddress ?? '', /^10\.0\.2\.\d+$/);

      const wrong = await p.hikube(['ssh', 'debian@deb', '-i', `${key}.pub`, '--', 'true']);
      assert.notEqual(wrong.code, 0, 'a key that is not authorized is refused');
    },
  );
});
