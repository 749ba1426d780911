/**
 * Kubernetes resource quantities (`4Gi`, `500m`, `1.5`, `2e3`), parsed once at the boundary into a
 * value type so that nothing downstream compares strings. Values are kept as JavaScript numbers:
 * exact for every size a VM platform meets (up to 2^53 bytes, 8 PiB).
 */

export interface Quantity {
  /** The value in base units: bytes for memory and storage, cores for CPU. May be fractional (`500m` = 0.5). */
  readonly value: number;
  /** As written by the user. */
  readonly text: string;
}

const BINARY: Record<string, number> = {
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};
const DECIMAL: Record<string, number> = {
  n: 1e-9,
  u: 1e-6,
  m: 1e-3,
  '': 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
};
const FORM = /^([+-]?(?:\d+\.?\d*|\.\d+))(?:(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E)|[eE]([+-]?\d+))?$/;

/** Parses a quantity as the Kubernetes API accepts it; undefined when it is not one. */
export function parseQuantity(input: string | number): Quantity | undefined {
  if (typeof input === 'number')
    return Number.isFinite(input) ? { value: input, text: String(input) } : undefined;
  const m = FORM.exec(input.trim());
  if (m === null) return undefined;
  const number = Number(m[1]);
  const suffix = m[2];
  const exponent = m[3];
  let factor = 1;
  if (suffix !== undefined) factor = BINARY[suffix] ?? DECIMAL[suffix] ?? 1;
  else if (exponent !== undefined) factor = 10 ** Number(exponent);
  const value = number * factor;
  return Number.isFinite(value) ? { value, text: input } : undefined;
}

/** Like parseQuantity, for values already validated by the schema; throws on a malformed one. */
export function quantityValue(input: string | number): number {
  const q = parseQuantity(input);
  if (q === undefined) throw new Error(`invalid quantity ${JSON.stringify(input)}`);
  return q.value;
}

/** Bytes as the shortest exact binary form: 4294967296 → `4Gi`, 1536 → `1536`, 1572864 → `1536Ki`. */
export function formatBytes(bytes: number): string {
  const units = ['Ei', 'Pi', 'Ti', 'Gi', 'Mi', 'Ki'] as const;
  for (const unit of units) {
    const size = BINARY[unit] ?? 1;
    if (bytes >= size && bytes % size === 0) return `${bytes / size}${unit}`;
  }
  return String(bytes);
}

/** CPU cores as Kubernetes prints them: 2 → `2`, 0.5 → `500m`. */
export function formatCpu(cores: number): string {
  return Number.isInteger(cores) ? String(cores) : `${Math.round(cores * 1000)}m`;
}
