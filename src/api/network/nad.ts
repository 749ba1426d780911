/**
 * k8s.cni.cncf.io/v1 NetworkAttachmentDefinition (Multus): a secondary network VMs join through
 * `spec.networks[].multus.networkName` with a `bridge: {}` interface. Each one is an isolated L2
 * segment on the node, with DHCP and DNS when its CNI config has IPAM (src/network/segments.ts);
 * with the `hikube.io/host-bridge: "true"` annotation, VMs join an existing bridge of the host
 * instead (the seed's "direct connection").
 */
import type { FieldError, KindDefinition } from '../kind.js';
import { ObjectMeta } from '../meta.js';
import { Obj, Type, type Static, opt } from '../schema.js';
import { checkHostBridge, HOST_BRIDGE_ANNOTATION, parseCniConfig } from './cni.js';

export const NetworkAttachmentDefinition = Obj('A secondary network.', {
  apiVersion: Type.String(),
  kind: Type.String(),
  metadata: ObjectMeta,
  spec: opt(
    Obj('The network, as a CNI configuration.', {
      config: opt(
        Type.String({
          description:
            'CNI configuration (JSON): {"cniVersion":"0.3.1","type":"bridge","ipam":{"type":"host-local","subnet":"10.10.0.0/24"}}.',
        }),
      ),
    }),
  ),
});
export type NetworkAttachmentDefinition = Static<typeof NetworkAttachmentDefinition>;

export const networkAttachmentDefinitionKind: KindDefinition = {
  group: 'k8s.cni.cncf.io',
  version: 'v1',
  kind: 'NetworkAttachmentDefinition',
  plural: 'network-attachment-definitions',
  singular: 'network-attachment-definition',
  shortNames: ['net-attach-def'],
  namespaced: true,
  description:
    'NetworkAttachmentDefinition describes a secondary network (Multus): an isolated L2 segment with optional DHCP and DNS.',
  schema: NetworkAttachmentDefinition,
  statusSubresource: false,
  deleteReturnsStatus: true,
  printerColumns: [],
  validate: (obj) => {
    const errors: FieldError[] = [];
    const nad = obj as unknown as NetworkAttachmentDefinition;
    const config = parseCniConfig(nad.spec?.config, errors);
    const mode = nad.metadata.annotations?.[HOST_BRIDGE_ANNOTATION];
    if (mode !== undefined && mode !== 'true' && mode !== 'false')
      errors.push({
        path: `metadata.annotations[${HOST_BRIDGE_ANNOTATION}]`,
        reason: 'FieldValueNotSupported',
        message: `Unsupported value: ${JSON.stringify(mode)}: supported values: "true", "false"`,
      });
    if (mode === 'true' && config !== undefined) checkHostBridge(config, errors);
    return errors;
  },
};
