/**
 * Upgrades: a data dir written by an older release (test/fixtures/upgrade-v0/, made by
 * scripts/make-upgrade-fixture.sh from 9bd9803, which had no format version) is opened by today's
 * `hikube up`: the store is backed up and migrated, the format version recorded, every object is
 * there, the VM with runStrategy Always starts again on the tiny image (its guest died with the
 * host, as after a reboot), and the disks are as they were. Then the same data dir stamped by a
 * newer release is refused.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { lstat, mkdtemp, readdir, readFile, realpath, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { DATA_FORMAT_VERSION } from '../../src/platform/format.js';
import { builtinImageDir } from '../../src/storage/images.js';
import { guestPids, waitStatus } from '../support/guest.js';
import { raw } from '../support/http.js';
import { repoRoot } from '../support/platform.js';
import { exited, up, type Child } from '../support/up.js';
import { materialize, type FileEntry } from '../support/upgrade-fixture.js';
import { eventually } from '../support/wait.js';

const fixture = join(repoRoot, 'test', 'fixtures', 'upgrade-v0');
const dataDir = await mkdtemp(join(tmpdir(), 'hikube-upgrade-'));
let child: Child | undefined;
after(async () => {
  child?.proc.kill('SIGKILL');
  for (const pid of guestPidsIn(dataDir)) process.kill(pid, 'SIGKILL');
  await rm(dataDir, { recursive: true, force: true });
});

function guestPidsIn(dir: string): number[] {
  return child === undefined ? [] : guestPids({ ...child.platform, dataDir: dir }, 'upgrade-vm');
}

function query<T>(sql: string, path = join(dataDir, 'state.db')): T[] {
  const db = new Database(path, { readonly: true });
  try {
    return db.prepare(sql).all() as T[];
  } finally {
    db.close();
  }
}

const objectOf = <T>(resource: string, namespace: string, name: string): T | undefined => {
  const row = query<{ json: string }>(
    `SELECT json FROM objects WHERE resource = '${resource}' AND namespace = '${namespace}' AND name = '${name}'`,
  )[0];
  return row === undefined ? undefined : (JSON.parse(row.json) as T);
};

const sha256 = async (path: string): Promise<string> =>
  createHash('sha256')
    .update(await readFile(path))
    .digest('hex');

interface Meta {
  metadata: { uid?: string; name?: string };
}

describe('upgrade from a release without a format version', () => {
  let disks: FileEntry[] = [];
  const before = new Map<string, string>();
  let vmUid: string | undefined;

  test('today’s hikube up opens the older data dir: backed up, migrated, version recorded', async () => {
    const entries = await materialize(fixture, dataDir, {
      '@DATA_DIR@': dataDir,
      '@IMAGE_DIR@': await realpath(builtinImageDir()),
    });
    disks = entries.filter((e) => e.kind === 'disk');
    assert.ok(disks.length > 0, 'the fixture lists the blank DataVolume’s disk');
    for (const d of disks) before.set(d.path, await sha256(join(dataDir, d.path)));
    vmUid = objectOf<Meta>('kubevirt.io/virtualmachines', 'default', 'upgrade-vm')?.metadata.uid;
    assert.ok(vmUid !== undefined, 'the fixture holds the VM');
    // The fixture's node: its VMI was placed there, and the guest starts again on it.
    const node = query<{ name: string }>("SELECT name FROM objects WHERE resource = '/nodes'")[0]?.name;
    assert.ok(node !== undefined);

    child = await up(dataDir, ['--node-name', node]);
    assert.match(child.output(), /format version 0 backed up to .*state\.db\.bak-v0/);
    assert.deepEqual(query("SELECT value FROM meta WHERE key = 'format'"), [{ value: DATA_FORMAT_VERSION }]);
    assert.equal(readFileSync(join(dataDir, 'VERSION'), 'utf8'), `${DATA_FORMAT_VERSION}\n`);
    const backup = join(dataDir, 'state.db.bak-v0');
    assert.ok(existsSync(backup));
    assert.deepEqual(query("SELECT value FROM meta WHERE key = 'format'", backup), []);
  });

  test('the objects are intact', async () => {
    const p = child?.platform;
    assert.ok(p !== undefined);
    const cm = await raw(p, 'GET', '/api/v1/namespaces/default/configmaps/upgrade-config');
    assert.equal(cm.code, 200, cm.body);
    assert.deepEqual(cm.json['data'], { greeting: 'hello from release v0' });
    const dv = await raw(
      p,
      'GET',
      '/apis/cdi.kubevirt.io/v1beta1/namespaces/default/datavolumes/upgrade-blank',
    );
    assert.equal(dv.code, 200, dv.body);
    assert.equal((dv.json['status'] as { phase?: string }).phase, 'Succeeded');
    const pvc = await raw(p, 'GET', '/api/v1/namespaces/default/persistentvolumeclaims/upgrade-blank');
    assert.equal((pvc.json['status'] as { phase?: string }).phase, 'Bound', pvc.body);
    const vm = await raw(p, 'GET', '/apis/kubevirt.io/v1/namespaces/default/virtualmachines/upgrade-vm');
    assert.equal((vm.json['metadata'] as { uid?: string }).uid, vmUid, 'the same VM, not a new one');
  });

  test('the VM with runStrategy Always starts again', async () => {
    const p = child?.platform;
    assert.ok(p !== undefined);
    await waitStatus(p, 'upgrade-vm', 'Running', 180_000);
    await eventually(() => guestPidsIn(dataDir).length === 1, 'one QEMU for the VM', 30_000);
    // Its runtime (overlay, cloud-init ISO, QMP/serial/VNC sockets) is closed to other users. What
    // QEMU creates after -daemonize gets its umask 027 (group root may read) under the 0700 dir.
    const run = join(dataDir, 'run');
    const found = await readdir(run, { recursive: true });
    assert.ok(
      found.some((f) => f.endsWith('.iso')) && found.some((f) => f.endsWith('.sock')),
      found.join(' '),
    );
    for (const f of found) {
      const mode = (await lstat(join(run, f))).mode & 0o777;
      assert.equal(mode & 0o007, 0, `run/${f} is ${mode.toString(8)}: any user may read it`);
    }
  });

  test('the disks are as they were', async () => {
    for (const d of disks) {
      assert.equal(await sha256(join(dataDir, d.path)), before.get(d.path), `${d.path} changed`);
    }
  });

  test('the same data dir, stamped by a newer release, is refused', async () => {
    const c = child;
    assert.ok(c !== undefined);
    c.proc.kill('SIGTERM');
    await exited(c.proc);
    const db = new Database(join(dataDir, 'state.db'));
    db.prepare("UPDATE meta SET value = ? WHERE key = 'format'").run(DATA_FORMAT_VERSION + 1);
    db.close();
    await assert.rejects(
      up(dataDir),
      new RegExp(`format version ${DATA_FORMAT_VERSION + 1}, written by a newer release of hikube`),
    );
  });
});
