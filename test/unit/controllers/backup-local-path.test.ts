/**
 * Where a local BackupStrategy may write (src/controllers/backup/local-path.ts): under one of the
 * allowed directories, compared on canonical paths, so `..`-free tricks like a name that merely
 * starts with the root, or a symbolic link under the root that leads out, are refused; and the
 * admin's list is parsed strictly.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import {
  canonicalPath,
  localPathRefusal,
  parseBackupDirs,
} from '../../../src/controllers/backup/local-path.js';
import { backupDirsFromEnv } from '../../../src/platform/backups.js';

const dir = mkdtempSync(join(tmpdir(), 'hikube-local-path-'));
const root = join(dir, 'backups');
const outside = join(dir, 'outside');
mkdirSync(join(root, 'team'), { recursive: true });
mkdirSync(outside);
symlinkSync(outside, join(root, 'escape'));
symlinkSync(root, join(dir, 'alias'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('localPathRefusal', () => {
  const cases: [what: string, path: string, allowed: boolean][] = [
    ['the root itself', root, true],
    ['an existing directory under it', join(root, 'team'), true],
    ['a directory not made yet under it', join(root, 'new', 'deep'), true],
    ['the root reached through a link to it', join(dir, 'alias', 'x'), true],
    ['a sibling whose name starts with the root', `${root}-evil`, false],
    ['the parent of the root', dir, false],
    ['a link under the root that leads out', join(root, 'escape'), false],
    ['a path not made yet behind that link', join(root, 'escape', 'new'), false],
    ['a system directory', '/etc', false],
    ['the file system root', '/', false],
  ];
  for (const [what, path, allowed] of cases)
    test(`${what}: ${allowed ? 'allowed' : 'refused'}`, () => {
      const why = localPathRefusal([root], path);
      if (allowed) assert.equal(why, undefined);
      else assert.match(why ?? '', /is outside the directories local backups may use/);
    });

  test('the message names the link target when a link was followed', () => {
    assert.match(localPathRefusal([root], join(root, 'escape')) ?? '', new RegExp(`\\(${outside}\\)`));
  });

  test('any of several roots will do', () => {
    assert.equal(localPathRefusal(['/nonexistent-root', outside], join(outside, 'a')), undefined);
  });
});

describe('canonicalPath', () => {
  test('keeps the missing tail after the resolved head', () => {
    assert.equal(canonicalPath(join(dir, 'alias', 'a', 'b')), join(root, 'a', 'b'));
  });
  test('an error other than a missing path is not swallowed', () => {
    const denied = (): string => {
      throw Object.assign(new Error('EACCES: permission denied'), { code: 'EACCES' });
    };
    assert.throws(() => canonicalPath('/x/y', denied), /EACCES/);
  });
});

describe('parseBackupDirs', () => {
  test('absolute directories, comma-separated, blanks ignored', () => {
    assert.deepEqual(parseBackupDirs(' /mnt/nas, /srv/backups ,'), ['/mnt/nas', '/srv/backups']);
    assert.deepEqual(parseBackupDirs(''), []);
  });
  for (const bad of ['relative/dir', '/mnt/../etc'])
    test(`refuses ${bad}`, () => {
      assert.throws(() => parseBackupDirs(bad), /must be an absolute directory without \.\./);
    });
});

describe('backupDirsFromEnv', () => {
  test('reads HIKUBE_BACKUP_DIRS, none without it', () => {
    assert.deepEqual(backupDirsFromEnv({ HIKUBE_BACKUP_DIRS: '/mnt/nas,/srv/b' }), ['/mnt/nas', '/srv/b']);
    assert.deepEqual(backupDirsFromEnv({}), []);
    assert.throws(() => backupDirsFromEnv({ HIKUBE_BACKUP_DIRS: 'nas' }), /absolute/);
  });
});
