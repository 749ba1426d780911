/**
 * core/v1 Service: a stable address in front of the VMs its selector matches (the VMIs' labels, as
 * `virtctl expose` writes them). The service controller allocates the cluster IP and node ports and
 * maintains EndpointSlices; the node's L4 proxy listens on the addresses (src/network/proxy).
 */
import { ageColumn, type FieldError, type KindDefinition } from '../kind.js';
import { formatLabels, serviceClusterIP, serviceExternalIP, servicePorts } from './printers.js';
import { ObjectMeta } from '../meta.js';
import { IntOrString, Obj, StringEnum, StringMap, Type, type Static, opt } from '../schema.js';
import { Conditions } from '../kubevirt/status.js';
import { cidrHosts, defaultAdmissionSettings, type AdmissionSettings } from '../admission.js';
import { parseIpv4 } from '../network/cni.js';

export const SERVICE_TYPES = ['ClusterIP', 'NodePort', 'LoadBalancer', 'ExternalName'] as const;
export type ServiceType = (typeof SERVICE_TYPES)[number];
export const SERVICE_PROTOCOLS = ['TCP', 'UDP', 'SCTP'] as const;
/** The protocols the node's proxy carries. */
export const PROXIED_PROTOCOLS = ['TCP', 'UDP'] as const;
export const NODE_PORT_RANGE = { min: 30000, max: 32767 } as const;

export const ServicePort = Obj('A port the service exposes and where it sends the traffic.', {
  name: opt(Type.String({ description: 'Required when the service has more than one port.' })),
  protocol: opt(StringEnum(SERVICE_PROTOCOLS, 'TCP (default) or UDP.')),
  appProtocol: opt(Type.String()),
  port: Type.Integer({ minimum: 1, maximum: 65535, description: 'The port the service listens on.' }),
  targetPort: opt(
    IntOrString(
      'Port of the guest: a number, or the name of a port in the interface ports of the VMI. Defaults to port.',
    ),
  ),
  nodePort: opt(
    Type.Integer({
      description: 'Port on the node for NodePort and LoadBalancer services; allocated when absent.',
    }),
  ),
});
export type ServicePort = Static<typeof ServicePort>;

export const ServiceSpec = Obj('How the service is reached and which VMs serve it.', {
  type: opt(StringEnum(SERVICE_TYPES, 'ClusterIP (default), NodePort, LoadBalancer or ExternalName.')),
  selector: opt(StringMap('Labels of the VMIs that serve the traffic.')),
  ports: opt(Type.Array(ServicePort)),
  clusterIP: opt(
    Type.String({
      description:
        'An address in the service CIDR (127.16.0.0/16 unless the admin changed it), allocated by the platform when empty, or None for a headless service.',
    }),
  ),
  clusterIPs: opt(Type.Array(Type.String())),
  externalIPs: opt(
    Type.Array(Type.String(), {
      description:
        'Refused unless an admin allows them (hikube up --allow-external-ips; CVE-2020-8554). The node proxy does not listen on them.',
    }),
  ),
  externalName: opt(Type.String()),
  loadBalancerIP: opt(Type.String({ description: 'Requested address; must be in the load balancer pool.' })),
  loadBalancerClass: opt(Type.String()),
  loadBalancerSourceRanges: opt(Type.Array(Type.String())),
  allocateLoadBalancerNodePorts: opt(Type.Boolean()),
  sessionAffinity: opt(StringEnum(['None', 'ClientIP'], 'ClientIP keeps a client on one backend.')),
  sessionAffinityConfig: opt(
    Obj('Session affinity settings.', {
      clientIP: opt(Obj('ClientIP affinity.', { timeoutSeconds: opt(Type.Integer({ minimum: 1 })) })),
    }),
  ),
  externalTrafficPolicy: opt(StringEnum(['Cluster', 'Local'])),
  internalTrafficPolicy: opt(StringEnum(['Cluster', 'Local'])),
  ipFamilies: opt(Type.Array(StringEnum(['IPv4', 'IPv6']))),
  ipFamilyPolicy: opt(StringEnum(['SingleStack', 'PreferDualStack', 'RequireDualStack'])),
  publishNotReadyAddresses: opt(Type.Boolean()),
  healthCheckNodePort: opt(Type.Integer()),
  trafficDistribution: opt(Type.String()),
});
export type ServiceSpec = Static<typeof ServiceSpec>;

export const PortStatus = Obj('The state of one port of a load balancer address.', {
  port: Type.Integer({
    description:
      'Hikube: the port the load balancer listens on at this address; the service port unless it was taken.',
  }),
  protocol: StringEnum(SERVICE_PROTOCOLS),
  error: opt(Type.String()),
});

export const LoadBalancerIngress = Obj('An address of the load balancer.', {
  ip: opt(Type.String()),
  hostname: opt(Type.String()),
  ipMode: opt(StringEnum(['VIP', 'Proxy'])),
  ports: opt(Type.Array(PortStatus)),
});

export const ServiceStatus = Obj('The load balancer, once provisioned.', {
  loadBalancer: opt(
    Obj('Addresses of the load balancer.', { ingress: opt(Type.Array(LoadBalancerIngress)) }),
  ),
  conditions: opt(Conditions),
});

export const Service = Obj('A service.', {
  apiVersion: Type.String(),
  kind: Type.String(),
  metadata: ObjectMeta,
  spec: opt(ServiceSpec),
  status: opt(ServiceStatus),
});
export type Service = Static<typeof Service>;

export const serviceKind: KindDefinition = {
  group: '',
  version: 'v1',
  kind: 'Service',
  plural: 'services',
  singular: 'service',
  shortNames: ['svc'],
  categories: ['all'],
  namespaced: true,
  description:
    'Service is a stable address (cluster IP, node port or load balancer) in front of the VMs its selector matches.',
  schema: Service,
  statusSubresource: true,
  deleteReturnsStatus: true,
  printerColumns: [
    { name: 'Type', type: 'string', jsonPath: '.spec.type' },
    { name: 'Cluster-IP', type: 'string', jsonPath: '.spec.clusterIP', value: serviceClusterIP },
    { name: 'External-IP', type: 'string', jsonPath: '.spec.externalIPs', value: serviceExternalIP },
    { name: 'Port(s)', type: 'string', jsonPath: '.spec.ports', value: servicePorts },
    ageColumn,
    {
      name: 'Selector',
      type: 'string',
      jsonPath: '.spec.selector',
      priority: 1,
      value: (o) => formatLabels((o['spec'] as Record<string, unknown> | undefined)?.['selector']),
    },
  ],
  validate: (obj, old, settings) => validateService(obj, old, settings),
  defaults: (obj) => defaultService(obj),
};

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

export function validateService(
  svc: Service,
  old: Service | undefined,
  settings: AdmissionSettings = defaultAdmissionSettings(),
): FieldError[] {
  const errors: FieldError[] = [];
  const spec = svc.spec ?? {};
  const type = spec.type ?? 'ClusterIP';
  const ports = spec.ports ?? [];
  if (type === 'ExternalName') {
    if (spec.externalName === undefined || spec.externalName === '')
      errors.push({
        path: 'spec.externalName',
        reason: 'FieldValueRequired',
        message: 'Required value: an ExternalName service names a host',
      });
    else if (!isDnsSubdomain(spec.externalName.replace(/\.$/, '')))
      errors.push({
        path: 'spec.externalName',
        message: `Invalid value: ${JSON.stringify(spec.externalName)}: must be a lowercase DNS name (RFC 1123), such as "db.example.com"`,
      });
  } else if (ports.length === 0) {
    errors.push({ path: 'spec.ports', reason: 'FieldValueRequired', message: 'Required value' });
  }
  const names = new Set<string>();
  const seen = new Set<string>();
  ports.forEach((p, i) => {
    const at = `spec.ports[${i}]`;
    if (ports.length > 1 && (p.name === undefined || p.name === ''))
      errors.push({
        path: `${at}.name`,
        reason: 'FieldValueRequired',
        message: 'Required value: a service with more than one port names each of them',
      });
    if (p.name !== undefined && p.name !== '') {
      if (!DNS_LABEL.test(p.name) || p.name.length > 15)
        errors.push({
          path: `${at}.name`,
          message: `Invalid value: ${JSON.stringify(p.name)}: must be a DNS label of at most 15 characters`,
        });
      if (names.has(p.name))
        errors.push({
          path: `${at}.name`,
          reason: 'FieldValueDuplicate',
          message: `Duplicate value: ${JSON.stringify(p.name)}`,
        });
      names.add(p.name);
    }
    const protocol = p.protocol ?? 'TCP';
    if (protocol === 'SCTP')
      errors.push({
        path: `${at}.protocol`,
        reason: 'FieldValueNotSupported',
        message: 'Unsupported value: "SCTP": supported values: "TCP", "UDP"',
      });
    const key = `${p.port}/${protocol}`;
    if (seen.has(key))
      errors.push({
        path: `${at}`,
        reason: 'FieldValueDuplicate',
        message: `Duplicate value: port ${key} is listed twice`,
      });
    seen.add(key);
    const target = p.targetPort;
    if (typeof target === 'number' && (target < 1 || target > 65535))
      errors.push({ path: `${at}.targetPort`, message: `Invalid value: ${target}: must be 1-65535` });
    if (typeof target === 'string' && !/^\d+$/.test(target) && !DNS_LABEL.test(target))
      errors.push({
        path: `${at}.targetPort`,
        message: `Invalid value: ${JSON.stringify(target)}: a port number or a port name`,
      });
    if (p.nodePort !== undefined && p.nodePort !== 0) {
      if (type !== 'NodePort' && type !== 'LoadBalancer')
        errors.push({
          path: `${at}.nodePort`,
          reason: 'FieldValueForbidden',
          message: `Forbidden: may not be used when type is '${type}'`,
        });
      else if (p.nodePort < NODE_PORT_RANGE.min || p.nodePort > NODE_PORT_RANGE.max)
        errors.push({
          path: `${at}.nodePort`,
          message: `Invalid value: ${p.nodePort}: provided port is not in the valid range. The range of valid ports is ${NODE_PORT_RANGE.min}-${NODE_PORT_RANGE.max}`,
        });
    }
  });
  const ip = spec.clusterIP;
  const unchanged = ip !== undefined && ip === old?.spec?.clusterIP;
  if (ip !== undefined && ip !== '' && ip !== 'None' && !unchanged)
    errors.push(...checkClusterIp(ip, 'spec.clusterIP', settings.serviceCidr, settings.clusterDnsIp));
  (spec.clusterIPs ?? []).forEach((each, i) => {
    if (i === 0 && ip !== undefined && ip !== '' && each !== ip)
      errors.push({
        path: 'spec.clusterIPs[0]',
        message: `Invalid value: ${JSON.stringify(each)}: must match spec.clusterIP ${JSON.stringify(ip)}`,
      });
    else if (each !== 'None' && each !== '' && !old?.spec?.clusterIPs?.includes(each))
      errors.push(
        ...checkClusterIp(each, `spec.clusterIPs[${i}]`, settings.serviceCidr, settings.clusterDnsIp),
      );
  });
  errors.push(...checkExternalIps(spec.externalIPs ?? [], settings.allowExternalIPs));
  if (ip === 'None' && type !== 'ClusterIP')
    errors.push({
      path: 'spec.clusterIP',
      message: `Invalid value: "None": may only be set for ClusterIP services`,
    });
  const oldIp = old?.spec?.clusterIP;
  if (oldIp !== undefined && oldIp !== '' && ip !== undefined && ip !== '' && ip !== oldIp)
    errors.push({
      path: 'spec.clusterIP',
      reason: 'FieldValueForbidden',
      message: 'Forbidden: field is immutable',
    });
  if (spec.loadBalancerIP !== undefined && spec.loadBalancerIP !== '' && !IPV4.test(spec.loadBalancerIP))
    errors.push({
      path: 'spec.loadBalancerIP',
      message: `Invalid value: ${JSON.stringify(spec.loadBalancerIP)}: must be an IPv4 address`,
    });
  return errors;
}

/**
 * A requested cluster IP lies in the service CIDR, as kube-apiserver's allocator insists. The
 * node's proxy listens on it: an address outside the range (0.0.0.0, the host's own 127.0.0.1 or
 * its public address) would make a user's object open ports wherever they please.
 */
/** Kubernetes' DNS-1123 subdomain: lowercase labels of letters, digits and hyphens, ≤ 253 in all. */
const isDnsSubdomain = (name: string): boolean =>
  name.length <= 253 && name.split('.').every((l) => DNS_LABEL.test(l) && l.length <= 63);

function checkClusterIp(ip: string, path: string, cidr: string, clusterDnsIp?: string): FieldError[] {
  if (!IPV4.test(ip))
    return [{ path, message: `Invalid value: ${JSON.stringify(ip)}: must be an IPv4 address or None` }];
  const range = cidrHosts(cidr);
  const n = parseIpv4(ip) ?? -1;
  if (range === undefined || n < range.first || n > range.last)
    return [
      {
        path,
        message: `Invalid value: ${JSON.stringify(ip)}: provided IP is not in the valid range. The range of valid IPs is ${cidr}`,
      },
    ];
  if (ip === clusterDnsIp)
    return [
      {
        path,
        message: `Invalid value: ${JSON.stringify(ip)}: provided IP is already allocated: it is the cluster DNS address`,
      },
    ];
  return [];
}

/**
 * externalIPs let any user who may create a Service take over traffic to any address
 * (CVE-2020-8554); refused unless an admin allows them (docs/api-exceptions.md).
 */
function checkExternalIps(ips: string[], allowed: boolean): FieldError[] {
  if (ips.length === 0) return [];
  if (!allowed)
    return [
      {
        path: 'spec.externalIPs',
        reason: 'FieldValueForbidden',
        message:
          'Forbidden: externalIPs are not allowed on this platform (CVE-2020-8554); an admin may allow them with hikube up --allow-external-ips',
      },
    ];
  return ips.flatMap((ip, i) => {
    const n = parseIpv4(ip);
    if (n !== undefined && n !== 0 && n < 0xe0000000) return [];
    return [
      {
        path: `spec.externalIPs[${i}]`,
        message: `Invalid value: ${JSON.stringify(ip)}: must be a unicast IPv4 address`,
      },
    ];
  });
}

/** Server-side defaults, as kube-apiserver applies them: type, protocol, targetPort, affinity. */
export function defaultService(svc: Service): void {
  const spec = (svc.spec ??= {});
  spec.type ??= 'ClusterIP';
  spec.sessionAffinity ??= 'None';
  if (spec.type === 'ExternalName') return;
  for (const p of spec.ports ?? []) {
    p.protocol ??= 'TCP';
    p.targetPort ??= p.port;
  }
  if (spec.type === 'NodePort' || spec.type === 'LoadBalancer') spec.externalTrafficPolicy ??= 'Cluster';
  spec.internalTrafficPolicy ??= 'Cluster';
  spec.ipFamilies ??= ['IPv4'];
  spec.ipFamilyPolicy ??= 'SingleStack';
  if (spec.clusterIP !== undefined && spec.clusterIP !== '') spec.clusterIPs ??= [spec.clusterIP];
}

export const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';
