/**
 * Table tests for the networking kinds' admission: a Service's ports, types, node ports and
 * cluster IP (every cause with its path), its server-side defaults; a NetworkAttachmentDefinition's
 * CNI config and IPAM; the network rules of a VMI spec.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { defaultAdmissionSettings } from '../../../src/api/admission.js';
import { defaultService, validateService, type Service } from '../../../src/api/core/service.js';
import type { FieldError } from '../../../src/api/kind.js';
import { validateVmiSpec } from '../../../src/api/kubevirt/validation.js';
import type { VirtualMachineInstanceSpec } from '../../../src/api/kubevirt/vmi.js';
import { formatIpv4, parseCniConfig } from '../../../src/api/network/cni.js';
import { networkAttachmentDefinitionKind } from '../../../src/api/network/nad.js';

const svc = (spec: NonNullable<Service['spec']>): Service => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name: 'web', namespace: 'default' },
  spec,
});
const paths = (errors: FieldError[]): string[] =>
  errors.map((e) => `${e.path}: ${e.reason ?? 'FieldValueInvalid'}`);

describe('Service admission', () => {
  test('a ClusterIP service with one port passes', () => {
    assert.deepEqual(
      validateService(svc({ selector: { app: 'web' }, ports: [{ port: 80 }] }), undefined),
      [],
    );
  });

  const cases: [string, NonNullable<Service['spec']>, string[]][] = [
    ['no ports', { selector: { app: 'x' } }, ['spec.ports: FieldValueRequired']],
    [
      'two unnamed ports, one SCTP',
      { ports: [{ port: 80 }, { port: 81, protocol: 'SCTP' }] },
      [
        'spec.ports[0].name: FieldValueRequired',
        'spec.ports[1].name: FieldValueRequired',
        'spec.ports[1].protocol: FieldValueNotSupported',
      ],
    ],
    [
      'duplicate name and port',
      {
        ports: [
          { name: 'a', port: 80 },
          { name: 'a', port: 80 },
        ],
      },
      ['spec.ports[1].name: FieldValueDuplicate', 'spec.ports[1]: FieldValueDuplicate'],
    ],
    [
      'a node port on a ClusterIP service',
      { ports: [{ port: 80, nodePort: 30001 }] },
      ['spec.ports[0].nodePort: FieldValueForbidden'],
    ],
    [
      'a node port out of range',
      { type: 'NodePort', ports: [{ port: 80, nodePort: 80 }] },
      ['spec.ports[0].nodePort: FieldValueInvalid'],
    ],
    [
      'a bad target port name',
      { ports: [{ port: 80, targetPort: 'Web_Port' }] },
      ['spec.ports[0].targetPort: FieldValueInvalid'],
    ],
    [
      'a bad cluster IP',
      { clusterIP: '300.1.1.1', ports: [{ port: 80 }] },
      ['spec.clusterIP: FieldValueInvalid'],
    ],
    [
      'a headless LoadBalancer',
      { type: 'LoadBalancer', clusterIP: 'None', ports: [{ port: 80 }] },
      ['spec.clusterIP: FieldValueInvalid'],
    ],
    ['an ExternalName without a name', { type: 'ExternalName' }, ['spec.externalName: FieldValueRequired']],
    [
      'an ExternalName that is not a DNS name',
      { type: 'ExternalName', externalName: 'Bad_Name..example' },
      ['spec.externalName: FieldValueInvalid'],
    ],
  ];
  for (const [name, spec, expected] of cases)
    test(name, () => assert.deepEqual(paths(validateService(svc(spec), undefined)), expected));

  test('the cluster DNS address is refused, in clusterIP and in clusterIPs, one cause each', () => {
    const settings = {
      ...defaultAdmissionSettings(),
      serviceCidr: '10.96.0.0/16',
      clusterDnsIp: '10.96.0.10',
    };
    const asked = svc({ clusterIP: '10.96.0.10', clusterIPs: ['10.96.0.10'], ports: [{ port: 80 }] });
    const errors = validateService(asked, undefined, settings);
    assert.deepEqual(paths(errors), [
      'spec.clusterIP: FieldValueInvalid',
      'spec.clusterIPs[0]: FieldValueInvalid',
    ]);
    assert.match(errors[0]?.message ?? '', /cluster DNS address/);
    assert.deepEqual(
      validateService(svc({ clusterIP: '10.96.0.11', ports: [{ port: 80 }] }), undefined, settings),
      [],
    );
    assert.deepEqual(
      validateService(asked, undefined, { ...defaultAdmissionSettings(), serviceCidr: '10.96.0.0/16' })
        .length,
      0,
      'on user networking there is no cluster DNS address to keep',
    );
  });

  test('the cluster IP cannot change once set', () => {
    const old = svc({ clusterIP: '127.16.0.5', ports: [{ port: 80 }] });
    const now = svc({ clusterIP: '127.16.0.6', ports: [{ port: 80 }] });
    assert.deepEqual(paths(validateService(now, old)), ['spec.clusterIP: FieldValueForbidden']);
    assert.deepEqual(
      validateService(svc({ ports: [{ port: 80 }] }), old),
      [],
      'leaving it out is not a change',
    );
  });

  test('defaults: type, protocol, target port, affinity, families', () => {
    const s = svc({ type: 'LoadBalancer', ports: [{ port: 80 }] });
    defaultService(s);
    assert.deepEqual(s.spec, {
      type: 'LoadBalancer',
      ports: [{ port: 80, protocol: 'TCP', targetPort: 80 }],
      sessionAffinity: 'None',
      externalTrafficPolicy: 'Cluster',
      internalTrafficPolicy: 'Cluster',
      ipFamilies: ['IPv4'],
      ipFamilyPolicy: 'SingleStack',
    });
  });
});

describe('NetworkAttachmentDefinition config', () => {
  const parse = (config: string | undefined) => {
    const errors: FieldError[] = [];
    const out = parseCniConfig(config, errors);
    return { out, errors: errors.map((e) => e.message) };
  };

  test('flat host-local IPAM: subnet, range and gateway', () => {
    const { out, errors } = parse(
      '{"cniVersion":"0.3.1","type":"bridge","bridge":"br1","ipam":{"type":"host-local","subnet":"10.10.0.0/24","rangeStart":"10.10.0.20","rangeEnd":"10.10.0.30","gateway":"10.10.0.254"}}',
    );
    assert.deepEqual(errors, []);
    assert.equal(out?.bridge, 'br1');
    const ipam = out?.ipam;
    assert.ok(ipam !== undefined);
    assert.deepEqual(
      [
        formatIpv4(ipam.network),
        ipam.prefix,
        formatIpv4(ipam.start),
        formatIpv4(ipam.end),
        formatIpv4(ipam.gateway),
        ipam.gatewayGiven,
      ],
      ['10.10.0.0', 24, '10.10.0.20', '10.10.0.30', '10.10.0.254', true],
    );
  });

  test('ranges form, and defaults: gateway .1, range from .2 to the last host', () => {
    const { out } = parse(
      '{"type":"bridge","ipam":{"type":"host-local","ranges":[[{"subnet":"192.168.7.0/28"}]]}}',
    );
    const ipam = out?.ipam;
    assert.ok(ipam !== undefined);
    assert.deepEqual(
      [formatIpv4(ipam.gateway), formatIpv4(ipam.start), formatIpv4(ipam.end), ipam.gatewayGiven],
      ['192.168.7.1', '192.168.7.2', '192.168.7.14', false],
    );
  });

  test('no IPAM: a plain L2 segment', () => {
    assert.deepEqual(parse('{"type":"bridge"}'), { out: { type: 'bridge' }, errors: [] });
  });

  const bad: [string, string | undefined, RegExp][] = [
    ['missing', undefined, /Required value: a CNI configuration/],
    ['not JSON', '{type: bridge', /not JSON/],
    ['no type', '{"ipam":{}}', /the CNI plugin "type"/],
    ['a bad subnet', '{"type":"bridge","ipam":{"subnet":"10.0.0.0/33"}}', /an IPv4 CIDR/],
    [
      'a range outside the subnet',
      '{"type":"bridge","ipam":{"subnet":"10.0.0.0/24","rangeStart":"10.0.1.5"}}',
      /rangeStart "10.0.1.5": must be a host address in 10.0.0.0\/24/,
    ],
    [
      'an unknown IPAM type',
      '{"type":"bridge","ipam":{"type":"dhcpd","subnet":"10.0.0.0/24"}}',
      /Unsupported value: ipam type "dhcpd"/,
    ],
    [
      'a long bridge name',
      '{"type":"bridge","bridge":"a-very-long-bridge-name"}',
      /an interface name of 1-15/,
    ],
  ];
  for (const [name, config, message] of bad)
    test(name, () => assert.match(parse(config).errors.join('; '), message));

  test('admission reports the config problems under spec.config', () => {
    const errors = networkAttachmentDefinitionKind.validate?.(
      {
        apiVersion: 'k8s.cni.cncf.io/v1',
        kind: 'NetworkAttachmentDefinition',
        metadata: { name: 'n' },
        spec: { config: '{' },
      },
      undefined,
    );
    assert.deepEqual(
      errors?.map((e) => e.path),
      ['spec.config'],
    );
  });
});

describe('VMI network rules', () => {
  const spec = (
    networks: NonNullable<VirtualMachineInstanceSpec['networks']>,
  ): VirtualMachineInstanceSpec => ({
    domain: {
      devices: {
        interfaces: networks.map((n) => ({
          name: n.name,
          ...(n.pod !== undefined ? { masquerade: {} } : { bridge: {} }),
        })),
      },
      memory: { guest: '128Mi' },
    },
    networks,
  });

  test('a pod network and a Multus network, by name and by namespace/name', () => {
    assert.deepEqual(
      validateVmiSpec(
        spec([
          { name: 'default', pod: {} },
          { name: 'lan', multus: { networkName: 'lan' } },
          { name: 'db', multus: { networkName: 'infra/db-net' } },
        ]),
        'spec',
      ),
      [],
    );
  });

  test('two pod networks, and a malformed networkName', () => {
    assert.deepEqual(
      paths(
        validateVmiSpec(
          spec([
            { name: 'a', pod: {} },
            { name: 'b', pod: {} },
            { name: 'c', multus: { networkName: 'x/y/z' } },
          ]),
          'spec',
        ),
      ),
      ['spec.networks[1].pod: FieldValueForbidden', 'spec.networks[2].multus.networkName: FieldValueInvalid'],
    );
  });
});
