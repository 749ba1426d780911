/**
 * `hikube user` argument checks that need no server: the role, the tenant and `--duration` are
 * refused with a usage error before any request is made.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { UsageError } from '../../../src/cli/errors.js';
import { durationSeconds, runUser } from '../../../src/cli/user.js';

describe('hikube user arguments', () => {
  test('--duration as kubectl takes it', () => {
    const table: [string, number][] = [
      ['720h', 720 * 3600],
      ['30m', 1800],
      ['90s', 90],
      ['600', 600],
    ];
    for (const [text, seconds] of table) assert.equal(durationSeconds(text), seconds, text);
    for (const bad of ['', '1d', '-5m', '1.5h', 'h'])
      assert.throws(() => durationSeconds(bad), UsageError, JSON.stringify(bad));
  });

  test('a bad role, a missing tenant or NAME are usage errors, before any request', async () => {
    const cases: [string[], RegExp][] = [
      [
        ['create', 'alice', '--tenant', 'acme', '--role', 'owner'],
        /--role is one of view, use, admin, super-admin/,
      ],
      [['create', 'alice', '--tenant', 'acme'], /--role is one of/],
      [['create', 'alice', '--role', 'use'], /user create needs --tenant/],
      [['create', '--tenant', 'acme', '--role', 'use'], /user create needs one NAME/],
      [['delete', 'alice'], /user delete needs --tenant/],
      [['rename'], /usage:/],
    ];
    for (const [args, message] of cases)
      await assert.rejects(
        runUser(args),
        (err: unknown) => err instanceof UsageError && message.test(err.message),
        args.join(' '),
      );
  });
});
