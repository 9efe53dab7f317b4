/** A clock a test moves by hand. */
import type { Clock } from './deps';

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
