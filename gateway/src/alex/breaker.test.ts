import { describe, expect, it } from 'vitest';
import { CircuitBreaker } from './breaker';

function breaker(openMs = 1000) {
  const clock = { now: 0 };
  return { clock, b: new CircuitBreaker({ windowSize: 20, failureRatio: 0.5, openMs }, () => clock.now) };
}

function run(b: CircuitBreaker, outcomes: boolean[]): void {
  for (const ok of outcomes) {
    const d = b.acquire();
    if (!d.ok) throw new Error('refused');
    if (ok) d.permit.success();
    else d.permit.failure();
  }
}

describe('CircuitBreaker', () => {
  it('stays closed until the window of 20 holds ≥ 50% failures, then opens', () => {
    const { b } = breaker();
    run(b, Array.from({ length: 19 }, (_, i) => i % 2 === 1)); // 10 failures of 19: window not full yet
    expect(b.current()).toBe('closed');
    run(b, [true]); // 10 of 20
    expect(b.current()).toBe('open');
  });

  it('slides: old failures leave the window', () => {
    const { b } = breaker();
    run(b, [...Array<boolean>(9).fill(false), ...Array<boolean>(11).fill(true)]); // 9 of 20
    expect(b.current()).toBe('closed');
    run(b, Array<boolean>(9).fill(true)); // the 9 failures slide out
    run(b, Array<boolean>(9).fill(false)); // 9 of 20 again
    expect(b.current()).toBe('closed');
  });

  it('while open refuses with the time left; half-open lets exactly one probe through', () => {
    const { b, clock } = breaker(1000);
    run(b, Array<boolean>(20).fill(false));
    clock.now = 400;
    expect(b.acquire()).toEqual({ ok: false, retryAfterMs: 600 });
    clock.now = 1000;
    expect(b.current()).toBe('half-open');
    const probe = b.acquire();
    expect(probe.ok && probe.permit.probe).toBe(true);
    expect(b.acquire().ok).toBe(false);
    expect(b.acquire().ok).toBe(false);
    if (probe.ok) probe.permit.failure();
    expect(b.current()).toBe('open');
    clock.now = 2000;
    const second = b.acquire();
    if (second.ok) second.permit.success();
    expect(b.current()).toBe('closed');
    expect(b.acquire().ok).toBe(true);
  });

  it('a cancelled probe frees the slot for the next one; a permit reports once', () => {
    const { b, clock } = breaker(10);
    run(b, Array<boolean>(20).fill(false));
    clock.now = 10;
    const probe = b.acquire();
    if (probe.ok) {
      probe.permit.release();
      probe.permit.success(); // ignored: already released
    }
    expect(b.current()).toBe('half-open');
    expect(b.acquire().ok).toBe(true);
  });

  it('refuses nonsense settings', () => {
    expect(() => new CircuitBreaker({ windowSize: 0, failureRatio: 0.5, openMs: 1 }, () => 0)).toThrow(RangeError);
    expect(() => new CircuitBreaker({ windowSize: 20, failureRatio: 1.5, openMs: 1 }, () => 0)).toThrow(RangeError);
  });
});
