/** Work in flight: idle() waits for every tracked promise, including work started while waiting, and survives failures. */
import { describe, expect, it } from 'vitest';
import { PendingWork } from './pending-work';

function deferred(): { promise: Promise<void>; resolve: () => void; reject: (e: Error) => void } {
  let resolve!: () => void;
  let reject!: (e: Error) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

describe('PendingWork', () => {
  it('idle() resolves only after all tracked work, also work started meanwhile and work that failed', async () => {
    const work = new PendingWork();
    const a = deferred();
    const b = deferred();
    const failing = work.track(a.promise);
    let idle = false;
    const waiting = work.idle().then(() => (idle = true));
    void work.track(b.promise);
    a.reject(new Error('render failed'));
    await expect(failing).rejects.toThrow('render failed');
    await Promise.resolve();
    expect(idle).toBe(false);
    b.resolve();
    await waiting;
    expect(idle).toBe(true);
  });

  it('idle() with nothing running resolves at once', async () => {
    await expect(new PendingWork().idle()).resolves.toBeUndefined();
  });
});
