import { describe, expect, it } from 'vitest';
import { SlidingWindowCounter } from './rate-limit';

describe('SlidingWindowCounter', () => {
  it('limits at the threshold and forgets hits older than the window', () => {
    let now = 1_000_000;
    const c = new SlidingWindowCounter(3, 60_000, () => now);
    c.hit('a');
    now += 20_000;
    c.hit('a');
    c.hit('a');
    expect(c.isLimited('a')).toBe(true);
    expect(c.isLimited('b')).toBe(false);
    now += 40_000; // the first hit leaves the window
    expect(c.count('a')).toBe(2);
    expect(c.isLimited('a')).toBe(false);
  });

  it('keeps memory bounded by dropping the stalest key', () => {
    const c = new SlidingWindowCounter(1, 60_000, () => 0, 3);
    for (const k of ['a', 'b', 'c', 'd']) c.hit(k);
    expect(c.count('a')).toBe(0);
    expect(c.count('d')).toBe(1);
  });
});
