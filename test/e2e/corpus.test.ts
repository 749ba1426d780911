/**
 * Our manifest corpus (test/fixtures/corpus) against a real server, as a user moving from KubeVirt,
 * CDI or Cozystack would try it: each file is dry-run with kubectl (`create --dry-run=server`),
 * and the verdict is compared with upstream's, written in the file. Prints the agreement rate;
 * fails on any disagreement that is not a deliberate exception listed in docs/api-exceptions.md.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { kubectlOk, repoRoot, startTestPlatform, type TestPlatform } from '../support/platform.js';

const CORPUS = join(repoRoot, 'test', 'fixtures', 'corpus');
const EXCEPTIONS = join(repoRoot, 'docs', 'api-exceptions.md');
const NS = `corpus-${process.pid}`;

interface Entry {
  file: string;
  upstream: 'accept' | 'refuse';
  exception?: string;
}

function entries(): Entry[] {
  return readdirSync(CORPUS)
    .filter((f) => f.endsWith('.yaml'))
    .sort()
    .map((file) => {
      const text = readFileSync(join(CORPUS, file), 'utf8');
      const upstream = /^# upstream: (accept|refuse)$/m.exec(text)?.[1];
      assert.ok(upstream === 'accept' || upstream === 'refuse', `${file}: no "# upstream:" line`);
      const exception = /^# exception: ([a-z0-9-]+)$/m.exec(text)?.[1];
      return { file, upstream, ...(exception !== undefined ? { exception } : {}) };
    });
}

let p: TestPlatform;
before(async () => {
  p = await startTestPlatform();
  await kubectlOk(p, ['create', 'namespace', NS]);
});
after(async () => {
  await p.cleanup();
});

test('the corpus agrees with upstream, exceptions aside', { timeout: 600_000 }, async (t) => {
  const all = entries();
  assert.ok(all.length >= 120, `the corpus has ${all.length} manifests; at least 120 are wanted`);
  const listed = new Set(
    [...readFileSync(EXCEPTIONS, 'utf8').matchAll(/^\| `([a-z0-9-]+)` *\|/gm)].map((m) => m[1] ?? ''),
  );
  const disagreements: string[] = [];
  let agree = 0;
  for (const e of all) {
    const r = await p.kubectl([
      'create',
      '--dry-run=server',
      '-n',
      NS,
      '-o',
      'name',
      '-f',
      join(CORPUS, e.file),
    ]);
    const ours = r.code === 0 ? 'accept' : 'refuse';
    if (ours === e.upstream) agree++;
    else if (e.exception === undefined || !listed.has(e.exception))
      disagreements.push(`${e.file}: upstream would ${e.upstream}, Hikube did ${ours}: ${r.stderr.trim()}`);
  }
  const rate = `${agree}/${all.length} (${((100 * agree) / all.length).toFixed(1)} %) agree with upstream`;
  t.diagnostic(rate);
  process.stdout.write(`corpus: ${rate}\n`);
  assert.deepEqual(disagreements, [], rate);
});
