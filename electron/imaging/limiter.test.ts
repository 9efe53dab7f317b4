import { describe, expect, it } from 'vitest';
import { JobLimiter } from './limiter';

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

describe('JobLimiter', () => {
  it('never runs more than its concurrency, and runs everything in FIFO order', async () => {
    const limiter = new JobLimiter(2);
    const gates = Array.from({ length: 6 }, deferred);
    const started: number[] = [];
    let running = 0;
    let peak = 0;
    const jobs = gates.map((g, i) =>
      limiter.run(async () => {
        started.push(i);
        running++;
        peak = Math.max(peak, running);
        await g.promise;
        running--;
        return i;
      }),
    );
    await new Promise((r) => setImmediate(r));
    expect(started).toEqual([0, 1]);
    expect(limiter.pending).toBe(6);
    gates[1]?.resolve();
    await new Promise((r) => setImmediate(r));
    expect(started).toEqual([0, 1, 2]);
    for (const g of gates) g.resolve();
    expect(await Promise.all(jobs)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(started).toEqual([0, 1, 2, 3, 4, 5]);
    expect(peak).toBe(2);
    expect(limiter.pending).toBe(0);
  });

  it('whenIdle resolves only once no job is running or waiting, and at once when none is', async () => {
    const limiter = new JobLimiter(1);
    await limiter.whenIdle();
    const gates = [deferred(), deferred()];
    const jobs = gates.map((g) => limiter.run(() => g.promise));
    let idle = false;
    void limiter.whenIdle().then(() => (idle = true));
    gates[0]?.resolve();
    await new Promise((r) => setImmediate(r));
    expect(idle).toBe(false);
    gates[1]?.resolve();
    await Promise.all(jobs);
    await new Promise((r) => setImmediate(r));
    expect(idle).toBe(true);
  });

  it('a failing job frees its slot', async () => {
    const limiter = new JobLimiter(1);
    await expect(limiter.run(() => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(await limiter.run(() => Promise.resolve(7))).toBe(7);
  });

  it('rejects a nonsensical concurrency', () => {
    expect(() => new JobLimiter(0)).toThrow(/positive integer/);
  });
});
