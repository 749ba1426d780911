/**
 * The node agent's side-effect boundaries, as ports: disk images (qemu-img), ISO images
 * (genisoimage) and QEMU processes. The real adapters are in adapters.ts; tests may pass fakes
 * that honour the same contracts.
 */
export interface DiskTool {
  /** A copy-on-write overlay over a read-only base (`qemu-img create -b BASE -F FMT`). */
  createOverlay(base: string, baseFormat: 'qcow2' | 'raw', path: string): Promise<void>;
  /** A blank thin disk of `bytes`. */
  createBlank(path: string, bytes: number, format: 'qcow2' | 'raw'): Promise<void>;
  /** Virtual size in bytes and format of an image. */
  info(path: string): Promise<{ virtualSize: number; format: string }>;
  /** Grows an image (offline). */
  resize(path: string, bytes: number): Promise<void>;
}

export interface IsoTool {
  /** An ISO 9660 image with Joliet and Rock Ridge, volume label `label`, holding `files` at its root. */
  build(path: string, label: string, files: Record<string, string>): Promise<void>;
}

export interface QemuProcesses {
  /** Starts QEMU daemonized with `argv` (its own session; it outlives us); resolves with its pid once it is up. */
  launch(argv: string[], logFile: string, pidfile: string): Promise<number>;
  /** Whether `pid` is alive and its command line contains `marker` (so a recycled pid is not mistaken for our QEMU). */
  alive(pid: number, marker: string): boolean;
  kill(pid: number, signal: NodeJS.Signals): void;
}
