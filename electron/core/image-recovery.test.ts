/**
 * Restoring images at start from their sealed drafts, with real files, real imaging and the real outbox: drafts come
 * back in the order added, bound to their patient, needs-info or ready; one the outbox committed only has its files
 * removed; a damaged draft is reported to the GP by count.
 */
import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Notice } from '../../shared/contracts/bridge';
import { jpeg, waitFor } from '../outbox/test-helpers';
import { ImageLibrary } from './image-library';
import { restoreImages } from './image-files';
import { NoticeBoard } from './notices';
import { AROHA, libraryKit, outboxKit, photoIn, ScriptedCommits, silentLog, tempDir, verify } from './test-support';

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

describe('restoreImages', () => {
  it('brings drafts back in order with their status, removes committed ones, and reports a damaged draft', async () => {
    const kit = await libraryKit(cleanup);
    const commits = new ScriptedCommits();
    const outbox = await outboxKit(cleanup, commits);
    const session = verify(kit.working, AROHA);
    const dir = await tempDir('core-in-', cleanup);
    const ids: string[] = [];
    for (const tag of [{ bodySiteCode: '76552005' }, {}, { bodySiteCode: '76552005' }]) {
      const rec = kit.library.create(session, 'desktop', 'a.png', tag);
      await kit.library.ingest(rec, { path: await photoIn(dir) });
      ids.push(rec.id);
    }
    const [ready, untagged, committed] = ids as [string, string, string];
    await outbox.enqueue({ imageId: committed, patient: AROHA, grantId: session.grant.grantId, facilityId: 'F2N060-E', capturedAt: '2026-05-01T09:00:00.000Z', metadata: {}, targets: ['media'], media: { contentType: 'image/jpeg', bytes: await jpeg() } });
    outbox.start();
    await waitFor(() => outbox.get(committed)?.state === 'committed');
    await writeFile(join(kit.workDir, '99999999-0000-4000-8000-000000000000.draft'), 'garbage');

    // A new library over the same folder, as after a restart (the drafts are sealed under the same key store).
    const notices: Notice[] = [];
    const restarted = new ImageLibrary({ ...libraryDeps(kit), files: kit.files });
    await restoreImages({ files: kit.files, library: restarted, outbox, applyOutbox: () => undefined, notices: new NoticeBoard(() => 'now', (n) => notices.push(n)), log: silentLog });
    expect(restarted.all().map((r) => [r.id, r.status, r.patient.id])).toEqual([
      [ready, 'ready', AROHA.id],
      [untagged, 'needs-info', AROHA.id],
    ]);
    expect((await readdir(kit.workDir)).some((n) => n.startsWith(committed))).toBe(false);
    expect(notices.map((n) => n.message)).toEqual(['1 saved image could not be read back on this PC. Call support.']);
    // New images come after the restored ones.
    expect(restarted.create(session, 'desktop', 'b.png', {}).seq).toBe(4);
  });
});

function libraryDeps(kit: Awaited<ReturnType<typeof libraryKit>>): ConstructorParameters<typeof ImageLibrary>[0] {
  let n = 100;
  return { imaging: kit.imaging, files: kit.files, working: kit.working, newId: () => `00000000-0000-4000-8000-${String(++n).padStart(12, '0')}`, iso: () => 'now', requiredFields: () => kit.required, changed: () => undefined, progress: () => undefined, track: (p) => p, notices: new NoticeBoard(() => 'now', () => undefined), log: silentLog };
}
