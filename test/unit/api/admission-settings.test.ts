/**
 * The admin switches as admission reads them: feature gates in kube's `--feature-gates` syntax
 * (names, optionally =true/=false; unknown names refused), and the environment variables used when
 * `hikube up` gets no flag.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { admissionSettingsFromEnv, parseFeatureGates } from '../../../src/api/admission.js';
import { outboundPolicyFromEnv } from '../../../src/network/outbound.js';

describe('parseFeatureGates', () => {
  const cases: [string, string[]][] = [
    ['', []],
    ['HostDisk', ['HostDisk']],
    ['HostDisk=true', ['HostDisk']],
    [' HostDisk , ', ['HostDisk']],
    ['HostDisk,HostDisk=false', []],
  ];
  for (const [text, on] of cases)
    test(JSON.stringify(text), () => assert.deepEqual([...parseFeatureGates(text)], on));

  test('unknown names and values are refused', () => {
    assert.throws(() => parseFeatureGates('HostDisks'), /unknown feature gate "HostDisks"/);
    assert.throws(() => parseFeatureGates('HostDisk=yes'), /neither true nor false/);
  });
});

describe('environment variables', () => {
  test('off unless set to 1 or true', () => {
    assert.deepEqual(admissionSettingsFromEnv(undefined, {}), {
      serviceCidr: '127.16.0.0/16',
      allowExternalIPs: false,
      featureGates: new Set(),
    });
    const on = admissionSettingsFromEnv('127.20.0.0/16', {
      HIKUBE_ALLOW_EXTERNAL_IPS: 'true',
      HIKUBE_FEATURE_GATES: 'HostDisk',
    });
    assert.deepEqual(on, {
      serviceCidr: '127.20.0.0/16',
      allowExternalIPs: true,
      featureGates: new Set(['HostDisk']),
    });
    assert.equal(outboundPolicyFromEnv({}).allowPrivateTargets, false);
    assert.equal(outboundPolicyFromEnv({ HIKUBE_ALLOW_PRIVATE_TARGETS: '0' }).allowPrivateTargets, false);
    assert.equal(outboundPolicyFromEnv({ HIKUBE_ALLOW_PRIVATE_TARGETS: '1' }).allowPrivateTargets, true);
  });
});
