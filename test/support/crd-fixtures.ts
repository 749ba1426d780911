/**
 * CRDs written for the CRD tests (test/e2e/crd.test.ts): a Widget exercising every schema keyword
 * the server checks, and a CRD shaped like the Prometheus operator's ServiceMonitor (written here,
 * not copied) with preserved subtrees and two versions.
 */
export const widgetCrd = {
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  metadata: { name: 'widgets.example.test' },
  spec: {
    group: 'example.test',
    scope: 'Namespaced',
    names: { plural: 'widgets', singular: 'widget', kind: 'Widget', shortNames: ['wd'], categories: ['all'] },
    versions: [
      {
        name: 'v1',
        served: true,
        storage: true,
        subresources: {
          status: {},
          scale: {
            specReplicasPath: '.spec.instances',
            statusReplicasPath: '.status.readyInstances',
            labelSelectorPath: '.status.selector',
          },
        },
        additionalPrinterColumns: [
          { name: 'Color', type: 'string', jsonPath: '.spec.color' },
          { name: 'Size', type: 'integer', jsonPath: '.spec.size' },
          { name: 'Phase', type: 'string', jsonPath: '.status.phase' },
        ],
        schema: {
          openAPIV3Schema: {
            type: 'object',
            properties: {
              spec: {
                type: 'object',
                required: ['color'],
                properties: {
                  color: { type: 'string', enum: ['red', 'green', 'blue'] },
                  size: { type: 'integer', minimum: 1, maximum: 10, default: 3 },
                  instances: { type: 'integer', minimum: 0 },
                  label: { type: 'string', maxLength: 8, pattern: '^[a-z]+$' },
                  port: { 'x-kubernetes-int-or-string': true },
                  tags: {
                    type: 'array',
                    maxItems: 3,
                    items: { type: 'string' },
                    'x-kubernetes-list-type': 'set',
                  },
                  ports: {
                    type: 'array',
                    'x-kubernetes-list-type': 'map',
                    'x-kubernetes-list-map-keys': ['name'],
                    items: {
                      type: 'object',
                      required: ['name'],
                      properties: { name: { type: 'string' }, number: { type: 'integer' } },
                    },
                  },
                  note: { type: 'string', nullable: true },
                  extra: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
                  template: {
                    type: 'object',
                    'x-kubernetes-embedded-resource': true,
                    'x-kubernetes-preserve-unknown-fields': true,
                  },
                },
              },
              status: {
                type: 'object',
                properties: {
                  phase: { type: 'string' },
                  readyInstances: { type: 'integer' },
                  selector: { type: 'string' },
                },
              },
            },
          },
        },
      },
    ],
  },
};

export const serviceMonitorCrd = {
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  metadata: { name: 'servicemonitors.monitoring.example.test' },
  spec: {
    group: 'monitoring.example.test',
    scope: 'Namespaced',
    names: {
      plural: 'servicemonitors',
      kind: 'ServiceMonitor',
      listKind: 'ServiceMonitorList',
      shortNames: ['smon'],
    },
    versions: [
      {
        name: 'v1',
        served: true,
        storage: true,
        schema: {
          openAPIV3Schema: {
            type: 'object',
            properties: {
              spec: {
                type: 'object',
                required: ['endpoints', 'selector'],
                properties: {
                  jobLabel: { type: 'string' },
                  endpoints: {
                    type: 'array',
                    items: {
                      type: 'object',
                      properties: {
                        port: { type: 'string' },
                        interval: {
                          type: 'string',
                          pattern:
                            '^(0|(([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?)$',
                        },
                        relabelings: {
                          type: 'array',
                          items: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
                        },
                      },
                    },
                  },
                  selector: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
                },
              },
            },
          },
        },
      },
      {
        name: 'v1beta1',
        served: true,
        storage: false,
        schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } },
      },
    ],
  },
};
