/**
 * Where clients meet kube-apiserver's exact behaviour, checked with real kubectl (every version
 * the dispatcher ships) and raw HTTP against a real server: kubectl's protobuf OpenAPI v2 (an
 * unserved kind reads "no matches for kind"), `kubectl create configmap|secret` without -n, the
 * Service PORT(S) column, kube's boolean query parameters (`?watch=True`), 405 for a cluster-wide
 * deletecollection of a namespaced kind, and a Node whose nodeInfo carries the host's real values.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, realpathSync } from 'node:fs';
import { request } from 'node:https';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { kubectlOk, run, startTestPlatform, type TestPlatform } from '../support/platform.js';
import { raw } from '../support/http.js';

let p: TestPlatform;
before(async () => {
  p = await startTestPlatform();
});
after(async () => {
  await p.cleanup();
});

const ok = (args: string[], input?: string): Promise<string> => kubectlOk(p, args, input);

/** The real kubectl binaries behind the /usr/bin/kubectl dispatcher (kubectl.1.27 … kubectl.1.33). */
function kubectlVersions(): string[] {
  const dispatcher = realpathSync('/usr/bin/kubectl');
  const dir = dirname(dispatcher);
  return readdirSync(dir)
    .filter((f) => /^kubectl\.1\.\d+$/.test(f))
    .map((f) => join(dir, f))
    .sort();
}

/** A request whose path is sent byte for byte (no URL normalisation on the client side). */
function rawPath(method: string, path: string): Promise<{ code: number; body: string }> {
  const ca = readFileSync(join(p.dataDir, 'pki', 'ca.crt'));
  const url = new URL(p.url);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: url.hostname,
        port: url.port,
        method,
        path,
        ca,
        headers: { Authorization: `Bearer ${p.token}` },
      },
      (res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () => resolve({ code: res.statusCode ?? 0, body }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

/** The first line a GET streams, then the connection is dropped (a watch never ends by itself). */
function firstLine(path: string): Promise<{ code: number; contentType: string; line: string }> {
  const ca = readFileSync(join(p.dataDir, 'pki', 'ca.crt'));
  return new Promise((resolve, reject) => {
    const req = request(
      new URL(path, p.url),
      { ca, headers: { Authorization: `Bearer ${p.token}` } },
      (res) => {
        let buf = '';
        const done = (): void => {
          resolve({
            code: res.statusCode ?? 0,
            contentType: String(res.headers['content-type']),
            line: buf.split('\n')[0] ?? '',
          });
          req.destroy();
        };
        res.on('data', (d: Buffer) => {
          buf += d.toString();
          if (buf.includes('\n')) done();
        });
        res.on('end', done);
      },
    );
    req.setTimeout(10_000, () => req.destroy(new Error(`no line from ${path} within 10 s`)));
    req.on('error', reject);
    req.end();
  });
}

const vm = (name: string, namespace: string): string =>
  JSON.stringify({
    apiVersion: 'kubevirt.io/v1',
    kind: 'VirtualMachine',
    metadata: { name, namespace },
    spec: {
      runStrategy: 'Halted',
      template: { spec: { domain: { devices: {}, memory: { guest: '128Mi' } } } },
    },
  });

describe('kubectl fidelity', () => {
  test('kubectl apply of a kind the server does not serve says "no matches for kind", for every kubectl version', async () => {
    const manifest = 'apiVersion: example.com/v1\nkind: Gadget\nmetadata: {name: g}\nspec: {size: 1}\n';
    const versions = kubectlVersions();
    assert.ok(versions.length > 0, 'the kubectl dispatcher ships versioned binaries next to it');
    for (const binary of ['kubectl', ...versions]) {
      const r = await run(
        binary,
        [
          '--kubeconfig',
          p.kubeconfigPath,
          '--cache-dir',
          join(p.dataDir, `cache-${binary.split('/').pop() ?? ''}`),
          'apply',
          '-f',
          '-',
        ],
        manifest,
        { HOME: p.dataDir },
      );
      assert.notEqual(r.code, 0, `${binary}: applying an unserved kind must fail`);
      assert.match(
        r.stderr,
        /no matches for kind "Gadget" in version "example\.com\/v1"/,
        `${binary}: ${r.stderr}`,
      );
      assert.doesNotMatch(r.stderr, /proto: cannot parse/, binary);
      // The same validator passes a served kind.
      const version = binary.split('.').pop() ?? 'default';
      const served = await run(
        binary,
        [
          '--kubeconfig',
          p.kubeconfigPath,
          '--cache-dir',
          join(p.dataDir, `cache-${version}`),
          'apply',
          '-f',
          '-',
        ],
        vm(`fid-vm-${version}`, 'default'),
        { HOME: p.dataDir },
      );
      assert.equal(served.code, 0, `${binary}: ${served.stderr}`);
    }
  });

  test('/openapi/v2 answers protobuf to client-go and JSON otherwise', async () => {
    const proto = await raw(p, 'GET', '/openapi/v2', undefined, {
      Accept: 'application/com.github.proto-openapi.spec.v2@v1.0+protobuf',
    });
    assert.equal(proto.code, 200);
    assert.equal(proto.headers['content-type'], 'application/com.github.proto-openapi.spec.v2.v1.0+protobuf');
    // Field 1 (swagger, a string): tag 0x0a, length 3, "2.0".
    assert.deepEqual([...Buffer.from(proto.body, 'latin1').subarray(0, 5)], [0x0a, 3, 0x32, 0x2e, 0x30]);
    const json = await raw(p, 'GET', '/openapi/v2', undefined, { Accept: 'application/json' });
    assert.equal(json.json['swagger'], '2.0');
  });

  test('kubectl create configmap and secret generic without -n land in the default namespace', async () => {
    assert.match(
      await ok(['create', 'configmap', 'fid-cm', '--from-literal=a=b']),
      /configmap\/fid-cm created/,
    );
    assert.match(
      await ok(['create', 'secret', 'generic', 'fid-secret', '--from-literal=k=v']),
      /secret\/fid-secret created/,
    );
    const cm = JSON.parse(await ok(['get', 'configmap', 'fid-cm', '-o', 'json'])) as {
      metadata: { namespace: string };
      data: Record<string, string>;
    };
    assert.equal(cm.metadata.namespace, 'default');
    assert.deepEqual(cm.data, { a: 'b' });
    const secret = JSON.parse(await ok(['get', 'secret', 'fid-secret', '-o', 'json'])) as {
      data: Record<string, string>;
    };
    assert.equal(Buffer.from(secret.data['k'] ?? '', 'base64').toString(), 'v');
    assert.match(await ok(['get', 'configmap', 'fid-cm']), /^fid-cm\s+1\s+\d+s$/m);
  });

  test('kubectl get svc prints PORT(S) with every port and its node port', async () => {
    await ok(
      ['apply', '-f', '-'],
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 'fid-svc' },
        spec: {
          type: 'NodePort',
          selector: { app: 'fid' },
          ports: [
            { name: 'ssh', port: 22, protocol: 'TCP' },
            { name: 'http', port: 80, protocol: 'TCP' },
          ],
        },
      }),
    );
    const out = await ok(['get', 'svc', 'fid-svc']);
    assert.match(out.split('\n')[0] ?? '', /^NAME\s+TYPE\s+CLUSTER-IP\s+EXTERNAL-IP\s+PORT\(S\)\s+AGE$/);
    assert.match(out, /^fid-svc\s+NodePort\s+\S+\s+<none>\s+22:\d+\/TCP,80:\d+\/TCP\s+\d+s$/m);
  });
});

describe('kube-apiserver request semantics', () => {
  test('?watch=True (the Python client) is a watch; ?watch=0 and ?watch=FALSE are lists', async () => {
    const watch = await firstLine('/api/v1/namespaces/default/configmaps?watch=True');
    assert.equal(watch.code, 200);
    assert.match(watch.line, /^\{"type":"ADDED","object":\{/);
    for (const no of ['0', 'FALSE', 'false']) {
      const list = await raw(p, 'GET', `/api/v1/namespaces/default/configmaps?watch=${no}`);
      assert.equal(list.json['kind'], 'ConfigMapList', `watch=${no}`);
    }
  });

  test('DELETE of a cluster-wide collection of a namespaced kind is 405 and deletes nothing', async () => {
    await ok(['create', 'namespace', 'fid-a']);
    await ok(['apply', '-f', '-'], vm('keep-a', 'fid-a'));
    await ok(['apply', '-f', '-'], vm('keep-b', 'default'));
    for (const path of [
      '/apis/kubevirt.io/v1/virtualmachines',
      '/apis/kubevirt.io/v1/namespaces/fid-a/%2e%2e/%2e%2e/virtualmachines',
      '/apis/kubevirt.io/v1/namespaces/%2e%2e/virtualmachines',
      '/api/v1/configmaps',
    ]) {
      const r = await rawPath('DELETE', path);
      assert.equal(r.code, 405, `${path}: ${r.body}`);
      assert.equal((JSON.parse(r.body) as { kind: string }).kind, 'Status');
    }
    const keep = async (): Promise<string[]> =>
      (await ok(['get', 'vm', '-A', '-o', 'name']))
        .trim()
        .split('\n')
        .filter((n) => n.startsWith('virtualmachine.kubevirt.io/keep-'))
        .sort();
    assert.deepEqual(await keep(), [
      'virtualmachine.kubevirt.io/keep-a',
      'virtualmachine.kubevirt.io/keep-b',
    ]);
    // Inside one namespace, deletecollection works and stays there.
    const r = await raw(p, 'DELETE', '/apis/kubevirt.io/v1/namespaces/fid-a/virtualmachines');
    assert.equal(r.code, 200, r.body);
    assert.deepEqual(await keep(), ['virtualmachine.kubevirt.io/keep-b']);
  });

  test('the Node carries the host system info kube always sets', async () => {
    const nodes = JSON.parse(await ok(['get', 'nodes', '-o', 'json'])) as {
      items: { status: { nodeInfo: Record<string, string> } }[];
    };
    const info = nodes.items[0]?.status.nodeInfo ?? {};
    const version = String((await raw(p, 'GET', '/version')).json['gitVersion']);
    assert.equal(info['bootID'], readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim());
    assert.equal(info['machineID'], readFileSync('/etc/machine-id', 'utf8').trim());
    assert.equal(info['kernelVersion'], readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim());
    assert.match(
      info['systemUUID'] ?? '',
      /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/,
    );
    const qemu = await run('qemu-system-x86_64', ['--version'], undefined, {});
    const qemuVersion = /version (\d+\.\d+\.\d+)/.exec(qemu.stdout)?.[1];
    assert.ok(qemuVersion !== undefined, `qemu-system-x86_64 --version: ${qemu.stdout}${qemu.stderr}`);
    assert.equal(info['containerRuntimeVersion'], `qemu://${qemuVersion}`);
    assert.equal(info['kubeletVersion'], version);
    assert.equal(info['kubeProxyVersion'], version);
    assert.equal(info['operatingSystem'], 'linux');
    assert.equal(info['architecture'], process.arch === 'x64' ? 'amd64' : process.arch);
    const pretty = /^PRETTY_NAME="?([^"\n]*)"?$/m.exec(readFileSync('/etc/os-release', 'utf8'))?.[1];
    assert.equal(info['osImage'], pretty);
    assert.match(
      await ok(['get', 'nodes', '-o', 'wide']),
      new RegExp(`Ready\\s+<none>\\s+\\S+\\s+${version.replace(/[.+]/g, '\\$&')}`),
    );
  });
});
