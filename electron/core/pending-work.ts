/**
 * Work the core started and nobody awaits (ingest, render, verify, wiping a master, saving the enrolment state):
 * `idle()` resolves once none is running, so tests and `close()` wait on events, never on time.
 */
export class PendingWork {
  private readonly pending = new Set<Promise<unknown>>();

  /** Remember `p` until it settles; answers `p` itself. */
  track<T>(p: Promise<T>): Promise<T> {
    this.pending.add(p);
    void p.finally(() => this.pending.delete(p)).catch(() => undefined);
    return p;
  }

  /** Resolves when no tracked work is running (work started meanwhile is waited for too). */
  async idle(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }
}
