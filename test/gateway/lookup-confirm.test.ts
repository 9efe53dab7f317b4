/**
 * The gateway enforces the GP's confirmation of a patient found by NHI: the real gateway (Fastify) against the
 * real ALEX sandbox over HTTP. A lookup grant is unusable (nothing reaches ALEX) and short-lived until the device
 * that looked the patient up confirms it; confirming gives it the normal lifetime from then. Launch grants from
 * Evolution need no confirmation. Also on the Redis store (a real redis-server), where confirming re-puts the grant.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { CommitResponse, EnrolResponse, LaunchGrant } from '../../shared/contracts/gateway';
import { GATEWAY_ROUTES } from '../../shared/contracts/gateway';
import { LAUNCH_LOOKUP_ROUTE } from '../../gateway/src/app';
import { patientHash } from '../../gateway/src/crypto';
import { RedisStore } from '../../gateway/src/store/redis';
import { creates, OTHER_FACILITY, startHarness, type Harness } from './helpers/harness';
import { startRedisServer, type RedisServerHandle } from './helpers/redis-server';

type Reply = { statusCode: number; body: string; json<T>(): T };
const code = (r: Reply): string => r.json<{ error: { code: string } }>().error.code;
const CONFIRM_ROUTE = GATEWAY_ROUTES.launchConfirm;

function helpers(get: () => Harness) {
  const lookup = async (device: EnrolResponse, nhi = 'ZZZ0024'): Promise<LaunchGrant> => {
    const h = get();
    const r = await h.app.inject({ method: 'POST', url: LAUNCH_LOOKUP_ROUTE, headers: { authorization: h.auth(device) }, payload: { nhi } });
    expect(r.statusCode, r.body).toBe(200);
    return r.json<LaunchGrant>();
  };
  const confirm = (device: EnrolResponse, payload: unknown): Promise<Reply> => {
    const h = get();
    return h.app.inject({ method: 'POST', url: CONFIRM_ROUTE, headers: { authorization: h.auth(device), 'content-type': 'application/json' }, payload: typeof payload === 'string' ? payload : JSON.stringify(payload) });
  };
  /** Every request that reached the sandbox's FHIR write endpoints. */
  const alexWrites = (): number => get().sandbox.store.requests().filter((r) => r.method === 'POST' && r.path.startsWith('/FHIR/')).length;
  return { lookup, confirm, alexWrites };
}

describe('confirming a patient found by NHI (embedded store)', () => {
  let h: Harness;
  let device: EnrolResponse;
  const { lookup, confirm, alexWrites } = helpers(() => h);

  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => {
    await h.close();
  });
  beforeEach(async () => {
    h.sandbox.faults.clear();
    device = await h.enrol();
  });

  it('a commit on an unconfirmed lookup grant is refused with ERR_LOOKUP_UNCONFIRMED and nothing reaches ALEX', async () => {
    const grant = await lookup(device);
    expect(grant.requiresConfirmation).toBe(true);
    const before = { creates: creates(h.sandbox), writes: alexWrites() };
    const r = await h.commit(device, h.commitBody(grant, { media: true, document: true }));
    expect(r.statusCode).toBe(403);
    const err = r.json<{ error: { code: string; message: string; action: string } }>().error;
    expect(err).toMatchObject({ code: 'ERR_LOOKUP_UNCONFIRMED', action: 'fix-input' });
    expect(err.message).toMatch(/not been confirmed/);
    expect(creates(h.sandbox)).toEqual(before.creates);
    expect(alexWrites()).toBe(before.writes);
    const audit = await h.store.listAudit({ deviceId: device.deviceId, limit: 10 });
    expect(audit.some((a) => a.action === 'commit.rejected' && a.errorCode === 'ERR_LOOKUP_UNCONFIRMED')).toBe(true);
  });

  it('confirm → the same grant, usable for the normal lifetime from the moment of confirmation → the commit reaches ALEX for that patient', async () => {
    const grant = await lookup(device);
    h.clock.advance(120_000);
    const confirmedAt = h.clock.now();
    const r = await confirm(device, { grantId: grant.grantId });
    expect(r.statusCode, r.body).toBe(200);
    const confirmed = r.json<LaunchGrant>();
    expect(confirmed.requiresConfirmation).toBeUndefined();
    expect(confirmed).toMatchObject({ grantId: grant.grantId, facilityId: grant.facilityId, patient: grant.patient, issuedAt: grant.issuedAt });
    expect(Date.parse(confirmed.expiresAt)).toBe(confirmedAt + h.config.launchGrantTtlSeconds * 1000);

    const before = creates(h.sandbox);
    const body = h.commitBody(confirmed, { media: true });
    const c = await h.commit(device, body);
    expect(c.statusCode, c.body).toBe(201);
    expect(c.json<CommitResponse>().media?.id).toBeDefined();
    expect(creates(h.sandbox).media).toBe(before.media + 1);
    expect(h.sandbox.store.listMedia({ identifierValue: body.imageId }).map((m) => m.patientId)).toEqual([grant.patient.id]);

    // Audited as launch.confirmed with the patient hashed; the NHI and names never reach the logs.
    const audit = await h.store.listAudit({ deviceId: device.deviceId, limit: 20 });
    const entry = audit.find((a) => a.action === 'launch.confirmed');
    expect(entry).toMatchObject({ outcome: 'confirmed', deviceId: device.deviceId, facilityId: device.facilityId, patientHash: patientHash(grant.patient.id), errorCode: null });
    const logText = h.logs.join('\n');
    for (const secret of [grant.patient.nhi, grant.patient.familyName, grant.patient.givenName, grant.grantId]) expect(logText).not.toContain(secret);
  });

  it('confirming again answers the confirmed grant unchanged (a retry after a lost answer), without extending it', async () => {
    const grant = await lookup(device);
    const first = (await confirm(device, { grantId: grant.grantId })).json<LaunchGrant>();
    h.clock.advance(60_000);
    const again = await confirm(device, { grantId: grant.grantId });
    expect(again.statusCode).toBe(200);
    expect(again.json<LaunchGrant>()).toEqual(first);
    const audit = await h.store.listAudit({ deviceId: device.deviceId, limit: 20 });
    expect(audit.filter((a) => a.action === 'launch.confirmed').map((a) => a.outcome)).toEqual(['confirmed', 'already-confirmed']);
  });

  it("another device cannot confirm a device's lookup grant (same practice or another); unknown grants are refused alike", async () => {
    const grant = await lookup(device);
    const sibling = await h.enrol(undefined, 'Consult room 2');
    const elsewhere = await h.enrol(OTHER_FACILITY, 'Another practice');
    for (const other of [sibling, elsewhere]) {
      const r = await confirm(other, { grantId: grant.grantId });
      expect(r.statusCode).toBe(409);
      expect(code(r)).toBe('ERR_LOOKUP_ENDED');
    }
    const unknown = await confirm(device, { grantId: 'A'.repeat(43) });
    expect(code(unknown)).toBe('ERR_LOOKUP_ENDED');
    // Still unconfirmed for its own device: still refused, and the other device cannot use it either.
    expect(code(await h.commit(device, h.commitBody(grant, {})))).toBe('ERR_LOOKUP_UNCONFIRMED');
    expect(code(await h.commit(sibling, h.commitBody(grant, {})))).toBe('ERR_LAUNCH_GRANT_INVALID');
    const audit = await h.store.listAudit({ deviceId: sibling.deviceId, limit: 10 });
    expect(audit.find((a) => a.action === 'launch.confirmed')).toMatchObject({ outcome: 'rejected', errorCode: 'ERR_LOOKUP_ENDED', patientHash: null });
  });

  it('an unconfirmed lookup grant lives only LOOKUP_GRANT_TTL_SECONDS: confirming after that is refused, and so is every use', async () => {
    const grant = await lookup(device);
    expect(Date.parse(grant.expiresAt) - Date.parse(grant.issuedAt)).toBe(h.config.lookupGrantTtlSeconds * 1000);
    expect(h.config.lookupGrantTtlSeconds).toBe(600);
    h.clock.advance(h.config.lookupGrantTtlSeconds * 1000);
    const r = await confirm(device, { grantId: grant.grantId });
    expect(r.statusCode).toBe(410);
    expect(code(r)).toBe('ERR_LOOKUP_EXPIRED');
    expect(code(await h.commit(device, h.commitBody(grant, {})))).toBe('ERR_LAUNCH_GRANT_EXPIRED');

    // One second before the end it can still be confirmed, and then lives the normal lifetime from then.
    const late = await lookup(device);
    h.clock.advance(h.config.lookupGrantTtlSeconds * 1000 - 1000);
    const ok = await confirm(device, { grantId: late.grantId });
    expect(ok.statusCode, ok.body).toBe(200);
    h.clock.advance(h.config.launchGrantTtlSeconds * 1000 - 1000);
    expect((await h.commit(device, h.commitBody(late, {}))).statusCode).toBe(201);
    h.clock.advance(1000);
    expect(code(await h.commit(device, h.commitBody(late, {})))).toBe('ERR_LAUNCH_GRANT_EXPIRED');
    expect(code(await confirm(device, { grantId: late.grantId }))).toBe('ERR_LOOKUP_EXPIRED');
  });

  it('launch grants from Evolution need no confirmation and keep working; they cannot be "confirmed" into a longer life', async () => {
    const grant = await h.launch(device, 'ZZZ0016');
    expect(grant.requiresConfirmation).toBeUndefined();
    expect((await h.commit(device, h.commitBody(grant, {}))).statusCode).toBe(201);
    const r = await confirm(device, { grantId: grant.grantId });
    expect(r.statusCode).toBe(409);
    expect(code(r)).toBe('ERR_LOOKUP_ENDED');
    h.clock.advance(h.config.launchGrantTtlSeconds * 1000);
    expect(code(await h.commit(device, h.commitBody(grant, {})))).toBe('ERR_LAUNCH_GRANT_EXPIRED');
  });

  it('refuses a malformed confirm request and an unauthenticated one', async () => {
    for (const payload of [{}, { grantId: 'short' }, { grantId: 42 }, { grantId: 'A'.repeat(43), extra: 1 }, 'not json']) {
      const r = await confirm(device, payload);
      expect(r.statusCode, JSON.stringify(payload)).toBe(400);
      expect(code(r)).toBe('ERR_REQUEST_INVALID');
    }
    const none = await h.app.inject({ method: 'POST', url: CONFIRM_ROUTE, payload: { grantId: 'A'.repeat(43) } });
    expect(none.statusCode).toBe(401);
    expect(code(none)).toBe('ERR_AUTH_DEVICE_MISSING');
  });

  it('the lookup answers a bad NHI with ERR_LOOKUP_NHI_INVALID before asking ALEX, without echoing it', async () => {
    const searches = (): number => h.sandbox.store.requests().filter((r) => r.path.startsWith('/FHIR/Patient')).length;
    const before = searches();
    for (const nhi of ['ZZZ0017', 'ZZ16', 'ZZZ00I6', 'ZZZ00166', 'zzz001', 7]) {
      const r = await h.app.inject({ method: 'POST', url: LAUNCH_LOOKUP_ROUTE, headers: { authorization: h.auth(device) }, payload: { nhi } });
      expect(r.statusCode, String(nhi)).toBe(400);
      expect(code(r)).toBe('ERR_LOOKUP_NHI_INVALID');
      if (typeof nhi === 'string') expect(r.body).not.toContain(nhi);
    }
    expect(searches()).toBe(before);
  });
});

describe('confirming a lookup grant with a shorter LOOKUP_GRANT_TTL_SECONDS on the Redis store', () => {
  let redis: RedisServerHandle;
  let h: Harness;
  const { lookup, confirm } = helpers(() => h);

  beforeAll(async () => {
    redis = await startRedisServer();
    h = await startHarness({ store: new RedisStore(redis.url, { prefix: 'gw-confirm:' }), env: { LOOKUP_GRANT_TTL_SECONDS: '120' } });
  });
  afterAll(async () => {
    await h.close();
    await redis.kill();
  });

  it('unconfirmed → refused; confirmed → committed; expired before confirmation → refused', async () => {
    const device = await h.enrol();
    const grant = await lookup(device);
    expect(Date.parse(grant.expiresAt) - Date.parse(grant.issuedAt)).toBe(120_000);
    expect(code(await h.commit(device, h.commitBody(grant, {})))).toBe('ERR_LOOKUP_UNCONFIRMED');
    const ok = await confirm(device, { grantId: grant.grantId });
    expect(ok.statusCode, ok.body).toBe(200);
    expect(Date.parse(ok.json<LaunchGrant>().expiresAt)).toBe(h.clock.now() + h.config.launchGrantTtlSeconds * 1000);
    expect((await h.commit(device, h.commitBody(grant, {}))).statusCode).toBe(201);

    const stale = await lookup(device, 'ZZZ0016');
    h.clock.advance(120_000);
    expect(code(await confirm(device, { grantId: stale.grantId }))).toBe('ERR_LOOKUP_EXPIRED');
  });
});
