/**
 * A RestoreJob into a new application names it: the name is refused at admission, with its cause
 * on spec.targetApplicationRef.name, when it is no RFC 1123 label or too long for the objects made
 * from it (a VMInstance's VM is `vm-instance-<name>`), rather than failing the restore half-way.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { validateRestoreJob, type RestoreJob } from '../../../src/api/backups/jobs.js';

const restoreInto = (kind: string, name: string): RestoreJob => ({
  apiVersion: 'backups.cozystack.io/v1alpha1',
  kind: 'RestoreJob',
  metadata: { name: 'r' },
  spec: {
    backupRef: { name: 'b' },
    targetApplicationRef: { ...(kind === 'VirtualMachine' ? { apiGroup: 'kubevirt.io' } : {}), kind, name },
  },
});

describe('RestoreJob target name', () => {
  const cases: [string, string, string, RegExp | undefined][] = [
    ['a label', 'VMInstance', 'web-copy', undefined],
    ['capitals and underscores', 'VMInstance', 'Web_Copy', /RFC 1123 label/],
    ['a dot', 'VirtualMachine', 'web.copy', /RFC 1123 label/],
    ['a VMInstance of 51 characters', 'VMInstance', 'a'.repeat(51), undefined],
    ['a VMInstance of 52 characters', 'VMInstance', 'a'.repeat(52), /no more than 51 characters/],
    ['a VM of 63 characters', 'VirtualMachine', 'a'.repeat(63), undefined],
    ['a VM of 64 characters', 'VirtualMachine', 'a'.repeat(64), /no more than 63 characters/],
  ];
  for (const [what, kind, name, bad] of cases)
    test(what, () => {
      const causes = validateRestoreJob(restoreInto(kind, name), undefined);
      if (bad === undefined) assert.deepEqual(causes, []);
      else {
        assert.deepEqual(
          causes.map((c) => c.path),
          ['spec.targetApplicationRef.name'],
        );
        assert.match(causes[0]?.message ?? '', bad);
      }
    });
});
