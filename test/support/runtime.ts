/**
 * The two transports of the controller runtime, set up over one Registry, so that a suite can run
 * the same reconcilers against each: in process, and over HTTP to a real API server (TLS, bearer
 * token, a kubeconfig file) started by the test on a free loopback port.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KindDefinition } from '../../src/api/kind.js';
import type { Registry } from '../../src/apiserver/registry.js';
import type { ServedKinds } from '../../src/apiserver/served-kinds.js';
import { ApiServer } from '../../src/apiserver/server.js';
import { ensureServingCerts } from '../../src/apiserver/tls.js';
import { renderKubeconfig } from '../../src/platform/kubeconfig.js';
import { HttpTransport } from '../../src/runtime/http.js';
import { RegistryTransport } from '../../src/runtime/inprocess.js';
import type { ApiTransport } from '../../src/runtime/transport.js';

export interface TransportUnderTest {
  transport: ApiTransport;
  close(): Promise<void>;
}

export interface TransportKind {
  name: string;
  open(registry: Registry, kinds: readonly KindDefinition[] | ServedKinds): Promise<TransportUnderTest>;
}

export const inProcess: TransportKind = {
  name: 'in-process',
  open: (registry) =>
    Promise.resolve({ transport: new RegistryTransport(registry), close: () => Promise.resolve() }),
};

export const overHttp: TransportKind = {
  name: 'http',
  async open(registry, kinds) {
    const dir = await mkdtemp(join(tmpdir(), 'hikube-runtime-'));
    const certs = await ensureServingCerts(join(dir, 'pki'), ['127.0.0.1']);
    const token = randomBytes(24).toString('hex');
    const server = new ApiServer({
      registry,
      kinds,
      certs,
      tokens: [token],
      watch: { bookmarkIntervalMs: 100 },
    });
    const { port } = await server.listen('127.0.0.1', 0);
    const kubeconfig = join(dir, 'kubeconfig');
    await writeFile(kubeconfig, renderKubeconfig(`https://127.0.0.1:${port}`, certs.caCert, token), {
      mode: 0o600,
    });
    return {
      transport: HttpTransport.fromKubeconfig(kubeconfig, kubeconfig),
      async close() {
        await server.close();
        await rm(dir, { recursive: true, force: true });
      },
    };
  },
};

export const transports: readonly TransportKind[] = [inProcess, overHttp];
