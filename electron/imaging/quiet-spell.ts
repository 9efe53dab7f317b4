import type { EarlyRenderClaim } from './types';

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
  /** An ingest of this run (since the spell was last quiet) has had its early render. */
  private claimed = false;
  private still = true;
  private timer: unknown = undefined;
  private waiters: Array<() => void> = [];

  constructor(
    private readonly quietMs = QUIET_SPELL_MS,
    private readonly timers: SpellTimers = SYSTEM_TIMERS,
  ) {}

  begin(): void {
    this.incoming += 1;
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
      this.claimed = false;
      this.waiters.splice(0).forEach((resolve) => resolve());
    }, this.quietMs);
  }

  /** No upload in, none for `quietMs`. */
  get quiet(): boolean {
    return this.still;
  }

  /**
   * May this ingest begin its render from its own pixels? When the render queue has room while no phone is sending (the
   * spell is quiet); beside the other ingests for the first ingest to ask in a run of uploads (the phone sends two at a
   * time: the first photo, not both — the one a GP who sends at once waits for); the rest of the run wait for the pause
   * like any render ahead.
   */
  claimEarlyRender(): EarlyRenderClaim {
    if (this.still) return 'if-room';
    if (this.claimed) return false;
    this.claimed = true;
    return 'beside';
  }

  /** Resolves once the spell is quiet (at once when it is). */
  whenQuiet(): Promise<void> {
    if (this.still) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }
}
