/** HIKUBE_WITHOUT_HIKUBE_CONTROLLERS: `1` or `true` turns Hikube's controllers off; anything else leaves them on. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { withoutHikubeControllersFromEnv } from '../../../src/platform/platform.js';

test('HIKUBE_WITHOUT_HIKUBE_CONTROLLERS is read as a boolean switch', () => {
  const saved = process.env['HIKUBE_WITHOUT_HIKUBE_CONTROLLERS'];
  try {
    for (const [value, want] of [
      [undefined, false],
      ['', false],
      ['0', false],
      ['false', false],
      ['1', true],
      ['true', true],
    ] as const) {
      if (value === undefined) delete process.env['HIKUBE_WITHOUT_HIKUBE_CONTROLLERS'];
      else process.env['HIKUBE_WITHOUT_HIKUBE_CONTROLLERS'] = value;
      assert.equal(withoutHikubeControllersFromEnv(), want, `value ${String(value)}`);
    }
  } finally {
    if (saved === undefined) delete process.env['HIKUBE_WITHOUT_HIKUBE_CONTROLLERS'];
    else process.env['HIKUBE_WITHOUT_HIKUBE_CONTROLLERS'] = saved;
  }
});
