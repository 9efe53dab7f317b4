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

/**
 * A create whose outcome the stand-in does not know (the gateway's contract for issue 25): while `unknown`, every
 * commit for that key answers ERR_ALEX_OUTCOME_UNKNOWN; once `unconfirmed`, ERR_COMMIT_UNCONFIRMED, until a person
 * confirms (POST /v1/commits/:imageId/confirm) or asks to send again (`resendAfterCheck: true`). `land()` makes the
 * create that was in doubt arrive: its resource exists and later commits replay it.
 */
export interface StandInDoubt {
  phase: 'unknown' | 'unconfirmed';
  retryAfterSeconds?: number;
  body?: CommitRequest;
  /** 'unknown': a resend after a person's check is taken, but its create's answer is lost in turn. */
  onResend?: 'unknown';
}

export interface GatewayStandIn {
  url: string;
  port: number;
  creates: StandInCreate[];
  /** Every commit request seen (after auth), in arrival order. */
  requests: { imageId: string; patientId: string; grantId: string; idempotencyKey: string; correlationId: string; resendAfterCheck?: true }[];
  /** Keys whose outcome is in doubt (see StandInDoubt). */
  doubts: Map<string, StandInDoubt>;
  /** Image ids a person confirmed (confirm route), in arrival order, including repeats. */
  confirms: string[];
  /** The create in doubt arrives now (needs one commit for that key seen first): a resource is created. */
  land(imageId: string): void;
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
    doubts: new Map(),
    confirms: [],
    land: (imageId) => {
      const body = s.doubts.get(imageId)?.body;
      if (!body) throw new Error('no commit seen for that image');
      s.doubts.delete(imageId);
      outcomes.set(imageId, { hash: hashOf(body), response: createAll(body, 'landed') });
    },
    close: () => app.close(),
  };

  const hashOf = (body: CommitRequest): string => sha(JSON.stringify({ p: body.patientId, m: body.media?.data, d: body.document?.data }));
  /** Creates the body's resources (counted in `creates`) and answers as the gateway would. */
  function createAll(body: CommitRequest, correlationId: string): CommitResponse {
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
    return res;
  }
  /** The answer while an outcome is in doubt, or undefined when the request goes on (a resend after a person's check). */
  function doubtAnswer(reply: FastifyReply, key: string, body: CommitRequest, correlationId: string): FastifyReply | undefined {
    const doubt = s.doubts.get(key);
    if (!doubt) return undefined;
    if (doubt.phase === 'unconfirmed' && body.resendAfterCheck === true) {
      outcomes.delete(key);
      if (doubt.onResend === 'unknown') {
        s.doubts.set(key, { phase: 'unknown', body });
        return sendError(reply, 'ERR_ALEX_OUTCOME_UNKNOWN', correlationId);
      }
      s.doubts.delete(key);
      return undefined;
    }
    doubt.body = body;
    if (doubt.phase === 'unknown') return sendError(reply, 'ERR_ALEX_OUTCOME_UNKNOWN', correlationId, doubt.retryAfterSeconds);
    return sendError(reply, 'ERR_COMMIT_UNCONFIRMED', correlationId);
  }

  app.post<{ Params: { imageId: string } }>('/v1/commits/:imageId/confirm', async (req, reply) => {
    const correlationId = String(req.headers['x-correlation-id'] ?? 'none');
    if (!/^Device dev_[A-Za-z0-9_-]{22}\.\S+$/.test(String(req.headers.authorization ?? ''))) return sendError(reply, 'ERR_AUTH_DEVICE_MISSING', correlationId);
    const imageId = req.params.imageId;
    const prior = outcomes.get(imageId);
    if (prior?.response?.confirmedBy === 'person') {
      s.confirms.push(imageId);
      return { ...prior.response, replayed: true };
    }
    const doubt = s.doubts.get(imageId);
    if (doubt?.phase !== 'unconfirmed' || !doubt.body) return sendError(reply, 'ERR_NOT_FOUND', correlationId);
    s.confirms.push(imageId);
    s.doubts.delete(imageId);
    const res: CommitResponse = { imageId, committedAt: new Date().toISOString(), correlationId, replayed: false, confirmedBy: 'person' };
    outcomes.set(imageId, { hash: hashOf(doubt.body), response: res });
    return res;
  });

  app.post('/v1/commits', async (req, reply) => {
    const correlationId = String(req.headers['x-correlation-id'] ?? 'none');
    if (!/^Device dev_[A-Za-z0-9_-]{22}\.\S+$/.test(String(req.headers.authorization ?? ''))) return sendError(reply, 'ERR_AUTH_DEVICE_MISSING', correlationId);
    const body = req.body;
    if (!checkCommit.check(body)) return sendError(reply, 'ERR_REQUEST_INVALID', correlationId);
    const key = String(req.headers['idempotency-key'] ?? '');
    s.requests.push({ imageId: body.imageId, patientId: body.patientId, grantId: body.grantId, idempotencyKey: key, correlationId, ...(body.resendAfterCheck ? { resendAfterCheck: true as const } : {}) });
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

    const hash = hashOf(body);
    const inDoubt = doubtAnswer(reply, key, body, correlationId);
    if (inDoubt) return inDoubt;
    const prior = outcomes.get(key);
    if (prior) {
      if (prior.hash !== hash) return sendError(reply, 'ERR_IDEMPOTENCY_MISMATCH', correlationId);
      if (!prior.response) return sendError(reply, 'ERR_IDEMPOTENCY_IN_PROGRESS', correlationId);
      return { ...prior.response, replayed: true };
    }
    const outcome: { hash: string; response?: CommitResponse } = { hash };
    outcomes.set(key, outcome);
    {
      const res = createAll(body, correlationId);
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
