/**
 * Durability for transactions committed without their own fsync (synchronous=NORMAL): an `fdatasync` of
 * the WAL file in libuv's thread pool, one at a time, off the event loop.
 *
 * A batch committed this way takes a ticket (`committedLazily`) and waits on it: the ticket settles when a
 * sync that started after the batch's commit has finished (every frame written before an fdatasync is on
 * disk when it returns), or when a later batch has committed with SQLite's own fsync (synchronous=FULL
 * syncs the whole WAL, so everything before it too). Tickets taken while a sync runs share the next one.
 *
 * A sync that fails (EIO, ENOSPC) rejects every ticket it was to cover, and the WalSync is spent: after a
 * failed fsync Linux may have dropped the dirty pages, so nothing written before it can be trusted to be
 * on disk by a later sync. The store then commits every batch with its own fsync again (`usable`), which
 * reports the disk's state as SQLite sees it.
 */
import { close, fdatasync, open } from 'node:fs';

export type SyncFile = (fd: number, done: (error: Error | null) => void) => void;

interface Ticket {
  seq: number;
  resolve: () => void;
  reject: (error: Error) => void;
}

export class WalSync {
  /** Batches committed without a sync so far (each one's ticket number). */
  private committed = 0;
  /** Every batch up to this number is on disk. */
  private durableThrough = 0;
  private waiting: Ticket[] = [];
  private running = false;
  private failure: Error | null = null;
  private fd: number | null = null;
  private closed = false;

  /** `path` is the WAL file (`<db>-wal`), which exists while the database is open in WAL mode. */
  constructor(
    private readonly path: string,
    private readonly syncFile: SyncFile = fdatasync,
  ) {}

  /** False once a sync has failed or the WalSync is closed: commit with SQLite's own fsync instead. */
  get usable(): boolean {
    return this.failure === null && !this.closed;
  }

  /** A batch has committed without a sync: resolves once it is on disk, rejects if it may not be. */
  committedLazily(): Promise<void> {
    const seq = ++this.committed;
    return new Promise<void>((resolve, reject) => {
      if (!this.usable) return reject(this.failure ?? new Error('The store is closed'));
      this.waiting.push({ seq, resolve, reject });
      this.next();
    });
  }

  /** A batch has committed with SQLite's own fsync: everything committed before it is on disk too. */
  committedDurably(): void {
    this.settle(this.committed);
  }

  /** Tickets still waiting (tests). */
  pending(): number {
    return this.waiting.length;
  }

  /** Waits for the sync under way (its tickets settle), rejects tickets still waiting, closes the file. */
  async close(): Promise<void> {
    while (this.running) await new Promise((resolve) => setImmediate(resolve));
    this.closed = true;
    this.fail(new Error('The store is closed'));
    if (this.fd !== null) {
      const fd = this.fd;
      this.fd = null;
      await new Promise<void>((resolve) => close(fd, () => resolve()));
    }
  }

  private settle(through: number): void {
    if (through <= this.durableThrough) return;
    this.durableThrough = through;
    const still: Ticket[] = [];
    for (const t of this.waiting) {
      if (t.seq <= through) t.resolve();
      else still.push(t);
    }
    this.waiting = still;
  }

  private fail(error: Error): void {
    const waiting = this.waiting;
    this.waiting = [];
    for (const t of waiting) t.reject(error);
  }

  private next(): void {
    if (this.running || this.waiting.length === 0 || !this.usable) return;
    this.running = true;
    const target = this.committed;
    const finish = (error: Error | null): void => {
      this.running = false;
      if (error) {
        this.failure = new Error(`The store could not make a write durable (${error.message})`);
        (this.failure as Error & { code?: string }).code = (error as Error & { code?: string }).code;
        this.fail(this.failure);
        return;
      }
      this.settle(target);
      this.next();
    };
    const sync = (fd: number): void => this.syncFile(fd, finish);
    if (this.fd !== null) return sync(this.fd);
    open(this.path, 'r+', (error, fd) => {
      if (error) return finish(error);
      this.fd = fd;
      sync(fd);
    });
  }
}
