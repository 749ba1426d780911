/**
 * NetworkPolicy's checks and defaults, as kube-apiserver's ValidateNetworkPolicy and
 * SetDefaults_NetworkPolicy make them: valid selectors, one kind of peer (selectors or ipBlock),
 * `except` strictly inside `cidr`, ports 1-65535 or IANA service names, `endPort` only after a
 * numeric `port` and not below it, at most the two policy types; every bad field is one cause.
 */
import type { FieldError } from '../kind.js';
import { labelSelectorFromObject, SelectorError, type LabelSelectorObject } from '../selectors.js';
import { isStrictSubset, parseAnyCidr } from './cidr.js';
import type { IPBlock, NetworkPolicy, NetworkPolicyPeer, NetworkPolicyPort } from './networkpolicy.js';

/** Why `name` is not an IANA service name (validation.IsValidPortName), or undefined. */
export function portNameProblem(name: string): string | undefined {
  if (name.length < 1 || name.length > 15) return 'must be no more than 15 characters';
  if (!/^[-a-z0-9]+$/.test(name))
    return 'must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)';
  if (!/[a-z]/.test(name)) return 'must contain at least one letter (a-z)';
  if (name.includes('--')) return 'must not contain consecutive hyphens';
  if (name.startsWith('-') || name.endsWith('-')) return 'must not begin or end with a hyphen';
  return undefined;
}

function checkSelector(selector: LabelSelectorObject | undefined, path: string, errors: FieldError[]): void {
  if (selector === undefined) return;
  try {
    labelSelectorFromObject(selector);
  } catch (err) {
    if (!(err instanceof SelectorError)) throw err;
    errors.push({ path, message: `Invalid value: ${err.message}` });
  }
}

function checkPort(port: NetworkPolicyPort, path: string, errors: FieldError[]): void {
  const value = port.port;
  if (typeof value === 'number') {
    if (!Number.isInteger(value) || value < 1 || value > 65535)
      errors.push({
        path: `${path}.port`,
        message: `Invalid value: ${value}: must be between 1 and 65535, inclusive`,
      });
  } else if (typeof value === 'string') {
    const problem = portNameProblem(value);
    if (problem !== undefined)
      errors.push({ path: `${path}.port`, message: `Invalid value: ${JSON.stringify(value)}: ${problem}` });
  }
  if (port.endPort === undefined) return;
  if (value === undefined)
    errors.push({
      path: `${path}.port`,
      reason: 'FieldValueRequired',
      message: 'Required value: must be specified when endPort is specified',
    });
  else if (typeof value === 'string')
    errors.push({
      path: `${path}.endPort`,
      reason: 'FieldValueForbidden',
      message: 'Forbidden: may not be specified when `port` is non-numeric',
    });
  else if (port.endPort < value)
    errors.push({
      path: `${path}.endPort`,
      message: `Invalid value: ${port.endPort}: must be greater than or equal to \`port\``,
    });
  if (port.endPort < 1 || port.endPort > 65535)
    errors.push({
      path: `${path}.endPort`,
      message: `Invalid value: ${port.endPort}: must be between 1 and 65535, inclusive`,
    });
}

function checkIpBlock(block: IPBlock, path: string, errors: FieldError[]): void {
  if (block.cidr === '') {
    errors.push({ path: `${path}.cidr`, reason: 'FieldValueRequired', message: 'Required value' });
    return;
  }
  const outer = parseAnyCidr(block.cidr);
  if (outer === undefined) {
    errors.push({
      path: `${path}.cidr`,
      message: `Invalid value: ${JSON.stringify(block.cidr)}: must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)`,
    });
  }
  (block.except ?? []).forEach((text, i) => {
    const inner = parseAnyCidr(text);
    const at = `${path}.except[${i}]`;
    if (inner === undefined)
      errors.push({
        path: at,
        message: `Invalid value: ${JSON.stringify(text)}: must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)`,
      });
    else if (outer !== undefined && !isStrictSubset(inner, outer))
      errors.push({
        path: at,
        message: `Invalid value: ${JSON.stringify(text)}: must be a strict subset of \`cidr\``,
      });
  });
}

function checkPeer(peer: NetworkPolicyPeer, path: string, errors: FieldError[]): void {
  let kinds = 0;
  if (peer.podSelector !== undefined) {
    kinds++;
    checkSelector(peer.podSelector, `${path}.podSelector`, errors);
  }
  if (peer.namespaceSelector !== undefined) {
    kinds++;
    checkSelector(peer.namespaceSelector, `${path}.namespaceSelector`, errors);
  }
  if (peer.ipBlock !== undefined) {
    kinds++;
    checkIpBlock(peer.ipBlock, `${path}.ipBlock`, errors);
  }
  if (kinds === 0)
    errors.push({ path, reason: 'FieldValueRequired', message: 'Required value: must specify a peer' });
  else if (kinds > 1 && peer.ipBlock !== undefined)
    errors.push({
      path,
      reason: 'FieldValueForbidden',
      message: 'Forbidden: may not specify both ipBlock and another peer',
    });
}

export function validateNetworkPolicy(policy: NetworkPolicy): FieldError[] {
  const errors: FieldError[] = [];
  const spec = policy.spec ?? {};
  checkSelector(spec.podSelector, 'spec.podSelector', errors);
  (spec.ingress ?? []).forEach((rule, i) => {
    const at = `spec.ingress[${i}]`;
    (rule.ports ?? []).forEach((p, j) => checkPort(p, `${at}.ports[${j}]`, errors));
    (rule.from ?? []).forEach((p, j) => checkPeer(p, `${at}.from[${j}]`, errors));
  });
  (spec.egress ?? []).forEach((rule, i) => {
    const at = `spec.egress[${i}]`;
    (rule.ports ?? []).forEach((p, j) => checkPort(p, `${at}.ports[${j}]`, errors));
    (rule.to ?? []).forEach((p, j) => checkPeer(p, `${at}.to[${j}]`, errors));
  });
  const types = spec.policyTypes ?? [];
  if (types.length > 2)
    errors.push({
      path: 'spec.policyTypes',
      message: `Invalid value: ${JSON.stringify(types)}: may not specify more than two policyTypes`,
    });
  return errors;
}

/** SetDefaults_NetworkPolicy: TCP for ports without a protocol; policyTypes from the rules present. */
export function defaultNetworkPolicy(policy: NetworkPolicy): void {
  const spec = (policy.spec ??= {});
  spec.podSelector ??= {};
  for (const rule of [...(spec.ingress ?? []), ...(spec.egress ?? [])])
    for (const port of rule.ports ?? []) port.protocol ??= 'TCP';
  if (spec.policyTypes === undefined || spec.policyTypes.length === 0)
    spec.policyTypes = (spec.egress ?? []).length > 0 ? ['Ingress', 'Egress'] : ['Ingress'];
}
