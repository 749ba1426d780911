/**
 * `hikube audit`'s filters and table over a log that mixes the API server's events with the export
 * server's downloads, each made by the function that writes it in the platform (auditEvent,
 * downloadEvent): a resource given as kubectl takes it (short name, kind, plural.group) selects
 * the downloads, verb, namespace and user narrow them, and the wide table tells what each sent.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { VirtualMachineExport } from '../../../src/api/export/export.js';
import { requestAttributes } from '../../../src/apiserver/auth/attributes.js';
import { auditEvent, type AuditEvent } from '../../../src/apiserver/auth/audit.js';
import type { ApiRequest } from '../../../src/apiserver/http.js';
import { auditMatcher, auditTable, type AuditFilter } from '../../../src/cli/audit-view.js';
import { renderTable } from '../../../src/cli/output.js';
import { downloadEvent, type DownloadRecord } from '../../../src/storage/export/audit.js';
import { parseExportPath } from '../../../src/storage/export/paths.js';

const request = (url: string): ApiRequest =>
  ({
    url,
    headers: { 'user-agent': 'curl/8' },
    socket: { remoteAddress: '10.0.0.9' },
  }) as unknown as ApiRequest;

const at = (minute: number): Date => new Date(Date.UTC(2026, 11, 7, 12, minute, 0, 250));

function exportObject(ns: string, name: string): VirtualMachineExport {
  return {
    apiVersion: 'export.kubevirt.io/v1',
    kind: 'VirtualMachineExport',
    metadata: { name, namespace: ns },
    spec: { source: { apiGroup: 'kubevirt.io', kind: 'VirtualMachine', name: 'web' } },
    status: { tokenSecretRef: `export-token-${name}` },
  };
}

/** A download of `path` at `minute`: accepted (with the bytes sent) or refused for its token. */
function download(path: string, minute: number, accepted: boolean, bytes: number): AuditEvent {
  const ask = parseExportPath(path);
  assert.ok(ask, path);
  const record: DownloadRecord = {
    received: at(minute),
    ask,
    token: accepted ? 'the-right-token' : 'a-wrong-token',
    ...(accepted ? { accepted: exportObject(ask.namespace, ask.name) } : {}),
    bytes,
    result: accepted ? 'complete' : 'refused',
  };
  return downloadEvent(
    request(`${path}?x-kubevirt-export-token=secret`),
    record,
    accepted ? 200 : 401,
    at(minute),
  );
}

function apiCall(method: string, path: string, user: string, code: number, minute: number): AuditEvent {
  const attrs = requestAttributes(method, path, new URLSearchParams());
  return auditEvent(
    request(path),
    attrs,
    { username: user, groups: ['system:authenticated'] },
    code,
    at(minute),
    at(minute),
  );
}

const events: Record<string, AuditEvent> = {
  aliceCreatesVm: apiCall('POST', '/apis/kubevirt.io/v1/namespaces/default/virtualmachines', 'alice', 201, 0),
  aliceCreatesExport: apiCall(
    'POST',
    '/apis/export.kubevirt.io/v1/namespaces/default/virtualmachineexports',
    'alice',
    201,
    1,
  ),
  served: download('/exports/default/ex1/volumes/disk/disk.img.gz', 2, true, 1048576),
  refused: download('/exports/default/ex1/volumes/disk/disk.img', 3, false, 0),
  manifest: download('/exports/team/ex2/manifests/all', 4, true, 2048),
  bobDenied: apiCall('GET', '/apis/kubevirt.io/v1/namespaces/team/virtualmachines/web', 'bob', 403, 5),
};
const all = Object.values(events);
const labelOf = (e: AuditEvent): string => Object.keys(events).find((k) => events[k] === e) ?? '?';

describe('hikube audit filters select export downloads', () => {
  const cases: [AuditFilter, string[]][] = [
    [{ resource: 'vmexport' }, ['aliceCreatesExport', 'served', 'refused', 'manifest']],
    [{ resource: 'virtualmachineexports' }, ['aliceCreatesExport', 'served', 'refused', 'manifest']],
    [{ resource: 'VirtualMachineExport' }, ['aliceCreatesExport', 'served', 'refused', 'manifest']],
    [
      { resource: 'virtualmachineexports.export.kubevirt.io' },
      ['aliceCreatesExport', 'served', 'refused', 'manifest'],
    ],
    [{ resource: 'virtualmachineexports.kubevirt.io' }, []],
    [{ resource: 'vm' }, ['aliceCreatesVm', 'bobDenied']],
    [{ resource: 'vmexport', verb: 'get' }, ['served', 'refused', 'manifest']],
    [{ verb: 'get' }, ['served', 'refused', 'manifest', 'bobDenied']],
    [{ namespace: 'team' }, ['manifest', 'bobDenied']],
    [{ resource: 'vmexport', namespace: 'team' }, ['manifest']],
    [{ user: 'system:export-token:default:ex1' }, ['served']],
    [{ user: 'system:anonymous', resource: 'vmexport' }, ['refused']],
    [{ resource: 'vmexport', since: at(3).getTime() }, ['refused', 'manifest']],
    [{}, Object.keys(events)],
  ];
  for (const [filter, expected] of cases)
    test(JSON.stringify(filter), () => {
      assert.deepEqual(all.filter(auditMatcher(filter)).map(labelOf), expected);
    });
});

describe('hikube audit table', () => {
  const downloads = all.filter(auditMatcher({ resource: 'vmexport', verb: 'get' }));

  test('a row per download: who, the export, the code', () => {
    const lines = renderTable(auditTable(downloads), false, false).split('\n');
    assert.match(lines[0] ?? '', /^TIME +USER +VERB +RESOURCE +NAMESPACE +NAME +CODE$/);
    assert.match(
      lines[1] ?? '',
      /^2026-12-07T12:02:00Z +system:export-token:default:ex1 +get +virtualmachineexports\.export\.kubevirt\.io +default +ex1 +200$/,
    );
    assert.match(
      lines[2] ?? '',
      /system:anonymous +get +virtualmachineexports\.export\.kubevirt\.io +default +ex1 +401$/,
    );
    assert.equal(lines.length, 4);
  });

  test('wide: the source address and what each download sent', () => {
    const lines = renderTable(auditTable(downloads), true, false).split('\n');
    assert.match(lines[0] ?? '', /CODE +SOURCE +DETAIL$/);
    assert.match(
      lines[1] ?? '',
      /200 +10\.0\.0\.9 +volume disk \(gzip\), of VirtualMachine\/web, 1048576 bytes, complete$/,
    );
    assert.match(lines[2] ?? '', /401 +10\.0\.0\.9 +volume disk \(raw\), 0 bytes, refused$/);
    assert.match(
      lines[3] ?? '',
      /200 +10\.0\.0\.9 +manifest all, of VirtualMachine\/web, 2048 bytes, complete$/,
    );
    const api = renderTable(auditTable([events.bobDenied as AuditEvent]), true, false).split('\n');
    assert.match(api[1] ?? '', /403 +10\.0\.0\.9$/, 'an API event without a decision has no detail');
  });
});
