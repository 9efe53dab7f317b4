import { once } from 'node:events';
import { createServer, type Server } from 'node:net';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { EmbeddedJWK, jwtVerify } from 'jose';
import pino from 'pino';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { CommitRequest } from '../../shared/contracts/gateway';
import { createGatewayClient, type DeviceCredentials } from './client';
import { exportDpopKey, generateDpopKey } from './dpop';
import { rejection } from '../../test/helpers/rejection';

// A real Fastify server on loopback whose answer each test scripts.
type Handler = (req: FastifyRequest, reply: FastifyReply) => unknown;
let app: FastifyInstance;
let baseUrl: string;
let handler: Handler;
let seen: { method: string; url: string; headers: Record<string, unknown>; body: unknown }[] = [];

const IMAGE_ID = '3f2b8c1e-4d5a-4b6c-8d7e-9f0a1b2c3d4e';
const CREDS: DeviceCredentials = { deviceId: 'dev_abcdefghijklmnopqrstuv', deviceSecret: 'S'.repeat(43) };
const logger = pino({ level: 'silent' });
const GRANT = {
  grantId: 'grant-0123456789abcdef',
  facilityId: 'F2N060-E',
  patient: { id: 'pat-1', nhi: 'ZZZ0016', familyName: 'Test', givenName: 'Pat', birthDate: '1980-01-01', sex: 'female' },
  issuedAt: '2026-11-23T09:00:00Z',
  expiresAt: '2026-11-23T21:00:00Z',
};

function commitReq(over: Partial<CommitRequest> = {}): CommitRequest {
  return {
    imageId: IMAGE_ID,
    grantId: 'grant-0123456789abcdef',
    patientId: 'pat-1',
    capturedAt: '2026-11-23T09:00:00+13:00',
    metadata: { laterality: 'left' },
    media: { contentType: 'image/jpeg', data: Buffer.from('\xff\xd8\xffjpeg').toString('base64') },
    ...over,
  };
}

function client(credentials: () => Promise<DeviceCredentials | null> = async () => CREDS, timeoutMs = 5000, url = baseUrl) {
  return createGatewayClient({ baseUrl: url, credentials, timeoutMs, logger, newCorrelationId: () => 'corr-fixed' });
}

beforeAll(async () => {
  app = Fastify();
  app.all('/*', async (req, reply) => {
    seen.push({ method: req.method, url: req.url, headers: req.headers, body: req.body });
    return handler(req, reply);
  });
  baseUrl = await app.listen({ host: '127.0.0.1', port: 0 });
});
afterAll(async () => {
  await app.close();
});
beforeEach(() => {
  seen = [];
  handler = () => ({});
});

describe('gateway client: happy paths and headers', () => {
  it('commit sends device auth, Idempotency-Key = imageId and the correlation id, and returns the typed answer', async () => {
    handler = () => ({ imageId: IMAGE_ID, media: { resourceType: 'Media', id: 'm1' }, committedAt: '2026-11-23T09:00:01Z', correlationId: 'c-1', replayed: false });
    const res = await client().commit(commitReq(), { correlationId: 'c-1' });
    expect(res.media?.id).toBe('m1');
    expect(seen).toHaveLength(1);
    expect(seen[0]?.method).toBe('POST');
    expect(seen[0]?.url).toBe('/v1/commits');
    expect(seen[0]?.headers['authorization']).toBe(`Device ${CREDS.deviceId}.${CREDS.deviceSecret}`);
    expect(seen[0]?.headers['idempotency-key']).toBe(IMAGE_ID);
    expect(seen[0]?.headers['x-correlation-id']).toBe('c-1');
    expect((seen[0]?.body as CommitRequest).patientId).toBe('pat-1');
  });

  it('enrol sends no credential and stores nothing', async () => {
    let asked = 0;
    handler = () => ({ deviceId: CREDS.deviceId, deviceSecret: CREDS.deviceSecret, facilityId: 'F2N060-E', practiceName: 'Test Practice' });
    const res = await client(async () => {
      asked += 1;
      return null;
    }).enrol({ enrolmentCode: 'K7QD-9XWP-M3TA', deviceName: 'Room 3' });
    expect(res.deviceId).toBe(CREDS.deviceId);
    expect(asked).toBe(0);
    expect(seen[0]?.headers['authorization']).toBeUndefined();
  });

  it('me, verifyLaunch and verifyCommit hit their routes', async () => {
    const c = client();
    handler = () => ({ deviceId: CREDS.deviceId, deviceName: 'Room 3', facilityId: 'F2N060-E', practiceName: 'P' });
    expect((await c.me()).deviceName).toBe('Room 3');
    handler = () => ({
      grantId: 'grant-0123456789abcdef',
      facilityId: 'F2N060-E',
      patient: { id: 'pat-1', nhi: 'ZZZ0016', familyName: 'Test', givenName: 'Pat', birthDate: '1980-01-01', sex: 'female' },
      issuedAt: '2026-11-23T09:00:00Z',
      expiresAt: '2026-11-23T21:00:00Z',
    });
    expect((await c.verifyLaunch({ context: 'ctx+/=', signature: 'sig' })).patient.nhi).toBe('ZZZ0016');
    expect(seen[1]?.body).toEqual({ context: 'ctx+/=', signature: 'sig' });
    handler = () => ({ imageId: IMAGE_ID, media: { id: 'm1', present: true }, checkedAt: '2026-11-23T09:00:00Z' });
    expect((await c.verifyCommit(IMAGE_ID)).media?.present).toBe(true);
    expect(seen.map((s) => `${s.method} ${s.url}`)).toEqual(['GET /v1/devices/me', 'POST /v1/launch/verify', `GET /v1/commits/${IMAGE_ID}/verify`]);
  });

  it('lookupPatientByNhi posts the normalised NHI with device auth and returns the grant as the gateway flagged it', async () => {
    handler = () => ({ ...GRANT, requiresConfirmation: true });
    const g = await client().lookupPatientByNhi(' zzz0016 ', { correlationId: 'c-7' });
    expect(g.requiresConfirmation).toBe(true);
    expect(g.patient.nhi).toBe('ZZZ0016');
    expect(seen.map((s) => `${s.method} ${s.url}`)).toEqual(['POST /v1/launch/lookup']);
    expect(seen[0]?.body).toEqual({ nhi: 'ZZZ0016' });
    expect(seen[0]?.headers['authorization']).toBe(`Device ${CREDS.deviceId}.${CREDS.deviceSecret}`);
    expect(seen[0]?.headers['x-correlation-id']).toBe('c-7');
    // the new format (AAANNAC, mod-23 check letter) too
    handler = () => ({ ...GRANT, patient: { ...GRANT.patient, nhi: 'ZAA10AX' }, requiresConfirmation: true });
    expect((await client().lookupPatientByNhi('ZAA10AX')).patient.nhi).toBe('ZAA10AX');
  });
});

describe('gateway client: proof of possession (DPoP)', () => {
  it('a device with a key sends a fresh ES256 proof for the exact method and URL of each call; one without sends none', async () => {
    const key = generateDpopKey();
    const now = Date.parse('2026-11-23T09:00:00Z');
    const c = createGatewayClient({ baseUrl: `${baseUrl}/`, credentials: async () => ({ ...CREDS, dpopKey: exportDpopKey(key) }), logger, now: () => now });
    handler = () => ({ deviceId: CREDS.deviceId, deviceName: 'Room 3', facilityId: 'F2N060-E', practiceName: 'P' });
    await c.me();
    handler = () => ({ imageId: IMAGE_ID, media: { id: 'm1', present: true }, checkedAt: '2026-11-23T09:00:00Z' });
    await c.verifyCommit(IMAGE_ID);
    const proofs = seen.map((s) => s.headers['dpop']);
    expect(proofs.every((p) => typeof p === 'string')).toBe(true);
    const claims = [];
    for (const proof of proofs as string[]) {
      const { payload, protectedHeader } = await jwtVerify(proof, EmbeddedJWK, { typ: 'dpop+jwt', algorithms: ['ES256'], currentDate: new Date(now) });
      expect(protectedHeader.jwk).toEqual(key.publicJwk);
      claims.push(payload);
    }
    expect(claims.map((p) => [p.htm, p.htu, p.iat])).toEqual([
      ['GET', `${baseUrl}/v1/devices/me`, now / 1000],
      ['GET', `${baseUrl}/v1/commits/${IMAGE_ID}/verify`, now / 1000],
    ]);
    expect(claims[0]?.jti).not.toBe(claims[1]?.jti);

    seen = [];
    handler = () => ({ deviceId: CREDS.deviceId, deviceName: 'Room 3', facilityId: 'F2N060-E', practiceName: 'P' });
    await client().me();
    expect(seen[0]?.headers['dpop']).toBeUndefined();
    // Enrolment is not authenticated: no credential, no proof.
    handler = () => ({ deviceId: CREDS.deviceId, deviceSecret: CREDS.deviceSecret, facilityId: 'F2N060-E', practiceName: 'Test Practice' });
    await c.enrol({ enrolmentCode: 'K7QD-9XWP-M3TA', deviceName: 'Room 3', dpopJwk: key.publicJwk });
    expect(seen[1]?.headers['dpop']).toBeUndefined();
    expect(seen[1]?.headers['authorization']).toBeUndefined();
  });

  it('ERR_AUTH_PROOF_REPLAYED → signed again and sent once more with a new proof; any other proof refusal is not retried', async () => {
    const key = generateDpopKey();
    const c = client(async () => ({ ...CREDS, dpopKey: exportDpopKey(key) }));
    let calls = 0;
    handler = (_req, reply) => {
      calls += 1;
      if (calls === 1) return reply.code(401).send({ error: { code: 'ERR_AUTH_PROOF_REPLAYED', message: 'x', action: 'retry', retryable: false } });
      return { deviceId: CREDS.deviceId, deviceName: 'Room 3', facilityId: 'F2N060-E', practiceName: 'P' };
    };
    expect((await c.me()).deviceName).toBe('Room 3');
    expect(seen).toHaveLength(2);
    expect(seen[0]?.headers['dpop']).not.toBe(seen[1]?.headers['dpop']);
    expect(seen[1]?.headers['x-correlation-id']).toBe(seen[0]?.headers['x-correlation-id']);

    seen = [];
    handler = (_req, reply) => reply.code(401).send({ error: { code: 'ERR_AUTH_PROOF_INVALID', message: 'x', action: 'support', retryable: false } });
    expect((await rejection(c.me())).code).toBe('ERR_AUTH_PROOF_INVALID');
    expect(seen).toHaveLength(1);
    // Without a key there is nothing to re-sign: the refusal is passed on.
    seen = [];
    handler = (_req, reply) => reply.code(401).send({ error: { code: 'ERR_AUTH_PROOF_REPLAYED', message: 'x', action: 'retry', retryable: false } });
    expect((await rejection(client().me())).code).toBe('ERR_AUTH_PROOF_REPLAYED');
    expect(seen).toHaveLength(1);
  });
});

describe('gateway client: errors become coded AppErrors', () => {
  it("the gateway's error body keeps its code, message and correlation id", async () => {
    handler = (_req, reply) =>
      reply.code(401).send({ error: { code: 'ERR_LAUNCH_GRANT_EXPIRED', message: 'The patient session has expired. Please launch again from Evolution.', action: 'relaunch', retryable: false, correlationId: 'c-9' } });
    const e = await rejection(client().commit(commitReq(), { correlationId: 'c-1' }));
    expect(e.code).toBe('ERR_LAUNCH_GRANT_EXPIRED');
    expect(e.retryable).toBe(false);
    expect(e.correlationId).toBe('c-9');
  });

  it('a retryable gateway error keeps Retry-After from the header', async () => {
    handler = (_req, reply) => reply.code(503).header('retry-after', '7').send({ error: { code: 'ERR_ALEX_UNAVAILABLE', message: 'x', action: 'wait', retryable: true } });
    const e = await rejection(client().commit(commitReq(), { correlationId: 'c-1' }));
    expect(e.code).toBe('ERR_ALEX_UNAVAILABLE');
    expect(e.retryAfterSeconds).toBe(7);
    expect(e.correlationId).toBe('c-1');
  });

  it('a 502 from a proxy with an HTML body → ERR_GATEWAY_UNREACHABLE, retryable', async () => {
    handler = (_req, reply) => reply.code(502).type('text/html').send('<html>Bad gateway</html>');
    const e = await rejection(client().me());
    expect(e.code).toBe('ERR_GATEWAY_UNREACHABLE');
    expect(e.retryable).toBe(true);
  });

  it('a 429 without a body → ERR_RATE_LIMITED with Retry-After', async () => {
    handler = (_req, reply) => reply.code(429).header('retry-after', '30').send('');
    const e = await rejection(client().me());
    expect(e.code).toBe('ERR_RATE_LIMITED');
    expect(e.retryAfterSeconds).toBe(30);
  });

  it('a 404 without an error body → ERR_REQUEST_INVALID (final)', async () => {
    handler = (_req, reply) => reply.code(404).send('nope');
    const e = await rejection(client().me());
    expect(e.code).toBe('ERR_REQUEST_INVALID');
    expect(e.retryable).toBe(false);
  });

  it('connection refused → ERR_GATEWAY_UNREACHABLE', async () => {
    const srv: Server = createServer();
    srv.listen(0, '127.0.0.1');
    await once(srv, 'listening');
    const port = (srv.address() as { port: number }).port;
    srv.close();
    await once(srv, 'close');
    const e = await rejection(client(undefined, 5000, `http://127.0.0.1:${port}`).me());
    expect(e.code).toBe('ERR_GATEWAY_UNREACHABLE');
    expect(e.retryable).toBe(true);
  });

  it('a gateway that never answers → ERR_GATEWAY_UNREACHABLE after the timeout', async () => {
    handler = () => new Promise(() => undefined);
    const e = await rejection(client(undefined, 150).me());
    expect(e.code).toBe('ERR_GATEWAY_UNREACHABLE');
    expect(e.detail).toMatch(/ECONNABORTED|ETIMEDOUT/);
  });

  it('a 200 that does not match the contract → ERR_INTERNAL and is not believed', async () => {
    handler = () => ({ imageId: IMAGE_ID, committedAt: 'yesterday', correlationId: 'c', replayed: false });
    const e = await rejection(client().commit(commitReq(), { correlationId: 'c-1' }));
    expect(e.code).toBe('ERR_INTERNAL');
    handler = () => ({ imageId: '00000000-0000-4000-8000-000000000000', committedAt: '2026-11-23T09:00:01Z', correlationId: 'c', replayed: false });
    expect((await rejection(client().commit(commitReq(), { correlationId: 'c-1' }))).detail).toMatch(/different image/);
  });

  it('no credential → ERR_NOT_ENROLLED and nothing is sent', async () => {
    const e = await rejection(client(async () => null).commit(commitReq(), { correlationId: 'c-1' }));
    expect(e.code).toBe('ERR_NOT_ENROLLED');
    expect(seen).toHaveLength(0);
  });

  it('an invalid request (bad image id, extra field) → ERR_REQUEST_INVALID and nothing is sent', async () => {
    const c = client();
    expect((await rejection(c.commit(commitReq({ imageId: 'not-a-uuid' }), { correlationId: 'c' }))).code).toBe('ERR_REQUEST_INVALID');
    expect((await rejection(c.commit({ ...commitReq(), extra: 1 } as CommitRequest, { correlationId: 'c' }))).code).toBe('ERR_REQUEST_INVALID');
    expect((await rejection(c.verifyCommit('../../admin'))).code).toBe('ERR_REQUEST_INVALID');
    expect((await rejection(c.enrol({ enrolmentCode: '', deviceName: 'x' }))).code).toBe('ERR_REQUEST_INVALID');
    expect(seen).toHaveLength(0);
  });
});

describe('gateway client: NHI lookup refusals', () => {
  it('an invalid NHI (format, check digit, I/O letters, not a string) → ERR_LOOKUP_NHI_INVALID and nothing is sent', async () => {
    const c = client();
    // ZZZ0017: right shape, wrong check digit. ZZZ00I6: letter I is never used. ZAA10AY: wrong check letter.
    for (const nhi of ['ZZZ0017', 'ZAA10AY', 'ZZZ00I6', 'ZZ0016', 'ZZZ00166', '', '1234567', 'ZZZ 0016', 42 as unknown as string]) {
      const e = await rejection(c.lookupPatientByNhi(nhi));
      expect(e.code, String(nhi)).toBe('ERR_LOOKUP_NHI_INVALID');
      expect(e.action).toBe('fix-input');
      expect(e.detail ?? '').not.toContain('ZZZ');
    }
    expect((await rejection(c.lookupPatientByNhi('ZZZ0017'))).detail).toBe('check digit');
    expect(seen).toHaveLength(0);
  });

  it('an invalid NHI is refused before the credential is even read; no credential → ERR_NOT_ENROLLED, nothing sent', async () => {
    let asked = 0;
    const c = client(async () => {
      asked += 1;
      return null;
    });
    expect((await rejection(c.lookupPatientByNhi('ZZZ0017'))).code).toBe('ERR_LOOKUP_NHI_INVALID');
    expect(asked).toBe(0);
    expect((await rejection(c.lookupPatientByNhi('ZZZ0016'))).code).toBe('ERR_NOT_ENROLLED');
    expect(seen).toHaveLength(0);
  });

  it("the gateway's coded refusal keeps its code; an answer for another NHI is not believed", async () => {
    handler = (_req, reply) => reply.code(404).send({ error: { code: 'ERR_ALEX_PATIENT_NOT_FOUND', message: 'That patient was not found in Medtech.', action: 'relaunch', retryable: false } });
    expect((await rejection(client().lookupPatientByNhi('ZZZ0059'))).code).toBe('ERR_ALEX_PATIENT_NOT_FOUND');
    handler = () => ({ ...GRANT, patient: { ...GRANT.patient, nhi: 'ZZZ0024' }, requiresConfirmation: true });
    const e = await rejection(client().lookupPatientByNhi('ZZZ0016'));
    expect(e.code).toBe('ERR_INTERNAL');
    expect(e.detail).toMatch(/different NHI/);
  });
});

describe('gateway client: confirming a patient found by NHI', () => {
  it('confirmLookup posts the grant id with device auth and returns the confirmed grant', async () => {
    handler = () => ({ ...GRANT, expiresAt: '2026-11-23T21:05:00Z' });
    const g = await client().confirmLookup(GRANT.grantId, { correlationId: 'c-8' });
    expect(g.requiresConfirmation).toBeUndefined();
    expect(g.expiresAt).toBe('2026-11-23T21:05:00Z');
    expect(seen.map((s) => `${s.method} ${s.url}`)).toEqual(['POST /v1/launch/confirm']);
    expect(seen[0]?.body).toEqual({ grantId: GRANT.grantId });
    expect(seen[0]?.headers['authorization']).toBe(`Device ${CREDS.deviceId}.${CREDS.deviceSecret}`);
    expect(seen[0]?.headers['x-correlation-id']).toBe('c-8');
  });

  it('an answer still flagged for confirmation, or for another grant, is not believed; a malformed grant id is not sent', async () => {
    handler = () => ({ ...GRANT, requiresConfirmation: true });
    expect((await rejection(client().confirmLookup(GRANT.grantId))).code).toBe('ERR_INTERNAL');
    handler = () => ({ ...GRANT, grantId: 'grant-fedcba9876543210' });
    expect((await rejection(client().confirmLookup(GRANT.grantId))).detail).toMatch(/did not confirm/);
    seen = [];
    for (const bad of ['short', '', 'x'.repeat(129), 7 as unknown as string]) expect((await rejection(client().confirmLookup(bad))).code).toBe('ERR_REQUEST_INVALID');
    expect(seen).toHaveLength(0);
  });

  it("the gateway's refusal keeps its code and plain message", async () => {
    handler = (_req, reply) =>
      reply.code(410).send({ error: { code: 'ERR_LOOKUP_EXPIRED', message: 'That patient search has expired. Find the patient by NHI again.', action: 'fix-input', retryable: false } });
    const e = await rejection(client().confirmLookup(GRANT.grantId));
    expect(e.code).toBe('ERR_LOOKUP_EXPIRED');
    expect(e.message).toBe('That patient search has expired. Find the patient by NHI again.');
  });
});

describe('gateway client: cancelled calls', () => {
  it('a call whose AbortSignal fires mid-way → ERR_REQUEST_CANCELLED (not "unreachable")', async () => {
    let arrived!: () => void;
    const reached = new Promise<void>((r) => (arrived = r));
    handler = () => {
      arrived();
      return new Promise(() => undefined);
    };
    const ctrl = new AbortController();
    const p = client().lookupPatientByNhi('ZZZ0016', { signal: ctrl.signal });
    await reached;
    ctrl.abort();
    const e = await rejection(p);
    expect(e.code).toBe('ERR_REQUEST_CANCELLED');
    expect(e.correlationId).toBe('corr-fixed');
  });

  it('an already aborted signal → ERR_REQUEST_CANCELLED and nothing is sent', async () => {
    const ctrl = new AbortController();
    ctrl.abort();
    expect((await rejection(client().me({ signal: ctrl.signal }))).code).toBe('ERR_REQUEST_CANCELLED');
    expect((await rejection(client().commit(commitReq(), { correlationId: 'c-1', signal: ctrl.signal }))).code).toBe('ERR_REQUEST_CANCELLED');
    expect(seen).toHaveLength(0);
  });

  it('a timeout with a live signal is still ERR_GATEWAY_UNREACHABLE', async () => {
    handler = () => new Promise(() => undefined);
    const e = await rejection(client(undefined, 150).me({ signal: new AbortController().signal }));
    expect(e.code).toBe('ERR_GATEWAY_UNREACHABLE');
  });
});
