/**
 * Keeps the phone's screen on while photos are being sent (Screen Wake Lock API, secure contexts only: elsewhere this
 * does nothing and resume-on-return carries the upload). Browsers drop the lock while hidden; `visible()` asks again.
 */
export interface WakeLockSentinelLike {
  release(): Promise<void>;
}
export interface WakeLockLike {
  request(type: 'screen'): Promise<WakeLockSentinelLike>;
}

export class ScreenKeeper {
  private sentinel: WakeLockSentinelLike | undefined;
  private wanted = false;
  private asking = false;

  constructor(private readonly wakeLock: WakeLockLike | undefined) {}

  /** Photos are (or are no longer) on their way. */
  busy(busy: boolean): void {
    this.wanted = busy;
    if (busy) this.acquire();
    else this.release();
  }

  /** The page is visible again: the browser dropped the lock while hidden. */
  visible(): void {
    this.sentinel = undefined;
    if (this.wanted) this.acquire();
  }

  get held(): boolean {
    return this.sentinel !== undefined;
  }

  private acquire(): void {
    if (this.wakeLock === undefined || this.sentinel !== undefined || this.asking) return;
    this.asking = true;
    this.wakeLock.request('screen').then(
      (s) => {
        this.asking = false;
        if (this.wanted) this.sentinel = s;
        else void s.release().catch(() => undefined);
      },
      () => {
        this.asking = false; // refused (battery saver, not visible): the upload carries on without it
      },
    );
  }

  private release(): void {
    const s = this.sentinel;
    this.sentinel = undefined;
    if (s !== undefined) void s.release().catch(() => undefined);
  }
}
