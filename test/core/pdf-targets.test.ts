/**
 * A file that cannot go to every chosen target (a PDF: Medtech's Media takes photos) is told so in plain words
 * when it is added, and still goes to the target it can (the Inbox Scan), as itself. Same real parts as
 * companion.test.ts: real gateway on 127.0.0.1, ALEX sandbox, imaging, outbox and LAN server. Nothing is mocked.
 */
import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PHOTOS, startCoreWorld, type CoreWorld } from './world';
import type { AppState } from '../../shared/contracts/bridge';
import { exchange, tokenFromUrl, upload } from '../../electron/lan/testing';
import { makePdf } from '../../electron/imaging/testkit/images';

let w: CoreWorld;
beforeEach(async () => {
  w = await startCoreWorld();
});
afterEach(async () => {
  await w.close();
});
const launch = (nhi: string): ReturnType<CoreWorld['launch']> => w.launch(nhi);
const settle = (): Promise<void> => w.settle();
const imageFiles = async (): Promise<string[]> => (await readdir(join(w.dataDir, 'images'))).sort();

const PDF_NOTICE = "This PDF can go to the Inbox Scan only; Medtech's Media takes photos. It will be sent to the Inbox Scan.";

describe('a PDF and the commit targets', () => {
  it('a PDF from the phone: told at once, then committed to the Inbox Scan (as PDF) while the photo goes to both', async () => {
    const core = w.companion.core;
    await launch('ZZZ0032');
    await core['settings.set']({ patch: { inboxScanFormat: 'tiff' } });
    const phone = await core['phone.start']({});
    const port = w.companion.lanAddress?.port ?? 0;
    const { credential } = (await exchange(port, tokenFromUrl(phone.qrUrl))).json as { credential: string };
    const pdf = await makePdf();
    const up = await upload(port, credential, [
      { name: 'clientUploadId', value: '1b8f3c1e-5a7d-4e2f-9c6b-1d2e3f4a5b6c' },
      { name: 'bodySiteCode', value: '89545001' },
      { name: 'file', filename: 'referral.pdf', contentType: 'application/pdf', data: pdf },
    ]);
    expect(up.status).toBe(200);
    expect(w.notices.map((n) => n.message)).toContain(PDF_NOTICE);
    await core['images.addPaths']({ paths: [join(w.inputs, PHOTOS[2] as string)] });
    await core['images.applyMetadataToAll']({ patch: { bodySiteCode: '89545001' } });

    const res = await core['commit.start']({ targets: { media: true, inboxScan: true }, captionStrip: false });
    expect(res.skipped).toEqual([]);
    expect(res.queued).toHaveLength(2);
    await settle();
    const state = await core['app.getState']({});
    expect(state.images.map((i) => i.status)).toEqual(['committed', 'committed']);
    const [pdfImage, photo] = state.images;
    expect(pdfImage?.committed?.documentReference?.id).toBeTruthy();
    expect(pdfImage?.committed?.media).toBeUndefined();
    expect(photo?.committed?.media?.id && photo.committed.documentReference?.id).toBeTruthy();
    const store = w.gw.sandbox.store;
    expect(store.counters.mediaCreated).toBe(1);
    expect(store.counters.documentReferencesCreated).toBe(2);
    expect(JSON.stringify(state)).not.toContain('not a photo or document we can use');
    expect(await imageFiles()).toEqual([]);
  });

  it('a PDF with only Media chosen is not sent, says why in plain words, and keeps waiting', async () => {
    const core = w.companion.core;
    await launch('ZZZ0016');
    const pdfPath = join(w.inputs, 'scan.pdf');
    await writeFile(pdfPath, await makePdf());
    const added = await core['images.addPaths']({ paths: [pdfPath] });
    expect(added.rejected).toEqual([]);
    expect(w.notices.map((n) => n.message)).toContain(PDF_NOTICE);
    await core['images.applyMetadataToAll']({ patch: { bodySiteCode: '14975008' } });
    const res = await core['commit.start']({ targets: { media: true, inboxScan: false }, captionStrip: false });
    expect(res.queued).toEqual([]);
    expect(res.skipped.map((s) => [s.error.code, s.error.message])).toEqual([
      ['ERR_IMAGE_PDF_INBOX_ONLY', "This PDF can go to the Inbox Scan only; Medtech's Media takes photos. Choose Inbox Scan to send it."],
    ]);
    await settle();
    const state: AppState = await core['app.getState']({});
    expect(state.images.map((i) => i.status)).toEqual(['ready']);
    expect(w.gw.sandbox.store.counters.mediaCreated).toBe(0);
    expect(w.gw.sandbox.store.counters.documentReferencesCreated).toBe(0);
    expect((await imageFiles()).some((f) => f.endsWith('.master.pdf'))).toBe(true);
  });
});
