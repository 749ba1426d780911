/**
 * An application-consistent snapshot: debian:12 with its guest agent connected is snapshotted with
 * its filesystems frozen (guest-fsfreeze-freeze) and thawed after, and the snapshot says so with
 * the indications Online and GuestAgent.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { waitStatus } from '../support/guest.js';
import { kubectlOk, startTestPlatform, type TestPlatform } from '../support/platform.js';
import { eventually } from '../support/wait.js';

let p: TestPlatform;
before(async () => {
  p = await startTestPlatform();
});
after(async () => {
  await p.cleanup();
});

const ok = (args: string[], input?: string): Promise<string> => kubectlOk(p, args, input);

const manifest = `apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: deb-data}
spec:
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 64Mi}}
---
apiVersion: kubevirt.io/v1
kind: VirtualMachine
metadata: {name: deb}
spec:
  runStrategy: Always
  template:
    spec:
      domain:
        cpu: {sockets: 2}
        memory: {guest: 512Mi}
        devices:
          disks:
          - {name: root, disk: {}}
          - {name: data, disk: {}}
          - {name: cloudinit, disk: {}}
      volumes:
      - {name: root, containerDisk: {image: "debian:12"}}
      - {name: data, persistentVolumeClaim: {claimName: deb-data}}
      - name: cloudinit
        cloudInitNoCloud:
          userData: |
            #cloud-config
            runcmd:
            - echo ready > /run/hikube-test
`;

describe('a snapshot of debian:12 with its guest agent', () => {
  test(
    'is taken with the filesystems frozen: indications Online and GuestAgent',
    { timeout: 300_000 },
    async () => {
      await ok(['apply', '-f', '-'], manifest);
      await waitStatus(p, 'deb', 'Running', 120_000);
      await eventually(
        async () => {
          const vmi = JSON.parse(await ok(['get', 'vmi', 'deb', '-o', 'json'])) as {
            status?: { conditions?: { type: string; status: string }[] };
          };
          return (vmi.status?.conditions ?? []).some(
            (c) => c.type === 'AgentConnected' && c.status === 'True',
          );
        },
        'the guest agent to connect',
        240_000,
        1000,
      );
      const r = await p.hikube(['snapshot', 'create', 'deb', '--name', 'app-consistent', '--wait']);
      assert.equal(r.code, 0, r.stderr);
      const snap = JSON.parse(await ok(['get', 'vmsnapshot', 'app-consistent', '-o', 'json'])) as {
        status?: { phase?: string; indications?: string[]; snapshotVolumes?: { includedVolumes?: string[] } };
      };
      assert.equal(snap.status?.phase, 'Succeeded');
      assert.deepEqual(snap.status?.indications, ['Online', 'GuestAgent']);
      assert.deepEqual(snap.status?.snapshotVolumes?.includedVolumes, ['data']);
      const guest = p.agent.running().find((g) => g.name === 'deb');
      assert.ok(guest);
      assert.equal(
        await guest.agent.execute<string>('guest-fsfreeze-status'),
        'thawed',
        'thawed after the snapshot',
      );
      assert.match(
        await ok(['get', 'vmsnapshot', 'app-consistent', '-o', 'wide']),
        /Online,GuestAgent|\["Online","GuestAgent"\]/,
      );
    },
  );
});
