/**
 * Photos a phone holds for the patient the nurse confirmed stay that patient's when the PC switches patient:
 * they still upload (into the previous patient's capture session), and nothing else does. Real sockets on
 * 127.0.0.1, injected clock.
 */
import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LIMITS } from '../../shared/limits';
import { errorCode, fakeJpeg, hold, httpRequest, joinPhone, release, startHarness, upload, type Harness, type Part } from './testing';

let h: Harness;
beforeEach(async () => {
  h = await startHarness();
});
afterEach(async () => {
  await h.cleanup();
});

const photo = (id: string): Part[] => [
  { name: 'clientUploadId', value: id },
  { name: 'file', filename: 'IMG.jpg', contentType: 'image/jpeg', data: fakeJpeg(5000) },
];

describe('held photos', () => {
  it('are numbered by the PC, once per photo, in the order held', async () => {
    const phone = await joinPhone(h);
    const [a, b, c] = [randomUUID(), randomUUID(), randomUUID()];
    const first = await hold(h.port, phone.credential, [a, b]);
    expect(first.status).toBe(200);
    expect(first.json).toEqual({ held: [{ clientUploadId: a, photoNumber: 1 }, { clientUploadId: b, photoNumber: 2 }] });
    const again = await hold(h.port, phone.credential, [b, c]);
    expect(again.json).toEqual({ held: [{ clientUploadId: b, photoNumber: 2 }, { clientUploadId: c, photoNumber: 3 }] });
    expect((await upload(h.port, phone.credential, photo(b))).status).toBe(200);
    expect(h.sink.files[0]?.photoNumber).toBe(2);
  });

  it('after a patient switch a held photo still reaches the PC for the confirmed patient; a new one is refused and nothing is written', async () => {
    const phone = await joinPhone(h);
    const heldId = randomUUID();
    expect((await hold(h.port, phone.credential, [heldId])).status).toBe(200);
    await h.server.endSession(phone.sessionId, 'patient-changed');

    const fresh = await upload(h.port, phone.credential, photo(randomUUID()));
    expect(fresh.status).toBe(409);
    expect(errorCode(fresh)).toBe('ERR_LAN_PATIENT_CHANGED');
    expect(h.sink.files).toHaveLength(0);

    const late = await upload(h.port, phone.credential, photo(heldId));
    expect(late.status).toBe(200);
    expect(late.json).toMatchObject({ clientUploadId: heldId, duplicate: false, patientChanged: true });
    expect(h.sink.files.map((f) => ({ ref: f.sessionRef, n: f.photoNumber }))).toEqual([{ ref: 'cap-1', n: 1 }]);
    // a retry of it is answered from the first result, nothing stored twice
    expect((await upload(h.port, phone.credential, photo(heldId))).json).toMatchObject({ duplicate: true });
    expect(h.sink.files).toHaveLength(1);
  });

  it('after the switch nothing new can be held, the status poll says the patient changed, and the QR is dead', async () => {
    const phone = await joinPhone(h);
    await hold(h.port, phone.credential, [randomUUID()]);
    await h.server.endSession(phone.sessionId, 'patient-changed');
    const more = await hold(h.port, phone.credential, [randomUUID()]);
    expect(more.status).toBe(409);
    expect(errorCode(more)).toBe('ERR_LAN_PATIENT_CHANGED');
    const poll = await httpRequest({ port: h.port, path: '/api/images/v1/session', headers: { authorization: `Bearer ${phone.credential}` } });
    expect(errorCode(poll)).toBe('ERR_LAN_PATIENT_CHANGED');
  });

  it('a held photo is refused once the idle window after the switch has passed, and when the session ended any other way', async () => {
    const phone = await joinPhone(h);
    const heldId = randomUUID();
    await hold(h.port, phone.credential, [heldId]);
    await h.server.endSession(phone.sessionId, 'patient-changed');
    h.clock.advance(LIMITS.lanSessionIdleSeconds);
    expect(errorCode(await upload(h.port, phone.credential, photo(heldId)))).toBe('ERR_LAN_PATIENT_CHANGED');

    const other = await joinPhone(h);
    const id2 = randomUUID();
    await hold(h.port, other.credential, [id2]);
    await h.server.endSession(other.sessionId, 'ended');
    expect(errorCode(await upload(h.port, other.credential, photo(id2)))).toBe('ERR_LAN_SESSION_ENDED');
    expect(h.sink.files).toHaveLength(0);
  });

  it('a hold with a bad id, too many ids or no credential is refused', async () => {
    const phone = await joinPhone(h);
    expect(errorCode(await hold(h.port, phone.credential, ['not-a-uuid']))).toBe('ERR_REQUEST_INVALID');
    expect(errorCode(await hold(h.port, phone.credential, Array.from({ length: 51 }, () => randomUUID())))).toBe('ERR_REQUEST_INVALID');
    expect(errorCode(await hold(h.port, 'x'.repeat(43), [randomUUID()]))).toBe('ERR_LAN_TOKEN_INVALID');
  });
});

describe('held photos after the GP pressed Send', () => {
  it('a held photo not yet on the PC still arrives, once; the PC is told how many are still coming', async () => {
    const coming: { count: number; graceOver: boolean }[] = [];
    h.server.on('still-coming', (e) => coming.push({ count: e.count, graceOver: e.graceOver }));
    const phone = await joinPhone(h);
    const [first, second] = [randomUUID(), randomUUID()];
    await hold(h.port, phone.credential, [first, second]);
    expect((await upload(h.port, phone.credential, photo(first))).status).toBe(200);
    await h.server.endSession(phone.sessionId, 'committed');
    expect(coming.map((c) => c.count)).toEqual([2, 1, 1]); // held, the first arrived, the Send

    const late = await upload(h.port, phone.credential, photo(second));
    expect(late.status).toBe(200);
    expect(late.json).toMatchObject({ clientUploadId: second, duplicate: false, sessionSent: true });
    expect(h.sink.files.map((f) => ({ ref: f.sessionRef, n: f.photoNumber }))).toEqual([
      { ref: 'cap-1', n: 1 },
      { ref: 'cap-1', n: 2 },
    ]);
    expect(coming.at(-1)).toEqual({ count: 0, graceOver: false });
    // retries are answered from the first results; nothing is stored twice
    expect((await upload(h.port, phone.credential, photo(second))).json).toMatchObject({ duplicate: true });
    expect((await upload(h.port, phone.credential, photo(first))).json).toMatchObject({ duplicate: true });
    expect(h.sink.files).toHaveLength(2);
  });

  it('nothing new: a new number, an unknown photo and the status poll are refused with the plain message, and nothing is written', async () => {
    const phone = await joinPhone(h);
    await hold(h.port, phone.credential, [randomUUID()]);
    await h.server.endSession(phone.sessionId, 'committed');
    const more = await hold(h.port, phone.credential, [randomUUID()]);
    expect(more.status).toBe(410);
    expect(errorCode(more)).toBe('ERR_LAN_SESSION_SENT');
    expect(more.text).toContain('The GP has sent the photos from this session');
    const unknown = await upload(h.port, phone.credential, photo(randomUUID()));
    expect(unknown.status).toBe(410);
    expect(errorCode(unknown)).toBe('ERR_LAN_SESSION_SENT');
    const poll = await httpRequest({ port: h.port, path: '/api/images/v1/session', headers: { authorization: `Bearer ${phone.credential}` } });
    expect(errorCode(poll)).toBe('ERR_LAN_SESSION_SENT');
    expect(h.sink.files).toHaveLength(0);
  });

  it('the grace ends it: after the idle window a held photo is refused, the PC hears none will come', async () => {
    const coming: { count: number; graceOver: boolean }[] = [];
    h.server.on('still-coming', (e) => coming.push({ count: e.count, graceOver: e.graceOver }));
    const phone = await joinPhone(h);
    const heldId = randomUUID();
    await hold(h.port, phone.credential, [heldId]);
    await h.server.endSession(phone.sessionId, 'committed');
    h.clock.advance(LIMITS.lanSessionIdleSeconds);
    const late = await upload(h.port, phone.credential, photo(heldId));
    expect(late.status).toBe(410);
    expect(errorCode(late)).toBe('ERR_LAN_SESSION_SENT');
    await h.server.sweep();
    expect(coming).toEqual([
      { count: 1, graceOver: false },
      { count: 1, graceOver: false },
      { count: 1, graceOver: true },
    ]);
    expect(h.sink.files).toHaveLength(0);
  });
});

describe('held photos the phone lets go', () => {
  it('after a Send the PC stops waiting for a released photo, which can then not be uploaded; bad releases are refused', async () => {
    const coming: number[] = [];
    h.server.on('still-coming', (e) => coming.push(e.count));
    const phone = await joinPhone(h);
    const [kept, removed] = [randomUUID(), randomUUID()];
    await hold(h.port, phone.credential, [kept, removed]);
    await h.server.endSession(phone.sessionId, 'committed');
    expect(coming).toEqual([2, 2]);
    expect((await release(h.port, phone.credential, [removed])).status).toBe(200);
    expect(coming).toEqual([2, 2, 1]);
    expect(errorCode(await upload(h.port, phone.credential, photo(removed)))).toBe('ERR_LAN_SESSION_SENT');
    expect((await upload(h.port, phone.credential, photo(kept))).status).toBe(200);
    expect((await release(h.port, phone.credential, [kept])).status).toBe(200); // already on the PC: nothing to let go
    expect(coming).toEqual([2, 2, 1, 0]);
    expect(errorCode(await release(h.port, phone.credential, ['not-a-uuid']))).toBe('ERR_REQUEST_INVALID');
    expect(errorCode(await release(h.port, 'x'.repeat(43), [kept]))).toBe('ERR_LAN_TOKEN_INVALID');
    expect(h.sink.files).toHaveLength(1);
  });
});

describe('a phone that declines the patient', () => {
  it('tells the PC (phone-declined) and its credential stops working; nothing is stored', async () => {
    const declined: string[] = [];
    h.server.on('phone-declined', (e) => declined.push(e.phoneId));
    const phone = await joinPhone(h);
    const res = await httpRequest({ port: h.port, method: 'POST', path: '/api/images/v1/session/decline', headers: { authorization: `Bearer ${phone.credential}` } });
    expect(res.status).toBe(200);
    expect(declined).toEqual([phone.phoneId]);
    expect(errorCode(await upload(h.port, phone.credential, photo(randomUUID())))).toBe('ERR_LAN_TOKEN_INVALID');
    expect(h.sink.files).toHaveLength(0);
    const again = await httpRequest({ port: h.port, method: 'POST', path: '/api/images/v1/session/decline', headers: { authorization: `Bearer ${phone.credential}` } });
    expect(errorCode(again)).toBe('ERR_LAN_TOKEN_INVALID');
    expect(declined).toHaveLength(1);
  });
});
