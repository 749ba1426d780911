/**
 * Chaos: `kill -9` of a real `hikube up` at random (seeded) points while creates, uploads (the
 * import path that needs no outbound fetch), blank volumes, snapshots and restores are in flight,
 * for 20 rounds on one data dir. After each restart every acknowledged object exists, no VM runs
 * in two QEMUs, and no volume is marked ready half-written (test/support/chaos.ts). One tiny guest
 * runs through all of it; every other VM is Halted. Replay a failure with HIKUBE_CHAOS_SEED;
 * HIKUBE_CHAOS_ROUNDS changes the count.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { newLedger, operations, seeded, violations } from '../support/chaos.js';
import { guestPids, qemuPids, VMS } from '../support/guest.js';
import { raw } from '../support/http.js';
import { exited, up, type Child } from '../support/up.js';
import { eventually } from '../support/wait.js';

const SEED = Number(process.env['HIKUBE_CHAOS_SEED'] ?? '20261206');
const ROUNDS = Number(process.env['HIKUBE_CHAOS_ROUNDS'] ?? '20');
const GUEST = 'chaos-guest';

const guestVm = JSON.stringify({
  apiVersion: 'kubevirt.io/v1',
  kind: 'VirtualMachine',
  metadata: { name: GUEST },
  spec: {
    runStrategy: 'Always',
    template: {
      spec: {
        terminationGracePeriodSeconds: 0,
        domain: { devices: { disks: [{ name: 'root', disk: {} }] }, memory: { guest: '128Mi' } },
        volumes: [{ name: 'root', containerDisk: { image: 'hikube/tiny' } }],
      },
    },
  },
});

describe('chaos', () => {
  let work: string;
  let dataDir: string;
  let child: Child | undefined;

  before(async () => {
    // Twenty restarts: skip the KVM probe each `hikube up` would make (guests run under TCG here).
    process.env['HIKUBE_ACCEL'] ??= 'tcg';
    work = await mkdtemp(join(tmpdir(), 'hikube-chaos-'));
    dataDir = join(work, 'data');
    const random = seeded(SEED + 1);
    const image = Buffer.alloc(2 * 1024 * 1024);
    for (let i = 0; i < image.length; i += 4) image.writeUInt32LE(Math.floor(random() * 2 ** 32), i);
    writeFileSync(join(work, 'upload.raw'), image);
  });

  after(async () => {
    if (child !== undefined && child.proc.exitCode === null) {
      child.proc.kill('SIGKILL');
      await exited(child.proc);
    }
    for (const pid of qemuPids(dataDir)) process.kill(pid, 'SIGKILL');
    await rm(work, { recursive: true, force: true });
  });

  test(`kill -9 at random points for ${ROUNDS} rounds (seed ${SEED})`, async (t) => {
    const random = seeded(SEED);
    const pick = <T>(xs: T[]): T | undefined =>
      xs.length === 0 ? undefined : xs[Math.floor(random() * xs.length)];
    const kinds = Object.keys(operations);
    const ledger = newLedger(join(work, 'upload.raw'));
    child = await up(dataDir);
    const created = await raw(child.platform, 'POST', VMS, guestVm);
    assert.equal(created.code, 201, created.body);
    ledger.objects.push(`${VMS}/${GUEST}`);

    for (let round = 1; round <= ROUNDS; round++) {
      const p = child.platform;
      const count = 2 + Math.floor(random() * 4);
      const inFlight = Array.from({ length: count }, (_, i) => {
        const kind = pick(kinds) ?? 'configMap';
        const op = operations[kind];
        return op === undefined
          ? Promise.resolve()
          : op(p, ledger, `${kind.toLowerCase()}-${round}-${i}`, pick).catch(() => undefined);
      });
      const killAfterMs = 20 + Math.floor(random() * 1500);
      // Not a sleep before an assertion: this picks the moment of the crash.
      await new Promise((r) => setTimeout(r, killAfterMs));
      child.proc.kill('SIGKILL');
      await exited(child.proc);
      await Promise.all(inFlight); // the requests the crash cut short fail; none was acknowledged
      child = await up(dataDir);
      const broken = await violations(child.platform, ledger);
      assert.deepEqual(broken, [], `round ${round}: killed ${killAfterMs} ms into ${count} operations`);
    }

    // The guest lived through every crash: it runs, in exactly one QEMU.
    const last = child.platform;
    await eventually(() => guestPids(last, GUEST).length === 1, 'the guest to run in one QEMU', 60_000, 200);
    assert.deepEqual(await violations(last, ledger), []);
    assert.ok(ledger.objects.length > ROUNDS, `only ${ledger.objects.length} creates were acknowledged`);
    const { objects, vms, snapshots, restores, uploads, blanks } = ledger;
    t.diagnostic(
      `acknowledged: ${objects.length} objects, ${vms.length} VMs, ${snapshots.length} snapshots, ${restores.length} restores, ${uploads.length} uploads, ${blanks.length} blank volumes`,
    );
  });
});
