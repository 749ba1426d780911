/**
 * Why a VMI cannot become a QEMU machine. Configurators report into one `Issues` collector so that
 * buildMachine throws a single MachineError naming every bad field, not only the first; the causes
 * have the API's FieldError shape, so the node agent can copy them into the VMI's status as they are.
 */
import type { FieldError } from '../api/kind.js';

export class MachineError extends Error {
  override readonly name = 'MachineError';
  readonly causes: readonly FieldError[];

  constructor(causes: readonly FieldError[]) {
    super(causes.map((c) => `${c.path}: ${c.message}`).join('; ') || 'invalid machine');
    this.causes = causes;
  }

  /** Path of the first bad field, e.g. `spec.domain.devices.disks[1].cdrom.bus`. */
  get path(): string {
    return this.causes[0]?.path ?? '';
  }
}

/** Errors and warnings gathered while the configurators run. */
export class Issues {
  readonly errors: FieldError[] = [];
  readonly warnings: string[] = [];

  error(path: string, message: string, reason?: FieldError['reason']): void {
    this.errors.push(reason === undefined ? { path, message } : { path, message, reason });
  }

  warn(message: string): void {
    this.warnings.push(message);
  }

  /** Throws one MachineError carrying every error reported so far. */
  throwIfAny(): void {
    if (this.errors.length > 0) throw new MachineError(this.errors);
  }
}
