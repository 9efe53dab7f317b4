/**
 * buildGateway(deps) → the Fastify app: routes of shared/contracts/gateway.ts, device auth, launch
 * verification, commits, health. Everything it needs is injected.
 */
import Fastify, { LogController, type FastifyBaseLogger, type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { Type } from '@sinclair/typebox';
import {
  CommitRequest,
  EnrolRequest,
  GATEWAY_ROUTES,
  HEADERS,
  LaunchConfirmRequest,
  LaunchLookupRequest,
  LaunchVerifyRequest,
  type DeviceInfo,
  type HealthResponse,
  type LaunchGrant,
  type VerifyResponse,
} from '../../shared/contracts/gateway';
import { Uuid } from '../../shared/contracts/common';
import { LIMITS } from '../../shared/limits';
import { AppError, toAppError } from '../../shared/errors';
import { IMAGE_IDENTIFIER_SYSTEM, type AlexClient } from './alex/types';
import { Auditor } from './audit';
import { checkEnrolmentKey, DeviceService, failureKey } from './auth/devices';
import { dpopChallenge, requestHtu } from './auth/dpop';
import { fastifyTrustProxy } from './auth/trusted-proxies';
import { MemoryProofReplayCache, type ProofReplayCache } from './auth/replay';
import { CommitService, publicErrorBody } from './commit/service';
import { confirmByPerson } from './commit/confirm';
import type { ResourceBuilders } from './commit/builders';
import type { CommitBody } from './commit/payload';
import type { GatewayConfig } from './config';
import { uuidV4, type Clock, type Random } from './deps';
import { drainRequest } from './drain';
import { GrantService } from './launch/grants';
import { BudgetedLookupVerifier } from './launch/lookup-budget';
import { PatientSeal } from './launch/patient-seal';
import { AlexLaunchVerifier, NhiLookupVerifier, type LaunchInput, type LaunchVerifier } from './launch/verifier';
import type { DeviceRecord, GatewayStore } from './store/types';

const GATEWAY_VERSION = '0.1.0';

export const LAUNCH_LOOKUP_ROUTE = GATEWAY_ROUTES.launchLookup;

export interface GatewayDeps {
  config: GatewayConfig;
  alex: AlexClient;
  store: GatewayStore;
  clock: Clock;
  random: Random;
  logger: Logger;
  builders: ResourceBuilders;
  /** FHIR base URL of ALEX (or the sandbox): absolute patient references in DocumentReference. */
  alexFhirBaseUrl: string;
  launchVerifier?: LaunchVerifier;
  /** null: /v1/launch/lookup answers 404. */
  nhiLookupVerifier?: LaunchVerifier | null;
  /** Default: in memory. */
  proofReplayCache?: ProofReplayCache;
  metrics?: { registerHttpHooks(app: FastifyInstance): void };
}

declare module 'fastify' {
  interface FastifyRequest {
    device: DeviceRecord | null;
  }
}

const CORRELATION_RE = /^[A-Za-z0-9-]{8,64}$/;
const LAUNCH_BODY_LIMIT = 16 * 1024;

type Services = ReturnType<typeof buildServices>;

type Authenticate = (req: FastifyRequest, reply: FastifyReply) => Promise<void>;

export function buildGateway(deps: GatewayDeps): FastifyInstance {
  const services = buildServices(deps);
  const app = createFastify(deps);
  app.decorateRequest('device', null);
  deps.metrics?.registerHttpHooks(app);
  addLifecycleHooks(app);
  setErrorHandlers(app, services.devices);
  const authenticate = authenticator(services.devices, deps.config);
  registerHealthRoutes(app, deps);
  registerDeviceRoutes(app, services.devices, authenticate);
  registerLaunchRoutes(app, services, authenticate);
  registerCommitRoutes(app, services, deps, authenticate);
  return app;
}

function buildServices(deps: GatewayDeps) {
  const { config, alex, store, clock, random } = deps;
  const auditor = new Auditor(store, clock, random);
  const devices = new DeviceService(store, clock, random, config.rateLimit, auditor, {
    mode: config.deviceProof,
    replayCache: deps.proofReplayCache ?? new MemoryProofReplayCache(),
  });
  const grants = new GrantService(store, clock, random, config.launchGrantTtlSeconds, config.lookupGrantTtlSeconds, new PatientSeal(config.dataKey));
  const commits = new CommitService(store, alex, grants, auditor, deps.builders, clock, random, {
    maxAttachmentBytes: config.alexMaxAttachmentBytes,
    leaseSeconds: config.idempotencyLeaseSeconds,
    alexFhirBaseUrl: deps.alexFhirBaseUrl,
    outcome: { maxProcessingMs: config.alexOutcome.maxProcessingSeconds * 1000, unconfirmedAfterMs: config.alexOutcome.unconfirmedAfterSeconds * 1000 },
  });
  const launchVerifier: LaunchVerifier =
    deps.launchVerifier ??
    new AlexLaunchVerifier(alex, store, clock, { maxAgeSeconds: config.launchMaxAgeSeconds, clockSkewSeconds: config.launchClockSkewSeconds });
  const nhiLookup = deps.nhiLookupVerifier === undefined ? new NhiLookupVerifier(alex) : deps.nhiLookupVerifier;
  const nhiVerifier: LaunchVerifier | null = nhiLookup === null ? null : new BudgetedLookupVerifier(nhiLookup, store, clock, config.rateLimit.lookupsPerHour);
  return { auditor, devices, grants, commits, launchVerifier, nhiVerifier };
}

function createFastify(deps: GatewayDeps): FastifyInstance {
  return Fastify({
    loggerInstance: deps.logger as FastifyBaseLogger,
    bodyLimit: LIMITS.gatewayMaxBodyBytes,
    // Fastify's JSON parser (secure-json-parse) refuses prototype poisoning: a 400, nothing parsed.
    onProtoPoisoning: 'error',
    onConstructorPoisoning: 'error',
    trustProxy: fastifyTrustProxy(deps.config.trustedProxies),
    requestIdHeader: false,
    logController: new LogController({ requestIdLogLabel: 'correlationId' }),
    genReqId: (req) => {
      const h = req.headers[HEADERS.correlationId];
      return typeof h === 'string' && CORRELATION_RE.test(h) ? h : uuidV4(deps.random);
    },
    connectionTimeout: 60_000,
    requestTimeout: 120_000,
    return503OnClosing: true,
    // removeAdditional false: unknown fields are refused, not stripped.
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, useDefaults: false } },
  });
}

/** The correlation id on every answer; on shutdown, keep-alive connections close after their answer instead of holding the server open. */
function addLifecycleHooks(app: FastifyInstance): void {
  app.addHook('onRequest', async (req, reply) => {
    void reply.header(HEADERS.correlationId, req.id);
  });
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });
  app.addHook('onSend', async (_req, reply, payload) => {
    if (closing) void reply.header('connection', 'close');
    return payload;
  });
}

function setErrorHandlers(app: FastifyInstance, devices: DeviceService): void {
  app.setErrorHandler(async (err: FastifyError | AppError, req: FastifyRequest, reply: FastifyReply) => {
    // An oversize body: read the rest away first, so the sender gets this 413 rather than a reset (./drain).
    if ((err as FastifyError).code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      await drainRequest(req.raw);
      void reply.header('connection', 'close');
    }
    const e = mapError(err, req.routeOptions.url);
    if (e.status >= 500) req.log.error({ code: e.code, err: safeErr(err) }, 'request failed');
    else req.log.info({ code: e.code, status: e.status }, 'request refused');
    if (e.retryAfterSeconds !== undefined) void reply.header('retry-after', String(e.retryAfterSeconds));
    return reply.status(e.status).send({ error: publicErrorBody(e, req.id) });
  });
  app.setNotFoundHandler(async (req, reply) => {
    // Unknown paths spend a probing budget of their own per address (not the authentication one).
    await devices.checkFailureBudget(failureKey.notFound(req.ip));
    await devices.recordFailure(failureKey.notFound(req.ip));
    return reply.status(404).send({ error: publicErrorBody(new AppError('ERR_NOT_FOUND'), req.id) });
  });
}

/** The onRequest hook of device routes: the device (and its DPoP proof) or a 401. */
function authenticator(devices: DeviceService, config: GatewayConfig): Authenticate {
  return async (req, reply) => {
    const header = req.headers[HEADERS.authorization];
    try {
      req.device = await devices.authenticate({
        authorization: typeof header === 'string' ? header : undefined,
        proof: req.headers[HEADERS.dpop],
        method: req.method,
        htu: requestHtu(config.publicUrl, req),
        ip: req.ip,
        correlationId: req.id,
      });
    } catch (err) {
      // RFC 9449 §7.1: a 401 about the proof says how to prove.
      const challenge = err instanceof AppError ? dpopChallenge(err) : null;
      if (challenge !== null) void reply.header('www-authenticate', challenge);
      throw err;
    }
  };
}

function deviceOf(req: FastifyRequest): DeviceRecord {
  if (!req.device) throw new AppError('ERR_AUTH_DEVICE_MISSING');
  return req.device;
}

/** Aborts the ALEX calls of a read when the caller goes away; never a commit's (its outcome is stored for the retry). */
function abortOnDisconnect(reply: FastifyReply): AbortSignal {
  const ctrl = new AbortController();
  reply.raw.once('close', () => {
    if (!reply.raw.writableFinished) ctrl.abort();
  });
  return ctrl.signal;
}

function registerHealthRoutes(app: FastifyInstance, { store, alex }: GatewayDeps): void {
  app.get(GATEWAY_ROUTES.healthz, async (): Promise<HealthResponse> => ({ status: 'ok', version: GATEWAY_VERSION }));
  app.get(GATEWAY_ROUTES.readyz, async (_req, reply) => {
    const [storeOk, alexReady] = await Promise.all([store.ping().catch(() => false), alex.ready().catch(() => ({ ok: false, detail: 'error' }))]);
    const ok = storeOk && alexReady.ok;
    const checks = { store: { ok: storeOk, detail: store.kind }, alex: alexReady.detail === undefined ? { ok: alexReady.ok } : alexReady };
    const body: HealthResponse = { status: ok ? 'ok' : 'unavailable', version: GATEWAY_VERSION, checks };
    return reply.status(ok ? 200 : 503).send(body);
  });
}

function registerDeviceRoutes(app: FastifyInstance, devices: DeviceService, authenticate: Authenticate): void {
  // preValidation: a bad device key gets its own code (ERR_ENROL_KEY_*) instead of ERR_REQUEST_INVALID.
  app.post(GATEWAY_ROUTES.enrol, { schema: { body: EnrolRequest }, bodyLimit: 16 * 1024, preValidation: async (req) => checkEnrolmentKey(req.body) }, async (req, reply) => {
    const result = await devices.enrol(req.body as EnrolRequest, req.ip, req.id);
    return reply.status(201).send(result);
  });
  app.get(GATEWAY_ROUTES.me, { onRequest: authenticate }, async (req): Promise<DeviceInfo> => {
    const d = deviceOf(req);
    return { deviceId: d.deviceId, deviceName: d.deviceName, facilityId: d.facilityId, practiceName: d.practiceName };
  });
}

/** Verifies a launch (or an NHI lookup), issues the grant and audits either outcome. */
async function launch(services: Services, req: FastifyRequest, reply: FastifyReply, input: LaunchInput, verifier: LaunchVerifier): Promise<LaunchGrant> {
  const d = deviceOf(req);
  const action = input.kind === 'nhi' ? 'launch.lookup' : 'launch.verify';
  try {
    const verified = await verifier.verify(input, { deviceId: d.deviceId, facilityId: d.facilityId, correlationId: req.id, signal: abortOnDisconnect(reply) });
    const grant = await services.grants.issue(d.deviceId, d.facilityId, verified);
    await services.auditor.record({ deviceId: d.deviceId, facilityId: d.facilityId, patientId: verified.patient.id, action, outcome: 'granted', correlationId: req.id });
    return grant;
  } catch (err) {
    const e = toAppError(err);
    await services.auditor.record({ deviceId: d.deviceId, facilityId: d.facilityId, action, outcome: 'rejected', errorCode: e.code, correlationId: req.id });
    throw e;
  }
}

function registerLaunchRoutes(app: FastifyInstance, services: Services, authenticate: Authenticate): void {
  const { grants, auditor, launchVerifier, nhiVerifier } = services;
  app.post(GATEWAY_ROUTES.launchVerify, { onRequest: authenticate, schema: { body: LaunchVerifyRequest }, bodyLimit: LAUNCH_BODY_LIMIT }, async (req, reply) => {
    const body = req.body as LaunchVerifyRequest;
    return launch(services, req, reply, { kind: 'evolution', context: body.context, signature: body.signature }, launchVerifier);
  });

  app.post(LAUNCH_LOOKUP_ROUTE, { onRequest: authenticate, schema: { body: LaunchLookupRequest }, bodyLimit: LAUNCH_BODY_LIMIT }, async (req, reply) => {
    if (!nhiVerifier) throw new AppError('ERR_NOT_FOUND');
    return launch(services, req, reply, { kind: 'nhi', nhi: (req.body as LaunchLookupRequest).nhi }, nhiVerifier);
  });

  // The GP confirmed the patient found by NHI: only now may this device use the lookup's grant.
  app.post(GATEWAY_ROUTES.launchConfirm, { onRequest: authenticate, schema: { body: LaunchConfirmRequest }, bodyLimit: LAUNCH_BODY_LIMIT }, async (req) => {
    const d = deviceOf(req);
    const entry = { deviceId: d.deviceId, facilityId: d.facilityId, action: 'launch.confirmed', correlationId: req.id };
    try {
      const confirmed = await grants.confirm((req.body as LaunchConfirmRequest).grantId, d);
      await auditor.record({ ...entry, patientId: confirmed.record.patient.id, outcome: confirmed.alreadyConfirmed ? 'already-confirmed' : 'confirmed' });
      return confirmed.grant;
    } catch (err) {
      const e = toAppError(err);
      await auditor.record({ ...entry, outcome: 'rejected', errorCode: e.code });
      throw e;
    }
  });
}

function registerCommitRoutes(app: FastifyInstance, { commits, grants, auditor }: Services, { store, alex, clock, random, config }: GatewayDeps, authenticate: Authenticate): void {
  app.post(GATEWAY_ROUTES.commit, { onRequest: authenticate, schema: { body: COMMIT_BODY_SCHEMA } }, async (req, reply) => {
    checkAttachmentData(req.body as CommitBody);
    const key = req.headers[HEADERS.idempotencyKey];
    const idempotencyKey = typeof key === 'string' ? key : undefined;
    const answer = await commits.commit({ body: req.body as CommitBody, idempotencyKey, device: deviceOf(req), correlationId: req.id });
    return reply.status(answer.status).send(answer.body);
  });

  app.post(GATEWAY_ROUTES.commitConfirm, { onRequest: authenticate, schema: { params: Type.Object({ imageId: Uuid }) } }, async (req, reply) => {
    const { imageId } = req.params as { imageId: string };
    const deps = { store, auditor, clock, random, leaseSeconds: config.idempotencyLeaseSeconds };
    const answer = await confirmByPerson(deps, imageId, deviceOf(req), req.id);
    return reply.status(answer.status).send(answer.body);
  });

  app.get(GATEWAY_ROUTES.commitVerify, { onRequest: authenticate, schema: { params: Type.Object({ imageId: Uuid }) } }, async (req, reply): Promise<VerifyResponse> => {
    const d = deviceOf(req);
    const { imageId } = req.params as { imageId: string };
    const rec = await store.getIdempotency(imageId);
    if (!rec || rec.deviceId !== d.deviceId) throw new AppError('ERR_NOT_FOUND');
    const ctx = { facilityId: rec.facilityId, correlationId: req.id, signal: abortOnDisconnect(reply) };
    const out: VerifyResponse = { imageId, checkedAt: '' };
    if (rec.progress.media) {
      const found = await alex.findMediaByIdentifier(ctx, grants.openNhi(rec.patientNhi, imageId), { system: IMAGE_IDENTIFIER_SYSTEM, value: imageId });
      out.media = { id: typeof found?.id === 'string' ? found.id : rec.progress.media.id, present: found !== null };
    }
    if (rec.progress.documentReference) {
      const found = await alex.getDocumentReference(ctx, rec.progress.documentReference.id);
      out.documentReference = { id: rec.progress.documentReference.id, present: found !== null };
    }
    out.checkedAt = new Date(clock.now()).toISOString();
    return out;
  });
}

/**
 * CommitRequest with the base64 `data` fields left to checkAttachmentData (the same rules, with `.length`):
 * Ajv measures length code point by code point (~15 ms for a 1.3 MB image, 1.5 % of a 1 s ALEX write).
 */
const DATA_BOUNDS = { media: CommitRequest.properties.media.properties.data, document: CommitRequest.properties.document.properties.data };
const COMMIT_BODY_SCHEMA = structuredClone(CommitRequest) as unknown as { properties: Record<'media' | 'document', { properties: { data: Record<string, unknown> } }> };
for (const field of ['media', 'document'] as const) COMMIT_BODY_SCHEMA.properties[field].properties.data = {};

function checkAttachmentData(body: CommitBody): void {
  for (const field of ['media', 'document'] as const) {
    const data: unknown = body[field]?.data;
    if (data === undefined) {
      if (body[field] !== undefined) throw new AppError('ERR_REQUEST_INVALID', { detail: `${field} must have required property 'data'` });
      continue;
    }
    if (typeof data !== 'string') throw new AppError('ERR_REQUEST_INVALID', { detail: `${field}.data must be string` });
    const { minLength = 0, maxLength = Infinity } = DATA_BOUNDS[field];
    if (data.length > maxLength) throw new AppError('ERR_COMMIT_IMAGE_TOO_LARGE', { detail: field });
    if (data.length < minLength) throw new AppError('ERR_REQUEST_INVALID', { detail: `${field}.data is too short` });
  }
}

/** Any error → the AppError the caller sees. Validation and parser errors become coded 4xx. */
function mapError(err: unknown, route: string | undefined): AppError {
  if (err instanceof AppError) return err;
  const fe = err as Partial<FastifyError> & { validation?: { instancePath?: string; keyword?: string; message?: string }[] };
  const isLaunch = route === GATEWAY_ROUTES.launchVerify || route === LAUNCH_LOOKUP_ROUTE;
  const isCommit = route === GATEWAY_ROUTES.commit;
  if (fe.validation) {
    // The NHI search: a bad NHI says so (the value itself is never echoed).
    if (route === LAUNCH_LOOKUP_ROUTE && fe.validation.some((v) => v.instancePath === '/nhi')) return new AppError('ERR_LOOKUP_NHI_INVALID', { cause: err });
    if (isLaunch) return new AppError('ERR_LAUNCH_MALFORMED', { cause: err });
    const first = fe.validation[0];
    if (isCommit && first?.keyword === 'maxLength' && /^\/(media|document)\/data$/.test(first.instancePath ?? '')) {
      return new AppError('ERR_COMMIT_IMAGE_TOO_LARGE', { cause: err });
    }
    const where = first?.instancePath ? first.instancePath.replace(/^\//, '').replace(/\//g, '.') : (fe.validationContext ?? 'body');
    return new AppError('ERR_REQUEST_INVALID', { detail: `${where} ${first?.message ?? 'is not valid'}`.slice(0, 200), cause: err });
  }
  if (fe.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
    if (isLaunch) return new AppError('ERR_LAUNCH_MALFORMED', { cause: err });
    if (isCommit) return new AppError('ERR_COMMIT_IMAGE_TOO_LARGE', { cause: err });
    return new AppError('ERR_REQUEST_TOO_LARGE', { cause: err });
  }
  if (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
    if (isLaunch) return new AppError('ERR_LAUNCH_MALFORMED', { cause: err });
    return new AppError('ERR_REQUEST_INVALID', { cause: err });
  }
  return toAppError(err);
}

/** What of an unexpected error may be logged: its type and code, never a message that might carry data. */
function safeErr(err: unknown): { type: string; code?: string } {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return typeof code === 'string' ? { type: err.name, code } : { type: err.name };
  }
  return { type: typeof err };
}
