/**
 * Reading a commit back from Medtech ("in Medtech ✓"): at once, then after each of `delaysMs` until every target
 * shows. A new resource may show in ALEX's Media search only a while later (search lag through the Hybrid
 * Connection), so one read proves nothing; past the bound the image says it has not shown yet, never that it failed.
 * One unref'd timer per image still being checked, all cleared by close(); timers and the read are injected.
 */
import type { Logger } from 'pino';
import type { ImageView } from '../../shared/contracts/bridge';
import type { VerifyResponse } from '../../shared/contracts/gateway';
import { toAppError } from '../../shared/errors/app-error';

/** Where a committed image's read-back stands. */
export type ReadBack =
  /** Being read back, or waiting for the next read. */
  | 'checking'
  /** Every target was read back: "in Medtech ✓". */
  | 'present'
  /** Still not shown in the record after the last read of the schedule. */
  | 'not-seen'
  /** The reads could not be made (the gateway did not answer) until the bound passed. */
  | 'not-checked';

export interface VerifyTimers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** The system's timers, unref'd: a pending read-back never keeps the app open. */
export const SYSTEM_TIMERS: VerifyTimers = {
  setTimeout: (fn, ms) => setTimeout(fn, ms).unref(),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

/** Waits before each read after the first. Bounded: ~7½ min in all, longer than ALEX's plausible search lag. */
export const DEFAULT_VERIFY_DELAYS_MS: readonly number[] = [15_000, 30_000, 60_000, 120_000, 240_000];

export interface CommitVerifierDeps {
  /** Asks the gateway to read the image's resources back from Medtech. */
  read: (imageId: string) => Promise<VerifyResponse>;
  /** Called whenever an image's read-back state changes (the core pushes a new state). */
  changed: () => void;
  logger: Logger;
  /** Lets the core's idle() wait for a read in flight. */
  track?: <T>(p: Promise<T>) => Promise<T>;
  timers?: VerifyTimers;
  delaysMs?: readonly number[];
}

interface Pending {
  /** Reads made so far. */
  reads: number;
  timer?: unknown;
  /** The last read could not be made (as opposed to: made, and not everything was there). */
  lastUnanswered: boolean;
}

export class CommitVerifier {
  private readonly states = new Map<string, ReadBack>();
  private readonly pending = new Map<string, Pending>();
  private readonly timers: VerifyTimers;
  private readonly delays: readonly number[];
  private closed = false;

  constructor(private readonly deps: CommitVerifierDeps) {
    this.timers = deps.timers ?? SYSTEM_TIMERS;
    this.delays = deps.delaysMs ?? DEFAULT_VERIFY_DELAYS_MS;
  }

  /** A commit was accepted: read it back now, then on the schedule until it shows. A second call is ignored. */
  start(imageId: string): void {
    if (this.closed || this.pending.has(imageId) || this.states.get(imageId) === 'present') return;
    this.pending.set(imageId, { reads: 0, lastUnanswered: false });
    this.set(imageId, 'checking');
    this.readNow(imageId);
  }

  /** The read-back state of an image, if it was ever started. */
  state(imageId: string): ReadBack | undefined {
    return this.states.get(imageId);
  }

  /** How many images still have a read to come (for tests and diagnostics). */
  checking(): number {
    return this.pending.size;
  }

  /** Adds the read-back to a committed image's view: `verified` once present, `readBack` otherwise. */
  decorateImage(v: ImageView): void {
    const s = this.states.get(v.id);
    if (s === undefined || v.committed === undefined) return;
    v.committed = s === 'present' ? { ...v.committed, verified: true } : { ...v.committed, readBack: s };
  }

  /** Stops every schedule (timers cleared); answers still on their way are ignored. */
  close(): void {
    this.closed = true;
    for (const p of this.pending.values()) if (p.timer !== undefined) this.timers.clearTimeout(p.timer);
    this.pending.clear();
  }

  private set(imageId: string, s: ReadBack): void {
    if (this.states.get(imageId) === s) return;
    this.states.set(imageId, s);
    this.deps.changed();
  }

  private readNow(imageId: string): void {
    const p = this.pending.get(imageId);
    if (p === undefined) return;
    delete p.timer;
    p.reads += 1;
    const read = this.deps.read(imageId).then(
      (res) => this.onAnswer(imageId, res),
      (err: unknown) => this.onUnanswered(imageId, err),
    );
    void (this.deps.track ? this.deps.track(read) : read);
  }

  private onAnswer(imageId: string, res: VerifyResponse): void {
    const p = this.pending.get(imageId);
    if (this.closed || p === undefined) return;
    const present = [res.media?.present, res.documentReference?.present].filter((x) => x !== undefined);
    if (present.length === 0) {
      // Nothing the gateway can read back (e.g. a person confirmed it): nothing to show either way.
      this.pending.delete(imageId);
      this.states.delete(imageId);
      this.deps.changed();
      return;
    }
    if (present.every(Boolean)) {
      this.pending.delete(imageId);
      this.set(imageId, 'present');
      return;
    }
    p.lastUnanswered = false;
    this.next(imageId, p);
  }

  private onUnanswered(imageId: string, err: unknown): void {
    const p = this.pending.get(imageId);
    if (this.closed || p === undefined) return;
    this.deps.logger.warn({ imageId, err: toAppError(err).code, reads: p.reads }, 'reading a commit back from Medtech failed');
    p.lastUnanswered = true;
    this.next(imageId, p);
  }

  /** Schedules the next read, or ends the schedule saying what is known. */
  private next(imageId: string, p: Pending): void {
    const delay = this.delays[p.reads - 1];
    if (delay === undefined) {
      this.pending.delete(imageId);
      this.deps.logger.info({ imageId, reads: p.reads, unanswered: p.lastUnanswered }, 'commit not read back from Medtech within the bound');
      this.set(imageId, p.lastUnanswered ? 'not-checked' : 'not-seen');
      return;
    }
    p.timer = this.timers.setTimeout(() => this.readNow(imageId), delay);
  }
}
