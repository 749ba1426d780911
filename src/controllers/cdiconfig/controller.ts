/**
 * Keeps CDI's read-mostly view of our storage in sync, as CDI's config controller does: the
 * CDIConfig singleton `config` (created when missing) and one StorageProfile per StorageClass
 * (created with the class, deleted with it). Runs on the controller runtime.
 * Keys: `config`, and `profile/<class name>`.
 */
import { isDeepStrictEqual } from 'node:util';
import { CDI_CONFIG_NAME, cdiConfigKind, type CDIConfig } from '../../api/cdi/cdiconfig.js';
import { storageProfileKind, type StorageProfile } from '../../api/cdi/storageprofile.js';
import { apiVersionOf } from '../../api/kind.js';
import { storageClassKind, type StorageClass } from '../../api/storage/storageclass.js';
import { Reconciler } from '../../runtime/reconciler.js';
import type { Manager } from '../../runtime/manager.js';
import { cdiConfigStatus, storageProfileStatus } from './status.js';

const CONFIG_KEY = 'config';
const PROFILE_PREFIX = 'profile/';

export interface CdiConfigOptions {
  /** The API server's URL, published as `status.uploadProxyURL`. */
  apiServerURL: string;
}

export class CdiConfigController extends Reconciler {
  constructor(
    manager: Manager,
    private readonly options: CdiConfigOptions,
    log: (message: string) => void = () => undefined,
  ) {
    super(manager, { name: 'cdiconfig', log });
    this.controller.watch(storageClassKind, (o) => [CONFIG_KEY, PROFILE_PREFIX + (o.metadata.name ?? '')]);
    this.controller.watch(cdiConfigKind, () => [CONFIG_KEY]);
    this.controller.watch(storageProfileKind, (o) => [PROFILE_PREFIX + (o.metadata.name ?? '')]);
  }

  override start(): void {
    this.controller.start();
    // With no object of any watched kind yet, nothing would wake the singleton's creation.
    this.controller.queue.add(CONFIG_KEY);
  }

  protected async reconcile(key: string): Promise<void> {
    if (key === CONFIG_KEY) await this.syncConfig();
    else if (key.startsWith(PROFILE_PREFIX)) await this.syncProfile(key.slice(PROFILE_PREFIX.length));
  }

  private async syncConfig(): Promise<void> {
    const client = this.controller.client;
    const classes = client.list<StorageClass>(storageClassKind);
    let config =
      client.get<CDIConfig>(cdiConfigKind, '', CDI_CONFIG_NAME) ??
      (await client.getLive<CDIConfig>(cdiConfigKind, '', CDI_CONFIG_NAME));
    config ??= await client.create<CDIConfig>(cdiConfigKind, {
      apiVersion: apiVersionOf(cdiConfigKind),
      kind: cdiConfigKind.kind,
      metadata: { name: CDI_CONFIG_NAME },
      spec: {},
    });
    if (config.metadata.deletionTimestamp !== undefined) return;
    const status = cdiConfigStatus(config, classes, this.options.apiServerURL);
    if (isDeepStrictEqual(config.status, status)) return;
    await client.mutate<CDIConfig>(
      cdiConfigKind,
      '',
      CDI_CONFIG_NAME,
      (copy) => {
        copy.status = cdiConfigStatus(copy, classes, this.options.apiServerURL);
      },
      true,
    );
  }

  private async syncProfile(name: string): Promise<void> {
    const client = this.controller.client;
    const sc = client.get<StorageClass>(storageClassKind, '', name);
    const profile = client.get<StorageProfile>(storageProfileKind, '', name);
    if (sc === undefined || sc.metadata.deletionTimestamp !== undefined) {
      // Ask the server before deleting: the class may be newer than this cache.
      if (profile !== undefined && (await client.getLive(storageClassKind, '', name)) === undefined)
        await client.delete(storageProfileKind, '', name);
      return;
    }
    const current =
      profile ??
      (await client.getLive<StorageProfile>(storageProfileKind, '', name)) ??
      (await client.create<StorageProfile>(storageProfileKind, {
        apiVersion: apiVersionOf(storageProfileKind),
        kind: storageProfileKind.kind,
        metadata: { name },
        spec: {},
      }));
    const status = storageProfileStatus(sc);
    if (isDeepStrictEqual(current.status, status)) return;
    await client.mutate<StorageProfile>(
      storageProfileKind,
      '',
      name,
      (copy) => {
        copy.status = status;
      },
      true,
    );
  }
}
