/**
 * Phone capture with the real LAN server on 127.0.0.1 and the real imaging service: a QR for the working patient,
 * phones joining, a photo bound to the capture session it was uploaded for (not "the current patient"), the session
 * ending for that patient only, and a quiet spell ending it with a notice.
 */
import { readFile } from 'node:fs/promises';
import { afterEach, describe, expect, it } from 'vitest';
import type { Notice } from '../../shared/contracts/bridge';
import { createLanServer, type LanServer } from '../lan/server';
import { exchange, ManualClock, tokenFromUrl } from '../lan/testing';
import { NoticeBoard } from './notices';
import { PhoneCapture, phoneMetadata } from './phone-capture';
import type { LanFile } from './ports';
import { AROHA, libraryKit, photoIn, silentLog, tempDir, verify, WIREMU, type LibraryKit } from './test-support';

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

async function setup(withLan = true): Promise<{ phone: PhoneCapture; kit: LibraryKit; lan?: LanServer; port: number; clock: ManualClock; notices: Notice[] }> {
  const kit = await libraryKit(cleanup);
  const notices: Notice[] = [];
  const board = new NoticeBoard(() => 'now', (n) => notices.push(n));
  const phone = new PhoneCapture({ working: kit.working, library: kit.library, notices: board, roomLabel: () => 'Room 3', changed: () => undefined, log: silentLog });
  const clock = new ManualClock();
  if (!withLan) return { phone, kit, port: 0, clock, notices };
  const lan = createLanServer({ bindHost: '127.0.0.1', port: 0, clock: clock.now, logger: silentLog, sink: phone.sink, sweepIntervalMs: 0 });
  phone.attach(lan);
  const { port } = await lan.listen();
  cleanup.push(() => lan.close());
  return { phone, kit, lan, port, clock, notices };
}

function lanFile(sessionRef: string, data: Buffer, metadata: LanFile['metadata'] = {}): LanFile {
  return { sessionId: 's', sessionRef, phoneId: 'p', clientUploadId: 'u', data, bytes: data.length, sha256: 'x', metadata };
}

describe('PhoneCapture', () => {
  it('needs a working patient and a LAN server', async () => {
    const without = await setup(false);
    await expect(without.phone.start()).rejects.toMatchObject({ code: 'ERR_NO_PATIENT' });
    verify(without.kit.working, AROHA);
    await expect(without.phone.start()).rejects.toMatchObject({ code: 'ERR_INTERNAL' });
  });

  it('shows a QR for the working patient, the same one on a second start, and counts phones that join', async () => {
    const { phone, kit, port } = await setup();
    verify(kit.working, AROHA);
    const first = await phone.start();
    expect(first).toMatchObject({ active: true, patientId: AROHA.id, phonesJoined: 0 });
    expect((await phone.start()).qrUrl).toBe(first.qrUrl);
    expect((await exchange(port, tokenFromUrl(first.qrUrl))).status).toBe(200);
    expect(phone.view()?.phonesJoined).toBe(1);
    // The QR is single-use: joining rotated it.
    expect(phone.view()?.qrUrl).not.toBe(first.qrUrl);
  });

  it('binds a phone photo to the session it was uploaded for and keeps only valid tags', async () => {
    const { phone, kit } = await setup();
    const aroha = verify(kit.working, AROHA);
    verify(kit.working, WIREMU);
    const photo = await readFile(await photoIn(await tempDir('core-in-', cleanup)));
    const { imageId } = await phone.sink.onFile(lanFile(aroha.id, photo, { bodySiteCode: 'DROP TABLE', laterality: 'left' }));
    const rec = kit.library.get(imageId);
    expect([rec.patient.id, rec.source, rec.label, rec.metadata]).toEqual([AROHA.id, 'phone', 'Photo 1', { laterality: 'left' }]);
    await expect(phone.sink.onFile(lanFile('cs-unknown', photo))).rejects.toMatchObject({ code: 'ERR_LAN_SESSION_ENDED' });
    expect(kit.library.size).toBe(1);
    expect(phoneMetadata({ bodySiteCode: '76552005' })).toEqual({ bodySiteCode: '76552005' });
  });

  it("ends the LAN session only for its own patient's session, and tells the GP when a quiet spell ended it", async () => {
    const { phone, kit, lan, clock, notices } = await setup();
    const session = verify(kit.working, AROHA);
    await phone.start();
    await phone.endFor('cs-other', 'patient-changed');
    expect(phone.view()).not.toBeNull();
    await phone.endFor(session.id, 'committed');
    expect(phone.view()).toBeNull();
    await phone.start();
    clock.advance(24 * 3600); // seconds: well past the idle limit
    await lan?.sweep();
    expect(phone.view()).toBeNull();
    expect(notices.map((n) => n.kind)).toEqual(['phone-session-ended']);
  });
});
