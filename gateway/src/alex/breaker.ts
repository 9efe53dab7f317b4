/**
 * Circuit breaker per practice facility (rules: ./README.md "Breaker per facility"): a facility whose Hybrid
 * Connection is down is not hammered by every waiting image. Only 429, 5xx, network and timeout count as
 * failures; any other answer proves ALEX is there.
 */
export interface BreakerOptions {
  /** The last this many calls; the breaker opens once the window is full and their failure share ≥ failureRatio. */
  windowSize: number;
  failureRatio: number;
  openMs: number;
}

export const DEFAULT_BREAKER: BreakerOptions = { windowSize: 20, failureRatio: 0.5, openMs: 30_000 };

export type BreakerState = 'closed' | 'open' | 'half-open';

/** What `acquire` hands back: report the call's outcome exactly once. */
export interface BreakerPermit {
  /** True when this call is the single half-open probe. */
  probe: boolean;
  success(): void;
  failure(): void;
  /** The call ended without an answer that says anything about ALEX (e.g. cancelled). */
  release(): void;
}

export type BreakerDecision = { ok: true; permit: BreakerPermit } | { ok: false; retryAfterMs: number };

export class CircuitBreaker {
  private readonly window: boolean[] = [];
  private failures = 0;
  private state: BreakerState = 'closed';
  private openedAt = 0;
  private probeInFlight = false;

  constructor(
    private readonly options: BreakerOptions,
    private readonly clock: () => number,
  ) {
    if (options.windowSize < 1 || options.failureRatio <= 0 || options.failureRatio > 1 || options.openMs < 0) {
      throw new RangeError('Expected windowSize ≥ 1, 0 < failureRatio ≤ 1 and openMs ≥ 0 for the circuit breaker');
    }
  }

  current(): BreakerState {
    if (this.state === 'open' && this.clock() - this.openedAt >= this.options.openMs) return 'half-open';
    return this.state;
  }

  /** Asks to make a call. While open (or while the one probe is out) the answer is no. */
  acquire(): BreakerDecision {
    const state = this.current();
    if (state === 'closed') return { ok: true, permit: this.permit(false) };
    if (state === 'half-open' && !this.probeInFlight) {
      this.state = 'half-open';
      this.probeInFlight = true;
      return { ok: true, permit: this.permit(true) };
    }
    const remaining = this.state === 'open' ? this.options.openMs - (this.clock() - this.openedAt) : this.options.openMs;
    return { ok: false, retryAfterMs: Math.max(1, remaining) };
  }

  private permit(probe: boolean): BreakerPermit {
    let done = false;
    const once = (fn: () => void) => () => {
      if (done) return;
      done = true;
      fn();
    };
    return {
      probe,
      success: once(() => this.record(true, probe)),
      failure: once(() => this.record(false, probe)),
      release: once(() => {
        if (probe) this.probeInFlight = false;
      }),
    };
  }

  private record(ok: boolean, probe: boolean): void {
    if (probe) {
      this.probeInFlight = false;
      if (ok) this.reset();
      else this.trip();
      return;
    }
    // A late answer from a call made before the breaker opened does not change an open breaker.
    if (this.state !== 'closed') return;
    this.window.push(!ok);
    if (!ok) this.failures++;
    if (this.window.length > this.options.windowSize) {
      if (this.window.shift() === true) this.failures--;
    }
    if (this.window.length >= this.options.windowSize && this.failures / this.window.length >= this.options.failureRatio) this.trip();
  }

  private trip(): void {
    this.reset();
    this.state = 'open';
    this.openedAt = this.clock();
  }

  private reset(): void {
    this.state = 'closed';
    this.window.length = 0;
    this.failures = 0;
  }
}

/** One breaker per facility, made on first use. */
export class BreakerRegistry {
  private readonly breakers = new Map<string, CircuitBreaker>();
  constructor(
    private readonly options: BreakerOptions,
    private readonly clock: () => number,
  ) {}

  for(facilityId: string): CircuitBreaker {
    const b = this.breakers.get(facilityId) ?? new CircuitBreaker(this.options, this.clock);
    this.breakers.set(facilityId, b);
    return b;
  }

  /** True when there is a breaker and every one is open. */
  allOpen(): boolean {
    return this.breakers.size > 0 && [...this.breakers.values()].every((b) => b.current() === 'open');
  }
}
