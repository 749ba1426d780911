/**
 * Why a population failed, and whether trying again can help. Transient failures (a dropped
 * connection, a 503) are retried with back-off, as CDI restarts its importer pod; permanent ones
 * (a 404, a checksum mismatch, an unsupported or corrupt image, no space left) end the DataVolume
 * in phase Failed with the reason on its Running condition.
 */
import { TargetNotAllowed } from '../../network/outbound.js';

export type ImportReason =
  | 'Error'
  | 'ChecksumError'
  | 'NotFound'
  | 'Unauthorized'
  | 'UnsupportedFormat'
  | 'CorruptImage'
  | 'ImageTooLarge'
  | 'NoSpace'
  | 'Aborted'
  | 'TargetNotAllowed';

export class ImportError extends Error {
  constructor(
    readonly reason: ImportReason,
    message: string,
    readonly permanent: boolean,
  ) {
    super(message);
  }
}

const TRANSIENT_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ETIMEDOUT',
  'EPIPE',
  'EAI_AGAIN',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ECONNABORTED',
  'ERR_STREAM_PREMATURE_CLOSE',
]);

/**
 * An error before any answer came from a server: "connection failed", the same words whether the
 * port is closed, filtered or speaks another protocol, so that imports cannot scan ports. A target
 * the outbound policy refuses says so and is not retried.
 */
export function connectionError(err: unknown, where: string): ImportError {
  if (err instanceof TargetNotAllowed)
    return new ImportError('TargetNotAllowed', `${where}: connection failed: ${err.message}`, true);
  const aborted = asImportError(err, where);
  if (aborted.reason === 'Aborted') return aborted;
  return new ImportError('Error', `${where}: connection failed`, false);
}

/** Any error met while populating, as an ImportError (unknown ones are transient). */
export function asImportError(err: unknown, where: string): ImportError {
  if (err instanceof ImportError) return err;
  const code = (err as { code?: unknown } | undefined)?.code;
  const message = err instanceof Error ? err.message : String(err);
  if (code === 'ABORT_ERR' || (err instanceof Error && err.name === 'AbortError'))
    return new ImportError('Aborted', `${where}: aborted`, true);
  if (code === 'ENOSPC' || /no space left on device/i.test(message))
    return new ImportError('NoSpace', `${where}: no space left on the storage pool`, true);
  if (typeof code === 'string' && TRANSIENT_CODES.has(code))
    return new ImportError('Error', `${where}: ${message}`, false);
  return new ImportError('Error', `${where}: ${message}`, false);
}
