/**
 * The LAN upload server over real sockets on 127.0.0.1: the phone's whole path (scan → exchange → upload) and
 * every refusal, each with its coded error and proof that nothing was written.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { mkdir, readdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Value } from '@sinclair/typebox/value';
import { ExchangeResponse, SessionStatusResponse, UploadResponse } from '../../shared/contracts/lan';
import { AppError, ERROR_CODES } from '../../shared/errors';
import { LIMITS } from '../../shared/limits';
import { createLanServer } from './server';
import {
  errorCode,
  exchange,
  fakeJpeg,
  httpRequest,
  joinPhone,
  multipartBody,
  BOUNDARY,
  startHarness,
  tokenFromUrl,
  upload,
  type Harness,
  type Part,
} from './testing';

let h: Harness;
beforeEach(async () => {
  h = await startHarness();
});
afterEach(async () => {
  await h.cleanup();
});

const photo = (id = randomUUID(), data = fakeJpeg(5000)): Part[] => [
  { name: 'clientUploadId', value: id },
  { name: 'bodySiteCode', value: '14975008' },
  { name: 'laterality', value: 'left' },
  { name: 'file', filename: 'IMG_0001.jpg', contentType: 'image/jpeg', data },
];

describe('scan, exchange, upload', () => {
  it('delivers the bytes and metadata to the sink and answers with the image id', async () => {
    const received: unknown[] = [];
    h.server.on('file-received', (e) => received.push(e));
    const phone = await joinPhone(h);
    const data = fakeJpeg(300_000, 7);
    const id = randomUUID();
    const res = await upload(h.port, phone.credential, photo(id, data));
    expect(res.status).toBe(200);
    expect(Value.Check(UploadResponse, res.json)).toBe(true);
    const body = res.json as { imageId: string; sha256: string; bytes: number; duplicate: boolean };
    expect(body).toMatchObject({ clientUploadId: id, bytes: data.length, duplicate: false, sha256: createHash('sha256').update(data).digest('hex') });
    expect(h.sink.files).toHaveLength(1);
    const file = h.sink.files[0]!;
    expect(file.stored.equals(data)).toBe(true);
    expect(file).toMatchObject({ sessionId: phone.sessionId, sessionRef: 'cap-1', phoneId: phone.phoneId, clientUploadId: id, contentType: 'image/jpeg', metadata: { bodySiteCode: '14975008', laterality: 'left' } });
    expect(received).toEqual([expect.objectContaining({ imageId: body.imageId, clientUploadId: id })]);
  });

  it('a photo full of near-boundaries (split across network reads) reaches the sink and the disk byte for byte', async () => {
    const phone = await joinPhone(h);
    const data = Buffer.concat([fakeJpeg(64, 3), Buffer.alloc(3_000_000, '\r\n--X')]);
    const res = await upload(h.port, phone.credential, photo(randomUUID(), data));
    expect(res.status).toBe(200);
    const file = h.sink.files[0]!;
    expect([file.data.equals(data), file.stored.equals(data)]).toEqual([true, true]);
  });

  it('writes nothing to disk: no module of the LAN server opens a file for writing; the sink gets the photo from memory', async () => {
    const dir = fileURLToPath(new URL('.', import.meta.url));
    const modules = (await readdir(dir)).filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts') && f !== 'testing.ts');
    const writers = /\b(writeFile|appendFile|createWriteStream|open|mkdir|copyFile|rename|writev?)(Sync)?\b[^;]*from 'node:fs/;
    const importsFs = await Promise.all(modules.map(async (f) => [f, (await readFile(join(dir, f), 'utf8')).split('\n').filter((l) => l.startsWith('import') && writers.test(l))] as const));
    expect(importsFs.filter(([, lines]) => lines.length > 0)).toEqual([]);
    const phone = await joinPhone(h);
    const data = fakeJpeg(3_000_000, 9);
    expect((await upload(h.port, phone.credential, photo(randomUUID(), data))).status).toBe(200);
    expect(h.sink.files[0]!.data.equals(data)).toBe(true);
  });

  it.each([
    ['photo-12mp-orient6.jpg', 'image/jpeg'],
    ['photo-iphone-like.heic', 'image/heic'],
    ['photo-1600-portrait.png', 'image/png'],
  ])('real phone photo %s arrives byte-identical, typed %s from its bytes', async (name, type) => {
    const data = await readFile(new URL(`../../../shared/fixtures/photos/${name}`, import.meta.url));
    const phone = await joinPhone(h);
    const res = await upload(h.port, phone.credential, [
      { name: 'clientUploadId', value: randomUUID() },
      { name: 'file', filename: 'blob', contentType: 'application/octet-stream', data },
    ]);
    expect(res.status).toBe(200);
    expect(h.sink.files[0]?.contentType).toBe(type);
    expect(h.sink.files[0]?.stored.equals(data)).toBe(true);
  });

  it('the exchange tells the phone whom it is uploading for, the limits, and rotates the QR', async () => {
    const rotated: string[] = [];
    const joined: string[] = [];
    h.server.on('qr-rotated', (e) => rotated.push(e.qr.url));
    h.server.on('phone-joined', (e) => joined.push(e.phoneId));
    const opened = await h.server.openSession({ sessionRef: 'cap-9', patient: { displayName: 'Aroha Test', birthDate: '1980-05-06' }, roomLabel: 'Room 1' });
    expect(opened.qr.url).toMatch(new RegExp(`^http://127\\.0\\.0\\.1:${h.port}/m/#t=[A-Za-z0-9_-]{43}$`));
    expect(opened.qr.expiresAt.getTime() - h.clock.now()).toBeLessThanOrEqual(LIMITS.qrTokenTtlSeconds * 1000);
    const res = await exchange(h.port, tokenFromUrl(opened.qr.url));
    expect(res.status).toBe(200);
    expect(Value.Check(ExchangeResponse, res.json)).toBe(true);
    expect(res.json).toMatchObject({
      protocolVersion: 1,
      session: { patient: { displayName: 'Aroha Test', birthDate: '1980-05-06' }, roomLabel: 'Room 1' },
      limits: { maxUploadFileBytes: LIMITS.maxUploadFileBytes, idleSeconds: LIMITS.lanSessionIdleSeconds },
    });
    expect((res.json as { credential: string }).credential).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(joined).toHaveLength(1);
    expect(rotated).toHaveLength(1);
    expect(rotated[0]).not.toBe(opened.qr.url);
    // A second phone joins with the new QR.
    const second = await exchange(h.port, tokenFromUrl(rotated[0]!));
    expect(second.status).toBe(200);
    expect(joined).toHaveLength(2);
  });

  it('a retry with the same clientUploadId returns the first result and never a duplicate', async () => {
    const phone = await joinPhone(h);
    const id = randomUUID();
    const first = await upload(h.port, phone.credential, photo(id));
    const again = await upload(h.port, phone.credential, photo(id));
    expect(again.status).toBe(200);
    expect(again.json).toEqual({ ...(first.json as object), duplicate: true });
    expect(h.sink.files).toHaveLength(1);
  });

  it('the status poll reports the session and its uploads', async () => {
    const phone = await joinPhone(h);
    const id = randomUUID();
    const up = await upload(h.port, phone.credential, photo(id));
    const res = await httpRequest({ port: h.port, path: '/api/images/v1/session', headers: { authorization: `Bearer ${phone.credential}` } });
    expect(res.status).toBe(200);
    expect(Value.Check(SessionStatusResponse, res.json)).toBe(true);
    expect(res.json).toMatchObject({ state: 'open', uploads: [{ clientUploadId: id, imageId: (up.json as { imageId: string }).imageId }] });
  });
});

describe('refused before anything is written', () => {
  it('a replayed QR token (second exchange) is refused', async () => {
    const opened = await h.server.openSession({ sessionRef: 'c', patient: { displayName: 'A', birthDate: '2000-01-01' }, roomLabel: 'R' });
    const token = tokenFromUrl(opened.qr.url);
    expect((await exchange(h.port, token)).status).toBe(200);
    const replay = await exchange(h.port, token);
    expect(replay.status).toBe(401);
    expect(errorCode(replay)).toBe('ERR_LAN_TOKEN_INVALID');
  });

  it('an expired QR token is refused and a new QR is announced', async () => {
    const rotated: string[] = [];
    h.server.on('qr-rotated', (e) => rotated.push(e.qr.url));
    const opened = await h.server.openSession({ sessionRef: 'c', patient: { displayName: 'A', birthDate: '2000-01-01' }, roomLabel: 'R' });
    h.clock.advance(LIMITS.qrTokenTtlSeconds);
    const res = await exchange(h.port, tokenFromUrl(opened.qr.url));
    expect(res.status).toBe(401);
    expect(errorCode(res)).toBe('ERR_LAN_TOKEN_EXPIRED');
    expect(rotated).toHaveLength(1);
  });

  it('a rotated-away QR token is dead', async () => {
    const opened = await h.server.openSession({ sessionRef: 'c', patient: { displayName: 'A', birthDate: '2000-01-01' }, roomLabel: 'R' });
    await h.server.rotateQr(opened.sessionId);
    expect(errorCode(await exchange(h.port, tokenFromUrl(opened.qr.url)))).toBe('ERR_LAN_TOKEN_INVALID');
  });

  it.each([
    ['no credential', undefined, 'ERR_LAN_TOKEN_INVALID'],
    ['a wrong credential', 'A'.repeat(43), 'ERR_LAN_TOKEN_INVALID'],
    ['a malformed credential', 'abc', 'ERR_LAN_TOKEN_INVALID'],
  ])('an upload with %s gets 401', async (_label, credential, code) => {
    await joinPhone(h);
    const res = await upload(h.port, credential, photo());
    expect(res.status).toBe(401);
    expect(errorCode(res)).toBe(code);
    expect(h.sink.files).toHaveLength(0);
  });

  it('an idle credential expires (sliding) and then gets 401 ERR_LAN_TOKEN_EXPIRED', async () => {
    const phone = await joinPhone(h);
    h.clock.advance(LIMITS.lanSessionIdleSeconds - 10);
    expect((await upload(h.port, phone.credential, photo())).status).toBe(200); // slides the window
    h.clock.advance(LIMITS.lanSessionIdleSeconds - 10);
    expect((await upload(h.port, phone.credential, photo())).status).toBe(200);
    h.clock.advance(LIMITS.lanSessionIdleSeconds);
    const res = await upload(h.port, phone.credential, photo());
    expect(res.status).toBe(401);
    expect(errorCode(res)).toBe('ERR_LAN_TOKEN_EXPIRED');
    expect(h.sink.files).toHaveLength(2);
  });

  it('a credential only ever reaches its own session; one from another PC is unknown', async () => {
    const a = await joinPhone(h);
    const b = await joinPhone(h);
    expect(a.sessionId).not.toBe(b.sessionId);
    await upload(h.port, a.credential, photo());
    expect(h.sink.files[0]?.sessionId).toBe(a.sessionId);
    await h.server.endSession(a.sessionId, 'ended');
    expect(errorCode(await upload(h.port, a.credential, photo()))).toBe('ERR_LAN_SESSION_ENDED');
    expect((await upload(h.port, b.credential, photo())).status).toBe(200); // b unaffected
    const other = await startHarness();
    try {
      const foreign = await joinPhone(other);
      const res = await upload(h.port, foreign.credential, photo());
      expect(res.status).toBe(401);
    } finally {
      await other.cleanup();
    }
  });

  it.each([
    ['a foreign Host', { host: 'evil.example:80' }, 421, 'ERR_LAN_HOST_REJECTED'],
    ['a nip.io Host', { host: '127.0.0.1.nip.io' }, 421, 'ERR_LAN_HOST_REJECTED'],
    ['the right host on the wrong port', { host: '127.0.0.1:1' }, 421, 'ERR_LAN_HOST_REJECTED'],
    ['a foreign Origin', { origin: 'http://evil.example' }, 403, 'ERR_LAN_CROSS_SITE'],
    ['a null Origin', { origin: 'null' }, 403, 'ERR_LAN_CROSS_SITE'],
    ['Sec-Fetch-Site: cross-site', { 'sec-fetch-site': 'cross-site' }, 403, 'ERR_LAN_CROSS_SITE'],
  ])('an upload with %s is refused', async (_label, headers, status, code) => {
    const phone = await joinPhone(h);
    const res = await upload(h.port, phone.credential, photo(), headers as Record<string, string>);
    expect(res.status).toBe(status);
    expect(errorCode(res)).toBe(code);
    expect(h.sink.files).toHaveLength(0);
  });

  it('same-origin requests with Origin and Sec-Fetch-Site: same-origin pass', async () => {
    const phone = await joinPhone(h);
    const res = await upload(h.port, phone.credential, photo(), { origin: `http://127.0.0.1:${h.port}`, 'sec-fetch-site': 'same-origin' });
    expect(res.status).toBe(200);
  });

  it('an oversize file is 413 and leaves no file (truncated stream deleted)', async () => {
    const small = await startHarness({ limits: { maxUploadFileBytes: 100_000 } });
    try {
      const phone = await joinPhone(small);
      const res = await upload(small.port, phone.credential, photo(randomUUID(), fakeJpeg(100_001)));
      expect(res.status).toBe(413);
      expect(errorCode(res)).toBe('ERR_IMAGE_FILE_TOO_LARGE');
      expect(small.sink.files).toHaveLength(0);
      expect((await upload(small.port, phone.credential, photo(randomUUID(), fakeJpeg(100_000)))).status).toBe(200);
    } finally {
      await small.cleanup();
    }
  });

  it.each([
    ['two files', 413, [...photo(), { name: 'file', filename: 'b.jpg', data: fakeJpeg(100) }]],
    ['too many fields', 400, [{ name: 'clientUploadId', value: randomUUID() }, ...Array.from({ length: 6 }, (_, i) => ({ name: `f${i}`, value: 'x' })), { name: 'file', filename: 'a', data: fakeJpeg(100) }]],
    ['an unknown field', 400, [{ name: 'clientUploadId', value: randomUUID() }, { name: 'patientId', value: 'x' }, { name: 'file', filename: 'a', data: fakeJpeg(100) }]],
    ['a field after the file', 400, [...photo(), { name: 'view', value: 'x' }]],
    ['no clientUploadId', 400, [{ name: 'file', filename: 'a', data: fakeJpeg(100) }]],
    ['an unknown consent', 400, [{ name: 'clientUploadId', value: randomUUID() }, { name: 'consent', value: 'implied' }, { name: 'file', filename: 'a', data: fakeJpeg(100) }]],
    ['a bad laterality', 400, [{ name: 'clientUploadId', value: randomUUID() }, { name: 'laterality', value: 'up' }, { name: 'file', filename: 'a', data: fakeJpeg(100) }]],
    ['an oversized field', 400, [{ name: 'clientUploadId', value: 'x'.repeat(1000) }, { name: 'file', filename: 'a', data: fakeJpeg(100) }]],
    ['no file', 400, [{ name: 'clientUploadId', value: randomUUID() }]],
  ] as [string, number, Part[]][])('%s → %i, nothing stored', async (_label, status, parts) => {
    const phone = await joinPhone(h);
    const res = await upload(h.port, phone.credential, parts);
    expect(res.status).toBe(status);
    expect(h.sink.files).toHaveLength(0);
  });

  it("hands the nurse's consent for a photo to the sink with its other details", async () => {
    const phone = await joinPhone(h);
    const [id, site, side, file] = photo();
    const res = await upload(h.port, phone.credential, [id!, site!, side!, { name: 'consent', value: 'not-needed' }, file!]);
    expect(res.status).toBe(200);
    expect(h.sink.files[0]?.metadata).toEqual({ bodySiteCode: '14975008', laterality: 'left', consent: 'not-needed' });
  });

  it('an empty file gets the plain message the phone page shows for one (not "the request was not in the expected form"), nothing stored', async () => {
    const phone = await joinPhone(h);
    const res = await upload(h.port, phone.credential, [{ name: 'clientUploadId', value: randomUUID() }, { name: 'file', filename: 'a.jpg', contentType: 'image/jpeg', data: Buffer.alloc(0) }]);
    expect(res.status).toBe(415);
    const body = res.json as { error: { code: string; message: string } };
    // The phone page refuses an empty file itself with ERR_IMAGE_UNSUPPORTED's shared message (renderer/mobile uploads.ts).
    expect(body.error.code).toBe('ERR_IMAGE_UNSUPPORTED');
    expect(body.error.message).toBe(ERROR_CODES.ERR_IMAGE_UNSUPPORTED.message);
    expect(h.sink.files).toHaveLength(0);
  });

  it('more parts than allowed → 413 ERR_LAN_TOO_MANY_PARTS', async () => {
    const tight = await startHarness({ limits: { maxFields: 50, maxParts: 3 } });
    try {
      const phone = await joinPhone(tight);
      const parts = [{ name: 'clientUploadId', value: randomUUID() }, { name: 'bodySiteCode', value: '14975008' }, { name: 'laterality', value: 'left' }, { name: 'file', filename: 'a', data: fakeJpeg(100) }];
      const res = await upload(tight.port, phone.credential, parts);
      expect(res.status).toBe(413);
      expect(errorCode(res)).toBe('ERR_LAN_TOO_MANY_PARTS');
    } finally {
      await tight.cleanup();
    }
  });

  it.each([
    ['HTML', Buffer.from('<html><script>alert(1)</script></html>')],
    ['SVG', Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"></svg>')],
    ['GIF', Buffer.from('GIF89a\x01\x00\x01\x00\x00\x00\x00;')],
    ['ZIP', Buffer.from('PK\x03\x04\x14\x00\x00\x00\x08\x00')],
    ['an EXE claiming image/jpeg', Buffer.concat([Buffer.from('MZ'), Buffer.alloc(200)])],
  ])('%s is 415 ERR_IMAGE_UNSUPPORTED with nothing written', async (_label, data) => {
    const phone = await joinPhone(h);
    const res = await upload(h.port, phone.credential, [{ name: 'clientUploadId', value: randomUUID() }, { name: 'file', filename: 'x.jpg', contentType: 'image/jpeg', data }]);
    expect(res.status).toBe(415);
    expect(errorCode(res)).toBe('ERR_IMAGE_UNSUPPORTED');
  });

  it('each upload is announced as it starts and as it ends, after the sink took the photo, and also when it is refused', async () => {
    const events: string[] = [];
    h.server.on('upload-started', () => events.push('started'));
    h.server.on('file-received', () => events.push('received'));
    h.server.on('upload-ended', () => events.push('ended'));
    const phone = await joinPhone(h);
    expect((await upload(h.port, phone.credential, photo())).status).toBe(200);
    const refused = await upload(h.port, phone.credential, [{ name: 'clientUploadId', value: randomUUID() }, { name: 'file', filename: 'x.jpg', data: Buffer.from('<html></html>') }]);
    expect(refused.status).toBe(415);
    h.sink.failWith = new AppError('ERR_IMAGE_UNSUPPORTED');
    expect((await upload(h.port, phone.credential, photo())).status).toBe(415);
    expect(events).toEqual(['started', 'received', 'ended', 'started', 'ended', 'started', 'ended']);
  });

  it('a sink refusal maps to its status and the received file is deleted', async () => {
    const phone = await joinPhone(h);
    h.sink.failWith = new AppError('ERR_IMAGE_UNSUPPORTED');
    const res = await upload(h.port, phone.credential, photo());
    expect(res.status).toBe(415);
    h.sink.failWith = new Error('disk on fire at /secret/path');
    const crash = await upload(h.port, phone.credential, photo());
    expect(crash.status).toBe(500);
    expect(crash.text).not.toContain('/secret/path');
    expect(crash.text).not.toContain('at ');
    expect((crash.json as { error: { correlationId?: string } }).error.correlationId).toMatch(/^[0-9a-f-]{36}$/);
  });
});

describe('session lifecycle', () => {
  it('patient switch mid-upload: the upload is refused, nothing of it kept, the sink never called', async () => {
    const phone = await joinPhone(h);
    const head = multipartBody([{ name: 'clientUploadId', value: randomUUID() }, { name: 'file', filename: 'a.jpg', data: fakeJpeg(400_000) }]);
    const firstPart = head.subarray(0, head.length - 1000); // hold back the end: the upload stays open
    const progressed = new Promise<void>((resolve) => h.server.on('upload-progress', () => resolve()));
    const response = new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request(
        {
          host: '127.0.0.1',
          port: h.port,
          method: 'POST',
          path: '/api/images/v1/upload',
          agent: false,
          headers: { host: `127.0.0.1:${h.port}`, authorization: `Bearer ${phone.credential}`, 'content-type': `multipart/form-data; boundary=${BOUNDARY}`, 'content-length': String(head.length) },
        },
        (res) => {
          let body = '';
          res.on('data', (c: Buffer) => (body += c.toString()));
          res.on('end', () => {
            resolve({ status: res.statusCode ?? 0, body });
            req.destroy();
          });
        },
      );
      req.on('error', reject);
      req.write(firstPart);
    });
    await progressed;
    await h.server.endSession(phone.sessionId, 'patient-changed');
    const res = await response;
    expect(res.status).toBe(409);
    expect(JSON.parse(res.body).error.code).toBe('ERR_LAN_PATIENT_CHANGED');
    expect(h.sink.files).toHaveLength(0);
    // and the phone keeps being told why
    expect(errorCode(await upload(h.port, phone.credential, photo()))).toBe('ERR_LAN_PATIENT_CHANGED');
  });

  it('ending a session while an upload has sent only its fields settles at once and drops that connection', async () => {
    const phone = await joinPhone(h);
    const body = multipartBody([{ name: 'clientUploadId', value: randomUUID() }, { name: 'file', filename: 'a.jpg', data: fakeJpeg(1000) }]);
    const fieldsOnly = body.subarray(0, body.indexOf('filename') - 60);
    let closedWithoutAnswer = false;
    const started = new Promise<void>((resolve) => h.server.once('upload-started', () => resolve()));
    const closed = new Promise<void>((resolve) => {
      const req = request({
        host: '127.0.0.1',
        port: h.port,
        method: 'POST',
        path: '/api/images/v1/upload',
        agent: false,
        headers: { host: `127.0.0.1:${h.port}`, authorization: `Bearer ${phone.credential}`, 'content-type': `multipart/form-data; boundary=${BOUNDARY}`, 'content-length': String(body.length) },
      });
      req.on('response', () => resolve());
      req.on('error', () => {
        closedWithoutAnswer = true;
        resolve();
      });
      req.write(fieldsOnly);
    });
    await started;
    await h.server.endSession(phone.sessionId, 'patient-changed');
    await closed;
    expect(closedWithoutAnswer).toBe(true);
    expect(h.sink.files).toHaveLength(0);
  });

  it.each([
    ['ended', 410, 'ERR_LAN_SESSION_ENDED'],
    ['committed', 410, 'ERR_LAN_SESSION_SENT'],
    ['patient-changed', 409, 'ERR_LAN_PATIENT_CHANGED'],
  ] as const)('after endSession(%s) phones get %i and the QR is dead', async (reason, status, code) => {
    const ended: string[] = [];
    h.server.on('session-ended', (e) => ended.push(e.reason));
    const phone = await joinPhone(h);
    const qr = await h.server.rotateQr(phone.sessionId);
    await h.server.endSession(phone.sessionId, reason);
    expect(ended).toEqual([reason]);
    const res = await upload(h.port, phone.credential, photo());
    expect(res.status).toBe(status);
    expect(errorCode(res)).toBe(code);
    const poll = await httpRequest({ port: h.port, path: '/api/images/v1/session', headers: { authorization: `Bearer ${phone.credential}` } });
    expect(poll.status).toBe(status);
    expect(poll.text).not.toContain('Canary');
    expect(errorCode(await exchange(h.port, tokenFromUrl(qr.url)))).toBe('ERR_LAN_TOKEN_INVALID');
    await expect(h.server.rotateQr(phone.sessionId)).rejects.toThrow(AppError);
  });

  it('an idle session ends on the sweep (injected clock) with reason idle', async () => {
    const ended: string[] = [];
    h.server.on('session-ended', (e) => ended.push(e.reason));
    const phone = await joinPhone(h);
    h.clock.advance(LIMITS.lanSessionIdleSeconds - 1);
    await h.server.sweep();
    expect(ended).toEqual([]);
    h.clock.advance(1);
    await h.server.sweep();
    expect(ended).toEqual(['idle']);
    expect(errorCode(await upload(h.port, phone.credential, photo()))).toBe('ERR_LAN_SESSION_ENDED');
  });

  it('an expired QR is replaced on the sweep', async () => {
    const rotated: string[] = [];
    h.server.on('qr-rotated', (e) => rotated.push(e.qr.url));
    const opened = await h.server.openSession({ sessionRef: 'c', patient: { displayName: 'A', birthDate: '2000-01-01' }, roomLabel: 'R' });
    h.clock.advance(LIMITS.qrTokenTtlSeconds);
    await h.server.sweep();
    expect(rotated).toHaveLength(1);
    expect((await exchange(h.port, tokenFromUrl(rotated[0]!))).status).toBe(200);
    // The replaced QR was not "unusable": it had expired, and the nurse is told so (and to scan the new one).
    expect(errorCode(await exchange(h.port, tokenFromUrl(opened.qr.url)))).toBe('ERR_LAN_TOKEN_EXPIRED');
  });
});

describe('surface and hygiene', () => {
  it('serves only the page and the API; every response carries no-referrer, no-store, nosniff and the CSP', async () => {
    const page = await httpRequest({ port: h.port, path: '/m/' });
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toContain('text/html');
    expect(page.text).toContain('not installed');
    expect(page.text).not.toContain('<script');
    for (const path of ['/', '/m', '/m/../etc/passwd', '/api/images/v1/', '/m/assets/..%2f..%2fserver.ts', '/m/assets/x.js', '/favicon.ico', '/api/images/v2/upload']) {
      const res = await httpRequest({ port: h.port, path });
      expect(res.status, path).toBe(404);
    }
    const responses = [page, await httpRequest({ port: h.port, path: '/nope' }), await upload(h.port, undefined, []), await exchange(h.port, 'x')];
    for (const res of responses) {
      expect(res.headers['referrer-policy']).toBe('no-referrer');
      expect(res.headers['cache-control']).toBe('no-store');
      expect(res.headers['x-content-type-options']).toBe('nosniff');
      expect(res.headers['content-security-policy']).toContain("default-src 'self'");
      expect(res.headers['content-security-policy']).not.toContain('unsafe-inline');
    }
  });

  it('serves the built mobile page and its assets, and nothing outside the assets folder', async () => {
    const dir = join(h.root, 'mobile');
    await mkdir(join(dir, 'assets'), { recursive: true });
    await writeFile(join(dir, 'index.html'), '<!doctype html><script type="module" src="/m/assets/app-1a2b.js"></script>');
    await writeFile(join(dir, 'assets', 'app-1a2b.js'), 'console.log(1)');
    await writeFile(join(dir, 'secret.js'), 'secret');
    await symlink('/etc/hostname', join(dir, 'assets', 'link.js'));
    const built = await startHarness({ mobileAssetsDir: dir });
    try {
      const page = await httpRequest({ port: built.port, path: '/m/' });
      expect(page.text).toContain('/m/assets/app-1a2b.js');
      const js = await httpRequest({ port: built.port, path: '/m/assets/app-1a2b.js' });
      expect(js.status).toBe(200);
      expect(js.headers['content-type']).toContain('text/javascript');
      for (const path of ['/m/assets/link.js', '/m/assets/..%2Fsecret.js', '/m/assets/%2e%2e%2fsecret.js', '/m/assets/.hidden.js', '/m/assets/index.html', '/m/secret.js']) {
        expect((await httpRequest({ port: built.port, path })).status, path).toBe(404);
      }
    } finally {
      await built.cleanup();
    }
  });

  it('after 20 failed attempts from one IP the next is 429, even with a valid token', async () => {
    const opened = await h.server.openSession({ sessionRef: 'c', patient: { displayName: 'A', birthDate: '2000-01-01' }, roomLabel: 'R' });
    for (let i = 0; i < 20; i += 1) {
      const guess = await exchange(h.port, Buffer.alloc(32, i).toString('base64url'));
      expect(guess.status).toBe(401);
    }
    const blocked = await exchange(h.port, tokenFromUrl(opened.qr.url));
    expect(blocked.status).toBe(429);
    expect(blocked.headers['retry-after']).toBe('60');
    h.clock.advance(60);
    expect((await exchange(h.port, tokenFromUrl(opened.qr.url))).status).toBe(200);
  });

  it('brute force (U9): 10,000 token and credential guesses from 250 IPs → 0 successes, ≤ 20 tries per IP per minute', async () => {
    const opened = await h.server.openSession({ sessionRef: 'c', patient: { displayName: 'A', birthDate: '2000-01-01' }, roomLabel: 'R' });
    const phone = await joinPhone(h);
    const statusesByIp = new Map<string, number[]>();
    for (let i = 0; i < 10_000; i += 1) {
      const ip = `10.9.${i % 250}.1`;
      const guess = randomBytes(32).toString('base64url');
      const res =
        i % 2 === 0
          ? await h.server.app.inject({ method: 'POST', url: '/api/images/v1/session/exchange', remoteAddress: ip, headers: { host: `127.0.0.1:${h.port}`, 'content-type': 'application/json' }, payload: { token: guess } })
          : await h.server.app.inject({ method: 'GET', url: '/api/images/v1/session', remoteAddress: ip, headers: { host: `127.0.0.1:${h.port}`, authorization: `Bearer ${guess}` } });
      statusesByIp.set(ip, [...(statusesByIp.get(ip) ?? []), res.statusCode]);
    }
    expect(statusesByIp.size).toBe(250);
    for (const statuses of statusesByIp.values()) {
      expect(statuses.filter((s) => s === 200)).toHaveLength(0);
      expect(statuses.slice(0, 20).every((s) => s === 401)).toBe(true);
      expect(statuses.slice(20).every((s) => s === 429)).toBe(true);
    }
    // the real QR and the real phone (another IP) are untouched
    expect((await exchange(h.port, tokenFromUrl(opened.qr.url))).status).toBe(200);
    expect((await httpRequest({ port: h.port, path: '/api/images/v1/session', headers: { authorization: `Bearer ${phone.credential}` } })).status).toBe(200);
  });

  it('uploads per phone are rate-limited', async () => {
    const limited = await startHarness({ limits: { uploadsPerPhonePerMinute: 2 } });
    try {
      const phone = await joinPhone(limited);
      expect((await upload(limited.port, phone.credential, photo())).status).toBe(200);
      expect((await upload(limited.port, phone.credential, photo())).status).toBe(200);
      const third = await upload(limited.port, phone.credential, photo());
      expect(third.status).toBe(429);
    } finally {
      await limited.cleanup();
    }
  });

  it('tokens, credentials and patient details never reach the logs', async () => {
    const opened = await h.server.openSession({ sessionRef: 'c', patient: { displayName: 'Canary Testpatient', birthDate: '1901-02-03' }, roomLabel: 'R' });
    const token = tokenFromUrl(opened.qr.url);
    // the token in every wrong place a client might put it
    await httpRequest({ port: h.port, path: `/m/?t=${token}` });
    await httpRequest({ port: h.port, path: `/m/assets/${token}.js` });
    await httpRequest({ port: h.port, path: '/api/images/v1/session/exchange', method: 'POST', headers: { 'content-type': 'application/json' }, body: `{"token":"${token}"` });
    await httpRequest({ port: h.port, path: '/api/images/v1/session', headers: { authorization: `Bearer ${token}` } });
    const res = await exchange(h.port, token);
    const credential = (res.json as { credential: string }).credential;
    await upload(h.port, credential, photo());
    await upload(h.port, credential, photo(), { host: `evil-${token}` });
    await h.server.endSession(opened.sessionId, 'patient-changed');
    const log = h.logLines.join('');
    expect(h.logLines.length).toBeGreaterThan(5);
    for (const secret of [token, credential, 'Canary', 'Testpatient', '1901-02-03']) {
      expect(log.split(secret).length - 1, h.logLines.filter((l) => l.includes(secret)).join('\n')).toBe(0);
    }
  });

  it('refuses to be configured with a QR lifetime above LIMITS.qrTokenTtlSeconds', () => {
    expect(() => createLanServer({ bindHost: '127.0.0.1', sink: h.sink, limits: { qrTokenTtlSeconds: LIMITS.qrTokenTtlSeconds + 1 } })).toThrow(
      /qrTokenTtlSeconds/,
    );
  });

  it('tokens are 256-bit random, distinct, and in the fragment only', async () => {
    const urls = new Set<string>();
    const opened = await h.server.openSession({ sessionRef: 'c', patient: { displayName: 'A', birthDate: '2000-01-01' }, roomLabel: 'R' });
    urls.add(opened.qr.url);
    for (let i = 0; i < 50; i += 1) urls.add((await h.server.rotateQr(opened.sessionId)).url);
    expect(urls.size).toBe(51);
    for (const url of urls) {
      const u = new URL(url);
      expect(u.pathname).toBe('/m/');
      expect(u.search).toBe('');
      expect(Buffer.from(tokenFromUrl(url), 'base64url')).toHaveLength(32);
    }
  });
});
