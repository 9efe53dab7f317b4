/**
 * Embedded store: one better-sqlite3 file in GATEWAY_DATA_DIR (WAL, synchronous=FULL), or `:memory:`
 * for tests. Safe for several processes on one host through SQLite's own locking (IMMEDIATE
 * transactions); across hosts use the Redis store.
 *
 * Writes: for a file, a batch commits on the main thread while the file is free (its own connection,
 * no busy wait: the SQL and the fsync take ~0.5 ms, less than two thread hops) and in a writer thread
 * (`sqlite-worker.ts`) while another connection holds the write lock, so a lock held by the admin CLI or
 * another gateway process never stops the event loop (see FileWriter). Reads stay synchronous on the main
 * thread, on their own read-only connection to the same file: WAL lets them run while a write is under
 * way, and every read starts after the commits already acknowledged, so a write is visible to the next
 * read once its promise has settled.
 * `:memory:` cannot be shared by two connections, so it keeps everything on the calling thread. All
 * modes run the same synchronous core (`sqlite-core.ts`: SQL, batch, savepoints).
 *
 * Group commit: writes issued while the event loop is busy are sent together at the next turn
 * (setImmediate) and run in one IMMEDIATE transaction, each write in its own savepoint (one that throws
 * is rolled back alone and rejects alone). One batch is in flight at a time; writes issued meanwhile make
 * up the next one. A write's promise settles only after its transaction has committed — durably, with
 * its fsync — so nothing is acknowledged before it is on disk, and under load many writes share one fsync.
 * Two writes of every commit keep their fsync off the event loop. Its lease (`acquireIdempotency`, see
 * txLater) settles once committed, with a `durable` promise that an fdatasync of the WAL in the thread
 * pool resolves (wal-sync.ts); the ALEX client holds the image's last byte until then. Its outcome
 * (`completeIdempotency`, see txSynced) settles only once that sync has covered it, as any other write.
 * A batch made only of these commits at synchronous=NORMAL; one with any other write, at FULL.
 *
 * An error a batch meets (SQLite, disk full) rejects the write with SQLite's message and code. The writer
 * thread is started the first time a write finds the lock taken, and used only while it is: most
 * gateways never start it, which saves its ~17 MB of RSS. If the thread dies, the writes it had not
 * answered reject (their outcome is unknown, as after a crash), `ping()` reports false once, and the next
 * write that needs a thread starts a fresh one. It keeps the process alive only while a batch is in
 * flight. `close()` lets queued writes commit (or fail), then stops the thread and closes the connections. Loading: from the bundle, `sqlite-worker.mjs` beside it; from
 * TypeScript sources (tsx, Vitest), the .ts entry through tsx's loader, which production never needs.
 * Rate-limit buckets live in memory on the main thread.
 */
import { threadId as mainThreadId, Worker } from 'node:worker_threads';
import { bucketStep, type BucketState } from './bucket';
import {
  DEFAULT_BUSY_TIMEOUT_MS,
  fromWireError,
  openSqlite,
  SqliteCore,
  type BatchOutcome,
  type SqliteOptions,
  type WriteArgs,
  type WriteName,
  type WriteOp,
  type WriterConfig,
  type WriteValue,
} from './sqlite-core';
import type { FromWriter, ToWriter } from './sqlite-worker';
import { WalSync } from './wal-sync';
import type {
  AcquireResult,
  AuditQuery,
  AuditRecord,
  BucketSpec,
  CommitProgress,
  ConsumeCodeResult,
  DeviceRecord,
  EnrolmentCodeRecord,
  GatewayStore,
  GrantRecord,
  IdempotencyClaim,
  IdempotencyRecord,
  StoredResponse,
  TakeResult,
} from './types';

type Pragmas = { journalMode: string; synchronous: number };
type BatchReply = BatchOutcome & { threadId: number; synced: boolean };

/** Where batches are committed: on this thread (in memory) or in the writer thread (file). */
interface Writer {
  /** `sync` 'later': commit without an fsync if this writer can (the reply says whether it did). */
  run(ops: WriteOp[], sync?: 'full' | 'later'): Promise<BatchReply>;
  pragmas(): Promise<Pragmas>;
  /** Whether writes can be taken; a dead writer thread is restarted, and reports false this once. */
  ready(): Promise<boolean>;
  close(): Promise<void>;
}

class InProcessWriter implements Writer {
  constructor(private readonly core: SqliteCore) {}
  async run(ops: WriteOp[]): Promise<BatchReply> {
    return { ...this.core.runBatch(ops), threadId: mainThreadId, synced: true };
  }
  async pragmas(): Promise<Pragmas> {
    return this.core.pragmas();
  }
  async ready(): Promise<boolean> {
    return this.core.db.open;
  }
  async close(): Promise<void> {
    this.core.close();
  }
}

/** Starts the writer thread: the bundled .mjs beside this module, or the .ts source through tsx. */
function startWriterThread(config: WriterConfig): Worker {
  const here = import.meta.url;
  if (!here.endsWith('.ts')) return new Worker(new URL('./sqlite-worker.mjs', here), { workerData: config });
  // A worker cannot load TypeScript by itself: a tiny ES module registers tsx's loader in the new thread,
  // then imports the .ts entry. tsx is a development dependency; production runs the bundle above.
  const loader = import.meta.resolve('tsx/esm/api');
  const entry = new URL('./sqlite-worker.ts', here).href;
  const bootstrap = `import { register } from ${JSON.stringify(loader)};\nregister();\nawait import(${JSON.stringify(entry)});\n`;
  return new Worker(new URL(`data:text/javascript,${encodeURIComponent(bootstrap)}`), { workerData: config });
}

/** One running writer thread and the requests it has not answered yet. */
class WriterThread {
  readonly worker: Worker;
  /** Resolves true once the thread has opened the file, false if it stopped first. */
  readonly started: Promise<boolean>;
  exited = false;
  private readonly waiting = new Map<number, { resolve: (m: FromWriter) => void; reject: (e: Error) => void }>();
  private nextId = 1;

  constructor(config: WriterConfig) {
    this.worker = startWriterThread(config);
    let failure: Error | null = null;
    let markStarted: (ok: boolean) => void = () => undefined;
    this.started = new Promise((resolve) => (markStarted = resolve));
    this.worker.on('message', (message: FromWriter) => {
      if (message.type === 'ready') return markStarted(true);
      const waiter = this.waiting.get(message.id);
      this.waiting.delete(message.id);
      if (this.waiting.size === 0) this.worker.unref();
      waiter?.resolve(message);
    });
    this.worker.on('error', (error) => (failure = error));
    this.worker.on('exit', (code) => {
      this.exited = true;
      markStarted(false);
      const why = failure ? failure.message : `exit code ${code}`;
      const error = new Error(`The SQLite writer thread stopped (${why}); the write was not confirmed`);
      for (const waiter of this.waiting.values()) waiter.reject(error);
      this.waiting.clear();
    });
    // Idle, the thread does not keep the process alive; a request in flight does (see request()).
    // After the listeners: adding a 'message' listener refs the worker again.
    this.worker.unref();
  }

  request(message: ToWriter): Promise<FromWriter> {
    return new Promise((resolve, reject) => {
      if (this.exited) return reject(new Error('The SQLite writer thread has stopped'));
      this.waiting.set(message.id, { resolve, reject });
      this.worker.ref();
      try {
        this.worker.postMessage(message);
      } catch (error) {
        // Arguments that cannot be copied to the thread (a programming error): nothing was sent.
        this.waiting.delete(message.id);
        if (this.waiting.size === 0) this.worker.unref();
        reject(error instanceof Error ? error : new Error(String(error)));
      }
    });
  }

  id(): number {
    return this.nextId++;
  }

  /** Whether the thread opened the file; holds the process open while it waits, like a request. */
  async whenStarted(): Promise<boolean> {
    this.worker.ref();
    try {
      return await this.started;
    } finally {
      if (this.waiting.size === 0) this.worker.unref();
    }
  }
}

/**
 * A file's writes: on this thread while the file is free, in the writer thread while it is not. A batch
 * first runs on a connection of this thread that does not wait for the write lock (busy timeout 0):
 * uncontended, its SQL and fsync take ~0.5 ms here, less than the two thread hops, which cost ~7 ms of
 * overhead p99 in the gateway benchmark. When another connection holds the lock (the admin CLI, a second
 * gateway process on the host), BEGIN IMMEDIATE fails at once with SQLITE_BUSY having written nothing, and
 * the same batch goes to the writer thread, which waits for the lock without stopping the event loop.
 * Order holds: the store sends one batch at a time.
 */
class FileWriter implements Writer {
  private readonly local: SqliteCore;
  private readonly thread: WorkerWriter;

  constructor(config: WriterConfig) {
    this.local = new SqliteCore(openSqlite(config.file, { busyTimeoutMs: 0 }));
    this.thread = new WorkerWriter(config);
  }

  async run(ops: WriteOp[], sync: 'full' | 'later' = 'full'): Promise<BatchReply> {
    const outcome = this.local.runBatch(ops, sync);
    if (outcome.committed || !isBusy(outcome.error)) return { ...outcome, threadId: mainThreadId, synced: sync === 'full' };
    return this.thread.run(ops);
  }

  pragmas(): Promise<Pragmas> {
    return Promise.resolve(this.local.pragmas());
  }

  /** This thread's connection is open, and the writer thread (if started) can take the writes it cannot. */
  async ready(): Promise<boolean> {
    return this.local.db.open && (await this.thread.ready());
  }

  async close(): Promise<void> {
    this.local.close();
    await this.thread.close();
  }
}

/** SQLITE_BUSY and its extended codes: another connection holds the lock. */
function isBusy(error: { code?: string }): boolean {
  return error.code?.startsWith('SQLITE_BUSY') === true;
}

class WorkerWriter implements Writer {
  /** null until a batch needs the thread, and again after a dead one has been reported. */
  private thread: WriterThread | null = null;
  private closed = false;

  constructor(private readonly config: WriterConfig) {}

  /** The running thread, started on first need, or a fresh one after the last one died. */
  private current(): WriterThread {
    if (this.closed) throw new Error('The store is closed');
    if (this.thread === null || this.thread.exited) this.thread = new WriterThread(this.config);
    return this.thread;
  }

  /** The current thread: null before one is needed, and after a dead one was reported (tests). */
  running(): WriterThread | null {
    return this.thread;
  }

  async run(ops: WriteOp[]): Promise<BatchReply> {
    const thread = this.current();
    const reply = await thread.request({ type: 'batch', id: thread.id(), ops });
    if (reply.type !== 'batch') throw new Error(`Unexpected answer from the SQLite writer thread: ${reply.type}`);
    const { type: _type, id: _id, ...outcome } = reply;
    return { ...outcome, synced: true };
  }

  async pragmas(): Promise<Pragmas> {
    const thread = this.current();
    const reply = await thread.request({ type: 'pragmas', id: thread.id() });
    if (reply.type !== 'pragmas') throw new Error(`Unexpected answer from the SQLite writer thread: ${reply.type}`);
    return reply.value;
  }

  async ready(): Promise<boolean> {
    if (this.closed) return false;
    // Not started: the next write that needs it starts it.
    if (this.thread === null) return true;
    if (this.thread.exited) {
      // Report the failure once (readiness goes down); the next write that needs a thread starts a fresh one.
      this.thread = null;
      return false;
    }
    return this.thread.whenStarted();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const thread = this.thread;
    if (thread && !thread.exited) {
      // The thread closes its connection after the batches already posted, then ends.
      await thread.request({ type: 'close', id: thread.id() }).catch(() => undefined);
      await thread.worker.terminate();
    }
  }
}

/** A queued write. `later`: it may commit before it is on disk, its `durable` promise saying when it is. */
type Queued = { op: WriteOp; later: boolean; resolve: (value: unknown, durable: Promise<void> | null) => void; reject: (error: unknown) => void };

export class SqliteStore implements GatewayStore {
  readonly kind: 'sqlite' | 'memory';
  /** The connection reads use (the only one in memory; read-only beside the writer thread's for a file). */
  private readonly reader: SqliteCore;
  private readonly writer: Writer;
  /** For a file: makes batches committed without an fsync durable, off the event loop. */
  private readonly walSync: WalSync | null;
  private readonly buckets = new Map<string, BucketState>();

  private queue: Queued[] = [];
  private flushScheduled = false;
  private inFlight: Promise<void> | null = null;
  private closing: Promise<void> | null = null;
  private readonly counts = { transactions: 0, writes: 0 };
  private lastThreadId: number | null = null;

  /** `file` is a path, or ':memory:'. */
  constructor(file: string, options: SqliteOptions = {}) {
    this.kind = file === ':memory:' ? 'memory' : 'sqlite';
    // Creates the file, WAL and the schema before either connection is used.
    const db = openSqlite(file, options);
    this.reader = new SqliteCore(db);
    if (this.kind === 'memory') {
      this.writer = new InProcessWriter(this.reader);
      this.walSync = null;
    } else {
      // Reads have their own connection; writes go to the FileWriter's.
      db.pragma('query_only = ON');
      this.writer = new FileWriter({ file, busyTimeoutMs: options.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS });
      this.walSync = new WalSync(`${file}-wal`, options.syncFile);
    }
  }

  /** The writing connection's settings. */
  pragmas(): Promise<Pragmas> {
    return this.writer.pragmas();
  }

  /** Committed write transactions and the writes they carried (group commit at work), for tests and benchmarks. */
  writeStats(): { transactions: number; writes: number } {
    return { ...this.counts };
  }

  /** worker_threads id of the thread that committed the last write transaction (null before any). */
  lastWriteThreadId(): number | null {
    return this.lastThreadId;
  }

  /** Queue a write for the next group commit; settles once it is durable (or has failed alone). */
  private tx<K extends WriteName>(name: K, ...args: WriteArgs<K>): Promise<WriteValue<K>> {
    return new Promise<WriteValue<K>>((resolve, reject) => {
      if (this.closing) return reject(new Error('The store is closed'));
      // TypeScript cannot correlate K with its arguments in the union; tx's signature checks the call.
      this.queue.push({ op: { name, args } as unknown as WriteOp, later: false, resolve: resolve as (value: unknown) => void, reject });
      this.schedule();
    });
  }

  /**
   * Queue a write that may settle once committed, before it is on disk: `durable` resolves when it is
   * (null: it already was), and rejects if it may not be. A batch of only such writes commits without an
   * fsync on the event loop; its durability comes from an fdatasync in the thread pool (WalSync).
   */
  private txLater<K extends WriteName>(name: K, ...args: WriteArgs<K>): Promise<{ value: WriteValue<K>; durable: Promise<void> | null }> {
    return new Promise((resolve, reject) => {
      if (this.closing) return reject(new Error('The store is closed'));
      const op = { name, args } as unknown as WriteOp;
      this.queue.push({ op, later: true, resolve: (value, durable) => resolve({ value: value as WriteValue<K>, durable }), reject });
      this.schedule();
    });
  }

  /**
   * Queue a write that settles once it is durable, like tx, but whose sync runs off the event loop: in a
   * batch of only such writes and leases it commits at synchronous=NORMAL and settles once the WAL's
   * fdatasync in the thread pool has covered it (or rejects if that sync failed: committed, and visible,
   * but not known to be on disk).
   */
  private async txSynced<K extends WriteName>(name: K, ...args: WriteArgs<K>): Promise<WriteValue<K>> {
    const { value, durable } = await this.txLater(name, ...args);
    if (durable) await durable;
    return value;
  }

  private schedule(): void {
    if (this.flushScheduled || this.inFlight || this.queue.length === 0) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      void this.flush();
    });
  }

  /** Sends the queued writes as one batch, unless one is in flight (then they go when it has settled). */
  private flush(): Promise<void> {
    if (this.inFlight) return this.inFlight;
    const batch = this.queue;
    this.queue = [];
    if (batch.length === 0) return Promise.resolve();
    this.inFlight = this.commit(batch).finally(() => {
      this.inFlight = null;
      this.schedule();
    });
    return this.inFlight;
  }

  private async commit(batch: Queued[]): Promise<void> {
    let reply: BatchReply;
    const later = this.walSync?.usable === true && batch.every((q) => q.later);
    try {
      reply = await this.writer.run(
        batch.map((q) => q.op),
        later ? 'later' : 'full',
      );
    } catch (error) {
      for (const q of batch) q.reject(error);
      return;
    }
    if (!reply.committed) {
      // The transaction did not commit: nothing of it is stored, every write in it fails.
      const error = fromWireError(reply.error);
      for (const q of batch) q.reject(error);
      return;
    }
    this.counts.transactions++;
    this.counts.writes += batch.length;
    this.lastThreadId = reply.threadId;
    let durable: Promise<void> | null = null;
    if (!reply.synced && this.walSync) {
      durable = this.walSync.committedLazily();
      // Awaited by whoever needs it; a failure nobody waits for is not an unhandled rejection.
      durable.catch(() => undefined);
    } else {
      this.walSync?.committedDurably();
    }
    batch.forEach((q, i) => {
      const r = reply.results[i];
      if (r?.ok) q.resolve(r.value, durable);
      else q.reject(fromWireError(r?.error));
    });
  }

  async putDevice(device: DeviceRecord): Promise<void> {
    await this.tx('putDevice', device);
  }

  async getDevice(deviceId: string): Promise<DeviceRecord | null> {
    return this.reader.getDevice(deviceId);
  }

  async listDevices(): Promise<DeviceRecord[]> {
    return this.reader.listDevices();
  }

  revokeDevice(deviceId: string, now: number): Promise<boolean> {
    return this.tx('revokeDevice', deviceId, now);
  }

  async putEnrolmentCode(code: EnrolmentCodeRecord): Promise<void> {
    await this.tx('putEnrolmentCode', code);
  }

  consumeEnrolmentCode(codeHash: string, deviceId: string, now: number): Promise<ConsumeCodeResult> {
    return this.tx('consumeEnrolmentCode', codeHash, deviceId, now);
  }

  async putGrant(grant: GrantRecord): Promise<void> {
    await this.tx('putGrant', grant);
  }

  async getGrant(grantHash: string): Promise<GrantRecord | null> {
    return this.reader.getGrant(grantHash);
  }

  markLaunchUsed(launchHash: string, expiresAt: number, now: number): Promise<boolean> {
    return this.tx('markLaunchUsed', launchHash, expiresAt, now);
  }

  async getIdempotency(key: string): Promise<IdempotencyRecord | null> {
    return this.reader.getIdempotency(key);
  }

  async acquireIdempotency(claim: IdempotencyClaim): Promise<AcquireResult> {
    const { value, durable } = await this.txLater('acquireIdempotency', claim);
    return value.kind === 'acquired' && durable ? { ...value, durable } : value;
  }

  saveProgress(key: string, leaseOwner: string, progress: CommitProgress, leaseExpiresAt: number, now: number): Promise<boolean> {
    return this.tx('saveProgress', key, leaseOwner, progress, leaseExpiresAt, now);
  }

  completeIdempotency(key: string, leaseOwner: string, response: StoredResponse, now: number, progress?: CommitProgress, audit?: AuditRecord): Promise<boolean> {
    return this.txSynced('completeIdempotency', key, leaseOwner, response, now, progress, audit);
  }

  async releaseIdempotency(key: string, leaseOwner: string, now: number, progress?: CommitProgress, audit?: AuditRecord): Promise<void> {
    await this.tx('releaseIdempotency', key, leaseOwner, now, progress, audit);
  }

  async appendAudit(record: AuditRecord): Promise<void> {
    await this.tx('appendAudit', record);
  }

  async listAudit(query: AuditQuery): Promise<AuditRecord[]> {
    return this.reader.listAudit(query);
  }

  /** Rate-limit buckets live in memory: they are short-lived, and a durable write per request would cost an fsync. */
  async takeToken(key: string, spec: BucketSpec, cost: number, now: number): Promise<TakeResult> {
    const { state, result } = bucketStep(this.buckets.get(key) ?? null, spec, cost, now);
    this.buckets.set(key, state);
    return result;
  }

  async purgeExpired(now: number, idempotencyRetentionMs: number): Promise<void> {
    await this.tx('purgeExpired', now, idempotencyRetentionMs);
    for (const [key, b] of this.buckets) if (b.updatedAt <= now - 3_600_000) this.buckets.delete(key);
  }

  /** The file answers a read and the writer can take writes. */
  async ping(): Promise<boolean> {
    if (this.closing || !this.reader.ping()) return false;
    return this.writer.ready();
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      // Writes already queued are committed (or fail) before the connections close.
      while (this.inFlight || this.queue.length > 0) await this.flush();
      // Writes committed without a sync are made durable (their sync finishes) before anything closes.
      await this.walSync?.close();
      // Reads first: the writer's connection is then the last, and its closing checkpoint runs off this thread.
      if (this.kind === 'sqlite') this.reader.close();
      await this.writer.close();
      this.reader.close();
    })();
    return this.closing;
  }
}
