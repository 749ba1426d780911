/**
 * `hikube ssh`'s command line: the ProxyCommand ssh hands to `sh -c` carries every word as given
 * (spaces, quotes, `$(…)` in a kubeconfig path) and nothing a VM name, namespace, login or port
 * could add to the shell or to ssh's options; and a signal for `hikube ssh` reaches ssh, so nothing
 * keeps running behind it. The last case runs bin/hikube with a stand-in `ssh` first on PATH (a
 * script that records its pid and sleeps): what is checked is hikube's process handling, not ssh.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { shellWord, sshArgv } from '../../../src/cli/portforward.js';
import { repoRoot } from '../../support/platform.js';
import { eventually } from '../../support/wait.js';

let dir = '';
before(async () => (dir = await mkdtemp(join(tmpdir(), 'hikube-ssh-'))));
after(() => rm(dir, { recursive: true, force: true }));

const base = {
  self: shellWord('printf') + ' ' + shellWord('%s\\n'),
  name: 'web',
  namespace: 'team-a',
  user: 'debian' as string | undefined,
  port: '22',
  passthrough: [] as string[],
  identity: undefined,
  knownHosts: undefined,
  command: ['uname', '-a'],
};
const proxyOf = (argv: string[]): string => {
  const o = argv.find((a) => a.startsWith('ProxyCommand='));
  assert.ok(o !== undefined);
  return o.slice('ProxyCommand='.length);
};

describe('hikube ssh builds its ProxyCommand word by word', () => {
  test('a kubeconfig path with spaces, quotes and $(…) arrives as one word; nothing runs', () => {
    const marker = join(dir, 'ran');
    const kubeconfig = `${dir}/my conf/it's "x" $(touch ${marker}) \`touch ${marker}\`;touch ${marker}`;
    const argv = sshArgv({ ...base, passthrough: ['--kubeconfig', kubeconfig] });
    // `self` is printf here: the shell line prints the arguments the CLI would get, one per line.
    const words = execFileSync('sh', ['-c', proxyOf(argv)], { encoding: 'utf8' })
      .split('\n')
      .slice(0, -1);
    assert.deepEqual(words, [
      'port-forward',
      '--stdio',
      '--kubeconfig',
      kubeconfig,
      '-n',
      'team-a',
      'vmi/web',
      '22',
    ]);
    assert.equal(existsSync(marker), false, 'nothing in the path was run');
  });

  test('the destination comes after `--`, so a login cannot be read as an option', () => {
    const argv = sshArgv(base);
    assert.deepEqual(argv.slice(argv.indexOf('--')), ['--', 'debian@vmi.web.team-a', 'uname', '-a']);
  });

  for (const [what, change, message] of [
    ['a name with shell syntax', { name: 'x$(id)' }, /"x\$\(id\)" is not a VM name/],
    ['a namespace with a semicolon', { namespace: 'a;b' }, /"a;b" is not a namespace/],
    ['a login that is an ssh option', { user: '-oProxyCommand=id' }, /is not a login name/],
    ['a port with shell syntax', { port: '22;id' }, /ports are/],
  ] as const)
    test(`${what} is refused before ssh runs`, () => {
      assert.throws(() => sshArgv({ ...base, ...change }), message);
    });
});

describe('a signal for hikube ssh reaches ssh', () => {
  test('SIGTERM to hikube ends the ssh it started, and hikube exits 143', async () => {
    const bin = join(dir, 'bin');
    await mkdir(bin);
    const pidFile = join(dir, 'ssh.pid');
    await writeFile(join(bin, 'ssh'), `#!/bin/sh\necho $$ > '${pidFile}'\nexec sleep 60\n`);
    await chmod(join(bin, 'ssh'), 0o755);
    const kubeconfig = join(dir, 'kubeconfig');
    await writeFile(
      kubeconfig,
      [
        'apiVersion: v1',
        'kind: Config',
        'clusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]',
        'users: [{name: u, user: {token: t}}]',
        'contexts: [{name: x, context: {cluster: c, user: u, namespace: default}}]',
        'current-context: x',
      ].join('\n'),
    );
    const hikube = spawn(join(repoRoot, 'bin', 'hikube'), ['ssh', '--kubeconfig', kubeconfig, 'web'], {
      env: { ...process.env, PATH: `${bin}:${process.env['PATH'] ?? ''}` },
      stdio: 'ignore',
    });
    const exited = new Promise<number | null>((resolve) => hikube.once('exit', (code) => resolve(code)));
    const pid = Number(
      await eventually(
        async () => (existsSync(pidFile) ? (await readFile(pidFile, 'utf8')).trim() : undefined),
        'ssh started',
        20_000,
      ),
    );
    const alive = (): boolean => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    };
    assert.ok(alive());
    hikube.kill('SIGTERM');
    assert.equal(await exited, 143);
    await eventually(() => !alive(), 'ssh gone after hikube was stopped', 5000);
  });
});
