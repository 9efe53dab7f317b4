/** Runs at most `concurrency` jobs at once; the rest wait in FIFO order. */
export class JobLimiter {
  private running = 0;
  private readonly waiting: Array<() => void> = [];
  private readonly idleWaiters: Array<() => void> = [];

  constructor(private readonly concurrency: number) {
    if (!Number.isInteger(concurrency) || concurrency < 1) {
      throw new RangeError(`Expected a positive integer for concurrency but received ${String(concurrency)}`);
    }
  }

  get pending(): number {
    return this.running + this.waiting.length;
  }

  /** Resolves once no job is running or waiting (at once when none is). */
  whenIdle(): Promise<void> {
    if (this.running === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  async run<T>(job: () => Promise<T>): Promise<T> {
    if (this.running >= this.concurrency) {
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    } else {
      this.running++;
    }
    try {
      return await job();
    } finally {
      const next = this.waiting.shift();
      // Hand the slot straight to the next job (running stays the same), or free it.
      if (next) next();
      else this.running--;
      if (this.running === 0) this.idleWaiters.splice(0).forEach((idle) => idle());
    }
  }
}
