/**
 * The ALEX sandbox as a Fastify app: Azure AD token endpoint, ALEX FHIR routes, launch decode,
 * fault injection and the `/_sandbox` control plane. `buildSandboxApp` is for in-process use;
 * `startSandbox` (index.ts) listens on loopback.
 */
import { isAscii } from 'node:buffer';
import { createHash, randomBytes as cryptoRandomBytes } from 'node:crypto';
import type { Socket } from 'node:net';
import Fastify, { LogController, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { pino } from 'pino';
import { AppError, BugIndicatingError } from '../../../shared/errors';
import { NHI_SYSTEM, normaliseNhi } from '../../../shared/nhi';
import { AZURE_ERRORS, TokenThrottleWindow, mintAccessToken, sendAzureError } from './azure';
import { createFaultEngine, parseFaultRule } from './faults';
import { createLaunchCodec } from './launch';
import { FHIR_JSON, OutcomeError, sendApimError, sendOutcome } from './outcome';
import {
  locationResource,
  patientResource,
  practitionerResource,
  searchBundle,
  validateDocumentReference,
  validateMedia,
  type SandboxLocation,
  type ValidatedCreate,
  type ValidationContext,
} from './resources';
import {
  ALEX_ABSOLUTE_BASES,
  DEFAULT_CREDENTIALS,
  DEFAULT_FACILITIES,
  DEFAULT_MAX_ATTACHMENT_BYTES,
  DEFAULT_TENANT_ID,
  DEFAULT_TOKEN_LIFETIME_SECONDS,
  DEFAULT_TOKEN_THROTTLE,
  SEED_PATIENTS,
  SEED_PRACTITIONERS,
} from './seed';
import { MemoryStore } from './store';
import type { ActiveFaultRule, LaunchInput, SandboxHandle, SandboxOptions, SandboxPatient, SandboxRequestRecord, StoredResource } from './types';

export type SandboxApp = FastifyInstance & { sandbox: SandboxHandle };

/** Large enough for an 8 MB Inbox Scan as base64, so size rules answer as ALEX does (413 OperationOutcome). */
const BODY_LIMIT_BYTES = 16 * 1024 * 1024;
const LAUNCH_PREFIX = '/FHIR/vendorforms/api/getlaunchcontextstring/';
/** Routes whose side effect `when: 'after'` faults let happen. */
const CREATE_ROUTES = new Set(['/FHIR/Media', '/FHIR/DocumentReference']);

interface RouteConfig {
  /** mt-facilityid: 'required' (default for FHIR) or 'optional' (launch decode, unless configured). */
  facility?: 'required' | 'optional';
}

/**
 * A JSON body as text. A FHIR body carrying an attachment is ~1.3 MB of ASCII (base64): read as Latin-1
 * it is one copy, where UTF-8 decoding costs several milliseconds of CPU. Any other byte means UTF-8.
 */
function jsonText(body: Buffer): string {
  return isAscii(body) ? body.toString('latin1') : body.toString('utf8');
}

function pathOf(url: string): string {
  const q = url.indexOf('?');
  return q < 0 ? url : url.slice(0, q);
}

function queryOf(url: string): URLSearchParams {
  const q = url.indexOf('?');
  return new URLSearchParams(q < 0 ? '' : url.slice(q + 1));
}

function headerValue(request: FastifyRequest, name: string): string | null {
  const v = request.headers[name];
  if (Array.isArray(v)) return v[0] ?? null;
  return typeof v === 'string' && v.length > 0 ? v : null;
}

/** `<NHI system>|<value>` as the one and only query parameter `name`; anything else is another query shape. */
function nhiFromQuery(url: string, name: string): string | null {
  const params = queryOf(url);
  const keys = [...params.keys()];
  if (keys.length !== 1 || keys[0] !== name) return null;
  const raw = params.get(name) ?? '';
  const bar = raw.indexOf('|');
  if (bar < 0 || raw.slice(0, bar) !== NHI_SYSTEM) return null;
  const value = raw.slice(bar + 1);
  return value.length > 0 && value.length <= 20 ? normaliseNhi(value) : null;
}

/** The resource without its attachment's `data` (validated before, so the shape is known), with `size` instead. */
function withoutAttachmentData(resourceType: 'Media' | 'DocumentReference', body: Record<string, unknown>): Record<string, unknown> {
  const strip = (att: unknown): unknown => {
    if (typeof att !== 'object' || att === null) return att;
    const { data, ...rest } = att as Record<string, unknown>;
    return typeof data === 'string' ? { ...rest, size: Buffer.byteLength(data, 'base64') } : rest;
  };
  if (resourceType === 'Media') return { ...body, content: strip(body.content) };
  const content = Array.isArray(body.content) ? body.content.map((c: unknown) => (typeof c === 'object' && c !== null ? { ...(c as Record<string, unknown>), attachment: strip((c as Record<string, unknown>).attachment) } : c)) : body.content;
  return { ...body, content };
}

export function buildSandboxApp(options: SandboxOptions = {}): SandboxApp {
  const clock = options.clock ?? Date.now;
  const random = options.random ?? Math.random;
  const randomBytes = options.randomBytes ?? cryptoRandomBytes;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref()));
  const tenantId = options.tenantId ?? DEFAULT_TENANT_ID;
  const credentials = { ...(options.credentials ?? DEFAULT_CREDENTIALS) };
  const facilities = [...(options.facilities ?? DEFAULT_FACILITIES)];
  const maxAttachmentBytes = options.maxAttachmentBytes ?? DEFAULT_MAX_ATTACHMENT_BYTES;
  const keepBytes = (options.attachments ?? 'bytes') === 'bytes';
  const tokenLifetimeSeconds = options.tokenLifetimeSeconds ?? DEFAULT_TOKEN_LIFETIME_SECONDS;
  const throttleSpec = options.tokenThrottle === undefined ? DEFAULT_TOKEN_THROTTLE : options.tokenThrottle;
  const throttle = throttleSpec === false ? null : new TokenThrottleWindow(throttleSpec.maxRequests, throttleSpec.windowSeconds * 1000);
  const patients: readonly SandboxPatient[] = (options.patients ?? SEED_PATIENTS).map((p) => ({ ...p }));
  const practitioners = (options.practitioners ?? SEED_PRACTITIONERS).map((p) => ({ ...p }));
  const logger = options.logger ?? pino({ level: 'silent' });
  const tokenPath = `/${tenantId}/oauth2/v2.0/token`;
  const scopeMatch = /^api:\/\/([^/]+)\/\.default$/.exec(credentials.scope);
  if (scopeMatch === null) throw new AppError('ERR_REQUEST_INVALID', { detail: 'Sandbox scope must be api://<app>/.default' });
  const resource = `api://${scopeMatch[1] ?? ''}`;

  const newId = (): string => randomBytes(16).toString('hex');
  const uuid = (): string => {
    const b = randomBytes(16);
    b[6] = ((b[6] ?? 0) & 0x0f) | 0x40;
    b[8] = ((b[8] ?? 0) & 0x3f) | 0x80;
    const h = b.toString('hex');
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  };
  const tokenKey = randomBytes(32);
  const codec = createLaunchCodec(options.launchSecret !== undefined ? Buffer.from(options.launchSecret, 'utf8') : randomBytes(32), randomBytes);
  const store = new MemoryStore();
  if (throttle !== null) store.onReset(() => throttle.reset());
  const faults = createFaultEngine(random, newId);
  for (const rule of options.faults ?? []) faults.add(rule);
  const heldSockets = new Set<Socket>();
  /** Further absolute FHIR bases accepted in DocumentReference references. */
  const ownBases: readonly string[] = options.extraAbsoluteBases ?? [];

  const locations: SandboxLocation[] = facilities.map((f) => ({
    id: createHash('sha256').update(`location:${f}`).digest('hex').slice(0, 32),
    facilityId: f,
    name: `Sandbox Medical Centre (${f})`,
  }));

  const inFacility = (p: SandboxPatient, facility: string): boolean => p.facilities === undefined || p.facilities.includes(facility);
  const findPatient = (facility: string, id: string): SandboxPatient | undefined => patients.find((p) => p.id === id && inFacility(p, facility));
  const findPatientByNhi = (facility: string, nhi: string): SandboxPatient | undefined =>
    patients.find((p) => p.nhi === nhi && inFacility(p, facility));
  const nowIso = (): string => new Date(clock()).toISOString();

  const issueLaunch = (input: LaunchInput): { context: string; signature: string } => {
    if (typeof input.facilityCode !== 'string' || input.facilityCode.length === 0) {
      throw new AppError('ERR_REQUEST_INVALID', { detail: 'issueLaunch needs a facilityCode' });
    }
    if (input.patientId !== null && (typeof input.patientId !== 'string' || input.patientId.length === 0)) {
      throw new AppError('ERR_REQUEST_INVALID', { detail: 'issueLaunch needs a patientId or null' });
    }
    if (input.providerId !== undefined && input.providerId !== null && (typeof input.providerId !== 'string' || input.providerId.length === 0)) {
      throw new AppError('ERR_REQUEST_INVALID', { detail: 'issueLaunch needs a providerId, null or nothing' });
    }
    const created = input.createdTime ?? new Date(clock());
    if (!(created instanceof Date) || Number.isNaN(created.getTime())) throw new AppError('ERR_REQUEST_INVALID', { detail: 'createdTime must be a valid Date' });
    const providerId = input.providerId === undefined ? (practitioners[0]?.id ?? null) : input.providerId;
    return codec.issue({ patientId: input.patientId, facilityCode: input.facilityCode, providerId, createdTime: created.toISOString() });
  };

  const handle: SandboxHandle = {
    tenantId,
    tokenPath,
    credentials,
    faults,
    store,
    issueLaunch,
    patients,
    practitioners,
    facilities,
    revokeTokens: () => store.tokens.clear(),
  };

  const app = Fastify({
    loggerInstance: logger,
    // No request logging: URLs carry NHIs. The sandbox logs only what it chooses to.
    logController: new LogController({ disableRequestLogging: true }),
    forceCloseConnections: true,
    bodyLimit: BODY_LIMIT_BYTES,
  });

  app.removeAllContentTypeParsers();
  app.addContentTypeParser(['application/json', 'application/fhir+json'], { parseAs: 'buffer', bodyLimit: BODY_LIMIT_BYTES }, (_req, body, done) => {
    try {
      done(null, JSON.parse(jsonText(body as Buffer)) as unknown);
    } catch {
      done(new OutcomeError(400, 'structure', 'The request body is not valid JSON'), undefined);
    }
  });
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: 64 * 1024 }, (_req, body, done) => {
    done(null, Object.fromEntries(new URLSearchParams(body as string)));
  });

  const fhirBase = (request: FastifyRequest): string => `${request.protocol}://${request.host}/FHIR`;
  const azureIds = (): { traceId: string; correlationId: string } => ({ traceId: uuid(), correlationId: uuid() });
  const records = new WeakMap<FastifyRequest, SandboxRequestRecord>();
  /** Faults with `when: 'after'` waiting for a create's answer. */
  const afterFaults = new WeakMap<FastifyRequest, ActiveFaultRule[]>();

  /** Apply `when: 'after'` faults to a create's answer. Returns null when none ends the reply. */
  async function applyAfterFaults(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | null> {
    for (const rule of afterFaults.get(request) ?? []) {
      if (rule.kind === 'latency') {
        await sleep(rule.latencyMs ?? 1000);
        continue;
      }
      return replyFault(request, reply, rule, pathOf(request.url));
    }
    return null;
  }

  const isTokenPath = (path: string): boolean => path === tokenPath;
  const isControlPath = (path: string): boolean => path === '/_sandbox' || path.startsWith('/_sandbox/');

  function replyFault(request: FastifyRequest, reply: FastifyReply, rule: ActiveFaultRule, path: string): FastifyReply {
    const token = isTokenPath(path);
    const facility = headerValue(request, 'mt-facilityid') ?? 'this facility';
    switch (rule.kind) {
      case 'status401':
        if (token) return sendAzureError(reply, AZURE_ERRORS.invalidSecret(), new Date(clock()), azureIds());
        reply.header('www-authenticate', 'Bearer error="invalid_token", error_description="The access token is expired"');
        return sendOutcome(reply, 401, 'login', 'Authorization failed: the access token is expired or not valid');
      case 'status429':
        reply.header('retry-after', String(rule.retryAfterSeconds ?? 2));
        if (token) return sendAzureError(reply, AZURE_ERRORS.throttled(), new Date(clock()), azureIds());
        return sendOutcome(reply, 429, 'throttled', 'Too many requests. Retry later.');
      case 'status503':
        if (rule.retryAfterSeconds !== undefined) reply.header('retry-after', String(rule.retryAfterSeconds));
        if (token) return sendAzureError(reply, AZURE_ERRORS.unavailable(), new Date(clock()), azureIds());
        return sendOutcome(reply, 503, 'transient', `The practice connection for facility ${facility} is not available: there are no listeners connected for the hybrid connection endpoint.`);
      case 'status500':
        if (token) return sendAzureError(reply, AZURE_ERRORS.serverError(), new Date(clock()), azureIds());
        // ALEX's errors are not always FHIR: a 500 arrives as plain text.
        return reply.code(500).type('text/plain; charset=utf-8').send('An error occurred while processing your request.');
      case 'drop':
        reply.hijack();
        request.raw.socket.destroy();
        return reply;
      case 'timeout': {
        reply.hijack();
        const socket = request.raw.socket;
        heldSockets.add(socket);
        socket.once('close', () => heldSockets.delete(socket));
        return reply;
      }
      case 'latency':
        throw new BugIndicatingError('latency is not a terminal fault');
    }
  }

  app.addHook('onRequest', async (request, reply) => {
    const path = pathOf(request.url);
    if (isControlPath(path)) return;
    const route = `${request.method} ${request.routeOptions.url ?? '(unmatched)'}`;
    store.bumpRoute(route);
    const record: SandboxRequestRecord = {
      at: clock(),
      method: request.method,
      path,
      route,
      facilityId: headerValue(request, 'mt-facilityid'),
      correlationId: headerValue(request, 'mt-correlationid'),
      status: null,
    };
    records.set(request, record);
    store.record(record);
    const isCreate = request.method === 'POST' && CREATE_ROUTES.has(request.routeOptions.url ?? '');
    for (const rule of faults.take({ method: request.method, path, facilityId: record.facilityId })) {
      store.bumpFault(rule.kind);
      if (rule.when === 'after' && isCreate) {
        // Let the create happen; the handler applies the fault to its answer.
        const list = afterFaults.get(request) ?? [];
        list.push(rule);
        afterFaults.set(request, list);
        continue;
      }
      if (rule.kind === 'latency') {
        await sleep(rule.latencyMs ?? 1000);
        continue;
      }
      return replyFault(request, reply, rule, path);
    }
    return;
  });

  app.addHook('onResponse', async (request, reply) => {
    const record = records.get(request);
    if (record !== undefined) record.status = reply.statusCode;
  });

  app.addHook('preClose', async () => {
    for (const socket of heldSockets) socket.destroy();
    heldSockets.clear();
  });

  app.setNotFoundHandler((_request, reply) => sendApimError(reply, 404, 'Resource not found'));

  app.setErrorHandler((error: unknown, request, reply) => {
    const path = pathOf(request.url);
    if (error instanceof OutcomeError) return sendOutcome(reply, error.status, error.issueCode, error.diagnostics, error.expression);
    const status = typeof (error as { statusCode?: unknown }).statusCode === 'number' ? (error as { statusCode: number }).statusCode : 500;
    if (isTokenPath(path)) {
      return sendAzureError(reply, status >= 500 ? AZURE_ERRORS.serverError() : AZURE_ERRORS.malformed(), new Date(clock()), azureIds());
    }
    if (status === 413) return sendOutcome(reply, 413, 'too-long', 'The request body is too large');
    if (status === 415) return sendOutcome(reply, 415, 'structure', 'Content-Type must be application/fhir+json');
    if (status >= 400 && status < 500) return sendOutcome(reply, status, 'structure', 'The request could not be read');
    request.log.error({ code: (error as { code?: unknown }).code }, 'sandbox handler failed');
    return sendOutcome(reply, 500, 'exception', 'An unexpected error occurred');
  });

  // --- Azure AD token endpoint ------------------------------------------------------------------
  app.post('/:tenant/oauth2/v2.0/token', async (request, reply) => {
    store.bump('tokenRequests');
    const now = clock();
    const { tenant } = request.params as { tenant: string };
    if (tenant !== tenantId) return sendAzureError(reply, AZURE_ERRORS.tenantNotFound(tenant), new Date(now), azureIds());
    if (throttle !== null) {
      const wait = throttle.take(now);
      if (wait > 0) {
        reply.header('retry-after', String(wait));
        return sendAzureError(reply, AZURE_ERRORS.throttled(), new Date(now), azureIds());
      }
    }
    const body = (typeof request.body === 'object' && request.body !== null ? request.body : {}) as Record<string, string | undefined>;
    if (!request.headers['content-type']?.startsWith('application/x-www-form-urlencoded')) {
      return sendAzureError(reply, AZURE_ERRORS.missingParameter('grant_type'), new Date(now), azureIds());
    }
    for (const name of ['grant_type', 'client_id'] as const) {
      if (!body[name]) return sendAzureError(reply, AZURE_ERRORS.missingParameter(name), new Date(now), azureIds());
    }
    if (body.grant_type !== 'client_credentials') return sendAzureError(reply, AZURE_ERRORS.unsupportedGrant(), new Date(now), azureIds());
    if (body.client_id !== credentials.clientId) return sendAzureError(reply, AZURE_ERRORS.unknownClient(), new Date(now), azureIds());
    if (body.client_secret !== credentials.clientSecret) return sendAzureError(reply, AZURE_ERRORS.invalidSecret(), new Date(now), azureIds());
    const scope = body.scope;
    if (!scope) return sendAzureError(reply, AZURE_ERRORS.missingParameter('scope'), new Date(now), azureIds());
    if (!scope.endsWith('/.default')) return sendAzureError(reply, AZURE_ERRORS.invalidScope(), new Date(now), azureIds());
    if (scope.slice(0, -'/.default'.length) !== resource) return sendAzureError(reply, AZURE_ERRORS.unknownResource(), new Date(now), azureIds());
    const iat = Math.floor(now / 1000);
    const accessToken = mintAccessToken(tokenKey, {
      aud: resource,
      iss: `https://sts.windows.net/${tenantId}/`,
      iat,
      nbf: iat,
      exp: iat + tokenLifetimeSeconds,
      appid: credentials.clientId,
      tid: tenantId,
      roles: ['patient.media.write', 'patient.media.read', 'patient.task.read', 'patient.documentreference.scaninbox.write'],
      jti: newId(),
    });
    store.tokens.set(accessToken, { expiresAt: now + tokenLifetimeSeconds * 1000, clientId: credentials.clientId });
    store.bump('tokensIssued');
    return reply
      .type('application/json; charset=utf-8')
      .header('cache-control', 'no-store, no-cache')
      .send({ token_type: 'Bearer', expires_in: tokenLifetimeSeconds, ext_expires_in: tokenLifetimeSeconds, access_token: accessToken });
  });

  // --- Azure API Management: operations ALEX does not expose (non-FHIR error shape) ---------------
  app.all('/FHIR/Encounter', (_request, reply) => sendApimError(reply, 404, 'Resource not found'));
  app.all('/FHIR/Encounter/*', (_request, reply) => sendApimError(reply, 404, 'Resource not found'));

  // --- ALEX FHIR ----------------------------------------------------------------------------------
  app.register(
    async (fhir) => {
      /** Bearer, then mt-facilityid: the order ALEX's gateway checks them in. */
      fhir.addHook('preHandler', async (request, reply) => {
        const auth = headerValue(request, 'authorization');
        const match = auth === null ? null : /^Bearer\s+(\S+)$/i.exec(auth);
        const token = match?.[1];
        const issued = token === undefined ? undefined : store.tokens.get(token);
        if (issued === undefined || clock() >= issued.expiresAt) {
          reply.header('www-authenticate', 'Bearer error="invalid_token"');
          const why = token === undefined ? 'no bearer token' : issued === undefined ? 'the access token is not valid' : 'the access token is expired';
          return sendOutcome(reply, 401, 'login', `Authorization failed: ${why}`);
        }
        const facility = headerValue(request, 'mt-facilityid');
        const config = request.routeOptions.config as RouteConfig;
        const required = config.facility !== 'optional' || options.launchRequiresFacility === true;
        if (facility === null) {
          if (required) return sendOutcome(reply, 400, 'required', 'The mt-facilityid header is required');
          return;
        }
        if (!facilities.includes(facility)) return sendOutcome(reply, 403, 'forbidden', 'Practice Facility not found');
        return;
      });

      const facilityOf = (request: FastifyRequest): string => headerValue(request, 'mt-facilityid') ?? '';
      const sendFhir = (reply: FastifyReply, status: number, body: unknown): FastifyReply => reply.code(status).type(FHIR_JSON).send(body);
      const authorizationFailed = (reply: FastifyReply): FastifyReply => sendOutcome(reply, 403, 'forbidden', 'Authorization failed');
      const bundle = (request: FastifyRequest, resources: readonly (Record<string, unknown> & { resourceType: string; id: string })[]): unknown =>
        searchBundle(newId(), `${request.protocol}://${request.host}${request.url}`, fhirBase(request), resources, nowIso());

      fhir.get('/Patient', async (request, reply) => {
        const nhi = nhiFromQuery(request.url, 'identifier');
        if (nhi === null) return authorizationFailed(reply);
        const patient = findPatientByNhi(facilityOf(request), nhi);
        return sendFhir(reply, 200, bundle(request, patient === undefined ? [] : [patientResource(patient)]));
      });

      fhir.get('/Patient/:id', async (request, reply) => {
        const { id } = request.params as { id: string };
        const patient = findPatient(facilityOf(request), id);
        if (patient === undefined) return sendOutcome(reply, 404, 'not-found', 'Patient not found');
        return sendFhir(reply, 200, patientResource(patient));
      });

      fhir.get('/Practitioner', async (request, reply) => sendFhir(reply, 200, bundle(request, practitioners.map(practitionerResource))));
      fhir.get('/Practitioner/:id', async (request, reply) => {
        const { id } = request.params as { id: string };
        const found = practitioners.find((p) => p.id === id);
        if (found === undefined) return sendOutcome(reply, 404, 'not-found', 'Practitioner not found');
        return sendFhir(reply, 200, practitionerResource(found));
      });

      fhir.get('/Location', async (request, reply) =>
        sendFhir(reply, 200, bundle(request, locations.filter((l) => l.facilityId === facilityOf(request)).map(locationResource))),
      );
      fhir.get('/Location/:id', async (request, reply) => {
        const { id } = request.params as { id: string };
        const found = locations.find((l) => l.id === id && l.facilityId === facilityOf(request));
        if (found === undefined) return sendOutcome(reply, 404, 'not-found', 'Location not found');
        return sendFhir(reply, 200, locationResource(found));
      });

      const validationContext = (request: FastifyRequest, resourceType: 'Media' | 'DocumentReference'): ValidationContext => ({
        resourceType,
        findPatient: (id) => findPatient(facilityOf(request), id),
        findPractitioner: (id) => practitioners.find((p) => p.id === id),
        maxAttachmentBytes,
        absoluteBases: [...ALEX_ABSOLUTE_BASES, fhirBase(request), ...ownBases],
      });

      const storeCreate = (request: FastifyRequest, resourceType: 'Media' | 'DocumentReference', valid: ValidatedCreate): StoredResource => {
        const id = newId();
        const now = clock();
        const body = request.body as Record<string, unknown>;
        const stored: StoredResource = {
          id,
          resourceType,
          facilityId: facilityOf(request),
          patientId: valid.patientId,
          identifier: valid.identifier,
          contentType: valid.contentType,
          bytes: keepBytes ? valid.bytes : Buffer.alloc(0),
          size: valid.bytes.length,
          sha256: createHash('sha256').update(valid.bytes).digest('hex'),
          createdAt: now,
          resource: { ...(keepBytes ? body : withoutAttachmentData(resourceType, body)), resourceType, id, meta: { versionId: '1', lastUpdated: new Date(now).toISOString() } },
        };
        if (resourceType === 'Media') store.addMedia(stored);
        else store.addDocumentReference(stored);
        request.log.info({ resourceType, id }, 'sandbox created resource');
        return stored;
      };

      /** Validate, store, then answer — unless a `when: 'after'` fault takes the answer (refusals included). */
      const createRoute = (resourceType: 'Media' | 'DocumentReference') => async (request: FastifyRequest, reply: FastifyReply) => {
        store.bump(resourceType === 'Media' ? 'mediaCreateCalls' : 'documentReferenceCreateCalls');
        let valid: ValidatedCreate;
        try {
          const ctx = validationContext(request, resourceType);
          valid = resourceType === 'Media' ? validateMedia(request.body, ctx) : validateDocumentReference(request.body, ctx);
        } catch (err) {
          const faulted = await applyAfterFaults(request, reply);
          if (faulted !== null) return faulted;
          throw err;
        }
        const stored = storeCreate(request, resourceType, valid);
        const faulted = await applyAfterFaults(request, reply);
        if (faulted !== null) return faulted;
        return reply
          .code(201)
          .type(FHIR_JSON)
          .header('location', `${fhirBase(request)}/${resourceType}/${stored.id}/_history/1`)
          .header('etag', 'W/"1"')
          .header('last-modified', new Date(stored.createdAt).toUTCString())
          .send(stored.resource);
      };
      fhir.post('/Media', createRoute('Media'));
      fhir.post('/DocumentReference', createRoute('DocumentReference'));

      const searchByPatientNhi = (resourceType: 'Media' | 'DocumentReference') => async (request: FastifyRequest, reply: FastifyReply) => {
        const nhi = nhiFromQuery(request.url, 'patient.identifier');
        if (nhi === null) return authorizationFailed(reply);
        const facility = facilityOf(request);
        const patient = findPatientByNhi(facility, nhi);
        const list = patient === undefined ? [] : (resourceType === 'Media' ? store.listMedia : store.listDocumentReferences).call(store, { facilityId: facility, patientId: patient.id });
        return sendFhir(reply, 200, bundle(request, list.map((r) => r.resource)));
      };
      fhir.get('/Media', searchByPatientNhi('Media'));
      fhir.get('/DocumentReference', searchByPatientNhi('DocumentReference'));

      const read = (resourceType: 'Media' | 'DocumentReference') => async (request: FastifyRequest, reply: FastifyReply) => {
        const { id } = request.params as { id: string };
        const found = resourceType === 'Media' ? store.findMedia(id) : store.findDocumentReference(id);
        if (found === undefined || found.facilityId !== facilityOf(request)) return sendOutcome(reply, 404, 'not-found', `${resourceType} not found`);
        return sendFhir(reply, 200, found.resource);
      };
      fhir.get('/Media/:id', read('Media'));
      fhir.get('/DocumentReference/:id', read('DocumentReference'));

      // Launch decode. The path is parsed raw: each segment is URI-encoded base64 (may hold %2B %2F %3D).
      fhir.get('/vendorforms/api/getlaunchcontextstring/*', { config: { facility: 'optional' } satisfies RouteConfig }, async (request, reply) => {
        store.bump('launchDecodes');
        const rest = pathOf(request.url).slice(LAUNCH_PREFIX.length);
        const segments = rest.split('/');
        let pair: [string, string] | null = null;
        if (segments.length === 2) {
          try {
            pair = [decodeURIComponent(segments[0] ?? ''), decodeURIComponent(segments[1] ?? '')];
          } catch {
            pair = null;
          }
        }
        if (pair === null) return sendOutcome(reply, 400, 'structure', 'The launch context string could not be read');
        const result = codec.decode(pair[0], pair[1]);
        if (!result.ok) {
          return result.reason === 'signature'
            ? sendOutcome(reply, 400, 'security', 'The launch context signature is not valid')
            : sendOutcome(reply, 400, 'structure', 'The launch context string could not be read');
        }
        const facility = headerValue(request, 'mt-facilityid');
        if (facility !== null && facility !== result.claims.facilityCode) {
          return sendOutcome(reply, 403, 'forbidden', 'The launch context belongs to another facility');
        }
        return reply.type('application/json; charset=utf-8').send(result.claims);
      });
    },
    { prefix: '/FHIR' },
  );

  // --- control plane (sandbox only) -----------------------------------------------------------------
  const sendAppError = (reply: FastifyReply, err: unknown): FastifyReply => {
    const appError = err instanceof AppError ? err : new AppError('ERR_REQUEST_INVALID');
    return reply.code(appError.status).send(appError.toBody());
  };

  app.get('/_sandbox/faults', async () => ({ rules: faults.list() }));
  app.post('/_sandbox/faults', async (request, reply) => {
    try {
      const input = request.body;
      const rules = (Array.isArray(input) ? input : [input]).map(parseFaultRule);
      return await reply.code(201).send({ ids: rules.map((r) => faults.add(r)) });
    } catch (err) {
      return sendAppError(reply, err);
    }
  });
  app.delete('/_sandbox/faults', async (_request, reply) => {
    faults.clear();
    return reply.code(204).send();
  });
  app.delete('/_sandbox/faults/:id', async (request, reply) => {
    const { id } = request.params as { id: string };
    return faults.remove(id) ? reply.code(204).send() : sendAppError(reply, new AppError('ERR_NOT_FOUND'));
  });
  const summary = (r: StoredResource): Record<string, unknown> => ({
    id: r.id,
    facilityId: r.facilityId,
    patientId: r.patientId,
    identifier: r.identifier,
    contentType: r.contentType,
    bytes: r.size,
    createdAt: new Date(r.createdAt).toISOString(),
  });
  app.get('/_sandbox/state', async () => ({
    facilities,
    tokenPath,
    counters: store.counters,
    activeTokens: [...store.tokens.values()].filter((t) => t.expiresAt > clock()).length,
    media: store.listMedia().map(summary),
    documentReferences: store.listDocumentReferences().map(summary),
    faults: faults.list(),
    patients,
    practitioners,
  }));
  app.post('/_sandbox/reset', async (_request, reply) => {
    store.reset();
    return reply.code(204).send();
  });
  app.post('/_sandbox/tokens/revoke', async (_request, reply) => {
    store.tokens.clear();
    return reply.code(204).send();
  });
  app.post('/_sandbox/launch', async (request, reply) => {
    const body = (typeof request.body === 'object' && request.body !== null ? request.body : {}) as Record<string, unknown>;
    try {
      const input: LaunchInput = {
        patientId: body.patientId === null ? null : (body.patientId as string),
        facilityCode: body.facilityCode as string,
      };
      if (body.providerId !== undefined) input.providerId = body.providerId as string | null;
      if (body.createdTime !== undefined) {
        if (typeof body.createdTime !== 'string') throw new AppError('ERR_REQUEST_INVALID', { detail: 'createdTime must be an ISO date-time' });
        input.createdTime = new Date(body.createdTime);
      }
      return await reply.code(201).send(issueLaunch(input));
    } catch (err) {
      return sendAppError(reply, err);
    }
  });

  const sandboxApp = app as unknown as SandboxApp;
  sandboxApp.decorate('sandbox', handle);
  return sandboxApp;
}
