/**
 * The gateway client's NHI lookup and its confirmation against the REAL gateway (listening on 127.0.0.1) and the
 * real in-process ALEX sandbox, over HTTP: what the companion gets back for a known patient, an unknown NHI, a bad
 * NHI, a revoked device, Medtech offline, a grant used before and after confirming, and a gateway that is not there.
 */
import { once } from 'node:events';
import { createServer } from 'node:net';
import pino from 'pino';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { EnrolResponse } from '../../shared/contracts/gateway';
import { FACILITY, startHarness, type Harness } from '../../test/gateway/helpers/harness';
import { createGatewayClient, type GatewayClient } from './client';
import { rejection } from '../../test/helpers/rejection';

let h: Harness;
let baseUrl: string;
let device: EnrolResponse;
let gw: GatewayClient;

beforeAll(async () => {
  h = await startHarness();
  baseUrl = await h.app.listen({ host: '127.0.0.1', port: 0 });
});
afterAll(async () => {
  await h.close();
});
beforeEach(async () => {
  h.sandbox.faults.clear();
  device = await h.enrol();
  gw = createGatewayClient({ baseUrl, credentials: async () => ({ deviceId: device.deviceId, deviceSecret: device.deviceSecret }), logger: pino({ level: 'silent' }) });
});

/** Patient searches that reached the sandbox (Medtech). */
const patientSearches = (): number => h.sandbox.store.requests().filter((r) => r.path.startsWith('/FHIR/Patient')).length;

describe('lookupPatientByNhi against the real gateway and ALEX sandbox', () => {
  it('finds ZZZ0016 in the device facility and returns a grant that must be confirmed', async () => {
    const g = await gw.lookupPatientByNhi('zzz0016');
    const p = h.patient('ZZZ0016');
    expect(g.requiresConfirmation).toBe(true);
    expect(g.patient).toEqual({ id: p.id, nhi: 'ZZZ0016', familyName: p.familyName, givenName: p.givenName, birthDate: p.birthDate, sex: p.sex });
    expect(g.facilityId).toBe(FACILITY);
    expect(Date.parse(g.expiresAt)).toBeGreaterThan(h.clock.now());
    // the new NHI format too
    expect((await gw.lookupPatientByNhi('ZAA10AX')).patient.id).toBe(h.patient('ZAA10AX').id);
  });

  it('an NHI Medtech does not know → ERR_ALEX_PATIENT_NOT_FOUND', async () => {
    const e = await rejection(gw.lookupPatientByNhi('ZZZ0059'));
    expect(e.code).toBe('ERR_ALEX_PATIENT_NOT_FOUND');
    expect(e.retryable).toBe(false);
    expect(e.correlationId).toBeDefined();
  });

  it('a bad NHI never reaches the gateway or Medtech', async () => {
    const before = patientSearches();
    expect((await rejection(gw.lookupPatientByNhi('ZZZ0017'))).code).toBe('ERR_LOOKUP_NHI_INVALID');
    expect(patientSearches()).toBe(before);
  });

  it('a revoked device is told so, in the words of its code', async () => {
    await h.store.revokeDevice(device.deviceId, h.clock.now());
    const e = await rejection(gw.lookupPatientByNhi('ZZZ0016'));
    expect(e.code).toBe('ERR_AUTH_DEVICE_REVOKED');
    expect(e.action).toBe('enrol');
  });

  it("the practice's Medtech connection down (ALEX 503) → ERR_ALEX_UNAVAILABLE, retryable", async () => {
    h.sandbox.faults.add({ kind: 'status503', pathPrefix: '/FHIR/Patient' });
    const e = await rejection(gw.lookupPatientByNhi('ZZZ0016'));
    expect(e.code).toBe('ERR_ALEX_UNAVAILABLE');
    expect(e.retryable).toBe(true);
  });

  it('a Medtech search that never answers, abandoned by the caller → ERR_REQUEST_CANCELLED', async () => {
    h.sandbox.faults.add({ kind: 'timeout', pathPrefix: '/FHIR/Patient' });
    const before = patientSearches();
    const ctrl = new AbortController();
    const p = gw.lookupPatientByNhi('ZZZ0016', { signal: ctrl.signal });
    // Abort once the search has reached Medtech and is being held there.
    await expect.poll(patientSearches).toBeGreaterThan(before);
    ctrl.abort();
    expect((await rejection(p)).code).toBe('ERR_REQUEST_CANCELLED');
  });

  it('confirmLookup makes the grant usable: refused before (nothing at Medtech), committed after', async () => {
    const g = await gw.lookupPatientByNhi('ZZZ0024');
    const body = h.commitBody(g, { media: true });
    const before = h.sandbox.store.counters.mediaCreated;
    expect((await rejection(gw.commit(body, { correlationId: 'c-unconfirmed' }))).code).toBe('ERR_LOOKUP_UNCONFIRMED');
    expect(h.sandbox.store.counters.mediaCreated).toBe(before);
    const confirmed = await gw.confirmLookup(g.grantId);
    expect(confirmed.requiresConfirmation).toBeUndefined();
    expect(Date.parse(confirmed.expiresAt)).toBe(h.clock.now() + h.config.launchGrantTtlSeconds * 1000);
    expect((await gw.commit(body, { correlationId: 'c-confirmed' })).media?.id).toBeDefined();
    expect(h.sandbox.store.counters.mediaCreated).toBe(before + 1);
    // Confirming again is safe (a retry after a lost answer).
    expect(await gw.confirmLookup(g.grantId)).toEqual(confirmed);
  });

  it("confirmLookup refusals: unknown or another device's → ERR_LOOKUP_ENDED, too late → ERR_LOOKUP_EXPIRED", async () => {
    const g = await gw.lookupPatientByNhi('ZZZ0024');
    expect((await rejection(gw.confirmLookup('A'.repeat(43)))).code).toBe('ERR_LOOKUP_ENDED');
    const sibling = await h.enrol(undefined, 'Consult room 9');
    const other = createGatewayClient({ baseUrl, credentials: async () => sibling, logger: pino({ level: 'silent' }) });
    const ended = await rejection(other.confirmLookup(g.grantId));
    expect(ended.code).toBe('ERR_LOOKUP_ENDED');
    expect(ended.action).toBe('fix-input');
    h.clock.advance(h.config.lookupGrantTtlSeconds * 1000);
    expect((await rejection(gw.confirmLookup(g.grantId))).code).toBe('ERR_LOOKUP_EXPIRED');
  });

  it('no gateway listening → ERR_GATEWAY_UNREACHABLE', async () => {
    const srv = createServer().listen(0, '127.0.0.1');
    await once(srv, 'listening');
    const port = (srv.address() as { port: number }).port;
    srv.close();
    await once(srv, 'close');
    const offline = createGatewayClient({ baseUrl: `http://127.0.0.1:${port}`, credentials: async () => device, logger: pino({ level: 'silent' }) });
    expect((await rejection(offline.lookupPatientByNhi('ZZZ0016'))).code).toBe('ERR_GATEWAY_UNREACHABLE');
  });
});
