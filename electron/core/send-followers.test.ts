/**
 * Send while the phone is still sending, with the real LAN server on 127.0.0.1, real imaging and the real outbox (not
 * started, so items stay queued): after a "send all", photos the phone had numbered arrive and are queued with that
 * Send's targets; after a Send of picked photos they stay on the desktop; one that cannot go stays with its reason.
 */
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { afterEach, describe, expect, it } from 'vitest';
import type { Notice } from '../../shared/contracts/bridge';
import { AppError } from '../../shared/errors/app-error';
import { createLanServer } from '../lan/server';
import { errorCode, exchange, hold, ManualClock, tokenFromUrl, upload, type Part } from '../lan/testing';
import { CommitPipeline } from './commit-pipeline';
import { restoreImages } from './image-files';
import { ImageLibrary } from './image-library';
import { NoticeBoard } from './notices';
import { OutboxSync } from './outbox-sync';
import { PhoneCapture } from './phone-capture';
import { SendFollowers, stillComingFile } from './send-followers';
import { DEFAULT_SETTINGS } from './settings';
import { AROHA, FIXTURES, libraryKit, outboxKit, PHOTO, ScriptedCommits, silentLog, verify, WIREMU } from './test-support';

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

/** Holds the next call it is armed for until opened: the order of a race, set by the test instead of by timing. */
class Gate {
  private armed = false;
  private release: () => void = () => undefined;
  private readonly opened = new Promise<void>((resolve) => (this.release = resolve));
  private reach: () => void = () => undefined;
  /** Settles once the armed call is waiting. */
  readonly reached = new Promise<void>((resolve) => (this.reach = resolve));

  arm(): void {
    this.armed = true;
  }
  open(): void {
    this.release();
  }
  /** Wraps one async method: its next call after `arm` waits for `open`. */
  hold<A extends unknown[], R>(fn: (...a: A) => Promise<R>): (...a: A) => Promise<R> {
    return async (...a: A) => {
      if (this.armed) {
        this.armed = false;
        this.reach();
        await this.opened;
      }
      return fn(...a);
    };
  }
}

async function setup(gates: { render?: Gate; persist?: Gate } = {}) {
  const kit = await libraryKit(cleanup);
  if (gates.persist !== undefined) kit.files.persist = gates.persist.hold(kit.files.persist.bind(kit.files));
  const imaging = gates.render === undefined ? kit.imaging : { ingest: kit.imaging.ingest.bind(kit.imaging), render: gates.render.hold(kit.imaging.render.bind(kit.imaging)) };
  const outbox = await outboxKit(cleanup, new ScriptedCommits());
  const notices: Notice[] = [];
  const board = new NoticeBoard(() => 'now', (n) => notices.push(n));
  const work: Promise<unknown>[] = [];
  const track = <T>(p: Promise<T>): Promise<T> => (work.push(p), p);
  const base = { notices: board, track: <T>(p: Promise<T>): Promise<T> => p, changed: () => undefined, log: silentLog };
  const late: { pipeline?: CommitPipeline } = {};
  const followers = new SendFollowers({ ...base, track, store: stillComingFile(kit.workDir), send: (rec, plan) => (late.pipeline as CommitPipeline).sendFollower(rec, plan) });
  const phone = new PhoneCapture({ ...base, working: kit.working, library: kit.library, followers, roomLabel: () => 'Room 3' });
  const sync = new OutboxSync({ ...base, outbox, library: kit.library, files: kit.files });
  const settings = { ...DEFAULT_SETTINGS, roomLabel: 'Room 3' };
  late.pipeline = new CommitPipeline({ ...base, working: kit.working, library: kit.library, imaging, outbox, sync, phone, followers, settings: () => settings, progress: () => undefined });
  const lan = createLanServer({ bindHost: '127.0.0.1', port: 0, clock: new ManualClock().now, logger: silentLog, sink: phone.sink, sweepIntervalMs: 0 });
  phone.attach(lan);
  const { port } = await lan.listen();
  cleanup.push(() => lan.close());
  verify(kit.working, AROHA);
  const qr = await phone.start();
  const credential = ((await exchange(port, tokenFromUrl(qr.qrUrl))).json as { credential: string }).credential;
  const png = await readFile(FIXTURES + PHOTO);
  const send = (id: string, bodySiteCode: string | null = '76552005'): ReturnType<typeof upload> => {
    const parts: Part[] = [{ name: 'clientUploadId', value: id }];
    if (bodySiteCode !== null) parts.push({ name: 'bodySiteCode', value: bodySiteCode });
    parts.push({ name: 'file', filename: 'p.png', contentType: 'image/png', data: png });
    return upload(port, credential, parts);
  };
  /** Waits for the followers' sends. */
  const settle = async (): Promise<void> => {
    while (work.length > 0) await Promise.allSettled(work.splice(0));
  };
  const ids = [randomUUID(), randomUUID(), randomUUID()];
  await hold(port, credential, ids);
  return { kit, outbox, notices, pipeline: late.pipeline, followers, phone, port, credential, send, settle, ids };
}

const BOTH = { media: true, inboxScan: true };

describe('Send while the phone is still sending', () => {
  it('after "send all", each photo the phone had numbered is sent with the same targets when it arrives, once; nothing new is taken', async () => {
    const s = await setup();
    const [a, b, c] = s.ids as [string, string, string];
    expect(s.phone.view()).toMatchObject({ photosComing: 3 }); // before the Send, the desktop can say they will go with it
    const first = (await s.send(a)).json as { imageId: string };
    expect(s.phone.view()).toMatchObject({ photosComing: 2 });
    const res = await s.pipeline.start({ targets: BOTH, captionStrip: false });
    expect(res).toEqual({ queued: [first.imageId], skipped: [] });
    expect(s.followers.view()).toEqual([{ patientId: AROHA.id, photos: 2, onArrival: 'send' }]);

    for (const id of [b, c]) {
      const late = await s.send(id);
      expect(late.json).toMatchObject({ sessionSent: true, duplicate: false });
      await s.settle();
      const imageId = (late.json as { imageId: string }).imageId;
      expect(s.outbox.get(imageId)).toMatchObject({ patientId: AROHA.id, targets: ['media', 'documentReference'], state: 'queued' });
    }
    expect(s.followers.view()).toEqual([]);
    expect((await s.send(c)).json).toMatchObject({ duplicate: true });
    expect(s.outbox.list()).toHaveLength(3);
    expect(errorCode(await hold(s.port, s.credential, [randomUUID()]))).toBe('ERR_LAN_SESSION_SENT');
    expect(errorCode(await s.send(randomUUID()))).toBe('ERR_LAN_SESSION_SENT');
    expect(s.notices).toEqual([]);
  });

  it('a Send of picked photos does not take the rest: the desktop is told they are still coming and will wait; each stays on the desktop', async () => {
    const s = await setup();
    const [a, b, c] = s.ids as [string, string, string];
    const first = (await s.send(a)).json as { imageId: string };
    await s.pipeline.start({ ids: [first.imageId], targets: BOTH, captionStrip: false });
    expect(s.followers.view()).toEqual([{ patientId: AROHA.id, photos: 2, onArrival: 'wait' }]);
    const late = await s.send(b);
    expect(late.json).toMatchObject({ sessionSent: true });
    await s.settle();
    const rec = s.kit.library.get((late.json as { imageId: string }).imageId);
    expect([rec.status, rec.inOutbox]).toEqual(['ready', false]);
    expect(s.outbox.list()).toHaveLength(1);
    expect(s.followers.view()).toEqual([{ patientId: AROHA.id, photos: 1, onArrival: 'wait' }]);
    await s.send(c);
    await s.settle();
    expect(s.outbox.list()).toHaveLength(1);
    expect(s.followers.view()).toEqual([]);
    expect(s.notices).toEqual([]);
  });

  it('a patient switch: the photos still coming are counted under the patient they were taken for, and wait on the desktop', async () => {
    const s = await setup();
    const [a, b] = s.ids as [string, string, string];
    await s.send(a);
    await s.phone.endFor(s.kit.working.requireCurrent().id, 'patient-changed');
    verify(s.kit.working, WIREMU);
    expect(s.followers.view()).toEqual([{ patientId: AROHA.id, photos: 2, onArrival: 'wait' }]);
    const late = (await s.send(b)).json as { imageId: string };
    await s.settle();
    const rec = s.kit.library.get(late.imageId);
    expect([rec.patient.id, rec.status, rec.inOutbox]).toEqual([AROHA.id, 'ready', false]);
    expect(s.followers.view()).toEqual([{ patientId: AROHA.id, photos: 1, onArrival: 'wait' }]);
    expect(s.outbox.list()).toEqual([]);
  });

  it('a photo that cannot go stays on the desktop with its reason, and the GP is told', async () => {
    const s = await setup();
    const [a, b] = s.ids as [string, string];
    await s.send(a);
    await s.pipeline.start({ targets: BOTH, captionStrip: false });
    const late = await s.send(b, null); // no body site: the practice requires one
    await s.settle();
    const rec = s.kit.library.get((late.json as { imageId: string }).imageId);
    expect([rec.status, rec.inOutbox]).toEqual(['needs-info', false]);
    expect(s.outbox.list()).toHaveLength(1);
    expect(s.notices.map((n) => n.message)).toEqual([`Photo 2 arrived from the phone after Send and was not sent: ${new AppError('ERR_IMAGE_METADATA_REQUIRED').message}`]);
    expect(s.notices[0]).toMatchObject({ kind: 'commit-failed', level: 'warning', patientId: AROHA.id });
  });
});

describe('a photo arriving while the "send all" is still rendering', () => {
  it('a photo numbered before the Send that finishes arriving mid-Send is sent once, by its arrival, and the Send does not call it skipped', async () => {
    const [render, persist] = [new Gate(), new Gate()];
    const s = await setup({ render, persist });
    const [a, c] = s.ids as [string, string];
    const first = (await s.send(a)).json as { imageId: string };
    persist.arm(); // C is ready on the desktop but its arrival is not finished (its draft is being saved)
    const arriving = s.send(c);
    await persist.reached;
    render.arm(); // the Send renders A first and waits there
    const sending = s.pipeline.start({ targets: BOTH, captionStrip: false });
    await render.reached;
    persist.open(); // C's arrival finishes: it follows the Send while the Send is still on A
    const late = (await arriving).json as { imageId: string; sessionSent?: boolean };
    await s.settle();
    expect(s.outbox.get(late.imageId)).toMatchObject({ patientId: AROHA.id, targets: ['media', 'documentReference'], state: 'queued' });
    render.open();
    expect(await sending).toEqual({ queued: [first.imageId], skipped: [] });
    expect(s.outbox.list().map((i) => i.imageId).sort()).toEqual([first.imageId, late.imageId].sort());
    expect(s.notices).toEqual([]);
  });
});

describe('the GP switches patient before the photos still coming arrive', () => {
  it("each goes to its own patient with that patient's grant, never to the working patient, and is counted under its patient", async () => {
    const s = await setup();
    const [a, b] = s.ids as [string, string];
    await s.send(a);
    await s.pipeline.start({ targets: BOTH, captionStrip: false });
    verify(s.kit.working, WIREMU);
    expect(s.followers.view()).toEqual([{ patientId: AROHA.id, photos: 2, onArrival: 'send' }]);
    const late = (await s.send(b)).json as { imageId: string };
    await s.settle();
    const arohaGrant = s.kit.working.grantFor(AROHA.id)?.grantId;
    expect(s.outbox.get(late.imageId)).toMatchObject({ patientId: AROHA.id, state: 'queued' });
    expect(s.kit.library.get(late.imageId).grant.grantId).toBe(arohaGrant); // the grant it was enqueued with
    expect(arohaGrant).not.toBe(s.kit.working.grantFor(WIREMU.id)?.grantId);
    expect(s.outbox.list().filter((i) => i.patientId === WIREMU.id)).toEqual([]);
    expect(s.followers.view()).toEqual([{ patientId: AROHA.id, photos: 1, onArrival: 'send' }]);
  });
});

describe('a Send of an earlier patient\'s photos while the working patient\'s phone is open', () => {
  it("leaves the working patient's phone session open: only a Send for that patient ends it", async () => {
    const s = await setup();
    const [a] = s.ids as [string];
    const first = (await s.send(a)).json as { imageId: string };
    await s.phone.endFor(s.kit.working.requireCurrent().id, 'patient-changed');
    verify(s.kit.working, WIREMU);
    const wiremuPhone = await s.phone.start();
    expect(await s.pipeline.start({ ids: [first.imageId], targets: BOTH, captionStrip: false })).toEqual({ queued: [first.imageId], skipped: [] });
    expect(s.outbox.get(first.imageId)).toMatchObject({ patientId: AROHA.id, state: 'queued' });
    expect(s.phone.view()).toMatchObject({ active: true, patientId: WIREMU.id, qrUrl: wiremuPhone.qrUrl });
    expect(s.phone.lanSessionOf(s.kit.working.requireCurrent().id)).toBeDefined();
  });
});

describe('the companion restarts while photos are still coming', () => {
  it('the GP is told how many did not arrive; what did arrive is not sent again; the old phone link takes nothing', async () => {
    const s = await setup();
    const [a, b, c] = s.ids as [string, string, string];
    await s.send(a);
    await s.pipeline.start({ targets: BOTH, captionStrip: false });
    await s.send(b);
    await s.settle();
    expect(s.followers.view()).toEqual([{ patientId: AROHA.id, photos: 1, onArrival: 'send' }]);

    // As after a restart: new units over the same work folder and outbox; the LAN server is new, so the old link is dead.
    const notices: Notice[] = [];
    const board = new NoticeBoard(() => 'now', (n) => notices.push(n));
    const restarted = new SendFollowers({ notices: board, track: (p) => p, changed: () => undefined, log: silentLog, store: stillComingFile(s.kit.workDir), send: async () => undefined });
    await restarted.recover();
    expect(notices.map((n) => [n.kind, n.level, n.message])).toEqual([
      ['commit-failed', 'warning', '1 photo still coming from the phone when ClinicPro Images stopped did not reach this PC. Ask the nurse to check the phone.'],
    ]);
    const library = new ImageLibrary({ imaging: s.kit.imaging, files: s.kit.files, working: s.kit.working, newId: randomUUID, iso: () => 'now', requiredFields: () => s.kit.required, changed: () => undefined, progress: () => undefined, track: (p) => p, notices: board, log: silentLog });
    await restoreImages({ files: s.kit.files, library, outbox: s.outbox, applyOutbox: () => undefined, notices: board, log: silentLog });
    expect(library.all().map((r) => r.inOutbox)).toEqual([true, true]);
    expect(s.outbox.list()).toHaveLength(2);
    const lan = createLanServer({ bindHost: '127.0.0.1', port: 0, clock: new ManualClock().now, logger: silentLog, sink: { onFile: () => Promise.reject(new Error('nothing may arrive')) }, sweepIntervalMs: 0 });
    const { port } = await lan.listen();
    cleanup.push(() => lan.close());
    expect(errorCode(await upload(port, s.credential, [{ name: 'clientUploadId', value: c }, { name: 'file', filename: 'p.png', contentType: 'image/png', data: Buffer.from('x') }]))).toBe('ERR_LAN_TOKEN_INVALID');
    expect(restarted.view()).toEqual([]);
    await restarted.recover();
    expect(notices).toHaveLength(1); // told once
  });
});

describe('a photo taken once the GP pressed "send all"', () => {
  it('is refused at once, even while the Send is still rendering: it is not numbered, not sent, and the GP is told how many are still coming', async () => {
    const render = new Gate();
    const s = await setup({ render });
    const [a] = s.ids as [string];
    const first = (await s.send(a)).json as { imageId: string };
    render.arm();
    const sending = s.pipeline.start({ targets: BOTH, captionStrip: false });
    await render.reached;
    const fresh = randomUUID();
    expect(errorCode(await hold(s.port, s.credential, [fresh]))).toBe('ERR_LAN_SESSION_SENT');
    expect(errorCode(await s.send(fresh))).toBe('ERR_LAN_SESSION_SENT');
    expect(s.followers.view()).toEqual([{ patientId: AROHA.id, photos: 2, onArrival: 'send' }]);
    render.open();
    expect(await sending).toEqual({ queued: [first.imageId], skipped: [] });
    await s.settle();
    expect(s.kit.library.all().map((r) => r.id)).toEqual([first.imageId]);
    expect(s.outbox.list()).toHaveLength(1);
  });
});

describe('SendFollowers', () => {
  it('tells the GP when photos the phone had numbered never arrived within the grace, then follows nothing', () => {
    const notices: Notice[] = [];
    const followers = new SendFollowers({ notices: new NoticeBoard(() => 'now', (n) => notices.push(n)), track: (p) => p, changed: () => undefined, log: silentLog, send: async () => undefined });
    followers.follow('lan-1', AROHA.id, { targets: BOTH, captionStrip: true });
    followers.stillComing({ sessionId: 'lan-1', count: 2, graceOver: false });
    expect(followers.view()).toEqual([{ patientId: AROHA.id, photos: 2, onArrival: 'send' }]);
    followers.stillComing({ sessionId: 'lan-1', count: 2, graceOver: true });
    expect(followers.view()).toEqual([]);
    expect(notices.map((n) => [n.kind, n.message])).toEqual([['commit-failed', '2 photos taken on the phone did not reach this PC in time and were not sent. Ask the nurse to check the phone.']]);
  });

  it('photos that would have waited on the desktop and never arrived: the GP is told they did not arrive; a "send all" is not undone by a later watch', () => {
    const notices: Notice[] = [];
    const followers = new SendFollowers({ notices: new NoticeBoard(() => 'now', (n) => notices.push(n)), track: (p) => p, changed: () => undefined, log: silentLog, send: async () => undefined });
    followers.watch('lan-1', AROHA.id);
    followers.stillComing({ sessionId: 'lan-1', count: 1, graceOver: true });
    expect(notices.map((n) => n.message)).toEqual(['1 photo taken on the phone did not reach this PC in time. Ask the nurse to check the phone.']);
    followers.follow('lan-2', AROHA.id, { targets: BOTH, captionStrip: true });
    followers.watch('lan-2', AROHA.id);
    followers.stillComing({ sessionId: 'lan-2', count: 3, graceOver: false });
    expect(followers.view()).toEqual([{ patientId: AROHA.id, photos: 3, onArrival: 'send' }]);
  });
});
