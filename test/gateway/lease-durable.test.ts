/**
 * The gateway with its file store against the real ALEX sandbox over HTTP: a commit's lease is written
 * without an fsync on the event loop and made durable by a sync in the thread pool while the image
 * travels to ALEX, whose last byte waits for that sync. Held here by hand: ALEX stores nothing until the
 * lease is on disk. Failed here: the commit fails retryably with nothing at ALEX, and the retry commits
 * exactly once (the store has gone back to an fsync per write). Its outcome, also synced in the thread
 * pool, is answered only once on disk: a failed sync there fails the answer retryably, and the retry
 * replays the stored outcome — one Media at ALEX.
 *
 * A failed sync leaves its store writing with an fsync each: the lease's failure runs last on the shared
 * gateway, and the outcome's has a gateway and store of its own.
 */
import { fdatasync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CommitResponse, EnrolResponse, LaunchGrant } from '../../shared/contracts/gateway';
import { SqliteStore } from '../../gateway/src/store/sqlite';
import type { SyncFile } from '../../gateway/src/store/wal-sync';
import { creates, startHarness, type Harness } from './helpers/harness';

/** The WAL's syncs: each runs for real once `release()` lets it go, or fails once `fail` is set. */
const syncs = {
  held: [] as (() => void)[],
  started: 0,
  hold: false,
  fail: null as Error | null,
  /** When set, a sync that starts while it returns true fails. */
  failWhen: null as (() => boolean) | null,
  release(): void {
    for (const go of this.held.splice(0)) go();
  },
};
const syncFile: SyncFile = (fd, done) => {
  syncs.started++;
  const failing = syncs.fail ?? (syncs.failWhen?.() ? eio() : null);
  const go = (): void => (failing ? done(failing) : fdatasync(fd, done));
  if (syncs.hold) syncs.held.push(go);
  else go();
};

function eio(): Error {
  return Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' });
}

let dir: string;
let h: Harness;
let device: EnrolResponse;
let grant: LaunchGrant;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'gw-lease-'));
  h = await startHarness({ store: new SqliteStore(join(dir, 'gateway.sqlite'), { syncFile }) });
  device = await h.enrol();
  grant = await h.launch(device);
});
afterAll(async () => {
  syncs.hold = false;
  syncs.release();
  await h.close();
  rmSync(dir, { recursive: true, force: true });
});

async function until(check: () => boolean): Promise<void> {
  for (let i = 0; i < 400 && !check(); i++) await new Promise((resolve) => setTimeout(resolve, 5));
  expect(check()).toBe(true);
}

describe('a lease on its way to disk while the image travels', () => {
  it('ALEX stores nothing until the lease is durable; then the commit completes once', async () => {
    const before = creates(h.sandbox);
    const body = h.commitBody(grant, { media: true });
    syncs.hold = true;
    const started = syncs.started;
    const pending = h.commit(device, body);
    await until(() => syncs.held.length === 1 && syncs.started === started + 1);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(creates(h.sandbox)).toEqual(before);
    syncs.hold = false;
    syncs.release();
    const res = await pending;
    expect(res.statusCode).toBe(201);
    expect(creates(h.sandbox)).toEqual({ media: before.media + 1, documents: before.documents });
    expect(h.sandbox.store.listMedia({ identifierValue: body.imageId })).toHaveLength(1);
    expect(res.json<CommitResponse>().media?.id).toBe(h.sandbox.store.listMedia({ identifierValue: body.imageId })[0]?.id);
  });

  it('a lease that cannot be made durable: a retryable error, nothing at ALEX; the retry commits exactly once', async () => {
    const before = creates(h.sandbox);
    const body = h.commitBody(grant, { media: true });
    syncs.fail = eio();
    const first = await h.commit(device, body);
    syncs.fail = null;
    expect(first.statusCode).toBe(500);
    expect(first.json()).toMatchObject({ error: { code: 'ERR_INTERNAL', retryable: true } });
    expect(creates(h.sandbox)).toEqual(before);
    // The lease was given back (with its own fsync): the retry takes it at once.
    const started = syncs.started;
    const retry = await h.commit(device, body);
    expect(retry.statusCode).toBe(201);
    expect(creates(h.sandbox)).toEqual({ media: before.media + 1, documents: before.documents });
    expect(h.sandbox.store.listMedia({ identifierValue: body.imageId })).toHaveLength(1);
    // After a failed sync nothing is trusted to a later one: every write has its own fsync again.
    expect(syncs.started).toBe(started);
    const audit = (await h.store.listAudit({ limit: 1000 })).filter((r) => r.imageId === body.imageId).map((r) => `${r.action}:${r.outcome}`);
    expect(audit).toEqual(['commit:deferred', 'commit:committed']);
  });
});

describe("a commit's outcome synced in the thread pool", () => {
  it('an outcome that cannot be made durable: a retryable error; the retry replays it, and ALEX has the image once', async () => {
    const store = new SqliteStore(join(dir, 'outcome.sqlite'), { syncFile });
    const g = await startHarness({ store });
    try {
      const dev = await g.enrol();
      const launched = await g.launch(dev);
      const before = creates(g.sandbox);
      const body = g.commitBody(launched, { media: true });
      // The lease's sync runs before ALEX has the image; the outcome's, after: that one fails.
      syncs.failWhen = () => creates(g.sandbox).media > before.media;
      const first = await g.commit(dev, body);
      syncs.failWhen = null;
      expect(first.statusCode).toBe(500);
      expect(first.json()).toMatchObject({ error: { code: 'ERR_INTERNAL', retryable: true } });
      expect(creates(g.sandbox)).toEqual({ media: before.media + 1, documents: before.documents });
      const retry = await g.commit(dev, body);
      expect(retry.statusCode).toBe(201);
      const answer = retry.json<CommitResponse>();
      expect(answer.replayed).toBe(true);
      const stored = g.sandbox.store.listMedia({ identifierValue: body.imageId });
      expect(stored).toHaveLength(1);
      expect(answer.media?.id).toBe(stored[0]?.id);
      expect(creates(g.sandbox)).toEqual({ media: before.media + 1, documents: before.documents });
      const audit = (await g.store.listAudit({ limit: 1000 })).filter((r) => r.imageId === body.imageId).map((r) => `${r.action}:${r.outcome}`);
      expect(audit).toEqual(['commit:committed', 'commit.replay:replayed']);
    } finally {
      syncs.failWhen = null;
      await g.close();
    }
  });
});
