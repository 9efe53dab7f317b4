/** Timers a quiet spell waits on (tests pass their own clock). */
export interface SpellTimers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** The system's timers, unref'd: a spell still running never keeps the app open. */
const SYSTEM_TIMERS: SpellTimers = {
  setTimeout: (fn, ms) => setTimeout(fn, ms).unref(),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

/**
 * A phone answers one upload and sends its next within tens of milliseconds; 200 ms without one means the phone paused.
 * (Send never waits for it: a render Send takes goes at once.)
 */
export const QUIET_SPELL_MS = 200;

/**
 * Whether photos are still coming in: each upload counts from its first byte (`begin`) until it is answered (`end`), its
 * first look and master included; the spell is quiet once none is in and `quietMs` have passed since the last one ended.
 */
export class QuietSpell {
  private incoming = 0;
  /** Uploads begun since the spell was last quiet. */
  private begun = 0;
  private still = true;
  private timer: unknown = undefined;
  private waiters: Array<() => void> = [];

  constructor(
    private readonly quietMs = QUIET_SPELL_MS,
    private readonly timers: SpellTimers = SYSTEM_TIMERS,
  ) {}

  begin(): void {
    this.incoming += 1;
    this.begun += 1;
    this.still = false;
    if (this.timer !== undefined) this.timers.clearTimeout(this.timer);
    this.timer = undefined;
  }

  end(): void {
    if (this.incoming === 0) return;
    this.incoming -= 1;
    if (this.incoming > 0) return;
    this.timer = this.timers.setTimeout(() => {
      this.timer = undefined;
      this.still = true;
      this.begun = 0;
      this.waiters.splice(0).forEach((resolve) => resolve());
    }, this.quietMs);
  }

  /** No upload in, none for `quietMs`. */
  get quiet(): boolean {
    return this.still;
  }

  /** At most one upload has begun since the spell was last quiet: a photo not from a phone, or the first of a run. */
  get firstOfRun(): boolean {
    return this.begun <= 1;
  }

  /** Resolves once the spell is quiet (at once when it is). */
  whenQuiet(): Promise<void> {
    if (this.still) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }
}
