/**
 * The image library with the real imaging service and real sealed drafts: ingest binds the image to its session's
 * patient and grant and saves it before answering; metadata, edits and removal; frozen images refuse changes; a
 * junk file leaves no record and no file.
 */
import { readdir } from 'node:fs/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { libraryKit, photoIn, tempDir, verify, WIREMU, AROHA } from './test-support';

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

describe('ImageLibrary', () => {
  it('ingests a photo for its session patient, saves a sealed draft beside the master, and keeps it after a patient switch', async () => {
    const kit = await libraryKit(cleanup);
    const session = verify(kit.working, AROHA);
    const rec = kit.library.create(session, 'desktop', 'wound.png', {});
    expect(await kit.library.ingest(rec, { path: await photoIn(await tempDir('core-in-', cleanup)) })).toBe(true);
    expect(rec.status).toBe('needs-info');
    expect(rec.grant.patient.id).toBe(AROHA.id);
    const own = (await readdir(kit.workDir)).filter((n) => n.startsWith(`${rec.id}.`));
    expect(own).toContain(`${rec.id}.draft`);
    expect(own).toHaveLength(2); // the master and its sealed draft
    expect(kit.progress).toEqual([{ imageId: rec.id, phase: 'ingest', fraction: 1 }]);
    verify(kit.working, WIREMU);
    expect(kit.library.view(rec)).toMatchObject({ patientId: AROHA.id, isWorkingPatient: false });
    const { drafts } = await kit.files.recover();
    expect(drafts.map((d) => [d.id, d.patient.id])).toEqual([[rec.id, AROHA.id]]);
  });

  it('refuses a file that is not an image with a plain code and leaves no record and no file', async () => {
    const kit = await libraryKit(cleanup);
    const rec = kit.library.create(verify(kit.working, AROHA), 'desktop', 'notes.txt', {});
    await expect(kit.library.ingest(rec, { buffer: Buffer.from('not an image at all, just words') })).rejects.toMatchObject({ code: 'ERR_IMAGE_UNSUPPORTED' });
    expect(kit.library.all()).toEqual([]);
    expect(await readdir(kit.workDir)).toEqual([]);
  });

  it('tags, edits and removes drafts; an image in the outbox is left as it is and cannot be edited or removed', async () => {
    const kit = await libraryKit(cleanup);
    const session = verify(kit.working, AROHA);
    const dir = await tempDir('core-in-', cleanup);
    const a = kit.library.create(session, 'desktop', 'a.png', {});
    const b = kit.library.create(session, 'desktop', 'b.png', {});
    await kit.library.ingest(a, { path: await photoIn(dir) });
    await kit.library.ingest(b, { path: await photoIn(dir) });
    b.inOutbox = true;
    expect(await kit.library.applyToPatient(AROHA.id, { bodySiteCode: '76552005' })).toEqual({ updated: [a.id] });
    expect(a.status).toBe('ready');
    expect(b.metadata).toEqual({});
    const turned = await kit.library.edit(a.id, { rotate: 90, annotations: [] });
    expect([turned.width, turned.height]).toEqual([a.master?.height, a.master?.width]);
    await expect(kit.library.edit(b.id, { rotate: 90, annotations: [] })).rejects.toMatchObject({ code: 'ERR_IMAGE_LOCKED' });
    await expect(kit.library.remove([a.id, b.id])).rejects.toMatchObject({ code: 'ERR_IMAGE_LOCKED' });
    expect(kit.library.size).toBe(2);
    expect(await kit.library.remove([a.id])).toEqual({ removed: [a.id] });
    expect((await readdir(kit.workDir)).some((n) => n.startsWith(a.id))).toBe(false);
    await expect(kit.library.updateMetadata(['nope'], { caption: 'x' })).rejects.toMatchObject({ code: 'ERR_NOT_FOUND' });
  });

  it('previews a draft as a JPEG with its edits', async () => {
    const kit = await libraryKit(cleanup);
    const rec = kit.library.create(verify(kit.working, AROHA), 'desktop', 'a.png', {});
    await kit.library.ingest(rec, { path: await photoIn(await tempDir('core-in-', cleanup)) });
    await kit.library.edit(rec.id, { rotate: 270, annotations: [] });
    const p = await kit.library.preview(rec.id);
    expect(p.dataUrl.startsWith('data:image/jpeg;base64,')).toBe(true);
    // The fixture is portrait; turned a quarter it previews landscape.
    expect((rec.master?.height ?? 0) > (rec.master?.width ?? 0)).toBe(true);
    expect(p.width).toBeGreaterThan(p.height);
  });
});
