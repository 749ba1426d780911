/**
 * Checks on metadata that Kubernetes applies to every kind: names, label keys and values.
 */
import type { FieldError, KindDefinition } from '../api/kind.js';
import type { ObjectMeta } from '../api/meta.js';

const dnsLabel = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const dnsSubdomain = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const labelName = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;

export function validateMetadata(meta: ObjectMeta, def: KindDefinition, isUpdate: boolean): FieldError[] {
  const errors: FieldError[] = [];
  const name = meta.name ?? '';
  if (name === '') {
    if (isUpdate || meta.generateName === undefined || meta.generateName === '') {
      errors.push({
        path: 'metadata.name',
        reason: 'FieldValueRequired',
        message: 'Required value: name or generateName is required',
      });
    }
  } else {
    errors.push(
      ...(def.nameForm === 'path-segment'
        ? checkPathSegment(name)
        : checkName(name, def.kind === 'Namespace' ? 'label' : 'subdomain', 'metadata.name')),
    );
  }
  for (const [key, value] of Object.entries(meta.labels ?? {})) {
    const path = `metadata.labels`;
    if (!validQualifiedName(key)) {
      errors.push({
        path,
        message: `Invalid value: ${JSON.stringify(key)}: name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character`,
      });
    }
    if (value !== '' && (value.length > 63 || !labelName.test(value))) {
      errors.push({
        path,
        message: `Invalid value: ${JSON.stringify(value)}: a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character`,
      });
    }
  }
  for (const key of Object.keys(meta.annotations ?? {})) {
    if (!validQualifiedName(key))
      errors.push({
        path: 'metadata.annotations',
        message: `Invalid value: ${JSON.stringify(key)}: not a valid annotation key`,
      });
  }
  return errors;
}

function checkName(name: string, form: 'label' | 'subdomain', path: string): FieldError[] {
  const max = form === 'label' ? 63 : 253;
  const ok = name.length <= max && (form === 'label' ? dnsLabel : dnsSubdomain).test(name);
  if (ok) return [];
  const what = form === 'label' ? 'RFC 1123 label' : 'RFC 1123 subdomain';
  return [
    {
      path,
      message: `Invalid value: ${JSON.stringify(name)}: a lowercase ${what} must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (at most ${max} characters)`,
    },
  ];
}

/** kube-apiserver's ValidatePathSegmentName: anything a URL path segment can carry as it is. */
function checkPathSegment(value: string): FieldError[] {
  // Runs beside the schema walk, which reports a name that is not a string.
  const name = String(value);
  if (name === '.' || name === '..')
    return [
      { path: 'metadata.name', message: `Invalid value: ${JSON.stringify(name)}: may not be '.' or '..'` },
    ];
  const bad = ['/', '%'].find((c) => name.includes(c));
  return bad === undefined
    ? []
    : [
        {
          path: 'metadata.name',
          message: `Invalid value: ${JSON.stringify(name)}: may not contain '${bad}'`,
        },
      ];
}

function validQualifiedName(key: string): boolean {
  const parts = key.split('/');
  if (parts.length > 2) return false;
  const [prefixOrName, maybeName] = parts;
  const namePart = maybeName ?? prefixOrName ?? '';
  if (maybeName !== undefined && (prefixOrName === undefined || !dnsSubdomain.test(prefixOrName)))
    return false;
  return namePart.length > 0 && namePart.length <= 63 && labelName.test(namePart);
}
