/**
 * The upgrade fixture (test/fixtures/upgrade-v0/, made by scripts/make-upgrade-fixture.sh from an
 * older release): its state.db as SQL text and its data dir's files as a list, written here and
 * turned back into a data dir for the upgrade test. Disks are listed by format, virtual size and
 * backing file and recreated blank by qemu-img (a blank disk is what the fixture holds; the test
 * checks that the upgrade keeps them as they were). Machine paths become placeholders.
 *
 * Run by the script: `node dist/test/support/upgrade-fixture.js dump DB LITERAL=PLACEHOLDER...`
 * or `… files DATA_DIR LITERAL=PLACEHOLDER...` prints the dump or the file list.
 */
import { execFileSync } from 'node:child_process';
import { lstatSync, readdirSync, readlinkSync, realpathSync } from 'node:fs';
import { mkdir, readFile, symlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { dumpSql, loadSql, type Placeholders } from './sql-dump.js';

/** Not part of the fixture: the store (dumped), secrets (made anew), a guest's runtime (gone after a reboot). */
const SKIPPED = /^(state\.db.*|pki|run|lock.*|kube-cache)$/;

export type FileEntry =
  | { kind: 'dir'; path: string }
  | { kind: 'file'; path: string; size: number }
  | { kind: 'symlink'; path: string; target: string }
  | {
      kind: 'disk';
      path: string;
      format: string;
      virtualSize: number;
      backing?: string;
      backingFormat?: string;
    };

const swap = (text: string, pairs: Placeholders): string =>
  Object.entries(pairs)
    .sort((a, b) => b[0].length - a[0].length)
    .reduce((t, [from, to]) => t.split(from).join(to), text);

interface ImgInfo {
  format: string;
  'virtual-size': number;
  'backing-filename'?: string;
  'backing-filename-format'?: string;
}

/** The data dir's files, sorted, with paths inside them replaced by placeholders. */
export function listFiles(dataDir: string, placeholders: Placeholders): FileEntry[] {
  const out: FileEntry[] = [];
  const walk = (rel: string): void => {
    for (const name of readdirSync(join(dataDir, rel)).sort()) {
      const path = rel === '' ? name : `${rel}/${name}`;
      if (rel === '' && SKIPPED.test(name)) continue;
      const full = join(dataDir, path);
      const st = lstatSync(full);
      if (st.isSymbolicLink())
        out.push({ kind: 'symlink', path, target: swap(readlinkSync(full), placeholders) });
      else if (st.isDirectory()) {
        out.push({ kind: 'dir', path });
        walk(path);
      } else if (/\.(qcow2|img)$/.test(name)) {
        const info = JSON.parse(
          execFileSync('qemu-img', ['info', '-U', '--output=json', full], { encoding: 'utf8' }),
        ) as ImgInfo;
        out.push({
          kind: 'disk',
          path,
          format: info.format,
          virtualSize: info['virtual-size'],
          ...(info['backing-filename'] !== undefined
            ? { backing: swap(info['backing-filename'], placeholders) }
            : {}),
          ...(info['backing-filename-format'] !== undefined
            ? { backingFormat: info['backing-filename-format'] }
            : {}),
        });
      } else out.push({ kind: 'file', path, size: st.size });
    }
  };
  walk('');
  return out;
}

export const formatFiles = (entries: FileEntry[]): string =>
  entries.map((e) => `${JSON.stringify(e)}\n`).join('');

export const parseFiles = (text: string): FileEntry[] =>
  text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as FileEntry);

/** A data dir as the fixture describes it: state.db loaded, directories, links and blank disks made. */
export async function materialize(
  fixtureDir: string,
  dataDir: string,
  values: Placeholders,
): Promise<FileEntry[]> {
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  loadSql(join(dataDir, 'state.db'), await readFile(join(fixtureDir, 'state.sql'), 'utf8'), values);
  const entries = parseFiles(await readFile(join(fixtureDir, 'files.jsonl'), 'utf8'));
  for (const e of entries) {
    const full = join(dataDir, e.path);
    if (e.kind === 'dir') await mkdir(full, { recursive: true });
    else if (e.kind === 'symlink') await symlink(swap(e.target, values), full);
    else if (e.kind === 'disk') {
      await mkdir(dirname(full), { recursive: true });
      const backing =
        e.backing === undefined ? [] : ['-b', swap(e.backing, values), '-F', e.backingFormat ?? 'qcow2'];
      // -u: the backing file is named, not opened (the size is given).
      execFileSync('qemu-img', [
        'create',
        '-q',
        '-u',
        '-f',
        e.format,
        ...backing,
        full,
        String(e.virtualSize),
      ]);
    }
  }
  return entries;
}

if (process.argv[1] !== undefined && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const [verb, path, ...rest] = process.argv.slice(2);
  const placeholders: Placeholders = Object.fromEntries(
    rest.map((arg) => [arg.slice(0, arg.lastIndexOf('=')), arg.slice(arg.lastIndexOf('=') + 1)]),
  );
  if (verb === 'dump' && path !== undefined) process.stdout.write(dumpSql(path, placeholders));
  else if (verb === 'files' && path !== undefined)
    process.stdout.write(formatFiles(listFiles(path, placeholders)));
  else throw new Error('usage: upgrade-fixture.js dump DB | files DATA_DIR  [LITERAL=PLACEHOLDER]...');
}
