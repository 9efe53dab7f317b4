/**
 * Launch verification against the real sandbox's launch codec: genuine pairs become a grant for this
 * device, facility and patient; everything else gets its coded error.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { EnrolResponse, LaunchGrant } from '../../shared/contracts/gateway';
import { LAUNCH_LOOKUP_ROUTE } from '../../gateway/src/app';
import { startHarness, OTHER_FACILITY, type Harness } from './helpers/harness';

let h: Harness;
let device: EnrolResponse;

beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h.close();
});
beforeEach(async () => {
  device = await h.enrol();
});

const verify = (payload: unknown, d = device) =>
  h.app.inject({ method: 'POST', url: '/v1/launch/verify', headers: { authorization: h.auth(d), 'content-type': 'application/json' }, payload: typeof payload === 'string' ? payload : JSON.stringify(payload) });
const code = (r: { json<T>(): T }): string => r.json<{ error: { code: string } }>().error.code;
const decodes = () => h.sandbox.store.counters.launchDecodes;

describe('launch verification', () => {
  it('turns a genuine launch into a grant for this device, facility and patient', async () => {
    const p = h.patient('ZZZ0016');
    const r = await verify(h.sandbox.issueLaunch({ patientId: p.id, facilityCode: device.facilityId }));
    expect(r.statusCode).toBe(200);
    const g = r.json<LaunchGrant>();
    expect(g.patient).toEqual({ id: p.id, nhi: p.nhi, familyName: p.familyName, givenName: p.givenName, birthDate: p.birthDate, sex: p.sex });
    expect(g.facilityId).toBe(device.facilityId);
    expect(Buffer.from(g.grantId, 'base64url')).toHaveLength(32);
    expect(Date.parse(g.expiresAt) - Date.parse(g.issuedAt)).toBe(h.config.launchGrantTtlSeconds * 1000);
    expect(g.requiresConfirmation).toBeUndefined();
  });

  it('refuses a second use of the same pair', async () => {
    const pair = h.sandbox.issueLaunch({ patientId: h.patient().id, facilityCode: device.facilityId });
    expect((await verify(pair)).statusCode).toBe(200);
    const again = await verify(pair);
    expect(again.statusCode).toBe(409);
    expect(code(again)).toBe('ERR_LAUNCH_REPLAYED');
  });

  it('refuses a tampered signature', async () => {
    const pair = h.sandbox.issueLaunch({ patientId: h.patient().id, facilityCode: device.facilityId });
    const flipped = pair.signature.slice(0, -2) + (pair.signature.endsWith('AA') ? 'BB' : 'AA');
    const r = await verify({ context: pair.context, signature: flipped });
    expect(r.statusCode).toBe(401);
    expect(code(r)).toBe('ERR_LAUNCH_SIGNATURE');
    // And a context from one pair with the signature of another.
    const other = h.sandbox.issueLaunch({ patientId: h.patient('ZZZ0024').id, facilityCode: device.facilityId });
    expect(code(await verify({ context: other.context, signature: pair.signature }))).toBe('ERR_LAUNCH_SIGNATURE');
  });

  it('refuses a stale launch, and one from the future beyond the allowed skew', async () => {
    const now = h.clock.now();
    const stale = h.sandbox.issueLaunch({ patientId: h.patient().id, facilityCode: device.facilityId, createdTime: new Date(now - (h.config.launchMaxAgeSeconds + h.config.launchClockSkewSeconds + 1) * 1000) });
    const r = await verify(stale);
    expect(r.statusCode).toBe(401);
    expect(code(r)).toBe('ERR_LAUNCH_EXPIRED');
    const future = h.sandbox.issueLaunch({ patientId: h.patient().id, facilityCode: device.facilityId, createdTime: new Date(now + (h.config.launchClockSkewSeconds + 5) * 1000) });
    expect(code(await verify(future))).toBe('ERR_LAUNCH_EXPIRED');
    // Within the skew is fine.
    const slightlyAhead = h.sandbox.issueLaunch({ patientId: h.patient().id, facilityCode: device.facilityId, createdTime: new Date(now + 5_000) });
    expect((await verify(slightlyAhead)).statusCode).toBe(200);
  });

  it('refuses a launch from another practice than the device is enrolled for', async () => {
    const r = await verify(h.sandbox.issueLaunch({ patientId: h.patient().id, facilityCode: OTHER_FACILITY }));
    expect(r.statusCode, r.body).toBe(403);
    expect(code(r)).toBe('ERR_LAUNCH_FACILITY_MISMATCH');
  });

  it('tells support when ALEX does not know the practice', async () => {
    const stranger = await h.enrol('F00000-X');
    const r = await verify(h.sandbox.issueLaunch({ patientId: h.patient().id, facilityCode: 'F00000-X' }), stranger);
    expect(r.statusCode).toBe(403);
    expect(code(r)).toBe('ERR_ALEX_FACILITY_NOT_FOUND');
  });

  it('says so when no patient is open in Evolution', async () => {
    const r = await verify(h.sandbox.issueLaunch({ patientId: null, facilityCode: device.facilityId }));
    expect(r.statusCode).toBe(422);
    expect(code(r)).toBe('ERR_LAUNCH_NO_PATIENT');
  });

  it('refuses malformed and oversized input before any ALEX call', async () => {
    const pair = h.sandbox.issueLaunch({ patientId: h.patient().id, facilityCode: device.facilityId });
    const before = decodes();
    const bad: unknown[] = [
      {},
      { context: pair.context },
      { context: '', signature: pair.signature },
      { context: 'x'.repeat(4097), signature: pair.signature },
      { context: pair.context, signature: 'a b' },
      { context: pair.context, signature: '<script>alert(1)</script>' },
      { context: pair.context, signature: 'abc\r\nX-Injected: 1' },
      { context: 42, signature: pair.signature },
      { context: pair.context, signature: pair.signature, extra: 'field' },
      'not json',
      JSON.stringify({ context: 'a'.repeat(20_000), signature: 'b' }),
    ];
    for (const payload of bad) {
      const r = await verify(payload);
      expect(r.statusCode, JSON.stringify(payload).slice(0, 80)).toBe(400);
      expect(code(r)).toBe('ERR_LAUNCH_MALFORMED');
    }
    expect(decodes()).toBe(before);
  });

  it('needs an enrolled, live device', async () => {
    const pair = h.sandbox.issueLaunch({ patientId: h.patient().id, facilityCode: device.facilityId });
    const none = await h.app.inject({ method: 'POST', url: '/v1/launch/verify', payload: pair });
    expect(code(none)).toBe('ERR_AUTH_DEVICE_MISSING');
    await h.store.revokeDevice(device.deviceId, h.clock.now());
    const revoked = await verify(pair);
    expect(revoked.statusCode).toBe(401);
    expect(code(revoked)).toBe('ERR_AUTH_DEVICE_REVOKED');
  });
});

describe('NHI lookup fallback', () => {
  it('finds the patient in the device facility and flags the grant for confirmation', async () => {
    const p = h.patient('ZZZ0024');
    const r = await h.app.inject({ method: 'POST', url: LAUNCH_LOOKUP_ROUTE, headers: { authorization: h.auth(device) }, payload: { nhi: p.nhi } });
    expect(r.statusCode).toBe(200);
    const g = r.json<LaunchGrant>();
    expect(g.patient.id).toBe(p.id);
    expect(g.requiresConfirmation).toBe(true);
  });

  it('refuses an invalid NHI before asking ALEX, and says when no patient has it', async () => {
    const bad = await h.app.inject({ method: 'POST', url: LAUNCH_LOOKUP_ROUTE, headers: { authorization: h.auth(device) }, payload: { nhi: 'ZZZ0017' } });
    expect(code(bad)).toBe('ERR_LOOKUP_NHI_INVALID');
    const none = await h.app.inject({ method: 'POST', url: LAUNCH_LOOKUP_ROUTE, headers: { authorization: h.auth(device) }, payload: { nhi: 'ZZZ0059' } });
    expect(none.statusCode).toBe(404);
    expect(code(none)).toBe('ERR_ALEX_PATIENT_NOT_FOUND');
  });
});
