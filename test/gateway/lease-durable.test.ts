/**
 * The gateway with its file store against the real ALEX sandbox over HTTP: a commit's lease is durable
 * when the store's promise resolves (synchronous=FULL), and the commit creates nothing at ALEX before
 * that. Held here by hand (a slow disk): ALEX stores nothing until the lease is on disk. Failed here (the
 * disk refuses it, so SQLite stores nothing): the commit fails retryably with nothing at ALEX, and the
 * retry commits exactly once. Its outcome written but not known to be on disk (the write reports an I/O
 * error after SQLite wrote it): the answer fails retryably, and the retry replays the stored outcome —
 * one Media at ALEX.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CommitResponse, EnrolResponse, LaunchGrant } from '../../shared/contracts/gateway';
import { SqliteStore } from '../../gateway/src/store/sqlite';
import type { AcquireResult, AuditRecord, CommitProgress, IdempotencyClaim, StoredResponse } from '../../gateway/src/store/types';
import { creates, startHarness, type Harness } from './helpers/harness';

function eio(): Error {
  return Object.assign(new Error('disk I/O error'), { code: 'SQLITE_IOERR_FSYNC' });
}

/** The file store with its disk under the test's hand: a lease held on its way to disk, or refused; an outcome written and then reported failed. */
class DiskUnderTest extends SqliteStore {
  holdLeases = false;
  readonly held: (() => void)[] = [];
  failLease: Error | null = null;
  failOutcomeWhen: (() => boolean) | null = null;

  override async acquireIdempotency(claim: IdempotencyClaim): Promise<AcquireResult> {
    if (this.failLease) throw this.failLease;
    const result = await super.acquireIdempotency(claim);
    if (this.holdLeases) await new Promise<void>((resolve) => this.held.push(resolve));
    return result;
  }

  override async completeIdempotency(key: string, leaseOwner: string, response: StoredResponse, now: number, progress?: CommitProgress, audit?: AuditRecord): Promise<boolean> {
    const stored = await super.completeIdempotency(key, leaseOwner, response, now, progress, audit);
    if (this.failOutcomeWhen?.()) throw eio();
    return stored;
  }

  release(): void {
    for (const go of this.held.splice(0)) go();
  }
}

let dir: string;
let disk: DiskUnderTest;
let h: Harness;
let device: EnrolResponse;
let grant: LaunchGrant;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'gw-lease-'));
  disk = new DiskUnderTest(join(dir, 'gateway.sqlite'));
  h = await startHarness({ store: disk });
  device = await h.enrol();
  grant = await h.launch(device);
});
afterAll(async () => {
  disk.holdLeases = false;
  disk.release();
  await h.close();
  rmSync(dir, { recursive: true, force: true });
});

async function until(check: () => boolean): Promise<void> {
  for (let i = 0; i < 400 && !check(); i++) await new Promise((resolve) => setTimeout(resolve, 5));
  expect(check()).toBe(true);
}

describe('a lease on its way to disk', () => {
  it('ALEX stores nothing until the lease is durable; then the commit completes once', async () => {
    const before = creates(h.sandbox);
    const body = h.commitBody(grant, { media: true });
    disk.holdLeases = true;
    const pending = h.commit(device, body);
    await until(() => disk.held.length === 1);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(creates(h.sandbox)).toEqual(before);
    disk.holdLeases = false;
    disk.release();
    const res = await pending;
    expect(res.statusCode).toBe(201);
    expect(creates(h.sandbox)).toEqual({ media: before.media + 1, documents: before.documents });
    expect(h.sandbox.store.listMedia({ identifierValue: body.imageId })).toHaveLength(1);
    expect(res.json<CommitResponse>().media?.id).toBe(h.sandbox.store.listMedia({ identifierValue: body.imageId })[0]?.id);
  });

  it('a lease that cannot be made durable: a retryable error, nothing at ALEX; the retry commits exactly once', async () => {
    const before = creates(h.sandbox);
    const body = h.commitBody(grant, { media: true });
    disk.failLease = eio();
    const first = await h.commit(device, body);
    disk.failLease = null;
    expect(first.statusCode).toBe(500);
    expect(first.json()).toMatchObject({ error: { code: 'ERR_INTERNAL', retryable: true } });
    expect(creates(h.sandbox)).toEqual(before);
    // No lease was stored: the retry takes it at once.
    const retry = await h.commit(device, body);
    expect(retry.statusCode).toBe(201);
    expect(creates(h.sandbox)).toEqual({ media: before.media + 1, documents: before.documents });
    expect(h.sandbox.store.listMedia({ identifierValue: body.imageId })).toHaveLength(1);
    const audit = (await h.store.listAudit({ limit: 1000 })).filter((r) => r.imageId === body.imageId).map((r) => `${r.action}:${r.outcome}`);
    expect(audit).toEqual(['commit:committed']);
  });
});

describe("a commit's outcome not known to be on disk", () => {
  it('a retryable error; the retry replays it, and ALEX has the image once', async () => {
    const store = new DiskUnderTest(join(dir, 'outcome.sqlite'));
    const g = await startHarness({ store });
    try {
      const dev = await g.enrol();
      const launched = await g.launch(dev);
      const before = creates(g.sandbox);
      const body = g.commitBody(launched, { media: true });
      // The outcome written after ALEX has the image is reported failed.
      store.failOutcomeWhen = () => creates(g.sandbox).media > before.media;
      const first = await g.commit(dev, body);
      store.failOutcomeWhen = null;
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
      store.failOutcomeWhen = null;
      await g.close();
    }
  });
});
