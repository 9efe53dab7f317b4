/** At most N calls at once per key, first come first served; a waiter whose signal aborts leaves the queue. */
import { abortError } from './token';

/** ALEX's write limits are unknown (ALEX.md): at most this many creates in flight per facility by default. */
export const DEFAULT_ALEX_WRITES_PER_FACILITY = 2;
/** Per ALEX host in each of the two pools: well above the creates the write limit lets through at once. */
export const DEFAULT_ALEX_MAX_SOCKETS = 256;

export class KeyedLimiter {
  private readonly active = new Map<string, number>();
  private readonly queues = new Map<string, Array<{ grant: () => void }>>();

  constructor(private readonly limit: number) {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`Expected an integer ≥ 1 for the write limit but received ${limit}`);
  }

  async run<T>(key: string, fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    await this.acquire(key, signal);
    try {
      return await fn();
    } finally {
      this.release(key);
    }
  }

  /** Calls waiting for a slot now, all keys together. */
  waiting(): number {
    return [...this.queues.values()].reduce((n, queue) => n + queue.length, 0);
  }

  private acquire(key: string, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.reject(abortError());
    const n = this.active.get(key) ?? 0;
    if (n < this.limit) {
      this.active.set(key, n + 1);
      return Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => {
      const queue = this.queues.get(key) ?? [];
      this.queues.set(key, queue);
      const waiter = {
        grant: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
      };
      const onAbort = () => {
        const i = queue.indexOf(waiter);
        if (i >= 0) queue.splice(i, 1);
        reject(abortError());
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      queue.push(waiter);
    });
  }

  private release(key: string): void {
    const queue = this.queues.get(key);
    const next = queue?.shift();
    if (next) {
      // The slot passes straight to the next waiter: the active count stays the same.
      next.grant();
      return;
    }
    if (queue) this.queues.delete(key);
    const n = (this.active.get(key) ?? 1) - 1;
    if (n <= 0) this.active.delete(key);
    else this.active.set(key, n);
  }
}
