/**
 * `hikube operator`'s leader election switches, read once from flags and environment: whether to
 * elect a leader (so that a Deployment may run two replicas, one acting), the Lease's namespace,
 * and the three durations of client-go's leader election with its defaults (15s, 10s, 2s).
 */
import { existsSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { parseDuration } from '../api/duration.js';
import { checkLeaderElectionConfig, type LeaderElectionConfig } from '../runtime/leader.js';

/** The Lease every replica competes for. */
export const LEASE_NAME = 'hikube-operator';
const SERVICE_ACCOUNT_NAMESPACE = '/var/run/secrets/kubernetes.io/serviceaccount/namespace';

/** Flag name → environment variable; a flag wins over its variable. */
export const LEADER_ELECTION_SWITCHES = {
  'leader-elect': 'HIKUBE_LEADER_ELECT',
  'leader-elect-namespace': 'HIKUBE_LEADER_ELECT_NAMESPACE',
  'leader-elect-lease-duration': 'HIKUBE_LEADER_ELECT_LEASE_DURATION',
  'leader-elect-renew-deadline': 'HIKUBE_LEADER_ELECT_RENEW_DEADLINE',
  'leader-elect-retry-period': 'HIKUBE_LEADER_ELECT_RETRY_PERIOD',
} as const;
type Switch = keyof typeof LEADER_ELECTION_SWITCHES;

export const leaderElectionOptions = Object.fromEntries(
  Object.keys(LEADER_ELECTION_SWITCHES).map((k) => [k, { type: 'string' as const }]),
) as Record<Switch, { type: 'string' }>;

/** Who this replica is on the Lease: the pod's name in a cluster, else host and process. */
export const electionIdentity = (env: NodeJS.ProcessEnv = process.env): string =>
  env['POD_NAME'] ?? `${hostname()}_${process.pid}`;

/** The pod's namespace (downward API or service account), else `default`. */
function defaultNamespace(env: NodeJS.ProcessEnv): string {
  if (env['POD_NAMESPACE'] !== undefined && env['POD_NAMESPACE'] !== '') return env['POD_NAMESPACE'];
  if (existsSync(SERVICE_ACCOUNT_NAMESPACE)) return readFileSync(SERVICE_ACCOUNT_NAMESPACE, 'utf8').trim();
  return 'default';
}

/**
 * The leader election asked for, `undefined` when switched off (`--leader-elect=false`), or the
 * problems found (one line each) with the values given.
 */
export function leaderElectionConfig(
  flags: Partial<Record<Switch, string | undefined>>,
  env: NodeJS.ProcessEnv = process.env,
  /** The namespace the operator acts in, if only one: the Lease is kept there unless told. */
  scope?: string,
): { config?: LeaderElectionConfig; problems: string[] } {
  const value = (s: Switch): string | undefined => flags[s] ?? env[LEADER_ELECTION_SWITCHES[s]];
  const problems: string[] = [];
  const enabled = value('leader-elect') ?? 'true';
  if (enabled !== 'true' && enabled !== 'false')
    problems.push(`--leader-elect: ${JSON.stringify(enabled)} is not true or false`);
  const duration = (s: Switch, fallback: string): number => {
    const text = value(s) ?? fallback;
    const ms = parseDuration(text);
    if (ms === undefined || ms <= 0)
      problems.push(`--${s}: ${JSON.stringify(text)} is not a positive duration`);
    return ms ?? 0;
  };
  const config: LeaderElectionConfig = {
    namespace: value('leader-elect-namespace') ?? scope ?? defaultNamespace(env),
    name: LEASE_NAME,
    identity: electionIdentity(env),
    leaseDurationMs: duration('leader-elect-lease-duration', '15s'),
    renewDeadlineMs: duration('leader-elect-renew-deadline', '10s'),
    retryPeriodMs: duration('leader-elect-retry-period', '2s'),
  };
  if (problems.length > 0) return { problems };
  if (enabled === 'false') return { problems: [] };
  return { config, problems: checkLeaderElectionConfig(config) };
}
