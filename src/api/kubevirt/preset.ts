/**
 * kubevirt.io/v1 VirtualMachineInstancePreset (deprecated upstream, still served): domain settings
 * merged into every new VMI whose labels its selector matches, as KubeVirt's mutating webhook did.
 * A preset whose settings conflict with the VMI's own is not applied (the caller says so in an
 * Event); an applied one is recorded in the annotation
 * `virtualmachineinstancepreset.kubevirt.io/<name>: kubevirt.io/v1`. Here presets are applied
 * when the VM controller creates a VMI (src/controllers/vm), not to VMIs created directly.
 */
import { isDeepStrictEqual } from 'node:util';
import type { FieldError, KindDefinition } from '../kind.js';
import { ObjectMeta } from '../meta.js';
import { LabelSelector } from '../core/refs.js';
import { labelSelectorFromObject, SelectorError } from '../selectors.js';
import { Obj, Preserve, Type, type Static, opt } from '../schema.js';
import type { DomainSpec } from './domain.js';

export const PRESET_ANNOTATION_PREFIX = 'virtualmachineinstancepreset.kubevirt.io/';
export const PRESET_DEPRECATION =
  'kubevirt.io/v1 VirtualMachineInstancePresets is now deprecated and will be removed in v2.';

export const VirtualMachineInstancePreset = Obj('Domain settings for the VMIs a selector matches.', {
  apiVersion: Type.String(),
  kind: Type.String(),
  metadata: ObjectMeta,
  spec: Obj('Which VMIs, and what they get.', {
    selector: LabelSelector('The VMIs (by their labels) the preset applies to.'),
    domain: opt(Preserve('Domain settings (as a VMI spec.domain), merged where the VMI sets nothing.')),
  }),
});
export type VirtualMachineInstancePreset = Static<typeof VirtualMachineInstancePreset>;

/** Merges `from` into `into` where `into` is unset; the paths where both are set and differ. */
function merge(
  into: Record<string, unknown>,
  from: Record<string, unknown>,
  at: string,
  conflicts: string[],
): void {
  for (const [key, value] of Object.entries(from)) {
    const mine = into[key];
    const path = `${at}.${key}`;
    if (mine === undefined) into[key] = structuredClone(value);
    else if (isObject(mine) && isObject(value)) merge(mine, value, path, conflicts);
    else if (!isDeepStrictEqual(mine, value)) conflicts.push(path);
  }
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

export interface PresetResult {
  domain: DomainSpec;
  /** Names of the presets merged in. */
  applied: string[];
  /** Presets left out, with the fields that conflict. */
  conflicts: { preset: string; paths: string[] }[];
}

/** The domain with every matching preset (by name) merged in, as KubeVirt applied them. */
export function applyPresets(
  domain: DomainSpec,
  labels: Readonly<Record<string, string>> | undefined,
  presets: readonly VirtualMachineInstancePreset[],
): PresetResult {
  let out = structuredClone(domain) as unknown as Record<string, unknown>;
  const applied: string[] = [];
  const conflicts: PresetResult['conflicts'] = [];
  const sorted = [...presets].sort((a, b) => (a.metadata.name ?? '').localeCompare(b.metadata.name ?? ''));
  for (const p of sorted) {
    let matches = false;
    try {
      matches = labelSelectorFromObject(p.spec.selector).matches(labels);
    } catch (err) {
      if (!(err instanceof SelectorError)) throw err;
    }
    if (!matches || p.spec.domain === undefined) continue;
    const trial = structuredClone(out);
    const paths: string[] = [];
    merge(trial, p.spec.domain, 'spec.domain', paths);
    if (paths.length > 0) conflicts.push({ preset: p.metadata.name ?? '', paths });
    else {
      out = trial;
      applied.push(p.metadata.name ?? '');
    }
  }
  return { domain: out as unknown as DomainSpec, applied, conflicts };
}

function validatePreset(p: VirtualMachineInstancePreset): FieldError[] {
  try {
    labelSelectorFromObject(p.spec.selector);
    return [];
  } catch (err) {
    if (!(err instanceof SelectorError)) throw err;
    return [{ path: 'spec.selector', message: `Invalid value: ${err.message}` }];
  }
}

export const virtualMachineInstancePresetKind: KindDefinition = {
  group: 'kubevirt.io',
  version: 'v1',
  kind: 'VirtualMachineInstancePreset',
  plural: 'virtualmachineinstancepresets',
  singular: 'virtualmachineinstancepreset',
  shortNames: ['vmipreset', 'vmipresets'],
  categories: ['all'],
  namespaced: true,
  description:
    'VirtualMachineInstancePreset (deprecated) merges domain settings into new VMIs its selector matches.',
  schema: VirtualMachineInstancePreset,
  statusSubresource: false,
  printerColumns: [{ name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' }],
  validate: (o) => validatePreset(o as unknown as VirtualMachineInstancePreset),
  warnings: () => [PRESET_DEPRECATION],
};
