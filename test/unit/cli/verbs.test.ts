/**
 * The verb dispatch every `hikube <noun> <verb>` command shares: the verb is found among the flags,
 * its function gets the rest, and anything else (no verb, an unknown one, an Object property name)
 * is the command's own usage error.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { UsageError } from '../../../src/cli/errors.js';
import { runVerb } from '../../../src/cli/verbs.js';

describe('runVerb', () => {
  test('runs the named verb (or alias) with the flags left', async () => {
    const seen: [string, string[]][] = [];
    const list = (args: string[]): Promise<void> => {
      seen.push(['list', args]);
      return Promise.resolve();
    };
    await runVerb(['-n', 'ns1', 'ls', '-A'], { list, ls: list }, 'usage');
    await runVerb(['list', 'x'], { list, ls: list }, 'usage');
    assert.deepEqual(seen, [
      ['list', ['-n', 'ns1', '-A']],
      ['list', ['x']],
    ]);
  });

  test("anything else fails with the command's usage", async () => {
    const verbs = { create: (): Promise<void> => Promise.resolve() };
    for (const args of [[], ['-n', 'ns1'], ['nope'], ['toString'], ['constructor']])
      await assert.rejects(
        runVerb(args, verbs, 'usage: hikube thing create'),
        (e: unknown) => e instanceof UsageError && e.message === 'usage: hikube thing create',
        JSON.stringify(args),
      );
  });
});
