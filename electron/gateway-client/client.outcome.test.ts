/**
 * The gateway client's part of an unknown outcome (issue 25): the two codes keep their meaning, `resendAfterCheck`
 * is passed, and confirmCommit posts to the confirm route with device auth and a fresh DPoP proof. Against a real
 * Fastify server on loopback whose answers each test scripts.
 */
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { EmbeddedJWK, jwtVerify } from 'jose';
import pino from 'pino';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { AppError } from '../../shared/errors';
import type { CommitRequest } from '../../shared/contracts/gateway';
import { rejection } from '../../test/helpers/rejection';
import { createGatewayClient, type DeviceCredentials } from './client';
import { exportDpopKey, generateDpopKey } from './dpop';

type Handler = (req: FastifyRequest, reply: FastifyReply) => unknown;
let app: FastifyInstance;
let baseUrl: string;
let handler: Handler;
let seen: { method: string; url: string; headers: Record<string, unknown>; body: unknown }[] = [];

const IMAGE_ID = '3f2b8c1e-4d5a-4b6c-8d7e-9f0a1b2c3d4e';
const CREDS: DeviceCredentials = { deviceId: 'dev_abcdefghijklmnopqrstuv', deviceSecret: 'S'.repeat(43), dpopKey: exportDpopKey(generateDpopKey()) };
const logger = pino({ level: 'silent' });

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
const client = (credentials: () => Promise<DeviceCredentials | null> = async () => CREDS) => createGatewayClient({ baseUrl, credentials, timeoutMs: 5000, logger });
const errorReply = (reply: FastifyReply, code: 'ERR_ALEX_OUTCOME_UNKNOWN' | 'ERR_COMMIT_UNCONFIRMED' | 'ERR_NOT_FOUND', retryAfterSeconds?: number) => {
  const e = new AppError(code, { correlationId: 'corr-gw', retryAfterSeconds });
  return reply.code(e.status).send({ error: e.toBody() });
};

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

describe('gateway client: unknown outcomes', () => {
  it('ERR_ALEX_OUTCOME_UNKNOWN → retryable, "wait", its plain message and Retry-After kept', async () => {
    handler = (_req, reply) => errorReply(reply, 'ERR_ALEX_OUTCOME_UNKNOWN', 45);
    const e = await rejection(client().commit(commitReq(), { correlationId: 'c-1' }));
    expect(e).toMatchObject({ code: 'ERR_ALEX_OUTCOME_UNKNOWN', retryable: true, action: 'wait', retryAfterSeconds: 45, correlationId: 'corr-gw' });
    expect(e.message).toMatch(/waiting for Medtech to confirm it arrived\. It will not be sent twice/);
  });

  it('ERR_COMMIT_UNCONFIRMED → not retryable, action check-medtech, its plain message', async () => {
    handler = (_req, reply) => errorReply(reply, 'ERR_COMMIT_UNCONFIRMED');
    const e = await rejection(client().commit(commitReq(), { correlationId: 'c-1' }));
    expect(e).toMatchObject({ code: 'ERR_COMMIT_UNCONFIRMED', retryable: false, action: 'check-medtech' });
    expect(e.message).toMatch(/Look in the patient's Inbox in Medtech/);
  });

  it('resendAfterCheck is sent when set, and only then; the Idempotency-Key stays the image id', async () => {
    handler = () => ({ imageId: IMAGE_ID, media: { resourceType: 'Media', id: 'm1' }, committedAt: '2026-11-23T09:00:01Z', correlationId: 'c', replayed: false });
    await client().commit(commitReq({ resendAfterCheck: true }), { correlationId: 'c-1' });
    await client().commit(commitReq(), { correlationId: 'c-2' });
    expect((seen[0]?.body as CommitRequest).resendAfterCheck).toBe(true);
    expect(seen[1]?.body as CommitRequest).not.toHaveProperty('resendAfterCheck');
    expect(seen.map((s) => s.headers['idempotency-key'])).toEqual([IMAGE_ID, IMAGE_ID]);
    // Anything but `true` is refused before it leaves.
    const bad = await rejection(client().commit({ ...commitReq(), resendAfterCheck: false } as unknown as CommitRequest, { correlationId: 'c-3' }));
    expect(bad.code).toBe('ERR_REQUEST_INVALID');
    expect(seen).toHaveLength(2);
  });

  it('confirmCommit posts to /v1/commits/:imageId/confirm with device auth and a proof for that URL; answers the confirmed commit', async () => {
    handler = () => ({ imageId: IMAGE_ID, committedAt: '2026-11-23T09:05:00Z', correlationId: 'c', replayed: false, confirmedBy: 'person' });
    const res = await client().confirmCommit(IMAGE_ID, { correlationId: 'c-9' });
    expect(res.confirmedBy).toBe('person');
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({ method: 'POST', url: `/v1/commits/${IMAGE_ID}/confirm` });
    expect(seen[0]?.headers['authorization']).toBe(`Device ${CREDS.deviceId}.${CREDS.deviceSecret}`);
    expect(seen[0]?.headers['x-correlation-id']).toBe('c-9');
    const { payload } = await jwtVerify(String(seen[0]?.headers['dpop']), EmbeddedJWK, { typ: 'dpop+jwt' });
    expect(payload).toMatchObject({ htm: 'POST', htu: `${baseUrl}/v1/commits/${IMAGE_ID}/confirm` });
  });

  it('confirmCommit: an answer for another image or not confirmed by a person is not believed; a bad id is not sent; no credential → ERR_NOT_ENROLLED', async () => {
    handler = () => ({ imageId: '00000000-0000-4000-8000-000000000000', committedAt: '2026-11-23T09:05:00Z', correlationId: 'c', replayed: false, confirmedBy: 'person' });
    expect((await rejection(client().confirmCommit(IMAGE_ID))).code).toBe('ERR_INTERNAL');
    handler = () => ({ imageId: IMAGE_ID, committedAt: '2026-11-23T09:05:00Z', correlationId: 'c', replayed: false });
    expect((await rejection(client().confirmCommit(IMAGE_ID))).code).toBe('ERR_INTERNAL');
    const n = seen.length;
    expect((await rejection(client().confirmCommit('../../admin'))).code).toBe('ERR_REQUEST_INVALID');
    expect((await rejection(client(async () => null).confirmCommit(IMAGE_ID))).code).toBe('ERR_NOT_ENROLLED');
    expect(seen).toHaveLength(n);
  });

  it("confirmCommit: the gateway's refusal keeps its code", async () => {
    handler = (_req, reply) => errorReply(reply, 'ERR_NOT_FOUND');
    expect((await rejection(client().confirmCommit(IMAGE_ID))).code).toBe('ERR_NOT_FOUND');
  });
});
