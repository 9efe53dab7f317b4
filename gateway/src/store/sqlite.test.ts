/**
 * The embedded store's writes (sqlite.ts, sqlite-worker.ts): a file's writes commit on this thread while
 * the file is free and in the writer thread while another connection holds the lock, never stopping the
 * event loop; a write settles only once another connection can read it; group commit and per-write
 * failure hold in both modes; a dead thread fails its writes, turns ping false and is replaced; close
 * drains the queue; nothing keeps the process alive. The behavioural suite for every store is store.test.ts.
 */
import Database from 'better-sqlite3';
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { threadId, type Worker } from 'node:worker_threads';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { device, T0 } from './records.testkit';
import { SqliteStore } from './sqlite';
import type { AuditRecord, EnrolmentCodeRecord, IdempotencyClaim } from './types';
import type { SyncFile } from './wal-sync';

const ROOT = join(import.meta.dirname, '..', '..', '..');

const code = (hash: string): EnrolmentCodeRecord => ({ codeHash: hash, facilityId: 'F2N060-E', practiceName: 'P', createdAt: T0, expiresAt: T0 + 60_000, usedAt: null, usedByDeviceId: null });
const audit = (id: string): AuditRecord => ({ id, at: T0, deviceId: 'dev_a', facilityId: null, patientHash: null, action: 'x', outcome: 'y', imageId: null, resourceIds: [], errorCode: null, correlationId: id });
const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** The writer thread, if one was started (a private of SqliteStore, reached here to watch and kill it). */
const writerThread = (s: SqliteStore): Worker | undefined => (s as unknown as { writer: { thread: { running(): { worker: Worker } | null } } }).writer.thread.running()?.worker;

/**
 * Runs `write` while `holder` holds the write lock, let go after 50 ms: the batch goes to the writer thread
 * and waits for the lock there. Checks it was committed off this thread.
 */
async function writeWhileLocked(s: SqliteStore, holder: Database.Database, write: () => Promise<unknown>): Promise<void> {
  holder.exec('BEGIN IMMEDIATE');
  const pending = write();
  setTimeout(() => holder.exec('ROLLBACK'), 50);
  await pending;
  expect(s.lastWriteThreadId()).not.toBe(threadId);
}

let dir: string;
let seq = 0;
const newFile = (): string => join(dir, `w${++seq}`, 'gateway.sqlite');

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'gw-sqlite-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('sqlite writer thread', () => {
  it('commits file writes on this thread while the file is free, on a connection apart from the read-only one reads use', async () => {
    const file = new SqliteStore(newFile());
    const memory = new SqliteStore(':memory:');
    try {
      expect(file.lastWriteThreadId()).toBeNull();
      await file.putDevice(device('dev_a'));
      await memory.putDevice(device('dev_a'));
      expect(file.lastWriteThreadId()).toBe(threadId);
      expect(memory.lastWriteThreadId()).toBe(threadId);
      expect(await file.pragmas()).toEqual({ journalMode: 'wal', synchronous: 2 });
      // The main thread's connection for reads is for reading only.
      const reader = (file as unknown as { reader: { db: Database.Database } }).reader.db;
      expect(() => reader.exec("INSERT INTO audit (at, device_id, json) VALUES (0, NULL, '{}')")).toThrow(/readonly|read-only/i);
    } finally {
      await file.close();
      await memory.close();
    }
  });

  it('keeps the event loop turning while the writer waits on the lock and commits', async () => {
    const file = newFile();
    const s = new SqliteStore(file);
    const holder = new Database(file);
    try {
      await s.putDevice(device('dev_warm'));
      // Another connection holds the write lock: the batch goes to the writer thread, which waits for it (busy timeout 5 s).
      holder.exec('BEGIN IMMEDIATE');
      let settled = false;
      const write = s.putDevice(device('dev_waiting')).finally(() => (settled = true));
      // Committing on this thread would have blocked it here for the whole busy timeout, then failed.
      await nextTurn();
      await nextTurn();
      expect(settled).toBe(false);
      expect(await s.getDevice('dev_warm')).not.toBeNull(); // reads go on meanwhile
      holder.exec('ROLLBACK');
      await write;
      expect(await s.getDevice('dev_waiting')).not.toBeNull();
      // That write was committed by the writer thread; the next one, the file free again, on this thread.
      expect(s.lastWriteThreadId()).not.toBe(threadId);
      await s.putDevice(device('dev_after'));
      expect(s.lastWriteThreadId()).toBe(threadId);
    } finally {
      holder.close();
      await s.close();
    }
  });

  it('settles a write only once another connection can read it', async () => {
    const file = newFile();
    const s = new SqliteStore(file);
    const other = new Database(file, { readonly: true });
    try {
      const readBack = other.prepare('SELECT json FROM devices WHERE device_id = ?');
      const seenOnSettle = await Promise.all(
        Array.from({ length: 30 }, async (_, i) => {
          if (i % 10 === 9) await nextTurn(); // spread over several batches
          const id = `dev_${i}`;
          await s.putDevice(device(id));
          // Read at once, on settling: by another connection and by the store's own reader.
          return readBack.get(id) !== undefined && (await s.getDevice(id)) !== null;
        }),
      );
      expect(seenOnSettle.every(Boolean)).toBe(true);
      expect(s.writeStats().transactions).toBeGreaterThan(1);
    } finally {
      other.close();
      await s.close();
    }
  });

  it('fails the writes in flight when the thread dies, reports not ready, and starts a fresh thread', async () => {
    const file = newFile();
    const s = new SqliteStore(file);
    const holder = new Database(file);
    try {
      await s.putDevice(device('dev_before'));
      // The lock is taken, so the next batch goes to the writer thread and waits there.
      holder.exec('BEGIN IMMEDIATE');
      const inFlight = [s.putDevice(device('dev_lost')), s.appendAudit(audit('a-lost'))];
      await new Promise((resolve) => setTimeout(resolve, 50));
      await writerThread(s)?.terminate();
      for (const w of inFlight) await expect(w).rejects.toThrow(/SQLite writer thread stopped.*not confirmed/);
      holder.exec('ROLLBACK');
      // /readyz goes down once; the next probe is up again (the next write that needs a thread starts one).
      expect(await s.ping()).toBe(false);
      expect(await s.ping()).toBe(true);
      expect(writerThread(s)).toBeUndefined();
      // The fresh thread takes the writes while the lock is taken again.
      await writeWhileLocked(s, holder, () => s.putDevice(device('dev_after')));
      expect(await s.getDevice('dev_after')).not.toBeNull();
      expect(await s.getDevice('dev_before')).not.toBeNull();
      expect(await s.getDevice('dev_lost')).toBeNull();
    } finally {
      holder.close();
      await s.close();
    }
  });

  it('starts no thread until a write finds the lock taken, and a fresh one for the next such write after the last one died', async () => {
    const file = newFile();
    const s = new SqliteStore(file);
    const holder = new Database(file);
    try {
      await s.putDevice(device('dev_before'));
      expect(await s.ping()).toBe(true);
      // The file was free: no thread (and none of its ~17 MB).
      expect(writerThread(s)).toBeUndefined();
      await writeWhileLocked(s, holder, () => s.putDevice(device('dev_first')));
      const started = writerThread(s);
      expect(started).toBeDefined();
      // Idle and dead: the next write that needs a thread starts a fresh one.
      await started?.terminate();
      await writeWhileLocked(s, holder, () => s.putDevice(device('dev_after')));
      expect(writerThread(s)).not.toBe(started);
      expect((await s.listDevices()).map((d) => d.deviceId)).toEqual(['dev_after', 'dev_before', 'dev_first']);
      expect(await s.ping()).toBe(true);
    } finally {
      holder.close();
      await s.close();
    }
  });

  it('commits the writes queued at close, then refuses more and reports not ready', async () => {
    const file = newFile();
    const s = new SqliteStore(file);
    await s.putDevice(device('dev_a'));
    const queued = [s.appendAudit(audit('a-1')), s.revokeDevice('dev_a', T0 + 1), s.putEnrolmentCode(code('c1'))];
    const closed = s.close();
    await expect(s.appendAudit(audit('a-late'))).rejects.toThrow(/closed/);
    await closed;
    expect(await Promise.all(queued)).toEqual([undefined, true, undefined]);
    expect(await s.ping()).toBe(false);
    await s.close(); // twice is harmless

    const reopened = new SqliteStore(file);
    try {
      expect((await reopened.listAudit({})).map((a) => a.id)).toEqual(['a-1']);
      expect((await reopened.getDevice('dev_a'))?.revokedAt).toBe(T0 + 1);
    } finally {
      await reopened.close();
    }
  });
});

/** A disk error as fdatasync reports it, and the store's plain-language message for it. */
const eio = (): Error => Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' });
const NOT_DURABLE = 'The store could not make a write durable (EIO: i/o error, fdatasync)';

/** A sync finished by hand (see wal-sync.test.ts), or failed: the WAL's own fdatasync otherwise. */
function heldSync(): { syncFile: SyncFile; started(): number; finish(error?: Error): void } {
  const waiting: ((e: Error | null) => void)[] = [];
  let started = 0;
  return {
    syncFile: (_fd, done) => {
      started++;
      waiting.push(done);
    },
    started: () => started,
    finish: (error) => waiting.shift()?.(error ?? null),
  };
}

const lease = (key: string, owner = 'o-1'): IdempotencyClaim => ({ key, fingerprint: 'fp', deviceId: 'dev_a', facilityId: 'F2N060-E', patientId: 'p1', patientNhi: 'ZZZ0016', leaseOwner: owner, leaseMs: 60_000, now: T0 });

async function until(check: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !check(); i++) await new Promise((resolve) => setTimeout(resolve, 5));
  expect(check()).toBe(true);
}

describe('sqlite lease written before it is on disk', () => {
  it('commits a lease without an fsync on the event loop: readable at once, durable once a sync has run after it', async () => {
    const file = newFile();
    const sync = heldSync();
    const s = new SqliteStore(file, { syncFile: sync.syncFile });
    const other = new Database(file, { readonly: true });
    try {
      const got = await s.acquireIdempotency(lease('img-1'));
      expect(got.kind).toBe('acquired');
      const durable = got.kind === 'acquired' ? got.durable : undefined;
      expect(durable).toBeInstanceOf(Promise);
      // Committed without its own sync; another connection already reads it.
      expect(await s.pragmas()).toEqual({ journalMode: 'wal', synchronous: 1 });
      expect(other.prepare('SELECT key FROM idempotency').all()).toEqual([{ key: 'img-1' }]);
      let done = false;
      void durable?.then(() => (done = true));
      await until(() => sync.started() === 1);
      await nextTurn();
      expect(done).toBe(false);
      sync.finish();
      await until(() => done);
      // The next write that needs its own fsync is committed at FULL again.
      await s.putDevice(device('dev_a'));
      expect(await s.pragmas()).toEqual({ journalMode: 'wal', synchronous: 2 });
    } finally {
      other.close();
      await s.close();
    }
  });

  it('a lease in one batch with a write that needs its fsync is durable when it settles', async () => {
    const sync = heldSync();
    const s = new SqliteStore(newFile(), { syncFile: sync.syncFile });
    try {
      const [, got] = await Promise.all([s.putDevice(device('dev_a')), s.acquireIdempotency(lease('img-2'))]);
      expect(got).toMatchObject({ kind: 'acquired' });
      expect('durable' in got).toBe(false);
      expect(sync.started()).toBe(0);
    } finally {
      await s.close();
    }
  });

  it("a later write's fsync makes an earlier lease durable without waiting for its own sync", async () => {
    const sync = heldSync();
    const s = new SqliteStore(newFile(), { syncFile: sync.syncFile });
    try {
      const got = await s.acquireIdempotency(lease('img-3'));
      await until(() => sync.started() === 1);
      await s.putDevice(device('dev_a'));
      // Resolved while its own sync is still held.
      await (got.kind === 'acquired' ? got.durable : undefined);
      sync.finish();
    } finally {
      await s.close();
    }
  });

  it('when a sync fails: that lease is refused as not durable, and later leases are committed with their own fsync', async () => {
    const sync = heldSync();
    const s = new SqliteStore(newFile(), { syncFile: sync.syncFile });
    try {
      const got = await s.acquireIdempotency(lease('img-4'));
      await until(() => sync.started() === 1);
      sync.finish(eio());
      await expect(got.kind === 'acquired' ? got.durable : undefined).rejects.toThrow(NOT_DURABLE);
      const next = await s.acquireIdempotency(lease('img-5'));
      expect(next.kind).toBe('acquired');
      expect('durable' in next).toBe(false);
      expect(await s.pragmas()).toEqual({ journalMode: 'wal', synchronous: 2 });
      expect(sync.started()).toBe(1);
    } finally {
      await s.close();
    }
  });

  it('in memory, and while another connection holds the lock (the writer thread commits), a lease is durable when it settles', async () => {
    const memory = new SqliteStore(':memory:');
    const file = newFile();
    const sync = heldSync();
    const s = new SqliteStore(file, { syncFile: sync.syncFile });
    const holder = new Database(file);
    try {
      expect('durable' in (await memory.acquireIdempotency(lease('img-6')))).toBe(false);
      let got: Awaited<ReturnType<SqliteStore['acquireIdempotency']>> | undefined;
      await writeWhileLocked(s, holder, async () => (got = await s.acquireIdempotency(lease('img-7'))));
      expect(got?.kind).toBe('acquired');
      expect(got && 'durable' in got).toBe(false);
      expect(sync.started()).toBe(0);
    } finally {
      holder.close();
      await memory.close();
      await s.close();
    }
  });

  it('close waits for the sync under way, so a lease acknowledged as durable is there after a restart', async () => {
    const file = newFile();
    const s = new SqliteStore(file);
    const got = await s.acquireIdempotency(lease('img-8'));
    const closed = s.close();
    await (got.kind === 'acquired' ? got.durable : undefined);
    await closed;
    const reopened = new SqliteStore(file);
    try {
      expect((await reopened.getIdempotency('img-8'))?.leaseOwner).toBe('o-1');
    } finally {
      await reopened.close();
    }
  });
});

describe("sqlite commit's outcome synced off the event loop", () => {
  const answer = { status: 201, body: { imageId: 'img' } };

  /** A store on a new file whose syncs are finished by hand, holding one durable lease on `key`. */
  async function leased(key: string): Promise<{ file: string; sync: ReturnType<typeof heldSync>; s: SqliteStore }> {
    const file = newFile();
    const sync = heldSync();
    const s = new SqliteStore(file, { syncFile: sync.syncFile });
    const got = await s.acquireIdempotency(lease(key));
    await until(() => sync.started() === 1);
    sync.finish();
    await (got.kind === 'acquired' ? got.durable : undefined);
    return { file, sync, s };
  }

  it('commits without an fsync on the event loop, readable at once, and settles only once the sync has covered it', async () => {
    const { file, sync, s } = await leased('img-1');
    const other = new Database(file, { readonly: true });
    try {
      let settled: boolean | undefined;
      const done = s.completeIdempotency('img-1', 'o-1', answer, T0 + 1).then((v) => (settled = v));
      await until(() => sync.started() === 2);
      expect(await s.pragmas()).toEqual({ journalMode: 'wal', synchronous: 1 });
      expect(other.prepare("SELECT json_extract(json, '$.state') AS state FROM idempotency").all()).toEqual([{ state: 'completed' }]);
      await nextTurn();
      expect(settled).toBeUndefined();
      sync.finish();
      await done;
      expect(settled).toBe(true);
    } finally {
      sync.finish(); // a sync left held by a failed expectation would keep close() waiting
      other.close();
      await s.close();
    }
  });

  it('a lease and an outcome in one batch share one sync; with a write that needs its own fsync, none', async () => {
    const { sync, s } = await leased('img-2');
    try {
      const both = Promise.all([s.completeIdempotency('img-2', 'o-1', answer, T0 + 1), s.acquireIdempotency(lease('img-3'))]);
      await until(() => sync.started() === 2);
      sync.finish();
      const [completed, second] = await both;
      expect(completed).toBe(true);
      await (second.kind === 'acquired' ? second.durable : undefined);
      expect(sync.started()).toBe(2);
      // With a device write in the batch it commits at FULL: settled with no sync of its own.
      await Promise.all([s.putDevice(device('dev_a')), s.completeIdempotency('img-3', 'o-1', answer, T0 + 2)]);
      expect(sync.started()).toBe(2);
    } finally {
      sync.finish();
      await s.close();
    }
  });

  it('when its sync fails: it rejects in plain words, the answer is stored all the same (a retry replays it), and later writes take their own fsync', async () => {
    const { sync, s } = await leased('img-4');
    try {
      const done = s.completeIdempotency('img-4', 'o-1', answer, T0 + 1);
      await until(() => sync.started() === 2);
      sync.finish(eio());
      await expect(done).rejects.toThrow(NOT_DURABLE);
      expect(await s.getIdempotency('img-4')).toMatchObject({ state: 'completed', response: answer });
      expect(await s.acquireIdempotency(lease('img-5'))).toMatchObject({ kind: 'acquired' });
      expect(await s.completeIdempotency('img-5', 'o-1', answer, T0 + 2)).toBe(true);
      expect(await s.pragmas()).toEqual({ journalMode: 'wal', synchronous: 2 });
      expect(sync.started()).toBe(2);
    } finally {
      sync.finish();
      await s.close();
    }
  });
});

describe.each([
  ['in memory', () => new SqliteStore(':memory:')],
  ['file', () => new SqliteStore(newFile())],
])('sqlite group commit (%s)', (_name, make) => {
  it('runs the writes of one turn in one transaction; one that throws fails alone, with SQLite message and code', async () => {
    const s = make();
    try {
      await s.putEnrolmentCode(code('dup'));
      const before = s.writeStats();
      const good = Array.from({ length: 10 }, (_, i) => s.putDevice(device(`dev_${i}`)));
      const duplicate = s.putEnrolmentCode(code('dup'));
      const more = s.appendAudit(audit('a-1'));
      await Promise.all(good);
      await more;
      await expect(duplicate).rejects.toMatchObject({
        message: expect.stringMatching(/UNIQUE constraint failed: enrolment_codes\.code_hash/),
        code: 'SQLITE_CONSTRAINT_PRIMARYKEY',
      });
      expect(s.writeStats().transactions - before.transactions).toBe(1);
      expect(s.writeStats().writes - before.writes).toBe(12);
      expect(await s.listDevices()).toHaveLength(10);
      expect((await s.listAudit({})).map((a) => a.id)).toEqual(['a-1']);
    } finally {
      await s.close();
    }
  });

  it('gathers the writes issued while a batch is in flight into the next one', async () => {
    const s = make();
    try {
      const before = s.writeStats();
      const first = s.putDevice(device('dev_first'));
      await nextTurn(); // the first batch is on its way
      const next = Array.from({ length: 5 }, (_, i) => s.appendAudit(audit(`a-${i}`)));
      await Promise.all([first, ...next]);
      expect(s.writeStats().transactions - before.transactions).toBe(2);
      expect(s.writeStats().writes - before.writes).toBe(6);
    } finally {
      await s.close();
    }
  });
});

describe('sqlite store in a process of its own', () => {
  /** Runs a script with the store under tsx; resolves with its exit code and output, or fails if it does not end by itself. */
  function runScript(body: string): Promise<{ code: number | null; out: string }> {
    const script = join(dir, `script-${++seq}.mts`);
    const storeUrl = pathToFileURL(join(ROOT, 'gateway', 'src', 'store', 'sqlite.ts')).href;
    writeFileSync(script, `import { SqliteStore } from ${JSON.stringify(storeUrl)};\nconst file = ${JSON.stringify(newFile())};\n${body}\n`);
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, ['--import', 'tsx', script], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr.on('data', (d: Buffer) => (out += d.toString()));
      const guard = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`the process did not end by itself: ${out}`));
      }, 20_000);
      child.on('exit', (exitCode) => {
        clearTimeout(guard);
        resolve({ code: exitCode, out });
      });
    });
  }

  it('ends by itself, closed or not; a write in flight or a first ping keeps it alive until answered', async () => {
    const closed = await runScript(
      `const s = new SqliteStore(file);\nconsole.log('ready', await s.ping());\nawait s.putDevice(${JSON.stringify(device('dev_a'))});\nconsole.log('read', (await s.getDevice('dev_a'))?.deviceId);\nawait s.close();`,
    );
    expect(closed).toEqual({ code: 0, out: 'ready true\nread dev_a\n' });
    // No close, no await: only the write in flight holds the process; idle, the thread does not.
    const unclosed = await runScript(
      `const s = new SqliteStore(file);\nvoid s.putDevice(${JSON.stringify(device('dev_a'))}).then(async () => console.log('written', (await s.getDevice('dev_a'))?.deviceId));`,
    );
    expect(unclosed).toEqual({ code: 0, out: 'written dev_a\n' });
    // A write waiting in the writer thread (another connection held the lock) also holds it until answered.
    const waited = await runScript(
      `import Database from ${JSON.stringify(pathToFileURL(createRequire(import.meta.url).resolve('better-sqlite3')).href)};\nconst s = new SqliteStore(file);\nawait s.ping();\nconst holder = new Database(file);\nholder.exec('BEGIN IMMEDIATE');\nvoid s.putDevice(${JSON.stringify(device('dev_a'))}).then(() => console.log('written in the thread', s.lastWriteThreadId() !== 0));\nsetTimeout(() => holder.exec('ROLLBACK'), 100);`,
    );
    expect(waited).toEqual({ code: 0, out: 'written in the thread true\n' });
    const idle = await runScript(`new SqliteStore(file);\nconsole.log('opened');`);
    expect(idle).toEqual({ code: 0, out: 'opened\n' });
  });
});
