#!/usr/bin/env bash
# Regenerates src/api/upstream-fields/{kubevirt,cdi}.json: the field paths of every upstream kind
# Hikube serves, derived from KubeVirt's and CDI's published OpenAPI (api/openapi-spec/swagger.json)
# at a pinned release. Facts about their API, kept as our data; see src/api/upstream-fields/derive.ts.
# Usage: scripts/upstream-fields.sh KUBEVIRT_GIT_DIR KUBEVIRT_TAG CDI_GIT_DIR CDI_TAG
#   e.g. scripts/upstream-fields.sh ~/src/kubevirt/.git v1.9.0 ~/src/containerized-data-importer/.git v1.66.0
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -eq 4 ] || { sed -n '2,6p' "$0" >&2; exit 2; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
git --git-dir="$1" show "$2:api/openapi-spec/swagger.json" >"$tmp/kubevirt.json"
git --git-dir="$3" show "$4:api/openapi-spec/swagger.json" >"$tmp/cdi.json"
npx tsc -p tsconfig.json
node --input-type=module - "$tmp" "$2" "$4" <<'JS'
import { readFileSync, writeFileSync } from 'node:fs';
import { kinds } from './dist/src/api/registry.js';
import { buildFields } from './dist/src/api/upstream-fields/derive.js';
const [dir, kubevirtTag, cdiTag] = process.argv.slice(2);
const upstream = kinds.filter((k) => k.group.endsWith('kubevirt.io'));
const isCdi = (k) => k.group.startsWith('cdi.') || k.group.startsWith('upload.cdi.');
const sources = [
  ['kubevirt', 'kubevirt/kubevirt', kubevirtTag, upstream.filter((k) => !isCdi(k))],
  ['cdi', 'kubevirt/containerized-data-importer', cdiTag, upstream.filter(isCdi)],
];
for (const [name, repository, release, served] of sources) {
  const doc = JSON.parse(readFileSync(`${dir}/${name}.json`, 'utf8'));
  const fields = buildFields(doc, { repository, release, file: 'api/openapi-spec/swagger.json' }, served);
  writeFileSync(`src/api/upstream-fields/${name}.json`, `${JSON.stringify(fields, null, 1)}\n`);
  console.log(`${name} ${release}: ${Object.values(fields.kinds).flat().length} paths in ${Object.keys(fields.kinds).length} kinds`);
}
JS
npx prettier --write src/api/upstream-fields/*.json >/dev/null
