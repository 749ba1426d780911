/**
 * What the `hikube <noun> <verb>` commands (backup, disk, snapshot, tenant, user…) share: finding
 * the verb and running it or printing the usage, its flags after the connection flags (context.ts),
 * the `--wait`/`--timeout` pair, the namespace a list reads, and waiting for a deleted object to go.
 * Each command keeps its own usage text and messages.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import type { KubeClient } from '../client/kube.js';
import { connectionOptions } from './context.js';
import { UsageError } from './errors.js';
import { subVerb } from './image.js';

/** A command's verbs, aliases included (`ls: list`), each given the arguments left once the verb is taken. */
export type Verbs = Readonly<Record<string, (args: string[]) => Promise<void>>>;

/** Runs the verb `args` names, or fails with `usage` when it names none of `verbs`. */
export async function runVerb(args: string[], verbs: Verbs, usage: string): Promise<void> {
  const [verb, rest] = subVerb(args);
  const run = verb !== undefined && Object.hasOwn(verbs, verb) ? verbs[verb] : undefined;
  if (run === undefined) throw new UsageError(usage);
  return run(rest);
}

/** A verb's flags after the connection flags (`--kubeconfig`, `-n`…), and its positional arguments. */
export function parseFlags<O extends NonNullable<ParseArgsConfig['options']>>(args: string[], options: O) {
  return parseArgs({ args, allowPositionals: true, options: { ...connectionOptions, ...options } });
}

/** `--wait` and `--timeout SECONDS` (as text, the way parseArgs gives it), with the command's default. */
export function waitFlags(timeoutSeconds: string) {
  return {
    wait: { type: 'boolean', default: false },
    timeout: { type: 'string', default: timeoutSeconds },
  } as const;
}

/** The namespace a list reads: none with `-A`, else `-n`, else the kubeconfig context's. */
export function listNamespace(
  values: { namespace?: string | undefined; 'all-namespaces'?: boolean | undefined },
  c: KubeClient,
): string | undefined {
  return values['all-namespaces'] === true ? undefined : (values.namespace ?? c.namespace);
}

/** Polls `at` until reading it fails (the object is gone), or throws `message` after `timeoutS`. */
export async function waitGone(
  c: KubeClient,
  at: string,
  timeoutS: number,
  message = `timed out after ${timeoutS}s waiting for ${at} to go`,
): Promise<void> {
  const deadline = Date.now() + timeoutS * 1000;
  for (;;) {
    const gone = await c.call('GET', at).then(
      () => false,
      () => true,
    );
    if (gone) return;
    if (Date.now() > deadline) throw new Error(message);
    await new Promise((r) => setTimeout(r, 250));
  }
}
