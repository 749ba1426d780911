/**
 * Real adapters of the node agent's ports: qemu-img, genisoimage, and detached QEMU processes.
 */
import { execFile, spawn } from 'node:child_process';
import { openSync, closeSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { DiskTool, IsoTool, QemuProcesses } from './ports.js';

export const QEMU_BINARY = process.env['HIKUBE_QEMU'] ?? 'qemu-system-x86_64';

function run(cmd: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err !== null)
        reject(
          new Error(
            `${cmd} ${args[0] ?? ''} failed: ${(stderr || err.message).trim().split('\n').slice(-3).join(' ')}`,
          ),
        );
      else resolve(stdout);
    });
  });
}

export const qemuImg: DiskTool = {
  async createOverlay(base, baseFormat, path) {
    await run('qemu-img', ['create', '-q', '-f', 'qcow2', '-b', base, '-F', baseFormat, path]);
  },
  async createBlank(path, bytes, format) {
    await run('qemu-img', ['create', '-q', '-f', format, path, String(bytes)]);
  },
  async info(path) {
    const out = JSON.parse(await run('qemu-img', ['info', '--output=json', '-U', path])) as {
      'virtual-size': number;
      format: string;
    };
    return { virtualSize: out['virtual-size'], format: out.format };
  },
  async resize(path, bytes) {
    await run('qemu-img', ['resize', '-q', path, String(bytes)]);
  },
};

export const genisoimage: IsoTool = {
  async build(path, label, files) {
    const dir = await mkdtemp(join(tmpdir(), 'hikube-iso-'));
    try {
      for (const [name, content] of Object.entries(files)) {
        await mkdir(dirname(join(dir, name)), { recursive: true });
        await writeFile(join(dir, name), content);
      }
      await run('genisoimage', ['-quiet', '-output', path, '-volid', label, '-joliet', '-rock', dir]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  },
};

export const qemuProcesses: QemuProcesses = {
  launch(argv, logFile, pidfile) {
    return new Promise((resolve, reject) => {
      const log = openSync(logFile, 'a');
      // -daemonize: QEMU forks, the parent exits once the guest is set up; the child is reparented
      // to init and lives on after hikube stops.
      const child = spawn(QEMU_BINARY, argv, { detached: true, stdio: ['ignore', log, log] });
      closeSync(log);
      child.on('error', (err) => reject(new Error(`failed starting ${QEMU_BINARY}: ${err.message}`)));
      child.on('exit', (code) => {
        if (code !== 0) {
          void readFile(logFile, 'utf8')
            .catch(() => '')
            .then((text) =>
              reject(
                new Error(
                  `qemu exited with code ${String(code)}: ${text.trim().split('\n').slice(-3).join(' ')}`,
                ),
              ),
            );
          return;
        }
        try {
          resolve(Number(readFileSync(pidfile, 'utf8').trim()));
        } catch (err) {
          reject(
            new Error(
              `qemu started but wrote no pidfile ${pidfile}: ${err instanceof Error ? err.message : String(err)}`,
            ),
          );
        }
      });
      child.unref();
    });
  },
  alive(pid, marker) {
    try {
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      // A zombie (state Z) has exited; it only waits for its parent to reap it.
      const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
      return cmdline.includes(marker) && state !== 'Z';
    } catch {
      return false;
    }
  },
  kill(pid, signal) {
    try {
      process.kill(pid, signal);
    } catch {
      // Already gone.
    }
  },
};
