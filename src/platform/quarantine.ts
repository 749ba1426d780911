/**
 * Start-up survives any stored object: rows the store could not load (src/store/store.ts,
 * QuarantinedRow) are reported here, in the log and as a Warning Event on the object's name, and
 * the platform starts without them. `kubectl delete` of the name removes the row.
 */
import { apiVersionOf, type KindDefinition } from '../api/kind.js';
import type { ApiClient } from '../runtime/registry-client.js';
import { EventRecorder } from '../runtime/events.js';
import type { Store } from '../store/store.js';

export const FAILED_LOAD_REASON = 'FailedLoad';

export function reportQuarantined(
  store: Store,
  kinds: readonly KindDefinition[],
  api: ApiClient,
  nodeName: string,
  log: (message: string) => void,
): void {
  const events = new EventRecorder(api, 'hikube-store', nodeName);
  for (const row of store.quarantined()) {
    const def = kinds.find((k) => `${k.group}/${k.plural}` === row.resource);
    const where = row.namespace === '' ? row.name : `${row.namespace}/${row.name}`;
    const message = `stored ${def?.kind ?? row.resource} "${where}" was not loaded: ${row.reason}; delete it to remove it`;
    log(message);
    if (def === undefined) continue;
    events.record(
      {
        apiVersion: apiVersionOf(def),
        kind: def.kind,
        metadata: { name: row.name, ...(row.namespace === '' ? {} : { namespace: row.namespace }) },
      },
      'Warning',
      FAILED_LOAD_REASON,
      message,
    );
  }
}
