/**
 * The budget of one request's CEL evaluation, like kube-apiserver's runtime cost budget: every
 * rule evaluated and every comprehension iteration is one step, and the whole request also has a
 * wall-clock deadline. Evaluation is synchronous, so one meter at a time is current; compiled rules
 * ask it through `chargeStep` at each loop iteration and stop as soon as it says no.
 */

/** Steps (rule evaluations plus loop iterations) in one request. */
export const MAX_RULE_STEPS = 100_000;
/** Wall-clock time one request may spend evaluating rules. */
export const MAX_RULE_MILLIS = 1000;

export class Meter {
  steps = 0;
  exhausted = false;
  private readonly deadline: number;

  constructor(
    private readonly maxSteps = MAX_RULE_STEPS,
    maxMillis = MAX_RULE_MILLIS,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.deadline = now() + maxMillis;
  }

  /** Counts `n` steps; false (for good) once the budget or the deadline is passed. */
  charge(n = 1): boolean {
    if (this.exhausted) return false;
    this.steps += n;
    // The clock is read every 256 steps: cheap, and an iteration is short.
    if (this.steps > this.maxSteps || ((this.steps & 0xff) === 0 && this.now() > this.deadline))
      this.exhausted = true;
    return !this.exhausted;
  }
}

let current: Meter | undefined;

/** Runs `f` with `meter` as the budget that compiled rules charge. */
export function metered<T>(meter: Meter, f: () => T): T {
  const previous = current;
  current = meter;
  try {
    return f();
  } finally {
    current = previous;
  }
}

/** Called by every loop iteration of a compiled rule: true while the budget lasts. */
export function chargeStep(): boolean {
  return current === undefined ? true : current.charge();
}
