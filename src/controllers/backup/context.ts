/**
 * What the backup controllers share: the ports, the clock, and the resolution of a BackupClass to
 * the strategy serving an application kind and to that strategy's repository, with the S3
 * credentials read from the strategy's Secret (a namespace tenants cannot read), an S3 endpoint
 * held to the outbound address policy and a local path to the allowed directories. Every failure
 * here is a `BackupError` whose message becomes the job's status.message.
 */
import { join } from 'node:path';
import { applicationGroup, type TypedLocalObjectReference } from '../../api/backups/common.js';
import { backupClassKind, type BackupClass } from '../../api/backups/plan.js';
import { backupStrategyKind, type BackupStrategy } from '../../api/backups/strategy.js';
import { secretKind } from '../../api/core/core.js';
import type { KindDefinition } from '../../api/kind.js';
import type { KubeObject } from '../../api/meta.js';
import type { Condition } from '../../api/kubevirt/status.js';
import type { Client } from '../../runtime/client.js';
import type { OutboundPolicy } from '../../network/outbound.js';
import type { EventRecorder } from '../../runtime/events.js';
import { endpointRefusal, type Resolve } from './endpoint.js';
import { localPathRefusal } from './local-path.js';
import type { ArtifactRepository, BackupExecutor, Repositories } from './ports.js';

export interface BackupContext {
  api: Client;
  events: EventRecorder;
  executor: BackupExecutor;
  repositories: Repositories;
  /** The disk file of a bound, populated claim. */
  claimPath: (namespace: string, claim: string) => string | undefined;
  /** Where an S3 endpoint may be (the import's outbound policy) and how its name resolves. */
  targets: OutboundPolicy;
  resolve?: Resolve;
  /** Directories a local strategy's path may lie under (DATA_DIR/backups and the admin's). */
  localDirs: readonly string[];
  now: () => Date;
  /** Waits (between polls of the cache). */
  sleep: (ms: number) => Promise<void>;
  log: (message: string) => void;
}

/** The reason a run is aborted when the platform stops: its job is left Running, to be resumed. */
export class PlatformStopping extends Error {
  override readonly name = 'PlatformStopping';
  constructor() {
    super('the platform is stopping');
  }
}

/** A backup or restore that cannot go on, with the reason shown to the user. */
export class BackupError extends Error {
  override readonly name: string = 'BackupError';
}

/**
 * The platform's own configuration forbids using a strategy (gone, of a kind not served, without
 * its credentials, or a target the admin's rules refuse), as opposed to a target that fails: the
 * former does not get better by retrying, so a Backup being deleted lets go of its artifact.
 */
export class StrategyUnusable extends BackupError {
  override readonly name = 'StrategyUnusable';
}

export const messageOf = (err: unknown): string => (err instanceof Error ? err.message : String(err));

export const stamp = (d: Date): string => d.toISOString().replace(/\.\d{3}Z$/, 'Z');

/**
 * Lets `change` edit a copy of a job's status and writes it when it differs; nothing when the job
 * was deleted and made again under the same name (another uid) meanwhile.
 */
export async function setStatus<T extends KubeObject & { status?: object }>(
  ctx: BackupContext,
  def: KindDefinition,
  job: T,
  change: (s: NonNullable<T['status']>) => void,
): Promise<void> {
  await ctx.api.mutate<T>(
    def,
    job.metadata.namespace ?? '',
    job.metadata.name ?? '',
    (current) => {
      if (current.metadata.uid !== job.metadata.uid) return false;
      const status = structuredClone(current.status ?? {}) as NonNullable<T['status']>;
      change(status);
      if (JSON.stringify(status) === JSON.stringify(current.status ?? {})) return false;
      current.status = status;
      return true;
    },
    true,
  );
}

export interface ResolvedStrategy {
  strategy: BackupStrategy;
  strategyRef: TypedLocalObjectReference;
  repository: ArtifactRepository;
}

export function resolveStrategy(
  ctx: BackupContext,
  className: string,
  app: TypedLocalObjectReference,
): Promise<ResolvedStrategy> {
  const cls = ctx.api.get<BackupClass>(backupClassKind, '', className);
  if (cls === undefined) throw new BackupError(`BackupClass ${className} not found`);
  const group = applicationGroup(app);
  const entry = cls.spec.strategies.find(
    (s) => applicationGroup(s.application) === group && s.application.kind === app.kind,
  );
  if (entry === undefined)
    throw new BackupError(`BackupClass ${className} has no strategy for ${group}/${app.kind}`);
  return openStrategy(ctx, entry.strategyRef);
}

export async function openStrategy(
  ctx: BackupContext,
  strategyRef: TypedLocalObjectReference,
): Promise<ResolvedStrategy> {
  if (strategyRef.apiGroup !== backupStrategyKind.group || strategyRef.kind !== backupStrategyKind.kind)
    throw new StrategyUnusable(
      `strategy ${strategyRef.apiGroup ?? ''}/${strategyRef.kind} is not served here (only ${backupStrategyKind.group}/${backupStrategyKind.kind})`,
    );
  const strategy = ctx.api.get<BackupStrategy>(backupStrategyKind, '', strategyRef.name);
  if (strategy === undefined) throw new StrategyUnusable(`BackupStrategy ${strategyRef.name} not found`);
  let credentials;
  const ref = strategy.spec.credentialsSecretRef;
  if (strategy.spec.target === 's3' && ref !== undefined) {
    const secret = ctx.api.get<KubeObject & { data?: Record<string, string> }>(
      secretKind,
      ref.namespace,
      ref.name,
    );
    if (secret === undefined)
      throw new StrategyUnusable(`credentials Secret ${ref.namespace}/${ref.name} not found`);
    const field = (k: string): string => Buffer.from(secret.data?.[k] ?? '', 'base64').toString('utf8');
    const accessKeyId = field('accessKeyId');
    const secretAccessKey = field('secretAccessKey');
    if (accessKeyId === '' || secretAccessKey === '')
      throw new StrategyUnusable(
        `credentials Secret ${ref.namespace}/${ref.name} needs accessKeyId and secretAccessKey`,
      );
    credentials = { accessKeyId, secretAccessKey };
  }
  if (strategy.spec.target === 's3') {
    const refused = await endpointRefusal(ctx.targets, strategy.spec.endpoint ?? '', ctx.resolve);
    if (refused !== undefined) throw new StrategyUnusable(`BackupStrategy ${strategyRef.name}: ${refused}`);
  } else {
    const where = join(strategy.spec.path ?? '', strategy.spec.prefix ?? '');
    const refused = localPathRefusal(ctx.localDirs, where);
    if (refused !== undefined) throw new StrategyUnusable(`BackupStrategy ${strategyRef.name}: ${refused}`);
  }
  return {
    strategy,
    strategyRef: {
      apiGroup: backupStrategyKind.group,
      kind: backupStrategyKind.kind,
      name: strategyRef.name,
    },
    repository: ctx.repositories(strategy.spec, credentials),
  };
}

/** Sets a condition by type, keeping lastTransitionTime while the status does not change. */
export function setCondition(
  conditions: Condition[] | undefined,
  now: Date,
  c: Omit<Condition, 'lastTransitionTime'>,
): Condition[] {
  const list = [...(conditions ?? [])];
  const i = list.findIndex((x) => x.type === c.type);
  const old = i >= 0 ? list[i] : undefined;
  const next: Condition = {
    ...c,
    lastTransitionTime:
      old !== undefined && old.status === c.status ? (old.lastTransitionTime ?? stamp(now)) : stamp(now),
  };
  if (i >= 0) list[i] = next;
  else list.push(next);
  return list;
}

/** The repository key of a backup: `<namespace>/<application>/<backup name>`. */
export const repositoryKey = (namespace: string, application: string, backup: string): string =>
  `${namespace}/${application}/${backup}`;
