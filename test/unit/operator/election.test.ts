/**
 * `hikube operator`'s leader election switches: defaults as client-go's, flags over environment,
 * the operator's namespace as the Lease's when it acts in one, and every bad value named.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { leaderElectionConfig } from '../../../src/operator/election.js';

const env = { POD_NAME: 'op-0' };

describe('leader election switches', () => {
  test('defaults: on, 15s/10s/2s, the pod name, the pod namespace', () => {
    assert.deepEqual(leaderElectionConfig({}, { ...env, POD_NAMESPACE: 'hikube-system' }), {
      config: {
        namespace: 'hikube-system',
        name: 'hikube-operator',
        identity: 'op-0',
        leaseDurationMs: 15_000,
        renewDeadlineMs: 10_000,
        retryPeriodMs: 2_000,
      },
      problems: [],
    });
  });

  test('a flag wins over its variable; --namespace places the Lease unless told', () => {
    const { config } = leaderElectionConfig(
      { 'leader-elect-lease-duration': '30s' },
      { ...env, HIKUBE_LEADER_ELECT_LEASE_DURATION: '1h', HIKUBE_LEADER_ELECT_RETRY_PERIOD: '500ms' },
      'team-a',
    );
    assert.equal(config?.leaseDurationMs, 30_000);
    assert.equal(config?.retryPeriodMs, 500);
    assert.equal(config?.namespace, 'team-a');
    assert.equal(
      leaderElectionConfig({ 'leader-elect-namespace': 'x' }, env, 'team-a').config?.namespace,
      'x',
    );
  });

  test('--leader-elect=false switches it off', () => {
    assert.deepEqual(leaderElectionConfig({ 'leader-elect': 'false' }, env), { problems: [] });
    assert.deepEqual(leaderElectionConfig({}, { ...env, HIKUBE_LEADER_ELECT: 'false' }), { problems: [] });
  });

  test('every bad value is named', () => {
    assert.deepEqual(
      leaderElectionConfig(
        {
          'leader-elect': 'maybe',
          'leader-elect-renew-deadline': 'soon',
          'leader-elect-retry-period': '-1s',
        },
        env,
      ).problems,
      [
        '--leader-elect: "maybe" is not true or false',
        '--leader-elect-renew-deadline: "soon" is not a positive duration',
        '--leader-elect-retry-period: "-1s" is not a positive duration',
      ],
    );
    assert.deepEqual(leaderElectionConfig({ 'leader-elect-renew-deadline': '20s' }, env).problems, [
      'the lease duration must exceed the renew deadline',
    ]);
  });
});
