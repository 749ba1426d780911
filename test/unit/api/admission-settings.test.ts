/**
 * The admin switches as admission reads them: the environment variables used when `hikube up` gets
 * no flag (feature gate syntax: feature-gates.test.ts).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { admissionSettingsFromEnv } from '../../../src/api/admission.js';
import { outboundPolicyFromEnv } from '../../../src/network/outbound.js';

describe('environment variables', () => {
  test('off unless set to 1 or true', () => {
    assert.deepEqual(admissionSettingsFromEnv(undefined, {}), {
      serviceCidr: '127.16.0.0/16',
      allowExternalIPs: false,
      featureGates: new Set(),
      disabledFeatureGates: new Set(),
    });
    const on = admissionSettingsFromEnv('127.20.0.0/16', {
      HIKUBE_ALLOW_EXTERNAL_IPS: 'true',
      HIKUBE_FEATURE_GATES: 'HostDisk,Snapshot=false',
    });
    assert.deepEqual(on, {
      serviceCidr: '127.20.0.0/16',
      allowExternalIPs: true,
      featureGates: new Set(['HostDisk']),
      disabledFeatureGates: new Set(['Snapshot']),
    });
    assert.equal(outboundPolicyFromEnv({}).allowPrivateTargets, false);
    assert.equal(outboundPolicyFromEnv({ HIKUBE_ALLOW_PRIVATE_TARGETS: '0' }).allowPrivateTargets, false);
    assert.equal(outboundPolicyFromEnv({ HIKUBE_ALLOW_PRIVATE_TARGETS: '1' }).allowPrivateTargets, true);
  });
});
