/**
 * The official Python client (Debian's python3-kubernetes, installed by scripts/setup.sh) against
 * a real `hikube up`: typed and custom-object create, list, patch, watch and delete, and list_node
 * (which refuses a Node without a full nodeInfo). The client is run as Debian ships it:
 * /usr/bin/python3; a missing interpreter or module fails the test.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { repoRoot, run } from '../support/platform.js';
import { exited, up, type Child } from '../support/up.js';

const PYTHON = '/usr/bin/python3';
let dir: string;
let child: Child;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'hikube-python-'));
  child = await up(dir);
});
after(async () => {
  child.proc.kill('SIGINT');
  await exited(child.proc);
  await rm(dir, { recursive: true, force: true });
});

describe('official Python client', () => {
  test('typed and custom objects: create, list, patch, watch, delete; list_node', async () => {
    const script = join(repoRoot, 'test', 'python', 'client_e2e.py');
    const r = await run(PYTHON, [script, join(dir, 'kubeconfig'), `py-${process.pid}`], undefined, {
      PYTHONDONTWRITEBYTECODE: '1',
    });
    assert.equal(r.code, 0, `the Python client failed:\n${r.stdout}\n${r.stderr}`);
    for (const step of [
      'typed create',
      'typed list',
      'typed patch',
      'typed watch',
      'typed delete',
      'list_node',
      'custom create',
      'custom list',
      'custom patch',
      'custom watch',
      'custom delete',
    ])
      assert.match(r.stdout, new RegExp(`^ok ${step}`, 'm'), `step "${step}" did not run:\n${r.stdout}`);
    assert.match(r.stdout, /^done$/m);
  });
});
