/**
 * Enrolment, device auth limits, health, correlation ids and error shape: the edges of the wire contract.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DeviceInfo, EnrolResponse, HealthResponse } from '../../shared/contracts/gateway';
import { hashSecret } from '../../gateway/src/auth/credentials';
import { startHarness, type Harness } from './helpers/harness';

let h: Harness;

beforeAll(async () => {
  h = await startHarness({ env: { RATE_LIMIT_AUTH_FAILURES_PER_MINUTE: '5', RATE_LIMIT_DEVICE_BURST: '3', RATE_LIMIT_DEVICE_PER_MINUTE: '60' } });
});
afterAll(async () => {
  await h.close();
});

const code = (r: { json<T>(): T }): string => r.json<{ error: { code: string } }>().error.code;
/** Each test speaks from its own address, so failure budgets do not mix. */
let ipSeq = 10;
const nextIp = () => `127.0.0.${ipSeq++}`;

describe('enrolment', () => {
  it('exchanges a one-time code for a device id and a secret that is stored only as a hash', async () => {
    const { code: c } = await h.devices.issueEnrolmentCode('F2N060-E', 'Kauri Health', 72);
    const r = await h.app.inject({ method: 'POST', url: '/v1/devices/enrol', payload: { enrolmentCode: c.toLowerCase(), deviceName: 'Room 2', platform: 'win32', appVersion: '1.0.0' }, remoteAddress: nextIp() });
    expect(r.statusCode).toBe(201);
    const e = r.json<EnrolResponse>();
    expect(e).toMatchObject({ facilityId: 'F2N060-E', practiceName: 'Kauri Health' });
    const stored = await h.store.getDevice(e.deviceId);
    expect(stored?.secretHash).toBe(hashSecret(e.deviceSecret));
    expect(JSON.stringify(stored)).not.toContain(e.deviceSecret);
    const me = await h.app.inject({ method: 'GET', url: '/v1/devices/me', headers: { authorization: `Device ${e.deviceId}.${e.deviceSecret}` } });
    expect(me.json<DeviceInfo>()).toEqual({ deviceId: e.deviceId, deviceName: 'Room 2', facilityId: 'F2N060-E', practiceName: 'Kauri Health' });

    const again = await h.app.inject({ method: 'POST', url: '/v1/devices/enrol', payload: { enrolmentCode: c, deviceName: 'Room 3' }, remoteAddress: nextIp() });
    expect(again.statusCode).toBe(409);
    expect(code(again)).toBe('ERR_ENROL_CODE_USED');
  });

  it('refuses expired and unknown codes, and bad bodies', async () => {
    const { code: c } = await h.devices.issueEnrolmentCode('F2N060-E', 'P', 1);
    h.clock.advance(3600 * 1000 + 1);
    const ip = nextIp();
    const expired = await h.app.inject({ method: 'POST', url: '/v1/devices/enrol', payload: { enrolmentCode: c, deviceName: 'R' }, remoteAddress: ip });
    expect([expired.statusCode, code(expired)]).toEqual([410, 'ERR_ENROL_CODE_EXPIRED']);
    const unknown = await h.app.inject({ method: 'POST', url: '/v1/devices/enrol', payload: { enrolmentCode: 'AAAA-BBBB-CCCC', deviceName: 'R' }, remoteAddress: ip });
    expect([unknown.statusCode, code(unknown)]).toEqual([400, 'ERR_ENROL_CODE_INVALID']);
    const bad = await h.app.inject({ method: 'POST', url: '/v1/devices/enrol', payload: { enrolmentCode: 'AAAA-BBBB-CCCC' }, remoteAddress: ip });
    expect([bad.statusCode, code(bad)]).toEqual([400, 'ERR_REQUEST_INVALID']);
    expect((await h.store.listDevices()).filter((d) => d.deviceName === 'R')).toHaveLength(0);
  });

  it('limits failed attempts per address with 429 and Retry-After, even for a good code then', async () => {
    const ip = nextIp();
    for (let i = 0; i < 5; i++) {
      const r = await h.app.inject({ method: 'POST', url: '/v1/devices/enrol', payload: { enrolmentCode: `WRONG-${i}`, deviceName: 'R' }, remoteAddress: ip });
      expect(code(r)).toBe('ERR_ENROL_CODE_INVALID');
    }
    const { code: good } = await h.devices.issueEnrolmentCode('F2N060-E', 'P', 1);
    const limited = await h.app.inject({ method: 'POST', url: '/v1/devices/enrol', payload: { enrolmentCode: good, deviceName: 'R' }, remoteAddress: ip });
    expect(limited.statusCode).toBe(429);
    expect(code(limited)).toBe('ERR_RATE_LIMITED');
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    // Another address is not affected; the budget refills with (injected) time.
    expect((await h.app.inject({ method: 'POST', url: '/v1/devices/enrol', payload: { enrolmentCode: good, deviceName: 'R2' }, remoteAddress: nextIp() })).statusCode).toBe(201);
    h.clock.advance(60_000);
    const { code: later } = await h.devices.issueEnrolmentCode('F2N060-E', 'P', 1);
    expect((await h.app.inject({ method: 'POST', url: '/v1/devices/enrol', payload: { enrolmentCode: later, deviceName: 'R3' }, remoteAddress: ip })).statusCode).toBe(201);
  });

  it('limits failed device authentications per address', async () => {
    const ip = nextIp();
    const forged = `Device dev_${'A'.repeat(22)}.${'B'.repeat(43)}`;
    const statuses: number[] = [];
    for (let i = 0; i < 7; i++) statuses.push((await h.app.inject({ method: 'GET', url: '/v1/devices/me', headers: { authorization: forged }, remoteAddress: ip })).statusCode);
    expect(statuses).toEqual([401, 401, 401, 401, 401, 429, 429]);
  });
});

describe('per-device rate limit', () => {
  it('gives each device its own bucket: 429 with Retry-After when spent, then refills', async () => {
    const d = await h.enrol();
    const other = await h.enrol();
    const me = (x: EnrolResponse) => h.app.inject({ method: 'GET', url: '/v1/devices/me', headers: { authorization: h.auth(x) } });
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) statuses.push((await me(d)).statusCode);
    expect(statuses).toEqual([200, 200, 200, 429]);
    const limited = await me(d);
    expect(limited.headers['retry-after']).toBe('1');
    expect((await me(other)).statusCode).toBe(200);
    h.clock.advance(1000);
    expect((await me(d)).statusCode).toBe(200);
  });
});

describe('health, correlation and errors', () => {
  it('answers liveness and readiness with the store and ALEX checks', async () => {
    expect((await h.app.inject({ method: 'GET', url: '/healthz' })).json<HealthResponse>().status).toBe('ok');
    const ready = await h.app.inject({ method: 'GET', url: '/readyz' });
    expect(ready.statusCode).toBe(200);
    expect(ready.json<HealthResponse>().checks).toMatchObject({ store: { ok: true }, alex: { ok: true } });
  });

  it('echoes a caller correlation id, mints one otherwise, and puts it in the error body', async () => {
    const cid = 'a3c1e0f2-1b2c-4d5e-8f90-0123456789ab';
    const echoed = await h.app.inject({ method: 'GET', url: '/v1/devices/me', headers: { 'x-correlation-id': cid }, remoteAddress: nextIp() });
    expect(echoed.headers['x-correlation-id']).toBe(cid);
    expect(echoed.json<{ error: { correlationId: string } }>().error.correlationId).toBe(cid);
    const minted = await h.app.inject({ method: 'GET', url: '/healthz', headers: { 'x-correlation-id': 'bad id with spaces' } });
    expect(minted.headers['x-correlation-id']).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4/);
  });

  it('answers unknown routes and non-JSON bodies with a coded error and no internals', async () => {
    const nf = await h.app.inject({ method: 'GET', url: '/v1/../../etc/passwd', remoteAddress: nextIp() });
    expect(nf.statusCode).toBe(404);
    expect(code(nf)).toBe('ERR_NOT_FOUND');
    const d = await h.enrol();
    const garbage = await h.app.inject({ method: 'POST', url: '/v1/commits', headers: { authorization: h.auth(d), 'content-type': 'application/json' }, payload: '{"imageId":' });
    expect(garbage.statusCode).toBe(400);
    expect(code(garbage)).toBe('ERR_REQUEST_INVALID');
    expect(garbage.body).not.toMatch(/Unexpected|SyntaxError|at /);
    const xml = await h.app.inject({ method: 'POST', url: '/v1/commits', headers: { authorization: h.auth(d), 'content-type': 'application/xml' }, payload: '<a/>' });
    expect(xml.statusCode).toBe(400);
    expect(code(xml)).toBe('ERR_REQUEST_INVALID');
  });
});
