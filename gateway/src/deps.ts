/** Injected sources of time and randomness, so expiry, lease and retry logic is tested without sleeping. */
import { randomBytes } from 'node:crypto';

export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
}

export interface Random {
  /** Cryptographically strong random bytes. */
  bytes(n: number): Buffer;
}

export const systemClock: Clock = { now: () => Date.now() };
export const cryptoRandom: Random = { bytes: (n) => randomBytes(n) };

/** A clock a test moves by hand. */
export class ManualClock implements Clock {
  constructor(private ms: number = Date.parse('2026-01-15T00:00:00Z')) {}
  now(): number {
    return this.ms;
  }
  advance(ms: number): void {
    this.ms += ms;
  }
  set(ms: number): void {
    this.ms = ms;
  }
}
