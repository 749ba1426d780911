/**
 * Which backend takes the next connection: round robin over the healthy ones, or the one with the
 * fewest active connections (ties go round robin), with optional client-IP affinity as
 * `sessionAffinity: ClientIP` asks.
 */
export const ALGORITHMS = ['round-robin', 'least-connections'] as const;
export type Algorithm = (typeof ALGORITHMS)[number];

export interface Candidate {
  id: string;
  /** Connections (TCP) or sessions (UDP) open now. */
  active: number;
}

export class Balancer {
  private next = 0;
  private readonly affinity = new Map<string, { id: string; until: number }>();

  constructor(
    private readonly algorithm: Algorithm,
    private readonly affinityMs: number | undefined,
    private readonly now: () => number = Date.now,
  ) {}

  /** Picks among `candidates` (already filtered to usable backends); undefined when there is none. */
  pick<T extends Candidate>(candidates: readonly T[], client?: string): T | undefined {
    if (candidates.length === 0) return undefined;
    if (this.affinityMs !== undefined && client !== undefined) {
      const sticky = this.affinity.get(client);
      const found =
        sticky !== undefined && sticky.until > this.now()
          ? candidates.find((c) => c.id === sticky.id)
          : undefined;
      const chosen = found ?? this.choose(candidates);
      this.affinity.set(client, { id: chosen.id, until: this.now() + this.affinityMs });
      return chosen;
    }
    return this.choose(candidates);
  }

  private choose<T extends Candidate>(candidates: readonly T[]): T {
    const start = this.next++ % candidates.length;
    const rotated = [...candidates.slice(start), ...candidates.slice(0, start)];
    if (this.algorithm === 'round-robin') return rotated[0] as T;
    return rotated.reduce((best, c) => (c.active < best.active ? c : best));
  }
}
