/**
 * What the sandbox's routes share: options resolved to values, seed data, the store, faults, the launch
 * codec and the named assumptions (./assumptions.ts). Built once per sandbox by `createSandboxContext`.
 */
import { createHash, randomBytes as cryptoRandomBytes } from 'node:crypto';
import type { Socket } from 'node:net';
import type { FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { pino } from 'pino';
import { AppError } from '../../../shared/errors';
import { strictAssumptions, type Assumptions } from './assumptions';
import { TokenThrottleWindow } from './azure';
import { createFaultEngine, type FaultEngine } from './faults';
import { createLaunchCodec } from './launch';
import type { SandboxLocation } from './resources';
import {
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
import type { LaunchInput, LaunchPair, SandboxCredentials, SandboxOptions, SandboxPatient, SandboxPractitioner } from './types';

/** How long a created resource stays out of searches while `searchFresh` is not assumed. */
export const DEFAULT_SEARCH_LAG_SECONDS = 60;

export interface SandboxContext {
  options: SandboxOptions;
  clock: () => number;
  random: () => number;
  sleep: (ms: number) => Promise<void>;
  logger: Logger;
  tenantId: string;
  tokenPath: string;
  credentials: SandboxCredentials;
  /** `api://<app>`: the token audience. */
  resource: string;
  facilities: string[];
  maxAttachmentBytes: number;
  keepBytes: boolean;
  tokenLifetimeSeconds: number;
  throttle: TokenThrottleWindow | null;
  patients: readonly SandboxPatient[];
  practitioners: SandboxPractitioner[];
  locations: SandboxLocation[];
  /** Further absolute FHIR bases accepted in references. */
  ownBases: readonly string[];
  searchLagMs: number;
  /** The named assumptions now in force (mutable: `/_sandbox/assumptions`). */
  assumptions: Assumptions;
  store: MemoryStore;
  faults: FaultEngine;
  tokenKey: Buffer;
  codec: ReturnType<typeof createLaunchCodec>;
  /** Sockets held open by `timeout` / slow-create faults, destroyed on close. */
  heldSockets: Set<Socket>;
  newId(): string;
  uuid(): string;
  nowIso(): string;
  findPatient(facility: string, id: string): SandboxPatient | undefined;
  findPatientByNhi(facility: string, nhi: string): SandboxPatient | undefined;
  issueLaunch(input: LaunchInput): LaunchPair;
}

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

function uuidFrom(randomBytes: (n: number) => Buffer): string {
  const b = randomBytes(16);
  b[6] = ((b[6] ?? 0) & 0x0f) | 0x40;
  b[8] = ((b[8] ?? 0) & 0x3f) | 0x80;
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

function tokenResource(credentials: SandboxCredentials): string {
  const scopeMatch = /^api:\/\/([^/]+)\/\.default$/.exec(credentials.scope);
  if (scopeMatch === null) throw new AppError('ERR_REQUEST_INVALID', { detail: 'Sandbox scope must be api://<app>/.default' });
  return `api://${scopeMatch[1] ?? ''}`;
}

function checkLaunchInput(input: LaunchInput): void {
  if (typeof input.facilityCode !== 'string' || input.facilityCode.length === 0) throw new AppError('ERR_REQUEST_INVALID', { detail: 'issueLaunch needs a facilityCode' });
  if (input.patientId !== null && (typeof input.patientId !== 'string' || input.patientId.length === 0)) {
    throw new AppError('ERR_REQUEST_INVALID', { detail: 'issueLaunch needs a patientId or null' });
  }
  if (input.providerId !== undefined && input.providerId !== null && (typeof input.providerId !== 'string' || input.providerId.length === 0)) {
    throw new AppError('ERR_REQUEST_INVALID', { detail: 'issueLaunch needs a providerId, null or nothing' });
  }
}

export function createSandboxContext(options: SandboxOptions): SandboxContext {
  const clock = options.clock ?? Date.now;
  const randomBytes = options.randomBytes ?? cryptoRandomBytes;
  const credentials = { ...(options.credentials ?? DEFAULT_CREDENTIALS) };
  const facilities = [...(options.facilities ?? DEFAULT_FACILITIES)];
  const throttleSpec = options.tokenThrottle === undefined ? DEFAULT_TOKEN_THROTTLE : options.tokenThrottle;
  const patients: readonly SandboxPatient[] = (options.patients ?? SEED_PATIENTS).map((p) => ({ ...p }));
  const practitioners = (options.practitioners ?? SEED_PRACTITIONERS).map((p) => ({ ...p }));
  const tenantId = options.tenantId ?? DEFAULT_TENANT_ID;
  const newId = (): string => randomBytes(16).toString('hex');
  const store = new MemoryStore();
  const throttle = throttleSpec === false ? null : new TokenThrottleWindow(throttleSpec.maxRequests, throttleSpec.windowSeconds * 1000);
  if (throttle !== null) store.onReset(() => throttle.reset());
  const faults = createFaultEngine(options.random ?? Math.random, newId);
  for (const rule of options.faults ?? []) faults.add(rule);
  const codec = createLaunchCodec(options.launchSecret !== undefined ? Buffer.from(options.launchSecret, 'utf8') : randomBytes(32), randomBytes);
  const inFacility = (p: SandboxPatient, facility: string): boolean => p.facilities === undefined || p.facilities.includes(facility);
  return {
    options,
    clock,
    random: options.random ?? Math.random,
    sleep: options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref())),
    logger: options.logger ?? pino({ level: 'silent' }),
    tenantId,
    tokenPath: `/${tenantId}/oauth2/v2.0/token`,
    credentials,
    resource: tokenResource(credentials),
    facilities,
    maxAttachmentBytes: options.maxAttachmentBytes ?? DEFAULT_MAX_ATTACHMENT_BYTES,
    keepBytes: (options.attachments ?? 'bytes') === 'bytes',
    tokenLifetimeSeconds: options.tokenLifetimeSeconds ?? DEFAULT_TOKEN_LIFETIME_SECONDS,
    throttle,
    patients,
    practitioners,
    locations: facilities.map((f) => ({ id: createHash('sha256').update(`location:${f}`).digest('hex').slice(0, 32), facilityId: f, name: `Sandbox Medical Centre (${f})` })),
    ownBases: options.extraAbsoluteBases ?? [],
    searchLagMs: (options.searchLagSeconds ?? DEFAULT_SEARCH_LAG_SECONDS) * 1000,
    assumptions: { ...strictAssumptions(), ...options.assumptions },
    store,
    faults,
    tokenKey: randomBytes(32),
    codec,
    heldSockets: new Set<Socket>(),
    newId,
    uuid: () => uuidFrom(randomBytes),
    nowIso: () => new Date(clock()).toISOString(),
    findPatient: (facility, id) => patients.find((p) => p.id === id && inFacility(p, facility)),
    findPatientByNhi: (facility, nhi) => patients.find((p) => p.nhi === nhi && inFacility(p, facility)),
    issueLaunch(input) {
      checkLaunchInput(input);
      const created = input.createdTime ?? new Date(clock());
      if (!(created instanceof Date) || Number.isNaN(created.getTime())) throw new AppError('ERR_REQUEST_INVALID', { detail: 'createdTime must be a valid Date' });
      const providerId = input.providerId === undefined ? (practitioners[0]?.id ?? null) : input.providerId;
      return codec.issue({ patientId: input.patientId, facilityCode: input.facilityCode, providerId, createdTime: created.toISOString() });
    },
  };
}
