/** Runs at most `concurrency` jobs at once; the rest wait in FIFO order. */
export class JobLimiter {
  private running = 0;
  private readonly waiting: Array<() => void> = [];
  private peak = 0;

  constructor(private readonly concurrency: number) {
    if (!Number.isInteger(concurrency) || concurrency < 1) {
      throw new RangeError(`Expected a positive integer for concurrency but received ${String(concurrency)}`);
    }
  }

  /** Most jobs seen running at the same time (for tests and diagnostics). */
  get peakRunning(): number {
    return this.peak;
  }

  get pending(): number {
    return this.running + this.waiting.length;
  }

  async run<T>(job: () => Promise<T>): Promise<T> {
    if (this.running >= this.concurrency) {
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    } else {
      this.running++;
    }
    this.peak = Math.max(this.peak, this.running);
    try {
      return await job();
    } finally {
      const next = this.waiting.shift();
      // Hand the slot straight to the next job (running stays the same), or free it.
      if (next) next();
      else this.running--;
    }
  }
}
