/**
 * Keeps the phone's screen on while photos are being sent (Screen Wake Lock API), so the upload is not cut off by
 * the screen locking; released as soon as nothing is sending. Browsers release the lock when the page is hidden:
 * `visible()` asks again on return. Where the API is missing — browsers offer it only to secure contexts, and a
 * page on plain http://<lan-ip> is not one — this does nothing, and the page's resume-on-return carries the upload.
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
