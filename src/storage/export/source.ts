/**
 * What the download server is given about an export's source: its disk files and whether they can
 * be read consistently now. The export controller (src/controllers/export/sources.ts) decides it;
 * the platform hands that decision to the server, so storage imports no controller.
 */
import type { KubeObject } from '../../api/meta.js';
import type { VirtualMachineExport } from '../../api/export/export.js';
import type { Client } from '../../runtime/client.js';
import type { PoolFormat } from '../ports.js';

export interface ExportVolume {
  name: string;
  /** Host path of the disk file (a pool volume or a snapshot's frozen layer). */
  file: string;
  /** The file's format, from how the pool names it (never probed from its content). */
  format: PoolFormat;
  /** The claim behind the volume (for the manifests). */
  claimName: string;
}

export type SourceState =
  | { state: 'ready'; volumes: ExportVolume[]; vm?: KubeObject }
  | { state: 'pending'; reason: string; message: string }
  | { state: 'skipped'; reason: string; message: string };

export interface SourceReader {
  api: Pick<Client, 'get' | 'list'>;
  /** The disk file of a bound, populated claim (the provisioner's claimPath). */
  claimPath: (namespace: string, claim: string) => string | undefined;
}

/** Reads an export's source now (the controller's readSource). */
export type ReadSource = (r: SourceReader, e: VirtualMachineExport) => SourceState;
