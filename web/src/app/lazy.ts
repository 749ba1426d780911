/**
 * Lazy pages and tabs that survive a failed chunk load: a dropped connection (Chromium aborts
 * requests in flight with ERR_NETWORK_CHANGED whenever the host's addresses change, e.g. when a VM's
 * tap device appears) would otherwise leave a blank page. The import is tried again with a short
 * back-off; if it still fails, the error boundary (PageErrorBoundary) offers a reload.
 */
import { lazy, type ComponentType } from 'react';

const TRIES = 4;

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- React.lazy's own signature.
export function lazyRetry<T extends ComponentType<any>>(load: () => Promise<{ default: T }>) {
  return lazy(async () => {
    for (let attempt = 1; ; attempt++) {
      try {
        return await load();
      } catch (err) {
        if (attempt >= TRIES) throw err;
        await new Promise((r) => setTimeout(r, 250 * 2 ** attempt));
      }
    }
  });
}
