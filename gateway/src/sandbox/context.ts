/** What the sandbox's routes share: options resolved to values, seed data, store, faults, launch codec, assumptions. */
import { createHash, randomBytes } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { pino } from 'pino';
import { AppError } from '../../../shared/errors';
import { strictAssumptions } from './assumptions';
import { createFaultEngine } from './faults';
import { createLaunchCodec } from './launch';
import { DEFAULT_CREDENTIALS, DEFAULT_FACILITIES, DEFAULT_TENANT_ID, SEED_PATIENTS, SEED_PRACTITIONERS } from './seed';
import { MemoryStore } from './store';
import type { LaunchInput, LaunchPair, SandboxCredentials, SandboxOptions, SandboxPatient } from './types';

export type SandboxContext = ReturnType<typeof createSandboxContext>;

export function headerValue(request: FastifyRequest, name: string): string | null {
  const v = request.headers[name];
  if (Array.isArray(v)) return v[0] ?? null;
  return typeof v === 'string' && v.length > 0 ? v : null;
}

export function pathOf(url: string): string {
  const q = url.indexOf('?');
  return q < 0 ? url : url.slice(0, q);
}

export function fhirBase(request: FastifyRequest): string {
  return `${request.protocol}://${request.host}/FHIR`;
}

/** `api://<app>`: the token audience. */
function tokenResource(credentials: SandboxCredentials): string {
  const scopeMatch = /^api:\/\/([^/]+)\/\.default$/.exec(credentials.scope);
  if (scopeMatch === null) throw new AppError('ERR_REQUEST_INVALID', { detail: 'Sandbox scope must be api://<app>/.default' });
  return `api://${scopeMatch[1] ?? ''}`;
}

/** Validates an untrusted launch request; returns its createdTime. */
function launchCreatedTime(input: LaunchInput, now: number): Date {
  const invalid = (detail: string): AppError => new AppError('ERR_REQUEST_INVALID', { detail });
  if (typeof input.facilityCode !== 'string' || input.facilityCode.length === 0) throw invalid('issueLaunch needs a facilityCode');
  if (input.patientId !== null && (typeof input.patientId !== 'string' || input.patientId.length === 0)) throw invalid('issueLaunch needs a patientId or null');
  if (input.providerId !== undefined && input.providerId !== null && (typeof input.providerId !== 'string' || input.providerId.length === 0)) {
    throw invalid('issueLaunch needs a providerId, null or nothing');
  }
  const created = input.createdTime ?? new Date(now);
  if (!(created instanceof Date) || Number.isNaN(created.getTime())) throw invalid('createdTime must be a valid Date');
  return created;
}

function locationId(facility: string): string {
  return createHash('sha256').update(`location:${facility}`).digest('hex').slice(0, 32);
}

export function createSandboxContext(options: SandboxOptions) {
  const clock = options.clock ?? Date.now;
  const credentials = { ...(options.credentials ?? DEFAULT_CREDENTIALS) };
  const facilities = [...(options.facilities ?? DEFAULT_FACILITIES)];
  const throttleSpec = options.tokenThrottle ?? { maxRequests: 60, windowSeconds: 60 };
  const patients: readonly SandboxPatient[] = SEED_PATIENTS.map((p) => ({ ...p }));
  const practitioners = SEED_PRACTITIONERS.map((p) => ({ ...p }));
  const newId = (): string => randomBytes(16).toString('hex');
  const faults = createFaultEngine(options.random ?? Math.random, newId);
  for (const rule of options.faults ?? []) faults.add(rule);
  const codec = createLaunchCodec(options.launchSecret !== undefined ? Buffer.from(options.launchSecret, 'utf8') : randomBytes(32), randomBytes);
  const inFacility = (p: SandboxPatient, facility: string): boolean => p.facilities === undefined || p.facilities.includes(facility);
  return {
    clock,
    sleep: options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref())),
    logger: options.logger ?? pino({ level: 'silent' }),
    tenantId: DEFAULT_TENANT_ID,
    tokenPath: `/${DEFAULT_TENANT_ID}/oauth2/v2.0/token`,
    credentials,
    resource: tokenResource(credentials),
    facilities,
    maxAttachmentBytes: options.maxAttachmentBytes ?? 1_000_000,
    keepBytes: (options.attachments ?? 'bytes') === 'bytes',
    patients,
    practitioners,
    locations: facilities.map((f) => ({ id: locationId(f), facilityId: f, name: `Sandbox Medical Centre (${f})` })),
    /** While `searchFresh` is off, a created resource shows in searches only this long after it was stored. */
    searchLagMs: (options.searchLagSeconds ?? 60) * 1000,
    /** Mutable: `/_sandbox/assumptions`. */
    assumptions: { ...strictAssumptions(), ...options.assumptions },
    store: new MemoryStore(throttleSpec === false ? null : { maxRequests: throttleSpec.maxRequests, windowMs: throttleSpec.windowSeconds * 1000 }),
    faults,
    tokenKey: randomBytes(32),
    codec,
    newId,
    findPatient: (facility: string, id: string) => patients.find((p) => p.id === id && inFacility(p, facility)),
    findPatientByNhi: (facility: string, nhi: string) => patients.find((p) => p.nhi === nhi && inFacility(p, facility)),
    issueLaunch(input: LaunchInput): LaunchPair {
      const created = launchCreatedTime(input, clock());
      const providerId = input.providerId === undefined ? (practitioners[0]?.id ?? null) : input.providerId;
      return codec.issue({ patientId: input.patientId, facilityCode: input.facilityCode, providerId, createdTime: created.toISOString() });
    },
  };
}
