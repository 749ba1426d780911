/**
 * The kinds the API server serves right now: the built-in ones, fixed at start, and those of
 * accepted CustomResourceDefinitions, which come and go at run time. Discovery, OpenAPI and routing
 * are views of this set, rebuilt when it changes; anything else that must know every served
 * resource (an authorizer, the garbage collector) reads `all()` and may listen with `onChange`.
 */
import type { KindDefinition } from '../api/kind.js';

export class ServedKinds {
  private readonly custom = new Map<string, readonly KindDefinition[]>();
  private readonly listeners = new Set<() => void>();
  private cached: readonly KindDefinition[] | undefined;

  constructor(private readonly builtIn: readonly KindDefinition[]) {}

  /** Every served kind: built-in first, then the CRDs' in the order they were accepted. */
  all(): readonly KindDefinition[] {
    this.cached ??= [...this.builtIn, ...[...this.custom.values()].flat()];
    return this.cached;
  }

  /** Every served kind but those of one CRD: what its names must not collide with. */
  allExcept(crdName: string): readonly KindDefinition[] {
    return [...this.builtIn, ...[...this.custom].filter(([n]) => n !== crdName).flatMap(([, defs]) => defs)];
  }

  /** The CRD (by name) that serves group/plural, or undefined for a built-in or unknown resource. */
  crdServing(group: string, plural: string): string | undefined {
    for (const [name, defs] of this.custom)
      if (defs.some((d) => d.group === group && d.plural === plural)) return name;
    return undefined;
  }

  isBuiltIn(group: string, plural: string): boolean {
    return this.builtIn.some((d) => d.group === group && d.plural === plural);
  }

  /** Serves (or re-serves, after an update) the kinds of one CRD. */
  set(crdName: string, defs: readonly KindDefinition[]): void {
    this.custom.set(crdName, defs);
    this.changed();
  }

  remove(crdName: string): void {
    if (this.custom.delete(crdName)) this.changed();
  }

  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private changed(): void {
    this.cached = undefined;
    for (const listener of this.listeners) listener();
  }
}
