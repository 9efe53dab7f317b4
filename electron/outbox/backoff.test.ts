import { describe, expect, it } from 'vitest';
import { backoffDelayMs } from './outcome';

describe('backoffDelayMs', () => {
  const policy = { baseMs: 2000, maxMs: 300_000 };
  it('doubles per attempt, between half and the full step', () => {
    expect([1, 2, 3, 4].map((a) => backoffDelayMs(a, () => 0, policy))).toEqual([1000, 2000, 4000, 8000]);
    expect([1, 2, 3, 4].map((a) => backoffDelayMs(a, () => 0.999999, policy))).toEqual([2000, 4000, 8000, 16000]);
  });
  it('is capped, even for huge attempt counts', () => {
    expect(backoffDelayMs(50, () => 1, policy)).toBe(300_000);
    expect(backoffDelayMs(1e9, () => 0, policy)).toBe(150_000);
  });
  it('honours Retry-After as a floor, still capped', () => {
    expect(backoffDelayMs(1, () => 0, policy, 30)).toBe(30_000);
    expect(backoffDelayMs(1, () => 0, policy, 86_400)).toBe(300_000);
  });
  it('spreads clients out: 1000 random draws cover the window', () => {
    let s = 1;
    const rnd = () => ((s = (s * 48271) % 2147483647) / 2147483647);
    const d = Array.from({ length: 1000 }, () => backoffDelayMs(3, rnd, policy));
    expect(Math.min(...d)).toBeLessThan(4200);
    expect(Math.max(...d)).toBeGreaterThan(7800);
  });
});
