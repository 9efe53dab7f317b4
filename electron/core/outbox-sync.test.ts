/**
 * Outbox events to what the GP sees, with the real durable outbox and real images: sending → committed with the
 * resource ids, the local master wiped and Medtech read back ("in Medtech ✓"); a final failure shows its plain
 * reason on the image and one notice naming the patient.
 */
import { readdir } from 'node:fs/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { OutboxItemView as BridgeOutboxItemView, type Notice } from '../../shared/contracts/bridge';
import { AppError } from '../../shared/errors/app-error';
import { compile } from '../gateway-client/validate';
import type { OutboxItemView } from '../outbox/types';
import { NoticeBoard } from './notices';
import { IMAGE_STATUS, OutboxSync, outboxView } from './outbox-sync';
import { AROHA, libraryKit, outboxKit, photoIn, ScriptedCommits, silentLog, tempDir, verify } from './test-support';
import { jpeg, waitFor } from '../outbox/test-helpers';

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

async function setup(): Promise<{ kit: Awaited<ReturnType<typeof libraryKit>>; outbox: Awaited<ReturnType<typeof outboxKit>>; commits: ScriptedCommits; sync: OutboxSync; notices: Notice[]; enqueue: () => Promise<string>; start: () => void; settled: () => Promise<unknown>; readBacks: string[] }> {
  const kit = await libraryKit(cleanup);
  const commits = new ScriptedCommits();
  const outbox = await outboxKit(cleanup, commits);
  const notices: Notice[] = [];
  const board = new NoticeBoard(() => 'now', (n) => notices.push(n));
  const pending = new Set<Promise<unknown>>();
  const readBacks: string[] = [];
  const track = <T>(p: Promise<T>): Promise<T> => (pending.add(p), p);
  const sync = new OutboxSync({ outbox, library: kit.library, files: kit.files, notices: board, verify: (id) => readBacks.push(id), track, changed: () => undefined, log: silentLog });
  cleanup.push(async () => void (await Promise.allSettled([...pending])));
  sync.subscribe();
  const session = verify(kit.working, AROHA);
  const enqueue = async (): Promise<string> => {
    const rec = kit.library.create(session, 'desktop', 'a.png', { bodySiteCode: '76552005' });
    await kit.library.ingest(rec, { path: await photoIn(await tempDir('core-in-', cleanup)) });
    await outbox.enqueue({ imageId: rec.id, patient: rec.patient, grantId: rec.grant.grantId, facilityId: rec.grant.facilityId, capturedAt: rec.capturedAt, metadata: rec.metadata, targets: ['media'], media: { contentType: 'image/jpeg', bytes: await jpeg() } });
    rec.inOutbox = true;
    return rec.id;
  };
  return { kit, outbox, commits, sync, notices, enqueue, start: () => outbox.start(), settled: () => Promise.allSettled([...pending]), readBacks };
}

describe('OutboxSync', () => {
  it('marks a confirmed image committed with its resource, wipes its files, and starts reading Medtech back', async () => {
    const { kit, enqueue, start, settled, readBacks } = await setup();
    const id = await enqueue();
    expect(kit.library.get(id).status).toBe('sending');
    start();
    await waitFor(() => kit.library.get(id).status === 'committed');
    const rec = kit.library.get(id);
    expect(rec.status).toBe('committed');
    expect(rec.committed?.media?.id).toBe('m-1');
    expect(rec.master).toBeUndefined();
    expect(readBacks).toEqual([id]);
    await settled(); // the wipe runs beside the read-back
    expect((await readdir(kit.workDir)).filter((n) => n.startsWith(id))).toEqual([]);
  });

  it('a refused commit shows its plain reason on the image and one notice for the patient', async () => {
    const { kit, commits, notices, enqueue, start } = await setup();
    commits.refuse = new AppError('ERR_COMMIT_PATIENT_MISMATCH');
    const id = await enqueue();
    start();
    await waitFor(() => kit.library.get(id).status === 'failed');
    expect(kit.library.get(id).error?.code).toBe('ERR_COMMIT_PATIENT_MISMATCH');
    expect(notices.map((n) => [n.kind, n.patientId])).toEqual([['commit-failed', AROHA.id]]);
    expect(notices[0]?.message).toMatch(/^An image for .*Aroha.* was not sent: /);
  });

  it("shows live and committed outbox items in the bridge contract's shape", async () => {
    const { outbox, enqueue, start } = await setup();
    const check = compile(BridgeOutboxItemView);
    const id = await enqueue();
    const live = outboxView(outbox.get(id)!);
    expect(check.firstError(live)).toBeUndefined();
    expect(live).toMatchObject({ status: 'queued', targets: { media: true, inboxScan: false }, patient: AROHA });
    start();
    await waitFor(() => outbox.get(id)?.state === 'committed');
    const done = outboxView(outbox.get(id)!);
    expect(check.firstError(done)).toBeUndefined();
    expect(done.patient).toBeUndefined();
    expect(done).toMatchObject({ status: 'committed', nhi: AROHA.nhi, committed: { media: { id: 'm-1' } } });
  });

  it('maps outbox states and items to what the bridge shows', () => {
    expect(['queued', 'sending', 'waiting', 'failed', 'committed'].map((s) => IMAGE_STATUS[s as OutboxItemView['state']])).toEqual(['sending', 'sending', 'waiting', 'failed', 'committed']);
    const view = outboxView({ imageId: 'i', patientId: 'p', targets: ['media', 'documentReference'], state: 'waiting', attempts: 2, updatedAt: 'u', lastError: { code: 'NOT_OURS', message: 'x' } } as unknown as OutboxItemView);
    expect(view).toEqual({ imageId: 'i', patientId: 'p', targets: { media: true, inboxScan: true }, status: 'waiting', attempts: 2, updatedAt: 'u' });
  });
});
