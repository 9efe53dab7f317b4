/**
 * Every bad commit gets its clear coded error, and nothing reaches ALEX (the sandbox counts every
 * create call, rejected ones included) and no idempotency record is left behind.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { CommitRequest, EnrolResponse, LaunchGrant } from '../../shared/contracts/gateway';
import { makeJpegOfAtLeast } from '../../gateway/src/sandbox/test-support';
import { startHarness, OTHER_FACILITY, type Harness } from './helpers/harness';

let h: Harness;
let device: EnrolResponse;
let grant: LaunchGrant;
let bigJpeg: Buffer;

beforeAll(async () => {
  h = await startHarness();
  bigJpeg = await makeJpegOfAtLeast(1_000_001);
});
afterAll(async () => {
  await h.close();
});
beforeEach(async () => {
  device = await h.enrol();
  grant = await h.launch(device);
});

const createCalls = () => h.sandbox.store.counters.mediaCreateCalls + h.sandbox.store.counters.documentReferenceCreateCalls;

async function expectRefused(res: { statusCode: number; json<T>(): T; body: string }, status: number, code: string, imageId?: string): Promise<void> {
  expect(res.statusCode, res.body).toBe(status);
  const err = res.json<{ error: { code: string; message: string; correlationId: string } }>().error;
  expect(err.code).toBe(code);
  expect(err.message.length).toBeGreaterThan(10);
  expect(err.correlationId).toBeTruthy();
  expect(res.body).not.toMatch(/at .+\.ts:\d+|node_modules|\/work\//);
  if (imageId) expect(await h.store.getIdempotency(imageId)).toBeNull();
}

describe('bad commits', () => {
  it('refuses each bad input with its code and posts nothing', async () => {
    const before = createCalls();
    const ok = () => h.commitBody(grant, { media: true });
    const jpeg64 = h.attachments.jpeg.toString('base64');
    const cases: [string, () => Promise<{ statusCode: number; json<T>(): T; body: string }>, number, string, string?][] = [];
    const add = (name: string, body: Record<string, unknown>, status: number, code: string, key?: string | null) =>
      cases.push([name, () => h.commit(device, body, key), status, code, typeof body.imageId === 'string' ? body.imageId : undefined]);

    {
      const b = ok();
      b.media = { contentType: 'image/jpeg', data: bigJpeg.toString('base64') };
      add('image over 1 MB', b, 413, 'ERR_COMMIT_IMAGE_TOO_LARGE');
    }
    {
      const b = ok();
      b.media = { contentType: 'image/jpeg', data: 'A'.repeat(1_500_004) };
      add('base64 longer than the schema allows', b, 413, 'ERR_COMMIT_IMAGE_TOO_LARGE');
    }
    add('PNG declared, JPEG bytes', { ...ok(), media: { contentType: 'image/png', data: jpeg64 } }, 415, 'ERR_COMMIT_IMAGE_TYPE');
    add('PDF declared, JPEG bytes', { ...ok(), media: undefined, document: { contentType: 'application/pdf', data: jpeg64 } }, 415, 'ERR_COMMIT_IMAGE_TYPE');
    add('TIFF for a Media', { ...ok(), media: { contentType: 'image/tiff', data: h.attachments.tiff.toString('base64') } }, 400, 'ERR_REQUEST_INVALID');
    add('not base64', { ...ok(), media: { contentType: 'image/jpeg', data: '!!!!' + jpeg64 } }, 400, 'ERR_REQUEST_INVALID');
    add('base64url instead of base64', { ...ok(), media: { contentType: 'image/jpeg', data: h.attachments.jpeg.toString('base64url') + 'AAAA'.slice(0, (4 - (h.attachments.jpeg.toString('base64url').length % 4)) % 4) } }, 400, 'ERR_REQUEST_INVALID');
    add('neither media nor document', { ...ok(), media: undefined }, 400, 'ERR_REQUEST_INVALID');
    for (const data of [12345, null, ['QUJD'], { bytes: 'QUJD' }, 'QU', '']) add(`media.data ${JSON.stringify(data)}`, { ...ok(), media: { contentType: 'image/jpeg', data } }, 400, 'ERR_REQUEST_INVALID');
    add('media without data', { ...ok(), media: { contentType: 'image/jpeg' } }, 400, 'ERR_REQUEST_INVALID');
    add('a long base64 value in the wrong place', { ...ok(), metadata: { caption: 'QUJD'.repeat(5_000) } }, 400, 'ERR_REQUEST_INVALID');
    for (const field of ['imageId', 'grantId', 'patientId', 'capturedAt', 'metadata'] as const) {
      const b: Record<string, unknown> = { ...ok() };
      delete b[field];
      add(`missing ${field}`, b, field === 'imageId' ? 400 : 400, 'ERR_REQUEST_INVALID', field === 'imageId' ? randomUUID() : undefined);
    }
    add('unknown field', { ...ok(), patientName: 'Canary Testpatient' }, 400, 'ERR_REQUEST_INVALID');
    // The photo's name is plain text for the title: never a path, no control characters, not blank, capped.
    for (const label of ['C:\\Users\\gp\\Pictures\\Photo 2.jpg', '/home/gp/photo.jpg', 'Photo\u00002', 'Photo\n2', '   ', '', 'x'.repeat(81), 42]) {
      add(`label ${JSON.stringify(label)}`, { ...ok(), label }, 400, 'ERR_REQUEST_INVALID');
    }
    add('unknown consent', { ...ok(), metadata: { consent: 'implied' } }, 400, 'ERR_REQUEST_INVALID');
    add('unknown metadata field', { ...ok(), metadata: { caption: 'x', gps: '-36.8,174.7' } }, 400, 'ERR_REQUEST_INVALID');
    add('imageId not a UUID', { ...ok(), imageId: 'image-1' }, 400, 'ERR_REQUEST_INVALID', 'image-1');
    add('no Idempotency-Key', ok() as unknown as Record<string, unknown>, 400, 'ERR_IDEMPOTENCY_KEY_MISSING', null);
    add('Idempotency-Key not the imageId', ok() as unknown as Record<string, unknown>, 400, 'ERR_REQUEST_INVALID', randomUUID());
    add('another patient than the grant', { ...ok(), patientId: h.patient('ZZZ0024').id }, 403, 'ERR_COMMIT_PATIENT_MISMATCH');
    add('unknown grant', { ...ok(), grantId: 'A'.repeat(43) }, 401, 'ERR_LAUNCH_GRANT_INVALID');

    for (const [name, run, status, code, imageId] of cases) {
      const res = await run();
      await expect(expectRefused(res, status, code, imageId), name).resolves.toBeUndefined();
    }
    expect(createCalls()).toBe(before);
  });

  it('refuses a body over the gateway size cap', async () => {
    const before = createCalls();
    const b = h.commitBody(grant, { media: true });
    const res = await h.commit(device, { ...b, source: 'x', media: { contentType: 'image/jpeg', data: 'A'.repeat(3 * 1024 * 1024 + 10) } });
    await expectRefused(res, 413, 'ERR_COMMIT_IMAGE_TOO_LARGE', b.imageId);
    expect(createCalls()).toBe(before);
  });

  it('refuses unknown, forged, missing and revoked devices, and grants of another device or practice', async () => {
    const before = createCalls();
    const body = (): CommitRequest => h.commitBody(grant, { media: true });
    const post = (authorization: string | undefined, b: CommitRequest) =>
      h.app.inject({ method: 'POST', url: '/v1/commits', headers: { ...(authorization ? { authorization } : {}), 'idempotency-key': b.imageId }, payload: b });

    await expectRefused(await post(undefined, body()), 401, 'ERR_AUTH_DEVICE_MISSING');
    await expectRefused(await post(`Device dev_${'A'.repeat(22)}.${'B'.repeat(43)}`, body()), 401, 'ERR_AUTH_DEVICE_UNKNOWN');
    await expectRefused(await post(`Device ${device.deviceId}.${'B'.repeat(43)}`, body()), 401, 'ERR_AUTH_DEVICE_UNKNOWN');
    await expectRefused(await post(`Bearer ${device.deviceSecret}`, body()), 401, 'ERR_AUTH_DEVICE_UNKNOWN');

    // Another device of the same practice cannot use this device's grant.
    const sibling = await h.enrol();
    await expectRefused(await h.commit(sibling, body()), 401, 'ERR_LAUNCH_GRANT_INVALID');
    // Nor can a device enrolled for another practice.
    const elsewhere = await h.enrol(OTHER_FACILITY);
    await expectRefused(await h.commit(elsewhere, body()), 401, 'ERR_LAUNCH_GRANT_INVALID');

    await h.store.revokeDevice(device.deviceId, h.clock.now());
    const b = body();
    await expectRefused(await h.commit(device, b), 401, 'ERR_AUTH_DEVICE_REVOKED', b.imageId);
    expect(createCalls()).toBe(before);
  });
});
