/**
 * networking.k8s.io/v1 NetworkPolicy: which traffic may reach (ingress) and leave (egress) the VMs
 * a policy selects, by peer VMs' labels, their namespaces' labels, or address blocks, and by port.
 * The shape, validation and defaults are Kubernetes' own (networkpolicy-validation.ts); the policy
 * controller (src/controllers/networkpolicy) compiles every policy into the node's nftables.
 */
import type { KindDefinition } from '../kind.js';
import { ObjectMeta } from '../meta.js';
import { LabelSelector } from '../core/refs.js';
import { labelSelectorFromObject } from '../selectors.js';
import { IntOrString, Obj, StringEnum, Type, type Static, opt } from '../schema.js';
import { defaultNetworkPolicy, validateNetworkPolicy } from './networkpolicy-validation.js';

export const POLICY_TYPES = ['Ingress', 'Egress'] as const;
export type PolicyType = (typeof POLICY_TYPES)[number];
export const POLICY_PROTOCOLS = ['TCP', 'UDP', 'SCTP'] as const;
export type PolicyProtocol = (typeof POLICY_PROTOCOLS)[number];

export const NetworkPolicyPort = Obj('A port (or range) the rule allows.', {
  protocol: opt(StringEnum(POLICY_PROTOCOLS, 'TCP (default), UDP or SCTP.')),
  port: opt(
    IntOrString(
      'A port number, or the name of a port in the interface ports of the VMI. All ports when absent.',
    ),
  ),
  endPort: opt(Type.Integer({ description: 'With a numeric port: the range port..endPort, both included.' })),
});
export type NetworkPolicyPort = Static<typeof NetworkPolicyPort>;

export const IPBlock = Obj('An address block, minus some blocks inside it.', {
  cidr: Type.String({ description: 'A CIDR such as 192.168.1.0/24.' }),
  except: opt(Type.Array(Type.String(), { description: 'CIDRs inside cidr that do not match.' })),
});
export type IPBlock = Static<typeof IPBlock>;

export const NetworkPolicyPeer = Obj(
  'VMs (by their labels and their namespaces labels) or an address block.',
  {
    podSelector: opt(LabelSelector('VMs in the namespace (or in the namespaces namespaceSelector picks).')),
    namespaceSelector: opt(LabelSelector('Namespaces, by their labels; {} is every namespace.')),
    ipBlock: opt(IPBlock),
  },
);
export type NetworkPolicyPeer = Static<typeof NetworkPolicyPeer>;

export const NetworkPolicyIngressRule = Obj('Traffic allowed in.', {
  from: opt(Type.Array(NetworkPolicyPeer, { description: 'Sources; every source when empty.' })),
  ports: opt(Type.Array(NetworkPolicyPort, { description: 'Destination ports; every port when empty.' })),
});
export type NetworkPolicyIngressRule = Static<typeof NetworkPolicyIngressRule>;

export const NetworkPolicyEgressRule = Obj('Traffic allowed out.', {
  to: opt(Type.Array(NetworkPolicyPeer, { description: 'Destinations; every one when empty.' })),
  ports: opt(Type.Array(NetworkPolicyPort, { description: 'Destination ports; every port when empty.' })),
});
export type NetworkPolicyEgressRule = Static<typeof NetworkPolicyEgressRule>;

export const NetworkPolicySpec = Obj('Which VMs the policy isolates and what it lets through.', {
  podSelector: opt(
    LabelSelector('The VMs (VMIs, by label) of this namespace the policy applies to; {} is all.'),
  ),
  ingress: opt(Type.Array(NetworkPolicyIngressRule)),
  egress: opt(Type.Array(NetworkPolicyEgressRule)),
  policyTypes: opt(
    Type.Array(StringEnum(POLICY_TYPES), {
      description: 'Directions the policy isolates. Default: Ingress, plus Egress when egress rules exist.',
    }),
  ),
});
export type NetworkPolicySpec = Static<typeof NetworkPolicySpec>;

export const NetworkPolicy = Obj('A network policy.', {
  apiVersion: Type.String(),
  kind: Type.String(),
  metadata: ObjectMeta,
  spec: opt(NetworkPolicySpec),
});
export type NetworkPolicy = Static<typeof NetworkPolicy>;

/** POD-SELECTOR as kubectl prints it (metav1.FormatLabelSelector). */
function podSelectorCell(obj: unknown): string {
  const spec = (obj as NetworkPolicy).spec;
  try {
    const text = labelSelectorFromObject(spec?.podSelector ?? {}).toString();
    return text === '' ? '<none>' : text;
  } catch {
    return '<error>';
  }
}

export const networkPolicyKind: KindDefinition = {
  group: 'networking.k8s.io',
  version: 'v1',
  kind: 'NetworkPolicy',
  plural: 'networkpolicies',
  singular: 'networkpolicy',
  shortNames: ['netpol'],
  namespaced: true,
  description:
    'NetworkPolicy describes what network traffic the VMs it selects may receive and send (nftables on the node).',
  schema: NetworkPolicy,
  statusSubresource: false,
  deleteReturnsStatus: true,
  printerColumns: [
    { name: 'Pod-Selector', type: 'string', jsonPath: '.spec.podSelector', value: podSelectorCell },
  ],
  validate: (obj) => validateNetworkPolicy(obj),
  defaults: (obj) => defaultNetworkPolicy(obj),
};
