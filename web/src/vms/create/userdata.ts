/**
 * Cloud-init user data checks the browser can make: `#cloud-config` must be a YAML mapping, `#!` is
 * a script run as is; anything else cloud-init would ignore, which is rarely what the user meant.
 */
import { parseDocument } from 'yaml';

export function checkUserData(text: string): string | undefined {
  const trimmed = text.trimStart();
  if (trimmed === '') return undefined;
  if (trimmed.startsWith('#!')) return undefined;
  if (!trimmed.startsWith('#cloud-config')) {
    return 'User data must start with #cloud-config (YAML) or #! (a script)';
  }
  const doc = parseDocument(trimmed);
  const first = doc.errors[0];
  if (first !== undefined) {
    const line = first.linePos?.[0].line;
    return `Invalid YAML${line !== undefined ? ` on line ${line}` : ''}: ${first.message.split('\n')[0] ?? ''}`;
  }
  const value: unknown = doc.toJS();
  if (value !== null && (typeof value !== 'object' || Array.isArray(value))) {
    return '#cloud-config must be a YAML mapping (key: value lines)';
  }
  return undefined;
}
