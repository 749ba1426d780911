/**
 * The one-time re-addressing of Services when the service CIDR changes (user networking's loopback
 * range → the pod network's routable one), on real SQLite files through openDataDir and the real
 * store: a v1 data dir is stamped v2 with the loopback range recorded, its ClusterIP Services move
 * into the new range (headless and ExternalName ones keep theirs), watchers see a MODIFIED change,
 * the next start changes nothing, and a start on the recorded range changes nothing.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import type { Service } from '../../../src/api/core/service.js';
import { openDataDir } from '../../../src/platform/datadir.js';
import { DATA_FORMAT_VERSION, formatPaths } from '../../../src/platform/format.js';
import { readdressServices, recordedServiceCidr } from '../../../src/platform/service-cidr.js';
import { SqliteStore } from '../../../src/store/sqlite.js';
import { clusterDnsIp, POD_MODE_SERVICE_CIDR } from '../../../src/network/options.js';

let dir: string;
beforeEach(async () => (dir = await mkdtemp(join(tmpdir(), 'hikube-svccidr-'))));
afterEach(() => rm(dir, { recursive: true, force: true }));

const service = (name: string, spec: NonNullable<Service['spec']>, rv: number): Service => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name, namespace: 'default', uid: `uid-${name}`, resourceVersion: String(rv) },
  spec,
});

/** A v1 data dir (as the last release left it) holding three Services. */
async function writeV1(): Promise<void> {
  const paths = formatPaths(dir);
  const db = new Database(paths.database);
  db.exec(`
    CREATE TABLE objects (resource TEXT NOT NULL, namespace TEXT NOT NULL, name TEXT NOT NULL,
      rv INTEGER NOT NULL, json TEXT NOT NULL, PRIMARY KEY (resource, namespace, name)) WITHOUT ROWID;
    CREATE TABLE changes (rv INTEGER PRIMARY KEY, type TEXT NOT NULL, resource TEXT NOT NULL,
      namespace TEXT NOT NULL, name TEXT NOT NULL, json TEXT NOT NULL);
    CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
    INSERT INTO meta VALUES ('rv', 3);
    INSERT INTO meta VALUES ('format', 1);`);
  const put = db.prepare("INSERT INTO objects VALUES ('/services', 'default', ?, ?, ?)");
  const svcs = [
    service(
      'web',
      { type: 'ClusterIP', clusterIP: '127.16.4.9', clusterIPs: ['127.16.4.9'], ports: [{ port: 80 }] },
      1,
    ),
    service('db', { clusterIP: 'None', ports: [{ port: 5432 }] }, 2),
    service('ext', { type: 'ExternalName', externalName: 'example.invalid' }, 3),
  ];
  svcs.forEach((s, i) => put.run(s.metadata.name, i + 1, JSON.stringify(s)));
  db.close();
  await writeFile(paths.versionFile, '1\n');
}

function services(): Map<string, Service> {
  const store = new SqliteStore({ path: formatPaths(dir).database });
  try {
    return new Map(
      store.list('/services').items.map((o) => [o.name, JSON.parse(o.json.toString()) as Service]),
    );
  } finally {
    store.close();
  }
}

async function start(serviceCidr: string): Promise<string[]> {
  const logged: string[] = [];
  const lock = await openDataDir(dir, (m) => logged.push(m), serviceCidr);
  lock.release();
  return logged;
}

describe('service CIDR re-addressing', () => {
  test('a v1 data dir started on the pod network: ClusterIP Services move once into 10.96.0.0/16', async () => {
    await writeV1();
    const logged = await start(POD_MODE_SERVICE_CIDR);
    assert.match(logged.join('\n'), /migrated to format version 2/);
    const line = logged.find((l) => l.includes('default/web'));
    assert.match(
      line ?? '',
      /^service CIDR is now 10\.96\.0\.0\/16: Service default\/web 127\.16\.4\.9 -> 10\.96\.\d+\.\d+$/,
    );
    const after = services();
    const web = after.get('web');
    const ip = web?.spec?.clusterIP ?? '';
    assert.match(ip, /^10\.96\.\d+\.\d+$/);
    assert.notEqual(ip, clusterDnsIp(POD_MODE_SERVICE_CIDR));
    assert.deepEqual(web?.spec?.clusterIPs, [ip]);
    assert.equal(web?.metadata.resourceVersion, '4', 'a new resource version, after the last one');
    assert.equal(after.get('db')?.spec?.clusterIP, 'None');
    assert.equal(after.get('ext')?.spec?.clusterIP, undefined);
    const db = new Database(formatPaths(dir).database, { readonly: true });
    try {
      assert.deepEqual(db.prepare('SELECT rv, type, name FROM changes').all(), [
        { rv: 4, type: 'MODIFIED', name: 'web' },
      ]);
      assert.equal(recordedServiceCidr(db), POD_MODE_SERVICE_CIDR);
      assert.deepEqual(db.prepare("SELECT value FROM meta WHERE key = 'format'").get(), {
        value: DATA_FORMAT_VERSION,
      });
    } finally {
      db.close();
    }
    assert.deepEqual(await start(POD_MODE_SERVICE_CIDR), [], 'the next start moves nothing');
    assert.equal(services().get('web')?.spec?.clusterIP, ip, 'and the address stays');
  });

  test('a v1 data dir started on user networking keeps its loopback cluster IPs', async () => {
    await writeV1();
    const logged = await start('127.16.0.0/16');
    assert.equal(logged.filter((l) => l.startsWith('service CIDR')).length, 0);
    assert.equal(services().get('web')?.spec?.clusterIP, '127.16.4.9');
  });

  test('addresses already in the new range are kept and never handed out twice', () => {
    const db = new Database(':memory:');
    db.exec(`
      CREATE TABLE objects (resource TEXT, namespace TEXT, name TEXT, rv INTEGER, json TEXT);
      CREATE TABLE changes (rv INTEGER PRIMARY KEY, type TEXT, resource TEXT, namespace TEXT, name TEXT, json TEXT);
      CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);`);
    // A /28 has 14 usable addresses; 10.0.0.10 is cluster DNS; 12 are taken: one is left.
    const put = db.prepare("INSERT INTO objects VALUES ('/services', 'ns', ?, 1, ?)");
    for (let i = 1; i <= 14; i++)
      if (i !== 10 && i !== 7)
        put.run(`s${i}`, JSON.stringify(service(`s${i}`, { clusterIP: `10.0.0.${i}` }, 1)));
    put.run('old', JSON.stringify(service('old', { clusterIP: '127.16.0.1' }, 1)));
    const moves = readdressServices(db, '10.0.0.0/28');
    assert.deepEqual(moves, ['ns/old 127.16.0.1 -> 10.0.0.7']);
    db.close();
  });
});
