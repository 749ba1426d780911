/**
 * Monitoring, assembled: the collector on the node agent, the history file, and the HTTP routes
 * and request hook the API server takes. `hikube up` calls startMetrics once.
 */
import { join } from 'node:path';
import type { Manager } from '../runtime/manager.js';
import type { ExtraRoute } from '../apiserver/server.js';
import type { RunningGuest } from '../node/agent.js';
import { Collector } from './collector.js';
import type { NicCounters } from '../network/counters.js';
import { observeApiRequest } from './registry.js';
import { metricsRoutes } from './routes.js';
import { MetricsStore, type RetentionOptions } from './tsdb.js';

export interface MetricsOptions {
  /** Collection interval; default 10 s. */
  intervalMs?: number;
  /** History settings, or false for none. */
  history?: RetentionOptions | false;
}

export interface Metrics {
  collector: Collector;
  store: MetricsStore | undefined;
  routes: ExtraRoute[];
  observe: typeof observeApiRequest;
  stop(): void;
}

export function startMetrics(o: {
  manager: Pick<Manager, 'informer'>;
  guests: { running(): RunningGuest[] };
  dataDir: string;
  options?: MetricsOptions | undefined;
  log?: (message: string) => void;
  nicCounters?: () => Promise<Map<string, NicCounters>>;
}): Metrics {
  const history = o.options?.history;
  const store =
    history === false ? undefined : new MetricsStore(join(o.dataDir, 'metrics.db'), history ?? {});
  const collector = new Collector({
    manager: o.manager,
    guests: o.guests,
    ...(store !== undefined ? { store } : {}),
    ...(o.options?.intervalMs !== undefined ? { intervalMs: o.options.intervalMs } : {}),
    ...(o.log !== undefined ? { log: o.log } : {}),
    ...(o.nicCounters !== undefined ? { nicCounters: o.nicCounters } : {}),
  });
  collector.start();
  return {
    collector,
    store,
    routes: metricsRoutes(collector, store),
    observe: observeApiRequest,
    /** The history is closed once a round still in flight has finished. */
    stop() {
      void collector.stop().finally(() => store?.close());
    },
  };
}
