/**
 * The gateway client proves possession of the device key (DPoP, RFC 9449) against the REAL gateway (listening on
 * 127.0.0.1) and the real ALEX sandbox over HTTP, with GATEWAY_DEVICE_PROOF=required: enrol with a key → launch →
 * commit → verify all pass with a fresh proof each; a stolen secret without the key is refused; a replayed proof
 * is re-signed once; a PC clock that is out is said plainly. A device enrolled before keys existed keeps working
 * without a proof where the gateway allows it (if-bound).
 */
import { randomBytes } from 'node:crypto';
import { calculateJwkThumbprint } from 'jose';
import pino from 'pino';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { EnrolResponse } from '../../shared/contracts/gateway';
import { creates, FACILITY, startHarness, type Harness } from '../../test/gateway/helpers/harness';
import { createGatewayClient, type DeviceCredentials, type GatewayClientOptions } from './client';
import { exportDpopKey, generateDpopKey } from './dpop';
import { rejection } from '../../test/helpers/rejection';

const MANY = { RATE_LIMIT_AUTH_FAILURES_PER_MINUTE: '100000' };

/** Proof ids as the client asks for them: every proof it makes is counted here. */
function proofIds(script: (n: number) => string | undefined = () => undefined) {
  const made: string[] = [];
  return {
    made,
    next: (): string => {
      const jti = script(made.length) ?? randomBytes(16).toString('base64url');
      made.push(jti);
      return jti;
    },
  };
}

function clientFor(h: Harness, baseUrl: string, creds: DeviceCredentials | null, over: Partial<GatewayClientOptions> = {}) {
  return createGatewayClient({ baseUrl, credentials: async () => creds, logger: pino({ level: 'silent' }), now: () => h.clock.now(), ...over });
}

async function enrolWithKey(h: Harness, baseUrl: string, name = 'Consult room 1'): Promise<DeviceCredentials & EnrolResponse> {
  const key = generateDpopKey();
  const { code } = await h.devices.issueEnrolmentCode(FACILITY, 'Test Practice', 72);
  const res = await clientFor(h, baseUrl, null).enrol({ enrolmentCode: code, deviceName: name, dpopJwk: key.publicJwk });
  const device = await h.store.getDevice(res.deviceId);
  expect(device?.dpopJkt).toBe(await calculateJwkThumbprint(key.publicJwk, 'sha256'));
  return { ...res, dpopKey: exportDpopKey(key) };
}

const authRejections = async (h: Harness, deviceId: string): Promise<(string | null)[]> =>
  (await h.store.listAudit({ deviceId, limit: 100 })).filter((a) => a.action === 'auth.rejected').map((a) => a.errorCode);

describe('GATEWAY_DEVICE_PROOF=required: the companion proves its key on every call', () => {
  let h: Harness;
  let baseUrl: string;
  let device: DeviceCredentials & EnrolResponse;

  beforeAll(async () => {
    h = await startHarness({ env: { ...MANY, GATEWAY_DEVICE_PROOF: 'required' } });
    baseUrl = await h.app.listen({ host: '127.0.0.1', port: 0 });
  });
  afterAll(async () => {
    await h.close();
  });
  beforeEach(async () => {
    h.sandbox.faults.clear();
    device = await enrolWithKey(h, baseUrl);
  });

  it('enrol with a key → me → launch → commit → verify: each call with its own fresh proof, all accepted', async () => {
    const ids = proofIds();
    const gw = clientFor(h, baseUrl, device, { newProofId: ids.next });
    expect((await gw.me()).deviceId).toBe(device.deviceId);
    const pair = h.sandbox.issueLaunch({ patientId: h.patient('ZZZ0016').id, facilityCode: FACILITY });
    const grant = await gw.verifyLaunch(pair);
    const body = h.commitBody(grant, { media: true, document: true });
    const before = creates(h.sandbox);
    const res = await gw.commit(body, { correlationId: 'c-commit' });
    expect(res.media?.id).toBeDefined();
    expect(res.documentReference?.id).toBeDefined();
    expect(creates(h.sandbox)).toEqual({ media: before.media + 1, documents: before.documents + 1 });
    // Medtech's search may show a new resource only after a while (a strict sandbox holds it back up to 60 s).
    h.clock.advance(61_000);
    expect((await gw.verifyCommit(body.imageId)).media?.present).toBe(true);
    // The NHI search and its confirmation are proved like every other call.
    const found = await gw.lookupPatientByNhi('ZZZ0024');
    expect((await gw.confirmLookup(found.grantId)).requiresConfirmation).toBeUndefined();
    expect(ids.made).toHaveLength(6);
    expect(new Set(ids.made).size).toBe(6);
    expect(await authRejections(h, device.deviceId)).toEqual([]);
  });

  it('a retried commit (Medtech down, then back) goes with a new proof and is accepted', async () => {
    const ids = proofIds();
    const gw = clientFor(h, baseUrl, device, { newProofId: ids.next });
    const pair = h.sandbox.issueLaunch({ patientId: h.patient('ZZZ0016').id, facilityCode: FACILITY });
    const grant = await gw.verifyLaunch(pair);
    const body = h.commitBody(grant, { media: true });
    const down = h.sandbox.faults.add({ kind: 'status503', method: 'POST' });
    expect((await rejection(gw.commit(body, { correlationId: 'c-1' }))).code).toBe('ERR_ALEX_UNAVAILABLE');
    h.sandbox.faults.remove(down);
    expect((await gw.commit(body, { correlationId: 'c-1' })).replayed).toBe(false);
    expect(ids.made).toHaveLength(3);
    expect(new Set(ids.made).size).toBe(3);
  });

  it('a stolen device secret without the key is refused (401) and nothing reaches Medtech', async () => {
    const pair = h.sandbox.issueLaunch({ patientId: h.patient('ZZZ0016').id, facilityCode: FACILITY });
    const grant = await clientFor(h, baseUrl, device).verifyLaunch(pair);
    const before = creates(h.sandbox);
    const thief = clientFor(h, baseUrl, { deviceId: device.deviceId, deviceSecret: device.deviceSecret });
    const missing = await rejection(thief.commit(h.commitBody(grant, { media: true }), { correlationId: 'c-x' }));
    expect(missing.code).toBe('ERR_AUTH_PROOF_MISSING');
    expect(missing.status).toBe(401);
    // The secret with a key of the thief's own: the proof does not match the enrolled key.
    const ownKey = clientFor(h, baseUrl, { deviceId: device.deviceId, deviceSecret: device.deviceSecret, dpopKey: exportDpopKey(generateDpopKey()) });
    const invalid = await rejection(ownKey.commit(h.commitBody(grant, { media: true }), { correlationId: 'c-y' }));
    expect(invalid.code).toBe('ERR_AUTH_PROOF_INVALID');
    expect(invalid.status).toBe(401);
    expect(creates(h.sandbox)).toEqual(before);
    expect(await authRejections(h, device.deviceId)).toEqual(['ERR_AUTH_PROOF_MISSING:missing', 'ERR_AUTH_PROOF_INVALID:key-mismatch']);
  });

  it('a proof the gateway has seen already is signed again and sent once more; a second refusal is not retried again', async () => {
    const reused = 'reused-proof-id-0123456789';
    // Proof 1 (first call) and proof 2 (first attempt of the second call) share an id; proof 3 is fresh.
    const ids = proofIds((n) => (n < 2 ? reused : undefined));
    const gw = clientFor(h, baseUrl, device, { newProofId: ids.next });
    expect((await gw.me()).deviceId).toBe(device.deviceId);
    expect((await gw.me()).deviceId).toBe(device.deviceId);
    expect(ids.made).toHaveLength(3);
    expect(ids.made[2]).not.toBe(reused);
    expect(await authRejections(h, device.deviceId)).toEqual(['ERR_AUTH_PROOF_REPLAYED:replayed']);

    // A client that keeps reusing one id: two attempts, then the coded error (no loop).
    const stuck = proofIds(() => reused);
    const e = await rejection(clientFor(h, baseUrl, device, { newProofId: stuck.next }).me());
    expect(e.code).toBe('ERR_AUTH_PROOF_REPLAYED');
    expect(stuck.made).toHaveLength(2);
  });

  it("a PC clock more than a minute out → ERR_AUTH_PROOF_CLOCK with a plain message to fix the PC's clock (not retried)", async () => {
    const ids = proofIds();
    const slow = clientFor(h, baseUrl, device, { newProofId: ids.next, now: () => h.clock.now() - 2 * 60_000 });
    const e = await rejection(slow.me());
    expect(e.code).toBe('ERR_AUTH_PROOF_CLOCK');
    expect(e.message).toBe("This PC's clock is more than a minute out, so the request was refused. Set the PC's date and time to update automatically, then try again.");
    expect(ids.made).toHaveLength(1);
    // Within the allowed skew the same PC is fine.
    expect((await clientFor(h, baseUrl, device, { now: () => h.clock.now() + 30_000 }).me()).deviceId).toBe(device.deviceId);
  });

  it('a stored key that cannot be read → ERR_NOT_ENROLLED and nothing is sent', async () => {
    const before = (await h.store.listAudit({ limit: 100_000 })).length;
    const e = await rejection(clientFor(h, baseUrl, { ...device, dpopKey: '{"kty":"EC"}' }).me());
    expect(e.code).toBe('ERR_NOT_ENROLLED');
    expect(e.detail).toMatch(/device key/);
    expect((await h.store.listAudit({ limit: 100_000 })).length).toBe(before);
  });

  it('enrolling without a key is refused, and so is a device enrolled before keys existed', async () => {
    const { code } = await h.devices.issueEnrolmentCode(FACILITY, 'Test Practice', 72);
    expect((await rejection(clientFor(h, baseUrl, null).enrol({ enrolmentCode: code, deviceName: 'Old PC' }))).code).toBe('ERR_ENROL_KEY_REQUIRED');
    // A device enrolled (without a key) while the gateway still allowed it.
    const { code: oldCode } = await h.devices.issueEnrolmentCode(FACILITY, 'Test Practice', 72);
    const old = await h.devices.enrol({ enrolmentCode: oldCode, deviceName: 'Old PC' }, '127.0.0.1', 'corr-old-pc');
    const e = await rejection(clientFor(h, baseUrl, { deviceId: old.deviceId, deviceSecret: old.deviceSecret }).me());
    expect(e.code).toBe('ERR_AUTH_DEVICE_KEY_REQUIRED');
    expect(e.action).toBe('enrol');
  });
});

describe('GATEWAY_DEVICE_PROOF=if-bound: devices enrolled before keys existed keep working without a proof', () => {
  let h: Harness;
  let baseUrl: string;

  beforeAll(async () => {
    h = await startHarness({ env: MANY });
    baseUrl = await h.app.listen({ host: '127.0.0.1', port: 0 });
  });
  afterAll(async () => {
    await h.close();
  });

  it('no stored key → no proof sent → launch and commit pass; a keyed device next to it still proves its key', async () => {
    const old = await h.enrol(FACILITY, 'Old PC');
    const ids = proofIds();
    const gw = clientFor(h, baseUrl, { deviceId: old.deviceId, deviceSecret: old.deviceSecret }, { newProofId: ids.next });
    const grant = await gw.verifyLaunch(h.sandbox.issueLaunch({ patientId: h.patient('ZZZ0016').id, facilityCode: FACILITY }));
    expect((await gw.commit(h.commitBody(grant, { media: true }), { correlationId: 'c-old' })).media?.id).toBeDefined();
    expect(ids.made).toEqual([]);

    const keyed = await enrolWithKey(h, baseUrl, 'New PC');
    expect((await clientFor(h, baseUrl, keyed).me()).deviceId).toBe(keyed.deviceId);
    expect((await rejection(clientFor(h, baseUrl, { deviceId: keyed.deviceId, deviceSecret: keyed.deviceSecret }).me())).code).toBe('ERR_AUTH_PROOF_MISSING');
  });
});
