/**
 * coordination.k8s.io/v1 Lease: a named lock with a holder and an expiry, what leader election is
 * built on (client-go's leaderelection, and `hikube operator`'s, src/runtime/leader.ts). The server
 * only stores it; the holders agree through resourceVersion conflicts on update.
 */
import { ageColumn, nameColumn, type FieldError, type KindDefinition } from '../kind.js';
import { ObjectMeta } from '../meta.js';
import { Obj, StringEnum, Type, type Static, opt } from '../schema.js';

const MICRO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;

export const LeaseSpec = Obj('Who holds the lease and until when.', {
  holderIdentity: opt(Type.String({ description: 'The identity of the current holder.' })),
  leaseDurationSeconds: opt(
    Type.Integer({ description: 'How long after renewTime the other candidates wait before taking it.' }),
  ),
  acquireTime: opt(
    Type.String({ description: 'When the current holder acquired it (RFC 3339, microseconds).' }),
  ),
  renewTime: opt(Type.String({ description: 'When the holder last renewed it (RFC 3339, microseconds).' })),
  leaseTransitions: opt(Type.Integer({ description: 'How many times the holder changed.' })),
  strategy: opt(StringEnum(['OldestEmulationVersion'], 'Coordinated leader election strategy.')),
  preferredHolder: opt(Type.String({ description: 'The holder the coordinator would rather have.' })),
});

export const Lease = Obj('A lease.', {
  apiVersion: Type.String(),
  kind: Type.String(),
  metadata: ObjectMeta,
  spec: opt(LeaseSpec),
});
export type Lease = Static<typeof Lease>;

function validateLease(lease: Lease): FieldError[] {
  const spec = lease.spec ?? {};
  const errors: FieldError[] = [];
  const positive = (path: string, v: number | undefined, min: number): void => {
    if (v !== undefined && v < min)
      errors.push({ path, message: `Invalid value: ${v}: must be greater than or equal to ${min}` });
  };
  positive('spec.leaseDurationSeconds', spec.leaseDurationSeconds, 1);
  positive('spec.leaseTransitions', spec.leaseTransitions, 0);
  for (const field of ['acquireTime', 'renewTime'] as const) {
    const v = spec[field];
    if (v !== undefined && (!MICRO_TIME.test(v) || Number.isNaN(Date.parse(v))))
      errors.push({
        path: `spec.${field}`,
        message: `Invalid value: ${JSON.stringify(v)}: not an RFC 3339 time`,
      });
  }
  return errors;
}

export const leaseKind: KindDefinition = {
  group: 'coordination.k8s.io',
  version: 'v1',
  kind: 'Lease',
  plural: 'leases',
  singular: 'lease',
  namespaced: true,
  description: 'Lease is a named lock held by one identity until it stops renewing it: leader election.',
  schema: Lease,
  statusSubresource: false,
  deleteReturnsStatus: true,
  printerColumns: [
    nameColumn,
    { name: 'Holder', type: 'string', jsonPath: '.spec.holderIdentity' },
    ageColumn,
  ],
  validate: (o) => validateLease(o),
};
