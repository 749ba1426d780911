/**
 * The web console's bundle, measured from Vite's manifest (web/dist/.vite/manifest.json): what the
 * first load fetches (the entry of index.html and everything it imports statically, scripts and
 * styles), then what each lazy page adds on top of it, gzipped (level 9) and raw. The first-load
 * figure is the one docs/benchmarks.md states and test/e2e/console-ui.test.ts holds to a budget.
 *
 * Usage: npm run bench:console (builds the console first). Writes bench/results/console-bundle.json.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const root = fileURLToPath(new URL('../..', import.meta.url));
const dist = join(root, 'web', 'dist');

interface Chunk {
  file: string;
  src?: string;
  isEntry?: boolean;
  isDynamicEntry?: boolean;
  imports?: string[];
  dynamicImports?: string[];
  css?: string[];
}
type Manifest = Record<string, Chunk>;

export interface Size {
  files: number;
  js: number;
  css: number;
  jsRaw: number;
  cssRaw: number;
}

const gz = new Map<string, { raw: number; gzip: number }>();
function sizeOf(file: string): { raw: number; gzip: number } {
  let s = gz.get(file);
  if (s === undefined) {
    const bytes = readFileSync(join(dist, file));
    s = { raw: bytes.length, gzip: gzipSync(bytes, { level: 9 }).length };
    gz.set(file, s);
  }
  return s;
}

/** The files a chunk needs before it runs: itself, its static imports (transitively), their CSS. */
export function closure(manifest: Manifest, key: string, into = new Set<string>()): Set<string> {
  const chunk = manifest[key];
  if (chunk === undefined || into.has(chunk.file)) return into;
  into.add(chunk.file);
  for (const css of chunk.css ?? []) into.add(css);
  for (const dep of chunk.imports ?? []) closure(manifest, dep, into);
  return into;
}

export function total(files: Iterable<string>): Size {
  const t: Size = { files: 0, js: 0, css: 0, jsRaw: 0, cssRaw: 0 };
  for (const f of files) {
    const s = sizeOf(f);
    t.files++;
    if (f.endsWith('.css')) {
      t.css += s.gzip;
      t.cssRaw += s.raw;
    } else {
      t.js += s.gzip;
      t.jsRaw += s.raw;
    }
  }
  return t;
}

/** First load, and each lazy chunk's addition to it, keyed by its source file. */
export function measure(manifest: Manifest): { firstLoad: Size; lazy: Record<string, Size> } {
  const entry = Object.keys(manifest).find((k) => manifest[k]?.isEntry === true);
  if (entry === undefined) throw new Error('the manifest has no entry chunk');
  const first = closure(manifest, entry);
  const lazy: Record<string, Size> = {};
  for (const [key, chunk] of Object.entries(manifest)) {
    if (chunk.isDynamicEntry !== true) continue;
    const extra = [...closure(manifest, key)].filter((f) => !first.has(f));
    lazy[chunk.src ?? key] = total(extra);
  }
  return { firstLoad: total(first), lazy };
}

const kB = (n: number): string => `${(n / 1000).toFixed(1)} kB`;

function main(): void {
  const manifest = JSON.parse(readFileSync(join(dist, '.vite', 'manifest.json'), 'utf8')) as Manifest;
  const { firstLoad, lazy } = measure(manifest);
  const rows: [string, Size][] = [
    ['first load (login + shell)', firstLoad],
    ...Object.entries(lazy).sort((a, b) => a[0].localeCompare(b[0])),
  ];
  const width = Math.max(...rows.map(([n]) => n.length));
  process.stdout.write(`${'chunk'.padEnd(width)}   js gzip   css gzip   (js raw)\n`);
  for (const [name, s] of rows)
    process.stdout.write(
      `${name.padEnd(width)}   ${kB(s.js).padStart(8)}   ${kB(s.css).padStart(8)}   (${kB(s.jsRaw)})\n`,
    );
  writeFileSync(
    join(root, 'bench', 'results', 'console-bundle.json'),
    `${JSON.stringify({ measuredAt: new Date().toISOString(), firstLoad, lazy }, null, 2)}\n`,
  );
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) main();
