/**
 * The API server of `hikube up` and everything its one listener serves beside the registry: the
 * VM action, volume and stream subresources (through the node agent), image imports, the storage
 * subresources, metrics, the web console, and the public routes of CDI's upload proxy and of
 * VirtualMachineExport downloads. Built here; platform.ts makes it listen.
 */
import { resourceKey } from '../apiserver/registry.js';
import { ApiServer } from '../apiserver/server.js';
import type { ServedKinds } from '../apiserver/served-kinds.js';
import { actionSubresources } from '../apiserver/actions.js';
import { volumeSubresources } from '../apiserver/volumes.js';
import { streamSubresources } from '../apiserver/streams.js';
import { consoleSite } from '../apiserver/static.js';
import { AuditLog } from '../apiserver/auth/audit.js';
import { uploadTokenRequestKind, type UploadTokenRequest } from '../api/cdi/uploadtokenrequest.js';
import { readSource } from '../controllers/export/sources.js';
import type { Metrics } from '../metrics/index.js';
import type { NodeAgent } from '../node/agent.js';
import type { Manager } from '../runtime/manager.js';
import { exportRoutes, exportTmpDir } from '../storage/export/server.js';
import { imageImportSubresources } from '../storage/image-import.js';
import type { ImageStore } from '../storage/images.js';
import { qemuImgTool, runQemuImg } from '../storage/qemu-img.js';
import { uploadProxyRoutes } from '../storage/upload-proxy.js';
import type { PlatformOptions } from './options.js';
import type { PlatformState } from './state.js';
import type { Storage } from './storage.js';

/** What the API server serves from, besides the platform's state. */
export interface ApiParts {
  served: ServedKinds;
  manager: Manager;
  agent: NodeAgent;
  images: ImageStore;
  storage: Storage;
  metrics: Metrics;
  /** The server's own URL, known once it listens (export links point at it). */
  url: () => string;
  log: (message: string) => void;
}

export function createApiServer(
  options: PlatformOptions,
  state: PlatformState,
  parts: ApiParts,
): { server: ApiServer; audit: AuditLog } {
  const { registry, store } = state;
  const { agent, storage, metrics, log } = parts;
  const audit = new AuditLog({ path: state.paths.audit, ...options.audit });
  const server = new ApiServer({
    registry,
    signingKey: state.signingKey,
    audit,
    kinds: parts.served,
    certs: state.certs,
    tokens: [state.token],
    scrapeTokens: [state.scrapeToken],
    console: consoleSite(),
    notReady: () => store.shortage(),
    subresources: [
      ...actionSubresources(registry, agent.actions),
      ...volumeSubresources(registry),
      ...streamSubresources(agent.actions, { log }),
      ...imageImportSubresources(options.dataDir, parts.images, qemuImgTool),
      ...storage.subresources,
    ],
    routes: metrics.routes,
    // CDI's upload proxy: CDIConfig's uploadProxyURL is this server's URL.
    publicRoutes: [
      ...uploadProxyRoutes(
        {
          list: () =>
            registry.store
              .list(resourceKey(uploadTokenRequestKind))
              .items.map((i) => i.object as UploadTokenRequest),
        },
        storage.uploads,
      ),
      ...exportRoutes({
        api: parts.manager.client,
        claimPath: (ns, claim) => storage.claimPath(ns, claim),
        readSource,
        tmpDir: exportTmpDir(options.dataDir),
        qemuImg: runQemuImg,
        url: parts.url,
        audit,
      }),
    ],
    observe: metrics.observe,
    ...(options.bookmarkIntervalMs !== undefined
      ? { watch: { bookmarkIntervalMs: options.bookmarkIntervalMs } }
      : {}),
  });
  return { server, audit };
}
