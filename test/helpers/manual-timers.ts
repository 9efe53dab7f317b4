/**
 * Timers on a manual clock (tests): `setTimeout` is due at now() + ms of that clock, and fires only when the
 * test moves the clock past it with `advance()`. Satisfies electron/core/verify.ts's VerifyTimers.
 */
export class ManualTimers {
  private seq = 0;
  private readonly due = new Map<number, { at: number; fn: () => void }>();

  constructor(private readonly clock: { now(): number; advance(ms: number): void }) {}

  readonly setTimeout = (fn: () => void, ms: number): unknown => {
    const id = ++this.seq;
    this.due.set(id, { at: this.clock.now() + Math.max(0, ms), fn });
    return id;
  };

  readonly clearTimeout = (handle: unknown): void => {
    this.due.delete(handle as number);
  };

  /** Timers not yet fired. */
  get size(): number {
    return this.due.size;
  }

  /** Moves the clock on by `ms` and fires every timer due by then, earliest first (each at its own time). */
  advance(ms: number): void {
    const end = this.clock.now() + ms;
    for (;;) {
      const next = [...this.due.entries()].filter(([, t]) => t.at <= end).sort((a, b) => a[1].at - b[1].at || a[0] - b[0])[0];
      if (next === undefined) break;
      const [id, t] = next;
      this.due.delete(id);
      if (t.at > this.clock.now()) this.clock.advance(t.at - this.clock.now());
      t.fn();
    }
    if (end > this.clock.now()) this.clock.advance(end - this.clock.now());
  }
}
