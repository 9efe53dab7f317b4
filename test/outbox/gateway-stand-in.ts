/**
 * gatewayStandIn: a loopback Fastify server that implements the gateway's COMMIT contract
 * (shared/contracts/gateway.ts: POST /v1/commits) for outbox tests — device auth header, grant → patient
 * binding, Idempotency-Key = imageId with stored outcomes (replay, 409 in progress, 422 different payload) —
 * and counts every resource it "creates". It stands in for the real gateway + ALEX sandbox in unit tests;
 * it is not the product's gateway.
 */
import { createHash } from 'node:crypto';
import Fastify, { type FastifyReply } from 'fastify';
import { AppError, type ErrorCode } from '../../shared/errors';
import { CommitRequest, type CommitResponse } from '../../shared/contracts/gateway';
import { compile } from '../../electron/gateway-client/validate';

export interface StandInCreate {
  imageId: string;
  patientId: string;
  grantId: string;
  resourceType: 'Media' | 'DocumentReference';
  id: string;
  sha256: string;
  contentType: string;
}

export interface StandInGrant {
  patientId: string;
  expired?: boolean;
}

/** A scripted answer instead of normal processing: an error code, a raw status without body, or a dropped socket. */
export type StandInFault = { code: ErrorCode; retryAfterSeconds?: number } | { status: number } | { destroy: true };

export interface GatewayStandIn {
  url: string;
  port: number;
  creates: StandInCreate[];
  /** Every commit request seen (after auth), in arrival order. */
  requests: { imageId: string; patientId: string; grantId: string; idempotencyKey: string; correlationId: string }[];
  grants: Map<string, StandInGrant>;
  /** Faults consumed one per request, before processing. */
  faults: StandInFault[];
  /** When set, each authenticated, well-formed commit waits on it first (to hold requests in flight). */
  gate: (() => Promise<void>) | undefined;
  /** Creates the resource and records the outcome, then drops the connection instead of answering (this many times). */
  dropAnswers: number;
  inFlight: number;
  maxInFlight: number;
  close(): Promise<void>;
}

const checkCommit = compile(CommitRequest);
const sha = (s: string): string => createHash('sha256').update(s).digest('hex');

function sendError(reply: FastifyReply, code: ErrorCode, correlationId: string, retryAfterSeconds?: number): FastifyReply {
  const e = new AppError(code, { correlationId, retryAfterSeconds });
  return reply.code(e.status).send({ error: e.toBody() });
}

/** Starts the stand-in on 127.0.0.1 (`port` 0 = any free port). With `anyGrant`, unknown grants are accepted for any patient. */
export async function startGatewayStandIn(opts: { port?: number; anyGrant?: boolean } = {}): Promise<GatewayStandIn> {
  const outcomes = new Map<string, { hash: string; response?: CommitResponse }>();
  let seq = 0;
  const app = Fastify({ bodyLimit: 4 * 1024 * 1024 });
  const s: GatewayStandIn = {
    url: '',
    port: 0,
    creates: [],
    requests: [],
    grants: new Map(),
    faults: [],
    gate: undefined,
    dropAnswers: 0,
    inFlight: 0,
    maxInFlight: 0,
    close: () => app.close(),
  };

  app.post('/v1/commits', async (req, reply) => {
    const correlationId = String(req.headers['x-correlation-id'] ?? 'none');
    if (!/^Device dev_[A-Za-z0-9_-]{22}\.\S+$/.test(String(req.headers.authorization ?? ''))) return sendError(reply, 'ERR_AUTH_DEVICE_MISSING', correlationId);
    const body = req.body;
    if (!checkCommit.check(body)) return sendError(reply, 'ERR_REQUEST_INVALID', correlationId);
    const key = String(req.headers['idempotency-key'] ?? '');
    s.requests.push({ imageId: body.imageId, patientId: body.patientId, grantId: body.grantId, idempotencyKey: key, correlationId });
    if (key !== body.imageId) return sendError(reply, 'ERR_IDEMPOTENCY_KEY_MISSING', correlationId);
    s.inFlight++;
    s.maxInFlight = Math.max(s.maxInFlight, s.inFlight);
    try {
      if (s.gate) await s.gate();
    } finally {
      s.inFlight--;
    }
    const fault = s.faults.shift();
    if (fault) {
      if ('destroy' in fault) {
        req.raw.socket.destroy();
        return reply;
      }
      if ('status' in fault) return reply.code(fault.status).send('');
      return sendError(reply, fault.code, correlationId, fault.retryAfterSeconds);
    }
    const grant = s.grants.get(body.grantId) ?? (opts.anyGrant ? { patientId: body.patientId } : undefined);
    if (!grant) return sendError(reply, 'ERR_LAUNCH_GRANT_INVALID', correlationId);
    if (grant.expired) return sendError(reply, 'ERR_LAUNCH_GRANT_EXPIRED', correlationId);
    if (grant.patientId !== body.patientId) return sendError(reply, 'ERR_COMMIT_PATIENT_MISMATCH', correlationId);

    const hash = sha(JSON.stringify({ p: body.patientId, m: body.media?.data, d: body.document?.data }));
    const prior = outcomes.get(key);
    if (prior) {
      if (prior.hash !== hash) return sendError(reply, 'ERR_IDEMPOTENCY_MISMATCH', correlationId);
      if (!prior.response) return sendError(reply, 'ERR_IDEMPOTENCY_IN_PROGRESS', correlationId);
      return { ...prior.response, replayed: true };
    }
    const outcome: { hash: string; response?: CommitResponse } = { hash };
    outcomes.set(key, outcome);
    {
      const res: CommitResponse = { imageId: body.imageId, committedAt: new Date().toISOString(), correlationId, replayed: false };
      for (const [resourceType, payload] of [
        ['Media', body.media],
        ['DocumentReference', body.document],
      ] as const) {
        if (!payload) continue;
        const id = `${resourceType === 'Media' ? 'm' : 'd'}-${++seq}`;
        s.creates.push({ imageId: body.imageId, patientId: body.patientId, grantId: body.grantId, resourceType, id, contentType: payload.contentType, sha256: createHash('sha256').update(Buffer.from(payload.data, 'base64')).digest('hex') });
        if (resourceType === 'Media') res.media = { resourceType, id };
        else res.documentReference = { resourceType, id };
      }
      outcome.response = res;
      if (s.dropAnswers > 0) {
        s.dropAnswers--;
        req.raw.socket.destroy();
        return reply;
      }
      return res;
    }
  });

  s.url = await app.listen({ host: '127.0.0.1', port: opts.port ?? 0 });
  s.port = (app.server.address() as { port: number }).port;
  return s;
}
