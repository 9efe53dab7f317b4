/**
 * WalSync (wal-sync.ts): a ticket settles only after a sync that started after it was taken, or after a
 * later commit with SQLite's own fsync; one sync at a time, shared by the tickets waiting for it; a failed
 * sync rejects what it was to cover and spends the WalSync; close lets the sync under way finish; the
 * real fdatasync runs on the WAL file's own descriptor.
 */
import { fstatSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WalSync, type SyncFile } from './wal-sync';

let dir: string;
let file: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'gw-walsync-'));
  file = join(dir, 'db-wal');
  writeFileSync(file, 'frames');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A sync the test finishes by hand: `calls` are the syncs started, each finished with `finish(i, error?)`. */
function manualSync(): { syncFile: SyncFile; calls: { fd: number; done: (e: Error | null) => void }[]; finish(i: number, error?: Error): Promise<void> } {
  const calls: { fd: number; done: (e: Error | null) => void }[] = [];
  return {
    syncFile: (fd, done) => calls.push({ fd, done }),
    calls,
    async finish(i, error) {
      calls[i]?.done(error ?? null);
      await new Promise((resolve) => setImmediate(resolve));
    },
  };
}

/** A ticket watched from the start: `state()` is 'waiting', 'resolved' or 'rejected: <message>'. */
function watch(p: Promise<void>): { p: Promise<void>; state(): Promise<string> } {
  let s = 'waiting';
  p.then(
    () => (s = 'resolved'),
    (e: Error) => (s = `rejected: ${e.message}`),
  );
  return {
    p,
    async state() {
      await new Promise((resolve) => setImmediate(resolve));
      return s;
    },
  };
}

const opened = async (sync: ReturnType<typeof manualSync>): Promise<void> => {
  // The file is opened (in the thread pool) before the first sync starts.
  for (let i = 0; i < 100 && sync.calls.length === 0; i++) await new Promise((resolve) => setTimeout(resolve, 5));
};

/** A disk error as fdatasync reports it, and the store's plain-language message for it. */
const eio = (): Error => Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' });
const NOT_DURABLE = 'The store could not make a write durable (EIO: i/o error, fdatasync)';

/** A WalSync whose first sync (for ticket a) is under way, and ticket b taken while it runs. */
async function syncUnderWay(): Promise<{ sync: ReturnType<typeof manualSync>; w: WalSync; a: ReturnType<typeof watch>; b: ReturnType<typeof watch> }> {
  const sync = manualSync();
  const w = new WalSync(file, sync.syncFile);
  const a = watch(w.committedLazily());
  await opened(sync);
  const b = watch(w.committedLazily());
  return { sync, w, a, b };
}

describe('WalSync', () => {
  it('settles a ticket only after a sync started after it; tickets taken meanwhile share the next sync', async () => {
    const sync = manualSync();
    const w = new WalSync(file, sync.syncFile);
    const a = watch(w.committedLazily());
    await opened(sync);
    expect(sync.calls).toHaveLength(1);
    const b = watch(w.committedLazily());
    const c = watch(w.committedLazily());
    expect(sync.calls).toHaveLength(1);
    expect(await a.state()).toBe('waiting');

    await sync.finish(0);
    expect(await a.state()).toBe('resolved');
    // b and c were committed while the first sync ran: it may not have covered them.
    expect(await b.state()).toBe('waiting');
    expect(await c.state()).toBe('waiting');
    expect(sync.calls).toHaveLength(2);

    await sync.finish(1);
    expect(await b.state()).toBe('resolved');
    expect(await c.state()).toBe('resolved');
    expect(sync.calls).toHaveLength(2);
    expect(w.pending()).toBe(0);
    await w.close();
  });

  it("settles every earlier ticket when a later batch commits with SQLite's own fsync", async () => {
    const { sync, w, a, b } = await syncUnderWay();
    w.committedDurably();
    expect(await a.state()).toBe('resolved');
    expect(await b.state()).toBe('resolved');
    expect(w.pending()).toBe(0);
    await sync.finish(0);
    // Nothing left to cover: no second sync.
    expect(sync.calls).toHaveLength(1);
    await w.close();
  });

  it('a failed sync rejects the tickets it was to cover and those after, and the WalSync is spent', async () => {
    const { sync, w, a, b } = await syncUnderWay();
    expect(w.usable).toBe(true);
    await sync.finish(0, eio());
    expect(await a.state()).toBe(`rejected: ${NOT_DURABLE}`);
    // A later sync could not vouch for b either (the kernel may have dropped the pages that failed).
    expect(await b.state()).toMatch(/^rejected: The store could not make a write durable/);
    expect(w.usable).toBe(false);
    const later = watch(w.committedLazily());
    expect(await later.state()).toMatch(/^rejected/);
    await a.p.catch((e: Error & { code?: string }) => expect(e.code).toBe('EIO'));
    expect(sync.calls).toHaveLength(1);
    await w.close();
  });

  it('a WAL file that cannot be opened fails its tickets plainly', async () => {
    const w = new WalSync(join(dir, 'missing', 'db-wal'));
    const tickets = [w.committedLazily(), w.committedLazily()];
    for (const t of tickets) await expect(t).rejects.toThrow(/could not make a write durable \(ENOENT/);
    expect(w.usable).toBe(false);
    await w.close();
  });

  it('close lets the sync under way finish and the one after it for what committed meanwhile, then refuses new tickets', async () => {
    // b committed while a's sync runs: that sync may not cover it.
    const { sync, w, a, b } = await syncUnderWay();
    const closing = w.close();
    expect(await a.state()).toBe('waiting');
    await sync.finish(0);
    expect(await a.state()).toBe('resolved');
    expect(await b.state()).toBe('waiting');
    await sync.finish(1);
    await closing;
    expect(await b.state()).toBe('resolved');
    expect(w.usable).toBe(false);
    await expect(w.committedLazily()).rejects.toThrow('The store is closed');
  });

  it('close after a failed sync: what waited was rejected with it, and nothing more is synced', async () => {
    const { sync, w, a, b } = await syncUnderWay();
    await sync.finish(0, eio());
    await w.close();
    const refused = `rejected: ${NOT_DURABLE}`;
    expect([await a.state(), await b.state()]).toEqual([refused, refused]);
    expect(sync.calls).toHaveLength(1);
  });

  it("syncs the WAL file's own inode with the real fdatasync", async () => {
    const seen: number[] = [];
    const { fdatasync } = await import('node:fs');
    const w = new WalSync(file, (fd, done) => {
      seen.push(fstatSync(fd).ino);
      fdatasync(fd, done);
    });
    await w.committedLazily();
    await w.committedLazily();
    expect(seen).toEqual([statSync(file).ino, statSync(file).ino]);
    await w.close();
  });
});
