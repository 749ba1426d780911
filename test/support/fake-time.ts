/** A clock and timers that move only when the test says so (the Timers port of src/controllers/queue.ts). */
import type { Timers } from '../../src/runtime/queue.js';

export class FakeTime implements Timers {
  private seq = 0;
  private readonly pending = new Map<number, { at: number; fn: () => void }>();

  constructor(public now: Date = new Date('2024-05-01T12:00:00.000Z')) {}

  setTimeout(fn: () => void, ms: number): unknown {
    const id = ++this.seq;
    this.pending.set(id, { at: this.now.getTime() + ms, fn });
    return id;
  }

  clearTimeout(handle: unknown): void {
    this.pending.delete(handle as number);
  }

  /** Timers not yet fired. */
  get armed(): number {
    return this.pending.size;
  }

  /** When the earliest armed timer falls due. */
  nextAt(): number | undefined {
    const times = [...this.pending.values()].map((t) => t.at);
    return times.length === 0 ? undefined : Math.min(...times);
  }

  /**
   * Moves time forward by `ms` one timer at a time, letting the code under test react (`settle`)
   * after each, as real time would: a timer armed in reaction to an earlier one fires too.
   */
  async advanceSettling(ms: number, settle: () => Promise<void>): Promise<void> {
    const until = this.now.getTime() + ms;
    for (;;) {
      const at = this.nextAt();
      if (at === undefined || at > until) break;
      this.advance(Math.max(0, at - this.now.getTime()));
      await settle();
    }
    this.advance(until - this.now.getTime());
    await settle();
  }

  /** Moves time forward by `ms`, firing the timers that fall due, earliest first. */
  advance(ms: number): void {
    const until = this.now.getTime() + ms;
    for (;;) {
      const due = [...this.pending.entries()]
        .filter(([, t]) => t.at <= until)
        .sort((a, b) => a[1].at - b[1].at)[0];
      if (due === undefined) break;
      this.pending.delete(due[0]);
      this.now = new Date(Math.max(this.now.getTime(), due[1].at));
      due[1].fn();
    }
    this.now = new Date(until);
  }
}
