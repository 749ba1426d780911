/**
 * CDI's `checksum` of an http source: `algorithm:hex`, md5, sha1, sha256 or sha512, of the file as
 * served (before decompression). Parsed once here for the schema rules and the importer.
 */
const LENGTHS: Record<string, number> = { md5: 32, sha1: 40, sha256: 64, sha512: 128 };

export interface Checksum {
  algorithm: 'md5' | 'sha1' | 'sha256' | 'sha512';
  hex: string;
}

/** The parsed checksum, or a message saying what is wrong with it. */
export function parseChecksum(text: string): Checksum | string {
  const at = text.indexOf(':');
  if (at < 0) return `${JSON.stringify(text)}: expected 'algorithm:hash'`;
  const algorithm = text.slice(0, at).trim().toLowerCase();
  const hex = text
    .slice(at + 1)
    .trim()
    .toLowerCase();
  const length = LENGTHS[algorithm];
  if (length === undefined)
    return `unsupported hash algorithm ${JSON.stringify(algorithm)}: supported algorithms are: md5, sha1, sha256, sha512`;
  if (hex.length !== length)
    return `invalid ${algorithm} hash length: expected ${length} hex characters, got ${hex.length}`;
  if (!/^[0-9a-f]+$/.test(hex)) return 'checksum hash is not valid hexadecimal';
  return { algorithm: algorithm as Checksum['algorithm'], hex };
}
