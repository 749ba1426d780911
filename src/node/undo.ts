/**
 * An undo stack for multi-step setup: each step that creates something pushes how to remove it;
 * on failure the stack runs in reverse, and a failing undo step does not stop the others.
 */
export class UndoStack {
  private readonly steps: { what: string; run: () => Promise<void> | void }[] = [];

  push(what: string, run: () => Promise<void> | void): void {
    this.steps.push({ what, run });
  }

  /** Runs every step, newest first; returns the failures as messages. */
  async rollback(): Promise<string[]> {
    const failures: string[] = [];
    for (const step of this.steps.splice(0).reverse()) {
      try {
        await step.run();
      } catch (err) {
        failures.push(`failed to ${step.what}: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
    return failures;
  }

  /** Setup succeeded: nothing is undone. */
  commit(): void {
    this.steps.length = 0;
  }
}
