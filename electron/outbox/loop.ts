/**
 * The send loop: due items (queued first), at most `concurrency` posts at once, a wake-up at the next due time (at
 * most 60 s away, so a clock change is noticed), idle() waiters. stop() aborts posts in flight: back to queued.
 */
import { toAppError } from '../../shared/errors';
import type { OutboxContext } from './context';
import type { Rebound } from './outcome';
import { sendOne } from './send';
import { emitItem } from './view';

export class SendLoop {
  running = false;
  closed = false;
  private timer: NodeJS.Timeout | undefined;
  private readonly inFlight = new Map<string, { abort: AbortController; done: Promise<void> }>();
  private idleWaiters: (() => void)[] = [];

  constructor(
    private readonly ctx: OutboxContext,
    private readonly rebound: Rebound,
    private readonly concurrency: number,
  ) {}

  start(): void {
    if (this.closed || this.running) return;
    this.running = true;
    this.pump();
  }

  pump(): void {
    if (!this.running || this.closed) return;
    try {
      this.ctx.q.purge.run(this.ctx.clock.now() - this.ctx.retentionMs);
      while (this.inFlight.size < this.concurrency && this.startNext());
    } catch (err) {
      this.ctx.logger.error({ err: toAppError(err).code }, 'outbox pump failed');
    }
    this.schedule();
    this.checkIdle();
  }

  /** Starts posting the next due item; false when there is none (or it was taken meanwhile). */
  private startNext(): boolean {
    const { q, clock } = this.ctx;
    const row = q.due.all(clock.now(), this.inFlight.size + this.concurrency).find((r) => !this.inFlight.has(r.image_id));
    if (!row) return false;
    if (q.toSending.run(clock.now(), row.image_id).changes !== 1) return false;
    const imageId = row.image_id;
    const abort = new AbortController();
    const entry = { abort, done: Promise.resolve() };
    this.inFlight.set(imageId, entry);
    emitItem(this.ctx, 'item-sending', imageId);
    entry.done = sendOne(this.ctx, this.rebound, imageId, abort.signal)
      .catch((err: unknown) => this.onUnexpected(imageId, err))
      .finally(() => {
        this.inFlight.delete(imageId);
        this.pump();
        this.checkIdle();
      });
    return true;
  }

  private onUnexpected(imageId: string, err: unknown): void {
    this.ctx.logger.error({ imageId, err: toAppError(err).code }, 'outbox send step failed unexpectedly');
    try {
      this.ctx.q.toQueued.run(this.ctx.clock.now(), imageId);
    } catch {
      /* stays 'sending' in the database; recovered as queued at the next open */
    }
  }

  private schedule(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (!this.running || this.closed) return;
    const { t } = this.ctx.q.nextWake.get() ?? { t: null };
    if (t === null) return;
    const delay = Math.min(Math.max(0, t - this.ctx.clock.now()), 60_000);
    this.timer = setTimeout(() => this.pump(), delay);
    this.timer.unref();
  }

  private checkIdle(): void {
    if (this.inFlight.size > 0) return;
    if (this.running && this.ctx.q.due.all(this.ctx.clock.now(), 1).length > 0) return; // due, and none in flight
    const w = this.idleWaiters;
    this.idleWaiters = [];
    for (const fn of w) fn();
  }

  idle(): Promise<void> {
    return new Promise<void>((resolve) => {
      this.idleWaiters.push(resolve);
      this.checkIdle();
    });
  }

  async stop(): Promise<void> {
    this.running = false;
    this.schedule(); // clears the wake-up timer
    const all = [...this.inFlight.values()];
    for (const f of all) f.abort.abort();
    await Promise.all(all.map((f) => f.done));
    this.checkIdle();
  }
}
