/**
 * Every sandbox fault that certainly stored nothing ends with the image committed exactly once (after the
 * ALEX client's own retries, or the companion's retry of the same key), or with the right final error and
 * nothing created. Faults after which ALEX may have stored the image (5xx, drops, timeouts) are never
 * resent unproven: test/gateway/exactly-once.test.ts.
 * Retry waits and latency go through injected sleeps, so nothing here waits on a timer but the
 * client's per-attempt timeout (2 s) for the `timeout` fault.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { CommitResponse, EnrolResponse, LaunchGrant } from '../../shared/contracts/gateway';
import type { FaultRule } from '../../gateway/src/sandbox';
import { commitFingerprint } from '../../gateway/src/commit/fingerprint';
import { buildMedia } from '../../gateway/src/fhir/builders';
import { startHarness, type Harness } from './helpers/harness';

let h: Harness;
let device: EnrolResponse;
let grant: LaunchGrant;

beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h.close();
});
/** Past the ALEX client's circuit-breaker open time, so one test's outage does not leak into the next. */
const BREAKER_OPEN_MS = 31_000;

afterEach(() => {
  h.sandbox.faults.clear();
  h.clock.advance(BREAKER_OPEN_MS);
});
beforeEach(async () => {
  h.sandbox.faults.clear();
  device = await h.enrol();
  grant = await h.launch(device);
});

const errorCode = (r: { json<T>(): T }): string => r.json<{ error: { code: string } }>().error.code;

describe('faults on the create call', () => {
  const transient: [string, FaultRule][] = [
    ['401 stale token', { kind: 'status401', method: 'POST', times: 1 }],
    ['429 with Retry-After', { kind: 'status429', method: 'POST', times: 2, retryAfterSeconds: 3 }],
    ['latency', { kind: 'latency', method: 'POST', latencyMs: 5_000, times: 3 }],
    ['503 hybrid connection down (no listener: never reached Evolution)', { kind: 'status503', method: 'POST', times: 2 }],
  ];

  it.each(transient)('%s: committed exactly once within the client retries', async (_name, rule) => {
    h.sandbox.faults.add(rule);
    const body = h.commitBody(grant, { media: true, document: true });
    const r = await h.commit(device, body);
    expect(r.statusCode, r.body).toBe(201);
    expect(h.sandbox.store.listMedia({ identifierValue: body.imageId })).toHaveLength(1);
    expect(h.sandbox.store.listDocumentReferences({ identifierValue: body.imageId })).toHaveLength(1);
    expect(h.sandbox.store.counters.faultsApplied[rule.kind] ?? 0).toBeGreaterThan(0);
  });

  it('a long throttle (refused at the door: nothing stored): retryable to the companion, the lease is released, the retry commits exactly once', async () => {
    const id = h.sandbox.faults.add({ kind: 'status429', method: 'POST', retryAfterSeconds: 120 });
    const body = h.commitBody(grant, { media: true });
    const r1 = await h.commit(device, body);
    expect(r1.statusCode).toBe(429);
    expect(errorCode(r1)).toBe('ERR_ALEX_THROTTLED');
    expect(r1.json<{ error: { retryable: boolean } }>().error.retryable).toBe(true);
    expect(h.sandbox.store.listMedia({ identifierValue: body.imageId })).toHaveLength(0);
    expect((await h.store.getIdempotency(body.imageId))?.leaseOwner).toBeNull();
    h.sandbox.faults.remove(id);
    h.clock.advance(BREAKER_OPEN_MS);
    const r2 = await h.commit(device, body);
    expect(r2.statusCode).toBe(201);
    expect(r2.json<CommitResponse>().replayed).toBe(false);
    expect(h.sandbox.store.listMedia({ identifierValue: body.imageId })).toHaveLength(1);
    const audit = (await h.store.listAudit({ limit: 10_000 })).filter((a) => a.imageId === body.imageId && a.action === 'commit');
    expect(audit.map((a) => a.outcome)).toEqual(['deferred', 'committed']);
  });

  it('media done, document held up: the retry creates only the document', async () => {
    const id = h.sandbox.faults.add({ kind: 'status429', method: 'POST', pathPrefix: '/FHIR/DocumentReference', retryAfterSeconds: 120 });
    const body = h.commitBody(grant, { media: true, document: true });
    const r1 = await h.commit(device, body);
    expect(r1.statusCode).toBe(429);
    expect((await h.store.getIdempotency(body.imageId))?.progress.media?.resourceType).toBe('Media');
    h.sandbox.faults.remove(id);
    h.clock.advance(BREAKER_OPEN_MS);
    const r2 = await h.commit(device, body);
    expect(r2.statusCode).toBe(201);
    expect(h.sandbox.store.listMedia({ identifierValue: body.imageId })).toHaveLength(1);
    expect(h.sandbox.store.listDocumentReferences({ identifierValue: body.imageId })).toHaveLength(1);
    expect(r2.json<CommitResponse>().media?.id).toBe(h.sandbox.store.listMedia({ identifierValue: body.imageId })[0]?.id);
  });

  it('a final ALEX refusal is stored as the outcome and replayed, never sent to ALEX again', async () => {
    // The launch names a practitioner ALEX does not know: the Inbox Scan is refused with 422.
    const pair = h.sandbox.issueLaunch({ patientId: h.patient().id, facilityCode: device.facilityId, providerId: 'ffffffffffffffffffffffffffffffff' });
    const launch = await h.app.inject({ method: 'POST', url: '/v1/launch/verify', headers: { authorization: h.auth(device) }, payload: pair });
    expect(launch.statusCode).toBe(200);
    const body = h.commitBody(launch.json<LaunchGrant>(), { media: false, document: true });
    const calls = () => h.sandbox.store.counters.documentReferenceCreateCalls;
    const before = calls();
    const r1 = await h.commit(device, body);
    expect(r1.statusCode).toBe(422);
    expect(errorCode(r1)).toBe('ERR_ALEX_REJECTED');
    expect(calls()).toBe(before + 1);
    const r2 = await h.commit(device, body);
    expect(r2.statusCode).toBe(422);
    expect(errorCode(r2)).toBe('ERR_ALEX_REJECTED');
    expect(calls()).toBe(before + 1);
    expect(h.sandbox.store.listDocumentReferences({ identifierValue: body.imageId })).toHaveLength(0);
    const audit = (await h.store.listAudit({ limit: 10_000 })).filter((a) => a.imageId === body.imageId);
    expect(audit.map((a) => `${a.action}:${a.outcome}:${a.errorCode ?? ''}`)).toEqual(['commit:failed:ERR_ALEX_REJECTED', 'commit.replay:replayed-error:']);
  });

  it('a crashed gateway left a lease after creating at ALEX: the takeover finds the resource and does not create again', async () => {
    const body = h.commitBody(grant, { media: true });
    // What the crashed process did: took the lease, saved when it sent the create (as every create does
    // first), created the Media at ALEX, died before saving the answer.
    const claim = await h.store.acquireIdempotency({
      key: body.imageId,
      fingerprint: commitFingerprint(body),
      deviceId: device.deviceId,
      facilityId: grant.facilityId,
      patientId: grant.patient.id,
      patientNhi: grant.patient.nhi,
      leaseOwner: 'crashed-process',
      leaseMs: h.config.idempotencyLeaseSeconds * 1000,
      now: h.clock.now(),
    });
    expect(claim.kind).toBe('acquired');
    await h.store.saveProgress(body.imageId, 'crashed-process', { sent: { media: h.clock.now() } }, h.clock.now() + h.config.idempotencyLeaseSeconds * 1000, h.clock.now());
    const media = buildMedia(
      {
        imageId: body.imageId,
        patient: grant.patient,
        facilityId: grant.facilityId,
        providerId: grant.providerId ?? null,
        capturedAt: body.capturedAt,
        metadata: body.metadata,
        device: { id: device.deviceId, name: 'Consult room 1' },
        alexFhirBaseUrl: h.sandbox.fhirBaseUrl,
      },
      body.media!,
    );
    await h.runtime.alex.createMedia({ facilityId: grant.facilityId, correlationId: 'crash' }, media);
    expect(h.sandbox.store.listMedia({ identifierValue: body.imageId })).toHaveLength(1);

    // While the lease is live, the companion's retry is told to wait.
    const early = await h.commit(device, body);
    expect(early.statusCode).toBe(409);
    // After the lease expires, the retry takes over and finds the Media with ALEX's documented search first.
    h.clock.advance(h.config.idempotencyLeaseSeconds * 1000 + 1);
    const r = await h.commit(device, body);
    expect(r.statusCode, r.body).toBe(201);
    expect(h.sandbox.store.listMedia({ identifierValue: body.imageId })).toHaveLength(1);
    expect(r.json<CommitResponse>().media?.id).toBe(h.sandbox.store.listMedia({ identifierValue: body.imageId })[0]?.id);
  });
});

describe('ALEX token', () => {
  it('one token request for 50 concurrent cold launches and commits; one refresh after the tokens are revoked', async () => {
    const fresh = await startHarness();
    try {
      const devices = await Promise.all(Array.from({ length: 50 }, (_, i) => fresh.enrol(undefined, `Room ${i}`)));
      expect(fresh.sandbox.store.counters.tokenRequests).toBe(0);
      const grants = await Promise.all(devices.map((d) => fresh.launch(d)));
      expect(fresh.sandbox.store.counters.tokenRequests).toBe(1);
      const results = await Promise.all(devices.map((d, i) => fresh.commit(d, fresh.commitBody(grants[i]!, { media: true }))));
      expect(results.every((r) => r.statusCode === 201)).toBe(true);
      expect(fresh.sandbox.store.counters.tokenRequests).toBe(1);
      fresh.sandbox.revokeTokens();
      const after = await Promise.all(devices.map((d, i) => fresh.commit(d, fresh.commitBody(grants[i]!, { media: true }))));
      expect(after.every((r) => r.statusCode === 201)).toBe(true);
      expect(fresh.sandbox.store.counters.tokenRequests).toBe(2);
      expect(fresh.sandbox.store.counters.mediaCreated).toBe(100);
    } finally {
      await fresh.close();
    }
  });
});
