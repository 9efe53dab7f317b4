/**
 * "Commit" with the real imaging service and the real durable outbox (not started, so items stay queued): tagged
 * images are rendered under the size limit and handed over with THEIR OWN patient and newest grant; untagged,
 * frozen and unknown images are skipped with plain reasons; a commit with no target is refused.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Notice } from '../../shared/contracts/bridge';
import { waitFor } from '../outbox/test-helpers';
import { DEFAULT_SETTINGS } from './settings';
import { CommitPipeline } from './commit-pipeline';
import { NoticeBoard } from './notices';
import { OutboxSync } from './outbox-sync';
import { PhoneCapture } from './phone-capture';
import { AROHA, libraryKit, outboxKit, photoIn, ScriptedCommits, silentLog, tempDir, verify, WIREMU } from './test-support';

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

async function setup() {
  const kit = await libraryKit(cleanup);
  const commits = new ScriptedCommits();
  const outbox = await outboxKit(cleanup, commits);
  const notices: Notice[] = [];
  const board = new NoticeBoard(() => 'now', (n) => notices.push(n));
  const sync = new OutboxSync({ outbox, library: kit.library, files: kit.files, notices: board, track: (p) => p, changed: () => undefined, log: silentLog });
  const phone = new PhoneCapture({ working: kit.working, library: kit.library, notices: board, roomLabel: () => 'Room 3', changed: () => undefined, log: silentLog });
  const settings = { ...DEFAULT_SETTINGS, roomLabel: 'Room 3' };
  const pipeline = new CommitPipeline({ working: kit.working, library: kit.library, imaging: kit.imaging, outbox, sync, phone, notices: board, settings: () => settings, progress: () => undefined, track: (p) => p, changed: () => undefined, log: silentLog });
  const dir = await tempDir('core-in-', cleanup);
  const add = async (session: ReturnType<typeof verify>, metadata = { bodySiteCode: '76552005' }): Promise<string> => {
    const rec = kit.library.create(session, 'desktop', 'a.png', metadata);
    await kit.library.ingest(rec, { path: await photoIn(dir) });
    return rec.id;
  };
  return { kit, outbox, commits, pipeline, notices, add };
}

describe('CommitPipeline', () => {
  it("hands each image over with its own patient and that patient's newest grant, rendered under the limit", async () => {
    const { kit, outbox, commits, pipeline, add } = await setup();
    const first = await add(verify(kit.working, AROHA));
    verify(kit.working, WIREMU);
    verify(kit.working, AROHA); // Aroha opened again: a newer grant
    const newest = kit.working.grantFor(AROHA.id);
    verify(kit.working, WIREMU);
    const res = await pipeline.start({ ids: [first], targets: { media: true, inboxScan: true }, captionStrip: true });
    expect(res).toEqual({ queued: [first], skipped: [] });
    expect(outbox.get(first)).toMatchObject({ patientId: AROHA.id, targets: ['media', 'documentReference'], state: 'queued' });
    expect(kit.library.get(first)).toMatchObject({ inOutbox: true, status: 'sending' });
    outbox.start();
    await waitFor(() => commits.sent.length === 1);
    const sent = commits.sent[0];
    expect([sent?.patientId, sent?.grantId]).toEqual([AROHA.id, newest?.grantId]);
    expect(sent?.media?.contentType).toBe('image/jpeg');
    expect(sent?.document?.contentType).toBe('application/pdf');
    for (const data of [sent?.media?.data, sent?.document?.data]) expect(Buffer.from(data ?? '', 'base64').length).toBeLessThanOrEqual(DEFAULT_SETTINGS.maxAttachmentBytes);
  });

  it('"commit all" takes the working patient\'s images; untagged and frozen ones are skipped with plain reasons', async () => {
    const { kit, pipeline, notices, add } = await setup();
    await expect(pipeline.start({ targets: { media: true, inboxScan: false }, captionStrip: false })).rejects.toMatchObject({ code: 'ERR_NO_PATIENT' });
    const session = verify(kit.working, AROHA);
    const tagged = await add(session);
    const untagged = await add(session, {} as { bodySiteCode: string });
    await expect(pipeline.start({ targets: { media: false, inboxScan: false }, captionStrip: false })).rejects.toMatchObject({ code: 'ERR_REQUEST_INVALID' });
    const res = await pipeline.start({ targets: { media: true, inboxScan: false }, captionStrip: false });
    expect(res.queued).toEqual([tagged]);
    expect(res.skipped.map((s) => [s.id, s.error.code])).toEqual([[untagged, 'ERR_IMAGE_METADATA_REQUIRED']]);
    expect(notices.map((n) => n.message)).toEqual(['1 image could not be sent yet. Check the highlighted images.']);
    const again = await pipeline.start({ ids: [tagged], targets: { media: true, inboxScan: false }, captionStrip: false });
    expect(again.skipped.map((s) => s.error.code)).toEqual(['ERR_IMAGE_LOCKED']);
    await expect(pipeline.start({ ids: ['nope'], targets: { media: true, inboxScan: false }, captionStrip: false })).rejects.toMatchObject({ code: 'ERR_NOT_FOUND' });
  });
});
