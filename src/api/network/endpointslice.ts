/**
 * discovery.k8s.io/v1 EndpointSlice: the VMIs behind a Service, as the service controller sees them
 * (address, readiness, the VMI it is). Written by src/controllers/service; read by users and tools.
 */
import type { KindDefinition } from '../kind.js';
import { ObjectMeta } from '../meta.js';
import { Obj, Preserve, StringEnum, StringMap, Type, type Static, opt } from '../schema.js';
import { ObjectReference } from '../core/core.js';
import { sliceEndpoints, slicePorts } from '../core/printers.js';

export const Endpoint = Obj('One backend of the service.', {
  addresses: Type.Array(Type.String(), { description: 'The address of the VMI on its network.' }),
  conditions: opt(
    Obj('Whether the backend takes traffic.', {
      ready: opt(Type.Boolean({ description: 'Running, Ready, and its readiness probe passes.' })),
      serving: opt(Type.Boolean()),
      terminating: opt(Type.Boolean()),
    }),
  ),
  hostname: opt(Type.String()),
  targetRef: opt(ObjectReference),
  nodeName: opt(Type.String()),
  zone: opt(Type.String()),
  deprecatedTopology: opt(StringMap()),
  hints: opt(Preserve()),
});
export type Endpoint = Static<typeof Endpoint>;

export const EndpointPort = Obj('A port of the backends.', {
  name: opt(Type.String()),
  protocol: opt(StringEnum(['TCP', 'UDP', 'SCTP'])),
  port: opt(Type.Integer()),
  appProtocol: opt(Type.String()),
});

export const EndpointSlice = Obj('A set of backends of a service.', {
  apiVersion: Type.String(),
  kind: Type.String(),
  metadata: ObjectMeta,
  addressType: StringEnum(['IPv4', 'IPv6', 'FQDN']),
  endpoints: Type.Array(Endpoint),
  ports: opt(Type.Array(EndpointPort)),
});
export type EndpointSlice = Static<typeof EndpointSlice>;

export const endpointSliceKind: KindDefinition = {
  group: 'discovery.k8s.io',
  version: 'v1',
  kind: 'EndpointSlice',
  plural: 'endpointslices',
  singular: 'endpointslice',
  namespaced: true,
  description: 'EndpointSlice lists the backends (VMIs) of a Service and whether each takes traffic.',
  schema: EndpointSlice,
  statusSubresource: false,
  deleteReturnsStatus: true,
  printerColumns: [
    { name: 'AddressType', type: 'string', jsonPath: '.addressType' },
    { name: 'Ports', type: 'string', jsonPath: '.ports', value: slicePorts },
    { name: 'Endpoints', type: 'string', jsonPath: '.endpoints', value: sliceEndpoints },
  ],
};
