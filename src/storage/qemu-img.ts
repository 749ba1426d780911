/**
 * The real ImageTool: qemu-img. Errors keep qemu-img's own last words, which name the problem
 * ("Image is not in qcow2 format", "No space left on device").
 */
import { execFile, spawn } from 'node:child_process';
import { openArgs } from './inspect.js';
import type { ImageInfo, ImageTool } from './ports.js';

function run(args: string[], signal?: AbortSignal): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      'qemu-img',
      args,
      { maxBuffer: 16 * 1024 * 1024, ...(signal !== undefined ? { signal } : {}) },
      (err, stdout, stderr) => {
        if (err !== null) reject(new Error(lastWords(stderr || err.message)));
        else resolve(stdout);
      },
    );
  });
}

const lastWords = (text: string): string =>
  text
    .trim()
    .split('\n')
    .slice(-3)
    .join(' ')
    .replace(/^qemu-img: /, '');

interface RawInfo {
  'virtual-size': number;
  'actual-size'?: number;
  format: string;
  'backing-filename'?: string;
  'full-backing-filename'?: string;
  encrypted?: boolean;
  'format-specific'?: { data?: { 'data-file'?: string } };
}

export const qemuImgTool: ImageTool = {
  async info(path, format) {
    const out = JSON.parse(await run(['info', '--output=json', '-U', ...openArgs(path, format)])) as RawInfo;
    const info: ImageInfo = {
      format: out.format,
      virtualSize: out['virtual-size'],
      actualSize: out['actual-size'] ?? 0,
      encrypted: out.encrypted === true,
    };
    const backing = out['full-backing-filename'] ?? out['backing-filename'];
    if (backing !== undefined) info.backingFile = backing;
    const dataFile = out['format-specific']?.data?.['data-file'];
    if (dataFile !== undefined) info.dataFile = dataFile;
    return info;
  },
  check(path, format) {
    return new Promise((resolve, reject) => {
      execFile('qemu-img', ['check', '-U', ...openArgs(path, format)], (err, stdout, stderr) => {
        const code = err === null ? 0 : typeof err.code === 'number' ? err.code : -1;
        // 0 sound, 3 only leaked clusters, 63 no checker for this format; 1 and 2: not sound.
        if (code === 0 || code === 3 || code === 63) resolve([]);
        else if (code === 1 || code === 2)
          resolve(
            `${stdout}\n${stderr}`
              .split('\n')
              .filter((l) => l.startsWith('ERROR') || l.startsWith('qemu-img:'))
              .map((l) => l.replace(/^(ERROR:? ?|qemu-img: )/, '')),
          );
        else reject(new Error(lastWords(stderr || (err?.message ?? 'qemu-img check failed'))));
      });
    });
  },
  async create(path, bytes, format) {
    await run(['create', '-q', '-f', format, path, String(bytes)]);
  },
  convert(src, srcFormat, dst, dstFormat, options = {}) {
    return new Promise((resolve, reject) => {
      // A pool volume is read through the layers the platform made; anything else follows nothing.
      const source = options.poolVolume === true ? ['-f', srcFormat, src] : openArgs(src, srcFormat);
      const child = spawn('qemu-img', ['convert', '-p', '-W', ...source, '-O', dstFormat, dst], {
        stdio: ['ignore', 'pipe', 'pipe'],
        ...(options.signal !== undefined ? { signal: options.signal } : {}),
      });
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      child.stdout.on('data', (d: Buffer) => {
        // `-p` prints "    (12.34/100%)" lines separated by carriage returns.
        const all = [...d.toString().matchAll(/\((\d+(?:\.\d+)?)\/100%\)/g)];
        const last = all[all.length - 1];
        if (last?.[1] !== undefined) options.onProgress?.(Number(last[1]) / 100);
      });
      child.on('error', (err) => reject(err));
      child.on('close', (code) => {
        if (code === 0) resolve();
        else reject(new Error(lastWords(stderr || `qemu-img convert exited with code ${String(code)}`)));
      });
    });
  },
  async resize(path, format, bytes) {
    await run(['resize', '-q', '-f', format, path, String(bytes)]);
  },
};

/** qemu-img with any arguments, for the snapshot layers (layers.ts). */
export const runQemuImg = (args: string[]): Promise<string> => run(args);
