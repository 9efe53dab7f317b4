/**
 * ALEX's FHIR front door (Bearer, mt-facilityid, Accept) and its reads, including the launch decode.
 * Undocumented reads answer 403 unless their assumption is on (./assumptions.ts).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { NHI_SYSTEM, normaliseNhi } from '../../../shared/nhi';
import { fhirBase, headerValue, pathOf, type SandboxContext } from './context';
import { FHIR_JSON, operationOutcome, sendOutcome } from './outcome';
import { locationResource, patientResource, practitionerResource, type SandboxLocation } from './seed';
import type { ResourceKind } from './store';
import type { StoredResource } from './types';

const LAUNCH_PREFIX = '/FHIR/vendorforms/api/getlaunchcontextstring/';

/** `<NHI system>|<value>` as the one and only query parameter `name`; anything else is another query shape. */
function nhiFromQuery(url: string, name: string): string | null {
  const q = url.indexOf('?');
  const params = new URLSearchParams(q < 0 ? '' : url.slice(q + 1));
  const keys = [...params.keys()];
  if (keys.length !== 1 || keys[0] !== name) return null;
  const raw = params.get(name) ?? '';
  if (!raw.startsWith(`${NHI_SYSTEM}|`)) return null;
  const value = raw.slice(NHI_SYSTEM.length + 1);
  return value.length > 0 && value.length <= 20 ? normaliseNhi(value) : null;
}

/** Accept: absent, FHIR JSON, JSON or a wildcard. Anything else (text/html) → 406. */
function acceptable(accept: string | null): boolean {
  if (accept === null) return true;
  return accept.split(',').some((part) => /^\s*(application\/fhir\+json|application\/json|application\/\*|\*\/\*)\s*(;.*)?$/i.test(part));
}

const facilityOf = (request: FastifyRequest): string => headerValue(request, 'mt-facilityid') ?? '';
const sendFhir = (reply: FastifyReply, status: number, body: unknown): FastifyReply => reply.code(status).type(FHIR_JSON).send(body);
const authorizationFailed = (reply: FastifyReply): FastifyReply => sendOutcome(reply, 403, 'forbidden', 'Authorization failed');

/** Bearer, then mt-facilityid, then Accept: the order ALEX's gateway checks them in. */
function frontDoor(ctx: SandboxContext) {
  return async (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined> => {
    const auth = headerValue(request, 'authorization');
    const token = auth === null ? undefined : /^Bearer\s+(\S+)$/i.exec(auth)?.[1];
    const issued = token === undefined ? undefined : ctx.store.tokens.get(token);
    if (issued === undefined || ctx.clock() >= issued.expiresAt) {
      reply.header('www-authenticate', 'Bearer error="invalid_token"');
      const why = token === undefined ? 'no bearer token' : issued === undefined ? 'the access token is not valid' : 'the access token is expired';
      return sendOutcome(reply, 401, 'login', `Authorization failed: ${why}`);
    }
    const facility = headerValue(request, 'mt-facilityid');
    // The launch decode needs no mt-facilityid only while `launchWithoutFacility` is assumed.
    const optional = (request.routeOptions.url ?? '').startsWith(LAUNCH_PREFIX) && ctx.assumptions.launchWithoutFacility;
    if (facility === null && !optional) return sendOutcome(reply, 403, 'forbidden', 'Practice Facility not found: the mt-facilityid header is required');
    if (facility !== null && !ctx.facilities.includes(facility)) return sendOutcome(reply, 403, 'forbidden', 'Practice Facility not found');
    if (!acceptable(headerValue(request, 'accept'))) return sendOutcome(reply, 406, 'not-supported', 'Accept must allow application/fhir+json');
    return undefined;
  };
}

type Resource = StoredResource['resource'];

/** A searchset Bundle; ALEX answers an empty search with a Bundle holding an OperationOutcome entry. */
function searchBundle(ctx: SandboxContext, request: FastifyRequest, resources: readonly Resource[]): Record<string, unknown> {
  const entry =
    resources.length > 0
      ? resources.map((r) => ({ fullUrl: `${fhirBase(request)}/${r.resourceType}/${r.id}`, resource: r, search: { mode: 'match' } }))
      : [{ resource: operationOutcome('not-found', 'No records found', undefined, 'information'), search: { mode: 'outcome' } }];
  const link = [{ relation: 'self', url: `${request.protocol}://${request.host}${request.url}` }];
  return { resourceType: 'Bundle', id: ctx.newId(), meta: { lastUpdated: new Date(ctx.clock()).toISOString() }, type: 'searchset', total: resources.length, link, entry };
}

/** GET by id: the resource `find` returns, else 404. */
function byId<T>(name: string, find: (request: FastifyRequest, id: string) => T | undefined, toResource: (found: T) => unknown) {
  return async (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> => {
    const found = find(request, (request.params as { id: string }).id);
    if (found === undefined) return sendOutcome(reply, 404, 'not-found', `${name} not found`);
    return sendFhir(reply, 200, toResource(found));
  };
}

function registerDirectoryReads(fhir: FastifyInstance, ctx: SandboxContext): void {
  fhir.get('/Patient', async (request, reply) => {
    const nhi = nhiFromQuery(request.url, 'identifier');
    if (nhi === null) return authorizationFailed(reply);
    const patient = ctx.findPatientByNhi(facilityOf(request), nhi);
    return sendFhir(reply, 200, searchBundle(ctx, request, patient === undefined ? [] : [patientResource(patient)]));
  });
  fhir.get('/Patient/:id', byId('Patient', (request, id) => ctx.findPatient(facilityOf(request), id), patientResource));
  fhir.get('/Practitioner', async (request, reply) => sendFhir(reply, 200, searchBundle(ctx, request, ctx.practitioners.map(practitionerResource))));
  fhir.get('/Practitioner/:id', byId('Practitioner', (_request, id) => ctx.practitioners.find((p) => p.id === id), practitionerResource));
  const locations = (request: FastifyRequest): SandboxLocation[] => ctx.locations.filter((l) => l.facilityId === facilityOf(request));
  fhir.get('/Location', async (request, reply) => sendFhir(reply, 200, searchBundle(ctx, request, locations(request).map(locationResource))));
  fhir.get('/Location/:id', byId('Location', (request, id) => locations(request).find((l) => l.id === id), locationResource));
}

function registerResourceReads(fhir: FastifyInstance, ctx: SandboxContext): void {
  const searchByPatientNhi = (kind: ResourceKind) => async (request: FastifyRequest, reply: FastifyReply) => {
    if (kind === 'DocumentReference' && !ctx.assumptions.documentReferenceSearch) return authorizationFailed(reply);
    const nhi = nhiFromQuery(request.url, 'patient.identifier');
    if (nhi === null) return authorizationFailed(reply);
    const facility = facilityOf(request);
    const patient = ctx.findPatientByNhi(facility, nhi);
    const all = patient === undefined ? [] : ctx.store.list(kind, { facilityId: facility, patientId: patient.id });
    // Search freshness is not documented: unless assumed, a new resource shows only after the lag.
    const visible = ctx.assumptions.searchFresh ? all : all.filter((r) => r.createdAt + ctx.searchLagMs <= ctx.clock());
    return sendFhir(reply, 200, searchBundle(ctx, request, visible.map((r) => r.resource)));
  };
  fhir.get('/Media', searchByPatientNhi('Media'));
  fhir.get('/DocumentReference', searchByPatientNhi('DocumentReference'));
  const stored = (kind: ResourceKind) => (request: FastifyRequest, id: string) => {
    const found = ctx.store.find(kind, id);
    return found?.facilityId === facilityOf(request) ? found : undefined;
  };
  const readMedia = byId('Media', stored('Media'), (r) => r.resource);
  fhir.get('/Media/:id', async (request, reply) => (ctx.assumptions.mediaReadById ? readMedia(request, reply) : authorizationFailed(reply)));
  fhir.get('/DocumentReference/:id', byId('DocumentReference', stored('DocumentReference'), (r) => r.resource));
}

/** `{context}/{signature}` from the raw path: each segment is URI-encoded base64 (may hold %2B %2F %3D). */
function launchPair(url: string): [string, string] | null {
  const segments = pathOf(url).slice(LAUNCH_PREFIX.length).split('/');
  try {
    return segments.length === 2 ? [decodeURIComponent(segments[0] ?? ''), decodeURIComponent(segments[1] ?? '')] : null;
  } catch {
    return null;
  }
}

function registerLaunchDecode(fhir: FastifyInstance, ctx: SandboxContext): void {
  fhir.get('/vendorforms/api/getlaunchcontextstring/*', async (request, reply) => {
    ctx.store.bump('launchDecodes');
    const pair = launchPair(request.url);
    const result = pair === null ? null : ctx.codec.decode(...pair);
    if (result?.ok === false && result.reason === 'signature') return sendOutcome(reply, 400, 'security', 'The launch context signature is not valid');
    if (result === null || !result.ok) return sendOutcome(reply, 400, 'structure', 'The launch context string could not be read');
    const facility = headerValue(request, 'mt-facilityid');
    if (facility !== null && facility !== result.claims.facilityCode) return sendOutcome(reply, 403, 'forbidden', 'The launch context belongs to another facility');
    return reply.type('application/json; charset=utf-8').send(result.claims);
  });
}

/** Everything under /FHIR; `registerCreates` adds the creates (./create-routes.ts) in the same scope. */
export function registerFhirRoutes(app: FastifyInstance, ctx: SandboxContext, registerCreates: (fhir: FastifyInstance) => void): void {
  app.register(
    async (fhir) => {
      fhir.addHook('preHandler', frontDoor(ctx));
      registerDirectoryReads(fhir, ctx);
      registerResourceReads(fhir, ctx);
      registerLaunchDecode(fhir, ctx);
      registerCreates(fhir);
    },
    { prefix: '/FHIR' },
  );
}
