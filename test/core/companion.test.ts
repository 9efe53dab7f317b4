/**
 * The companion core end to end with every real part that runs here: the real gateway (listening on
 * 127.0.0.1) against the real in-process ALEX sandbox, the real imaging service (sharp, libheif) on the
 * shared fixture photos, the real durable outbox (SQLite) and the real LAN server (Fastify on 127.0.0.1),
 * all on one injected clock. Nothing is mocked.
 */
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { checkBridgeEvent, dispatchBridgeCall } from '../../shared/contracts/bridge';
import { parseLaunchUrl } from '../../electron/launch/parse';
import { buildLaunchUrl } from '../../electron/launch/testkit/launch-url';
import { FACILITY } from '../gateway/helpers/harness';
import { PHOTOS, startCoreWorld, type CoreWorld } from './world';
import { exchange, tokenFromUrl, upload } from '../../electron/lan/testing';
import { storedTitle } from '../helpers/stored-title';
import { sendLine } from '../../renderer/desktop/src/logic/send-status';

let w: CoreWorld;
beforeEach(async () => {
  // The strict sandbox: a new Media shows in the search only after its search lag (60 s on the shared clock), so
  // the companion reads each commit back on its schedule (electron/core/verify.ts), on timers of that clock.
  w = await startCoreWorld();
});
afterEach(async () => {
  await w.close();
});
const launch = (nhi: string): ReturnType<CoreWorld['launch']> => w.launch(nhi);
const settle = (): Promise<void> => w.settle();

async function passTime(ms: number): Promise<void> {
  for (let left = ms; left > 0; left -= 5_000) {
    w.timers.advance(Math.min(5_000, left));
    await settle();
  }
}

const imageFiles = async (): Promise<string[]> => (await readdir(join(w.dataDir, 'images'))).sort();

describe('companion core with the real gateway, sandbox, imaging, outbox and LAN server', () => {
  it('launch ZZZ0016 → 3 real photos (one HEIC) → tag → commit as Media + Inbox Scan → exactly those in Medtech, local files gone', async () => {
    const core = w.companion.core;
    expect((await core['app.getState']({})).patient).toBeNull();
    expect(await launch('ZZZ0016')).toEqual({ status: 'ready' });
    const state0 = await core['app.getState']({});
    expect(state0.patient?.nhi).toBe('ZZZ0016');
    expect(checkBridgeEvent('state', state0)).toBe(true);

    const added = await core['images.addPaths']({ paths: PHOTOS.map((p) => join(w.inputs, p)) });
    expect(added.rejected).toEqual([]);
    expect(added.imageIds).toHaveLength(3);
    let state = await core['app.getState']({});
    expect(state.images.map((i) => i.status)).toEqual(['needs-info', 'needs-info', 'needs-info']); // body site is required by default
    for (const img of state.images) {
      expect(img.thumbnailUrl).toMatch(/^data:image\/jpeg;base64,/);
      expect(img.patientId).toBe(state0.patient?.id);
    }
    // EXIF orientation 6: the 4032×3024 photo is upright portrait
    const jpeg = state.images.find((i) => i.label === 'photo-12mp-orient6.jpg');
    expect((jpeg?.height ?? 0) > (jpeg?.width ?? 0)).toBe(true);

    // commit refuses untagged images, sending nothing
    const early = await core['commit.start']({ targets: { media: true, inboxScan: true }, captionStrip: true });
    expect(early.queued).toEqual([]);
    expect(early.skipped.map((s) => s.error.code)).toEqual(['ERR_IMAGE_METADATA_REQUIRED', 'ERR_IMAGE_METADATA_REQUIRED', 'ERR_IMAGE_METADATA_REQUIRED']);
    expect(w.gw.sandbox.store.counters.mediaCreated).toBe(0);

    await core['images.applyMetadataToAll']({ patch: { bodySiteCode: '14975008', laterality: 'left', imageType: 'wound' } });
    await core['images.edit']({ id: added.imageIds[0] as string, edits: { rotate: 90, annotations: [{ kind: 'circle', centre: { x: 0.5, y: 0.5 }, radius: 0.1, colour: 'red' }] } });
    state = await core['app.getState']({});
    expect(state.images.every((i) => i.status === 'ready')).toBe(true);

    const res = await core['commit.start']({ targets: { media: true, inboxScan: true }, captionStrip: true });
    expect(res.skipped).toEqual([]);
    expect([...res.queued].sort()).toEqual([...added.imageIds].sort());
    await settle();

    state = await core['app.getState']({});
    expect(state.images.map((i) => i.status)).toEqual(['committed', 'committed', 'committed']);
    expect(state.images.every((i) => i.committed?.media?.id && i.committed.documentReference?.id)).toBe(true);
    // Medtech accepted them, but a new Media shows in its search only after a lag: the honest words meanwhile
    expect(state.images.map((i) => [i.committed?.verified, i.committed?.readBack])).toEqual(Array(3).fill([undefined, 'checking']));
    expect(sendLine(state.images[0] as (typeof state.images)[number], undefined, w.gw.clock.now())).toBe('Sent — Medtech accepted it; checking it is in the record…');
    expect(w.timers.size).toBe(3); // one timer per image being checked
    await passTime(2 * 60_000); // read again after 15 s, 45 s, 105 s: past the 60 s lag
    state = await core['app.getState']({});
    expect(state.images.every((i) => i.committed?.verified === true && i.committed.readBack === undefined)).toBe(true);
    expect(sendLine(state.images[0] as (typeof state.images)[number], undefined, w.gw.clock.now())).toBe('in Medtech ✓');
    expect(w.timers.size).toBe(0);
    const patientId = w.gw.patient('ZZZ0016').id;
    const store = w.gw.sandbox.store;
    expect(store.counters.mediaCreated).toBe(3);
    expect(store.counters.documentReferencesCreated).toBe(3);
    for (const id of added.imageIds) {
      const media = store.listMedia({ identifierValue: id });
      expect(media).toHaveLength(1);
      expect(JSON.stringify(media[0])).toContain(`Patient/${patientId}`);
    }
    // local masters wiped; the outbox keeps no payloads of committed images
    expect(await imageFiles()).toEqual([]);
    expect(state.outbox.filter((o) => o.status === 'committed')).toHaveLength(3);

    // every pushed snapshot matches the contract, in rising order
    expect(w.states.length).toBeGreaterThan(5);
    expect(w.states.every((s) => checkBridgeEvent('state', s))).toBe(true);
    expect(w.states.map((s) => s.revision)).toEqual([...w.states.map((s) => s.revision)].sort((a, b) => a - b));

    // no patient data in the companion's logs
    const logText = w.logs.join('');
    for (const secret of ['ZZZ0016', 'Testpatient', 'Aroha', '1985-03-14']) expect(logText).not.toContain(secret);
  });

  it('patient switch mid-session: earlier images stay with their patient, the GP is told, and they still go to THAT patient', async () => {
    const core = w.companion.core;
    await launch('ZZZ0016');
    const phone = await core['phone.start']({});
    expect(phone.patientId).toBe(w.gw.patient('ZZZ0016').id);
    const a = await core['images.addPaths']({ paths: [join(w.inputs, PHOTOS[2] as string), join(w.inputs, PHOTOS[0] as string)] });
    await core['images.updateMetadata']({ ids: a.imageIds, patch: { bodySiteCode: '85562004' } });

    expect(await launch('ZZZ0024')).toEqual({ status: 'ready' });
    const state = await core['app.getState']({});
    expect(state.patient?.nhi).toBe('ZZZ0024');
    expect(state.phone).toBeNull(); // the phone session for the previous patient ended
    expect(state.images).toHaveLength(2);
    for (const img of state.images) {
      expect(img.patient.nhi).toBe('ZZZ0016');
      expect(img.isWorkingPatient).toBe(false);
    }
    const notice = w.notices.find((n) => n.kind === 'patient-switched');
    expect(notice?.message).toBe('Now working on TESTPATIENT, Wiremu. 2 images stay with TESTPATIENT, Aroha and can still be sent to their record only.');

    // "commit all" now means the NEW patient's images: there are none, so nothing is sent
    const none = await core['commit.start']({ targets: { media: true, inboxScan: false }, captionStrip: false });
    expect(none).toEqual({ queued: [], skipped: [] });
    // adding now goes to the new patient
    const b = await core['images.addPaths']({ paths: [join(w.inputs, PHOTOS[1] as string)] });
    const bView = (await core['app.getState']({})).images.find((i) => i.id === b.imageIds[0]);
    expect(bView?.patient.nhi).toBe('ZZZ0024');

    // the earlier images, committed explicitly, go to their own patient
    const res = await core['commit.start']({ ids: a.imageIds, targets: { media: true, inboxScan: false }, captionStrip: false });
    expect(res.queued).toHaveLength(2);
    await settle();
    const store = w.gw.sandbox.store;
    for (const id of a.imageIds) {
      const media = store.listMedia({ identifierValue: id });
      expect(media).toHaveLength(1);
      expect(JSON.stringify(media[0])).toContain(`Patient/${w.gw.patient('ZZZ0016').id}`);
    }
    expect(store.counters.mediaCreated).toBe(2);
  });

  it('a phone upload through the real LAN server lands as an image for the right patient', async () => {
    const core = w.companion.core;
    await launch('ZZZ0032');
    const phone = await core['phone.start']({});
    const port = w.companion.lanAddress?.port ?? 0;
    const ex = await exchange(port, tokenFromUrl(phone.qrUrl));
    expect(ex.status).toBe(200);
    const { credential } = ex.json as { credential: string };
    const photo = await readFile(join(w.inputs, PHOTOS[2] as string));
    const up = await upload(port, credential, [
      { name: 'clientUploadId', value: '0b8f3c1e-5a7d-4e2f-9c6b-1d2e3f4a5b6c' },
      { name: 'bodySiteCode', value: '89545001' },
      { name: 'laterality', value: 'right' },
      { name: 'file', filename: 'photo.png', contentType: 'image/png', data: photo },
    ]);
    expect(up.status).toBe(200);
    const state = await core['app.getState']({});
    expect(state.images).toHaveLength(1);
    const img = state.images[0];
    expect(img?.source).toBe('phone');
    expect(img?.patient.nhi).toBe('ZZZ0032');
    expect(img?.metadata).toEqual({ bodySiteCode: '89545001', laterality: 'right' });
    expect(img?.status).toBe('ready');
    expect(state.phone?.phonesJoined).toBe(1);
    // the LAN copy is gone; only our master remains
    expect(await imageFiles()).toEqual([`${img?.id}.draft`, `${img?.id}.master.jpg`]);
  });

  it('a ready phone photo is rendered ahead once the phone pauses (in flight until then), and Send uses that render', async () => {
    const core = w.companion.core;
    await launch('ZZZ0032');
    const port = w.companion.lanAddress?.port ?? 0;
    const { credential } = (await exchange(port, tokenFromUrl((await core['phone.start']({})).qrUrl))).json as { credential: string };
    const up = await upload(port, credential, [
      { name: 'clientUploadId', value: '5d0c2a4e-8b1f-4c3d-9e7a-2b4c6d8e0f1a' },
      { name: 'bodySiteCode', value: '89545001' },
      { name: 'file', filename: 'photo.png', contentType: 'image/png', data: await readFile(join(w.inputs, PHOTOS[2] as string)) },
    ]);
    expect(up.status).toBe(200);
    const renders = (): number => w.logs.filter((l) => l.includes('imaging render done')).length;
    await core.idle(); // the phone's pause, then the render ahead: both count as work in flight
    expect(renders()).toBe(1); // Media JPEG; the PDF Inbox Scan wraps it
    const id = (await core['app.getState']({})).images[0]?.id as string;
    expect((await core['commit.start']({ ids: [id], targets: { media: true, inboxScan: true }, captionStrip: false })).queued).toEqual([id]);
    await settle();
    expect(renders()).toBe(1);
    expect((await core['app.getState']({})).images[0]?.status).toBe('committed');
  });

  it("consent required by the practice: photos need it before sending, and the name and consent reach Medtech's title", async () => {
    const core = w.companion.core;
    await core['settings.set']({ patch: { requiredFields: ['bodySiteCode', 'consent'] } });
    await launch('ZZZ0016');
    // One phone photo with the nurse's consent, one desktop photo without.
    const phone = await core['phone.start']({});
    const port = w.companion.lanAddress?.port ?? 0;
    const { credential } = (await exchange(port, tokenFromUrl(phone.qrUrl))).json as { credential: string };
    const up = await upload(port, credential, [
      { name: 'clientUploadId', value: '2a8f3c1e-5a7d-4e2f-9c6b-1d2e3f4a5b6c' },
      { name: 'bodySiteCode', value: '89545001' },
      { name: 'consent', value: 'verbal' },
      { name: 'file', filename: 'photo.png', contentType: 'image/png', data: await readFile(join(w.inputs, PHOTOS[2] as string)) },
    ]);
    expect(up.status).toBe(200);
    const added = await core['images.addPaths']({ paths: [join(w.inputs, PHOTOS[0] as string)] });
    await core['images.updateMetadata']({ ids: added.imageIds, patch: { bodySiteCode: '14975008' } });
    let state = await core['app.getState']({});
    const byLabel = (l: string) => state.images.find((i) => i.label === l);
    expect(byLabel('Photo 1')).toMatchObject({ status: 'ready', metadata: { consent: 'verbal' }, missingFields: [] });
    expect(byLabel(PHOTOS[0] as string)).toMatchObject({ status: 'needs-info', missingFields: ['consent'] });

    const early = await core['commit.start']({ targets: { media: true, inboxScan: false }, captionStrip: false });
    expect(early.skipped.map((s) => [s.error.code, s.error.detail])).toEqual([['ERR_IMAGE_METADATA_REQUIRED', 'consent']]);
    await settle();
    await core['images.applyMetadataToAll']({ patch: { consent: 'written' } });
    state = await core['app.getState']({});
    expect(byLabel(PHOTOS[0] as string)).toMatchObject({ status: 'ready', metadata: { consent: 'written' } });
    await core['commit.start']({ targets: { media: true, inboxScan: false }, captionStrip: false });
    await settle();

    const titles = w.gw.sandbox.store.listMedia().map((m) => storedTitle(m.resource)).sort();
    expect(titles).toHaveLength(2);
    expect(titles[0]).toMatch(/^Photo 1 — Face — .* — consent: verbal$/);
    expect(titles[1]).toMatch(/^photo-12mp-orient6\.jpg — Forearm — .* — consent: written$/);
    const audit = (await w.gw.store.listAudit({ limit: 1000 })).filter((r) => r.action === 'commit');
    expect(audit.map((r) => r.consent).sort()).toEqual(['verbal', 'written']);
  });

  it('bad inputs get clear coded errors and nothing is written', async () => {
    const core = w.companion.core;
    // no patient yet
    await expect(core['images.addPaths']({ paths: [join(w.inputs, PHOTOS[0] as string)] })).rejects.toMatchObject({ code: 'ERR_NO_PATIENT' });
    // a forged launch: nothing verified, nothing shown
    const forged = await core['launch.open']({ url: buildLaunchUrl('Zm9yZ2Vk', 'c2lnbmF0dXJl') });
    expect(forged.status).toBe('error');
    expect(forged.error?.action).toBe('relaunch');
    expect((await core['app.getState']({})).patient).toBeNull();
    // a hostile launch URL never reaches the gateway
    const hostile = await core['launch.open']({ url: 'clinicpro-images://launch?context=a" --gpu-launcher="calc&signature=b' });
    expect(hostile.error?.code).toBe('ERR_LAUNCH_MALFORMED');
    // a replayed pair (same URL delivered twice) and a stale one are refused by the gateway; the patient on
    // screen stays the working patient (only a verified launch changes it) and the GP is told
    const pair = w.gw.sandbox.issueLaunch({ patientId: w.gw.patient('ZZZ0016').id, facilityCode: FACILITY });
    const url = buildLaunchUrl(pair.context, pair.signature);
    expect(await core['launch.open']({ url })).toEqual({ status: 'ready' });
    expect(await core['launch.open']({ url })).toMatchObject({ status: 'error', error: { code: 'ERR_LAUNCH_REPLAYED' } });
    const afterReplay = await core['app.getState']({});
    expect(afterReplay.patient?.nhi).toBe('ZZZ0016');
    expect(afterReplay.notices.at(-1)).toMatchObject({ level: 'warning', message: expect.stringContaining('You are still working on') as string });
    const old = w.gw.sandbox.issueLaunch({ patientId: w.gw.patient('ZZZ0024').id, facilityCode: FACILITY });
    w.gw.clock.advance(10 * 60 * 1000);
    expect(await core['launch.open']({ url: buildLaunchUrl(old.context, old.signature) })).toMatchObject({ status: 'error', error: { code: 'ERR_LAUNCH_EXPIRED' } });
    expect((await core['app.getState']({})).patient?.nhi).toBe('ZZZ0016');

    await launch('ZZZ0016');
    const junk = await core['images.addFiles']({ files: [{ name: 'notes.txt', dataBase64: Buffer.from('just some text, not a photo').toString('base64') }] });
    expect(junk.imageIds).toEqual([]);
    expect(junk.rejected[0]?.error.code).toBe('ERR_IMAGE_UNSUPPORTED');
    const missing = await core['images.addPaths']({ paths: [join(w.inputs, 'nope.jpg'), 'relative/path.jpg', w.inputs] });
    expect(missing.rejected.map((r) => r.error.code)).toEqual(['ERR_IMAGE_UNSUPPORTED', 'ERR_IMAGE_UNSUPPORTED', 'ERR_IMAGE_UNSUPPORTED']);
    // a damaged photo whose file name carries patient details: refused, and the name never reaches a log
    const named = join(w.inputs, 'Canary Testpatient ZZZ0040 wound.jpg');
    await writeFile(named, (await readFile(join(w.inputs, PHOTOS[0] as string))).subarray(0, 4096));
    const damaged = await core['images.addPaths']({ paths: [named] });
    expect(damaged.rejected.map((r) => r.error.code)).toEqual(['ERR_IMAGE_CORRUPT']);
    expect(w.logs.join('')).not.toMatch(/Canary|ZZZ0040/);
    expect(await imageFiles()).toEqual([]);
    expect((await core['app.getState']({})).images).toEqual([]);
    await expect(core['images.remove']({ ids: ['6f1c2a3b-4d5e-4f60-8a7b-9c0d1e2f3a4b'] })).rejects.toMatchObject({ code: 'ERR_NOT_FOUND' });
    await expect(core['settings.set']({ patch: { gatewayUrl: 'file:///etc' } })).rejects.toMatchObject({ code: 'ERR_REQUEST_INVALID' });
    await expect(core['commit.start']({ targets: { media: false, inboxScan: false }, captionStrip: false })).rejects.toMatchObject({ code: 'ERR_REQUEST_INVALID' });
    expect(w.gw.sandbox.store.counters.mediaCreated).toBe(0);
  });

  it('Medtech offline: the image waits with a plain reason, then goes exactly once when Medtech is back', async () => {
    const core = w.companion.core;
    await launch('ZZZ0016');
    const heic = await readFile(join(w.inputs, PHOTOS[1] as string));
    const added = await core['images.addFiles']({ files: [{ name: 'IMG_0001.HEIC', dataBase64: heic.toString('base64') }] });
    expect(added.rejected).toEqual([]);
    const id = added.imageIds[0] as string;
    await core['images.updateMetadata']({ ids: [id], patch: { bodySiteCode: '56459004' } });
    w.gw.sandbox.faults.add({ kind: 'status503', facilityId: FACILITY });
    await core['commit.start']({ targets: { media: false, inboxScan: true }, captionStrip: true });
    await settle();
    let img = (await core['app.getState']({})).images[0];
    expect(img?.status).toBe('waiting');
    expect(img?.error?.retryable).toBe(true);
    expect(img?.error?.message).toMatch(/Images wait and send automatically/);
    // frozen once in the outbox
    await expect(core['images.edit']({ id, edits: { rotate: 90, annotations: [] } })).rejects.toMatchObject({ code: 'ERR_IMAGE_LOCKED' });
    await expect(core['images.remove']({ ids: [id] })).rejects.toMatchObject({ code: 'ERR_IMAGE_LOCKED' });
    expect(await imageFiles()).toEqual([`${id}.draft`, `${id}.master.jpg`]);

    w.gw.sandbox.faults.clear();
    await core['outbox.retry']({ imageId: id });
    await settle();
    img = (await core['app.getState']({})).images[0];
    expect(img?.status).toBe('committed');
    expect(w.gw.sandbox.store.counters.documentReferencesCreated).toBe(1);
    expect(w.gw.sandbox.store.counters.mediaCreated).toBe(0);
    expect(await imageFiles()).toEqual([]);
  });

  it('same patient relaunched keeps the session and its images; preview, edit and remove work on drafts', async () => {
    const core = w.companion.core;
    await launch('ZZZ0016');
    const s1 = (await core['app.getState']({})).captureSession;
    const added = await core['images.addPaths']({ paths: [join(w.inputs, PHOTOS[2] as string), join(w.inputs, PHOTOS[0] as string)] });
    await launch('ZZZ0016');
    const state = await core['app.getState']({});
    expect(state.captureSession?.id).toBe(s1?.id);
    expect(state.images.every((i) => i.isWorkingPatient)).toBe(true);
    expect(w.notices.filter((n) => n.kind === 'patient-switched')).toEqual([]);

    const [a, b] = added.imageIds as [string, string];
    const edited = await core['images.edit']({ id: a, edits: { rotate: 90, annotations: [{ kind: 'arrow', from: { x: 0.1, y: 0.1 }, to: { x: 0.5, y: 0.5 }, colour: 'yellow' }] } });
    expect(edited.width).toBe(2133); // the 1600×2133 portrait turned on its side
    const preview = await core['images.preview']({ id: a });
    expect(preview.dataUrl).toMatch(/^data:image\/jpeg;base64,/);
    expect(preview.width).toBeGreaterThan(preview.height);

    expect(await core['images.remove']({ ids: [b] })).toEqual({ removed: [b] });
    expect((await core['app.getState']({})).images.map((i) => i.id)).toEqual([a]);
    expect(await imageFiles()).toEqual([`${a}.draft`, `${a}.master.jpg`]);
  });

  it('through the bridge envelope: arguments are validated before the core sees them', async () => {
    const core = w.companion.core;
    const bad = await dispatchBridgeCall(core, 'images.addFiles', { files: [{ name: 'x', dataBase64: '%%%' }] });
    expect(bad).toMatchObject({ ok: false, error: { code: 'ERR_REQUEST_INVALID' } });
    const unknown = await dispatchBridgeCall(core, 'fs.readFile', { path: '/etc/passwd' });
    expect(unknown).toMatchObject({ ok: false, error: { code: 'ERR_REQUEST_INVALID' } });
    const noPatient = await dispatchBridgeCall(core, 'phone.start', undefined);
    expect(noPatient).toMatchObject({ ok: false, error: { code: 'ERR_NO_PATIENT', action: 'relaunch' } });
    const ok = await dispatchBridgeCall(core, 'settings.set', { patch: { roomLabel: 'Room 3' } });
    expect(ok).toMatchObject({ ok: true, value: { roomLabel: 'Room 3' } });
    expect(await imageFiles()).toEqual([]);
  });

  it('a restart loses nothing: drafts come back bound to their patient (sealed on disk), waiting items keep waiting', async () => {
    let core = w.companion.core;
    await launch('ZZZ0016');
    const phone = await core['phone.start']({});
    const port = w.companion.lanAddress?.port ?? 0;
    const ex = await exchange(port, tokenFromUrl(phone.qrUrl));
    const { credential } = ex.json as { credential: string };
    const up = await upload(port, credential, [
      { name: 'clientUploadId', value: '7c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f' },
      { name: 'file', filename: 'p.jpg', contentType: 'image/jpeg', data: await readFile(join(w.inputs, PHOTOS[0] as string)) },
    ]);
    expect(up.status).toBe(200); // acknowledged to the nurse: must survive
    const desk = await core['images.addPaths']({ paths: [join(w.inputs, PHOTOS[2] as string)] });
    await core['images.updateMetadata']({ ids: desk.imageIds, patch: { bodySiteCode: '72696002', laterality: 'right', caption: 'graze' } });
    const before = (await core['app.getState']({})).images;
    expect(before).toHaveLength(2);
    // no patient data in clear on disk
    for (const f of await imageFiles()) {
      if (!f.endsWith('.draft')) continue;
      const raw = await readFile(join(w.dataDir, 'images', f), 'latin1');
      for (const secret of ['ZZZ0016', 'Testpatient', 'Aroha', 'graze']) expect(raw).not.toContain(secret);
    }

    await w.restart();
    core = w.companion.core;
    const after = await core['app.getState']({});
    expect(after.patient).toBeNull(); // nothing verified yet in this run
    expect(after.images.map((i) => [i.id, i.patient.nhi, i.status, i.metadata])).toEqual(before.map((i) => [i.id, 'ZZZ0016', i.status, i.metadata]));
    expect(after.images.every((i) => i.thumbnailUrl?.startsWith('data:image/jpeg;base64,'))).toBe(true);

    // committed explicitly, each goes to its own patient with its own (still live) grant
    await core['images.updateMetadata']({ ids: after.images.map((i) => i.id), patch: { bodySiteCode: '72696002' } });
    const res = await core['commit.start']({ ids: after.images.map((i) => i.id), targets: { media: true, inboxScan: false }, captionStrip: false });
    expect(res.queued).toHaveLength(2);
    await settle();
    for (const i of after.images) {
      const media = w.gw.sandbox.store.listMedia({ identifierValue: i.id });
      expect(media).toHaveLength(1);
      expect(JSON.stringify(media[0])).toContain(`Patient/${w.gw.patient('ZZZ0016').id}`);
    }
    expect(await imageFiles()).toEqual([]);
  });

  it('the gateway address in settings is the one used, also after enrolment (IT can repoint the PC)', async () => {
    const core = w.companion.core;
    await core['settings.set']({ patch: { gatewayUrl: 'http://127.0.0.1:1' } });
    const down = await launch('ZZZ0016');
    expect(down).toMatchObject({ status: 'error', error: { code: 'ERR_GATEWAY_UNREACHABLE', retryable: true } });
    expect((await core['app.getState']({})).patient).toBeNull();
    await core['settings.set']({ patch: { gatewayUrl: w.gatewayUrl } });
    expect(await launch('ZZZ0016')).toEqual({ status: 'ready' });
    expect((await core['app.getState']({})).enrolment).toEqual({ enrolled: true, practiceName: 'Test Practice', deviceName: 'Consult room 3', gatewayUrl: w.gatewayUrl });
  });

  it('an expired grant: the image waits for a relaunch, and relaunching the SAME patient sends it (grant rebound)', async () => {
    const core = w.companion.core;
    await launch('ZZZ0016');
    const added = await core['images.addPaths']({ paths: [join(w.inputs, PHOTOS[2] as string)] });
    const id = added.imageIds[0] as string;
    await core['images.updateMetadata']({ ids: [id], patch: { bodySiteCode: '89545001' } });
    w.gw.clock.advance(13 * 60 * 60 * 1000); // past the 12 h grant
    await core['commit.start']({ ids: [id], targets: { media: true, inboxScan: false }, captionStrip: false });
    await settle();
    let img = (await core['app.getState']({})).images[0];
    expect(img?.status).toBe('waiting');
    expect(img?.error?.code).toBe('ERR_LAUNCH_GRANT_EXPIRED');
    expect(img?.error?.action).toBe('relaunch');
    expect(w.gw.sandbox.store.counters.mediaCreated).toBe(0);

    expect(await launch('ZZZ0016')).toEqual({ status: 'ready' });
    await settle();
    img = (await core['app.getState']({})).images[0];
    expect(img?.status).toBe('committed');
    expect(w.gw.sandbox.store.listMedia({ identifierValue: id })).toHaveLength(1);
    expect(w.notices.filter((n) => n.kind === 'patient-switched')).toEqual([]);
  });

  it('two Commit clicks at once send each image once; details cannot change while it is being prepared', async () => {
    const core = w.companion.core;
    await launch('ZZZ0016');
    const added = await core['images.addPaths']({ paths: [join(w.inputs, PHOTOS[2] as string)] });
    const id = added.imageIds[0] as string;
    await core['images.updateMetadata']({ ids: [id], patch: { bodySiteCode: '89545001' } });
    const targets = { media: true, inboxScan: false };
    const first = core['commit.start']({ targets, captionStrip: true });
    const second = core['commit.start']({ ids: [id], targets, captionStrip: true });
    const during = core['images.updateMetadata']({ ids: [id], patch: { caption: 'changed mid-commit' } });
    const [a, b, c] = await Promise.all([first, second, during]);
    expect([...a.queued, ...b.queued]).toEqual([id]);
    expect([...a.skipped, ...b.skipped].map((x) => x.error.code)).toEqual(['ERR_IMAGE_LOCKED']);
    expect(c.updated).toEqual([]);
    await settle();
    expect(w.gw.sandbox.store.listMedia({ identifierValue: id })).toHaveLength(1);
    expect(JSON.stringify(w.gw.sandbox.store.listMedia({ identifierValue: id })[0])).not.toContain('changed mid-commit');
  });

  it('round-trips sandbox-issued launch pairs through the strict parser unchanged', () => {
    for (let i = 0; i < 50; i++) {
      const pair = w.gw.sandbox.issueLaunch({ patientId: w.gw.patient('ZZZ0016').id, facilityCode: FACILITY });
      for (const url of [buildLaunchUrl(pair.context, pair.signature), `clinicpro-images://launch?context=${pair.context}&signature=${pair.signature}`]) {
        const r = parseLaunchUrl(url);
        expect(r.ok && r.ticket.context === pair.context && r.ticket.signature === pair.signature, url.slice(0, 80)).toBe(true);
      }
    }
  });
});
