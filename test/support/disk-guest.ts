/**
 * A hikube/tiny guest with one PVC disk (serial `data`) and a hostname (`NAME-host`, from the
 * NoCloud seed) for the snapshot and backup tests: the VM manifest (and its claim made with it),
 * shell commands on its serial console, and a line written to and read from a fixed sector.
 */
import { openConsole, sh, waitStatus, type Console } from './guest.js';

export { sh };
import { kubectlOk, type TestPlatform } from './platform.js';
import { eventually } from './wait.js';

/** Makes a 64Mi claim and the tiny VM `name` running with it as its `data` disk. */
export async function createTinyOnClaim(p: TestPlatform, name: string, claim: string): Promise<void> {
  await kubectlOk(
    p,
    ['apply', '-f', '-'],
    `apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: ${claim}}
spec:
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 64Mi}}
---
${tinyOnClaim(name, claim)}`,
  );
}

export function tinyOnClaim(name: string, claim: string): string {
  return `apiVersion: kubevirt.io/v1
kind: VirtualMachine
metadata: {name: ${name}, labels: {app: demo}}
spec:
  runStrategy: Always
  template:
    spec:
      terminationGracePeriodSeconds: 5
      hostname: ${name}-host
      domain:
        memory: {guest: 128Mi}
        firmware: {uuid: 5d307ca9-b3ef-428c-8861-06e72d69f223, serial: src-serial}
        devices:
          disks:
          - {name: root, serial: root, disk: {}}
          - {name: data, serial: data, disk: {}}
          - {name: cloudinit, disk: {}}
          interfaces:
          - {name: default, masquerade: {}, macAddress: "02:00:00:aa:bb:cc"}
      networks:
      - {name: default, pod: {}}
      volumes:
      - {name: root, containerDisk: {image: hikube/tiny}}
      - {name: data, persistentVolumeClaim: {claimName: ${claim}}}
      - {name: cloudinit, cloudInitNoCloud: {userData: "#!/bin/sh\\necho booted"}}
`;
}

export const DEV = `$(for d in /sys/block/vd*; do [ "$(cat $d/serial 2>/dev/null)" = data ] && echo /dev/\${d##*/}; done)`;
export const write = (text: string): string =>
  `echo ${text} | dd of=${DEV} bs=512 seek=4096 conv=fsync 2>/dev/null; sync`;
export const read = `dd if=${DEV} bs=512 skip=4096 count=1 2>/dev/null | head -n1 | tr -d '\\000'`;

export async function boot(p: TestPlatform, name: string): Promise<Console> {
  await waitStatus(p, name, 'Running', 120_000);
  const c = await openConsole(p, name);
  await c.waitFor(/hikube-tiny: ready/, 90_000);
  return c;
}

export async function gone(p: TestPlatform, kind: string, name: string): Promise<void> {
  await eventually(
    async () => (await p.kubectl(['get', kind, name])).code !== 0,
    `${kind} ${name} gone`,
    60_000,
    200,
  );
}
