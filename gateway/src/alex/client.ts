/** The ALEX client (rules in ./README.md): composes transport, token, executor and reads; holds creates. */
import { setTimeout as delay } from 'node:timers/promises';
import type { Logger } from 'pino';
import { AppError } from '../../../shared/errors';
import { BreakerRegistry, DEFAULT_BREAKER, type BreakerOptions } from './breaker';
import { AlexExecutor, DEFAULT_RETRY, outcomeUnknown, type RetryOptions } from './executor';
import { SerializedResource } from '../fhir/serialize';
import { DEFAULT_ALEX_MAX_SOCKETS, DEFAULT_ALEX_WRITES_PER_FACILITY, KeyedLimiter } from './limiter';
import { AlexReads, checkContext } from './reads';
import { AlexTokenProvider, type TokenStats } from './token';
import { AlexTransport, type ConnectionStats } from './transport';
import { rec, type AlexCallContext, type AlexClient, type CreatedResource, type FhirResource } from './types';

export interface AlexClientOptions {
  /** e.g. https://alexapiuat.medtechglobal.com/FHIR */
  fhirBaseUrl: string;
  tokenUrl: string;
  clientId: string;
  clientSecret: string;
  /** The next secret during rotation: tried when the primary is refused as invalid_client. */
  secondaryClientSecret?: string;
  /** `api://{app-guid}/.default` */
  scope: string;
  logger: Logger;
  clock?: () => number;
  random?: () => number;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Per HTTP attempt. Default 20 s. */
  timeoutMs?: number;
  retry?: Partial<RetryOptions>;
  breaker?: Partial<BreakerOptions>;
  /** `ALEX_WRITES_PER_FACILITY` (ALEX's limits are unknown). */
  maxConcurrentWritesPerFacility?: number;
  /** Sockets per ALEX host in each of the two pools (README "Two socket pools"), `ALEX_MAX_SOCKETS`. */
  maxSockets?: number;
  /** An invalid resource is a bug in our builders: it throws and nothing is sent (../fhir/validate.testkit). */
  fhirValidator?: { assertValid(resource: FhirResource): void };
}

/** What the client did, for tests, health and metrics. Never holds patient data. */
export interface AlexClientStats {
  token: TokenStats;
  /** HTTP attempts sent to ALEX (token endpoint excluded). */
  attempts: number;
  breakerRejections: number;
  /** Creates waiting now for a write slot at their practice. */
  createsWaiting: number;
  connections: Record<'create' | 'read', ConnectionStats>;
}

export interface AlexClientHandle extends AlexClient {
  stats(): AlexClientStats;
  breakerState(facilityId: string): string;
  close(): void;
}

const RESOURCE_ID = /^[A-Za-z0-9\-.]{1,64}$/;

/** The id from a create answer: the body's id, or the Location header (…/Type/{id}[/_history/n]). */
function createdFrom(resourceType: string, data: unknown, headers: Partial<Record<string, unknown>>): CreatedResource | null {
  const location = typeof headers.location === 'string' ? headers.location : undefined;
  const body = rec(data);
  let id = body && body.resourceType === resourceType && typeof body.id === 'string' ? body.id : undefined;
  if (!id && location) id = new RegExp(`${resourceType}/([A-Za-z0-9\\-.]{1,64})(?:/_history/[^/]+)?/?$`).exec(location)?.[1];
  if (!id || !RESOURCE_ID.test(id)) return null;
  return location ? { id, location } : { id };
}

/** Creates: the write limit per facility, the bytes made once; a 2xx without a readable id is an unknown outcome. */
class AlexCreates {
  constructor(
    private readonly executor: AlexExecutor,
    private readonly writes: KeyedLimiter,
    private readonly base: string,
    private readonly validator: AlexClientOptions['fhirValidator'],
  ) {}

  async create(ctx: AlexCallContext, resourceType: 'Media' | 'DocumentReference', given: FhirResource | SerializedResource): Promise<CreatedResource> {
    checkContext(ctx);
    if (given.resourceType !== resourceType) throw new AppError('ERR_REQUEST_INVALID', { detail: `expected a ${resourceType}` });
    const resource = given instanceof SerializedResource ? given : SerializedResource.of(given);
    if (!resource.identifier) throw new AppError('ERR_IDEMPOTENCY_KEY_MISSING', { correlationId: ctx.correlationId });
    if (this.validator) this.validator.assertValid(given instanceof SerializedResource ? given.parse() : given);
    return this.writes.run(ctx.facilityId, () => this.post(ctx, resourceType, resource), ctx.signal);
  }

  private async post(ctx: AlexCallContext, resourceType: 'Media' | 'DocumentReference', resource: SerializedResource): Promise<CreatedResource> {
    const res = await this.executor.execute({ op: `create${resourceType}`, method: 'POST', url: `${this.base}/${resourceType}`, body: resource.json, ctx });
    const created = createdFrom(resourceType, res.data, res.headers);
    if (created) return created;
    throw outcomeUnknown(new AppError('ERR_ALEX_ERROR', { correlationId: ctx.correlationId, detail: `ALEX ${res.status} without a resource id` }));
  }
}

export function createAlexClient(options: AlexClientOptions): AlexClientHandle {
  const clock = options.clock ?? (() => Date.now());
  const retry: RetryOptions = { ...DEFAULT_RETRY, ...options.retry };
  if (retry.maxAttempts < 1 || retry.maxAttempts > 5) {
    throw new RangeError(`Expected retry.maxAttempts from 1 to 5 but received ${retry.maxAttempts}`);
  }
  const timeoutMs = options.timeoutMs ?? 20_000;
  const base = options.fhirBaseUrl.replace(/\/+$/, '');
  const transport = new AlexTransport({ maxSockets: options.maxSockets ?? DEFAULT_ALEX_MAX_SOCKETS, timeoutMs });
  const tokens = new AlexTokenProvider({ ...options, http: transport.http, clock, timeoutMs });
  const breakers = new BreakerRegistry({ ...DEFAULT_BREAKER, ...options.breaker }, clock);
  const log = options.logger.child({ component: 'alex-client' });
  const executor = new AlexExecutor({ transport, tokens, breakers, retry, clock, random: options.random ?? Math.random, sleep: options.sleep ?? ((ms, signal) => delay(ms, undefined, { signal })), log });
  const writes = new KeyedLimiter(options.maxConcurrentWritesPerFacility ?? DEFAULT_ALEX_WRITES_PER_FACILITY);
  const reads = new AlexReads(executor, base);
  const creates = new AlexCreates(executor, writes, base, options.fhirValidator);

  return {
    decodeLaunch: (ctx, context, signature) => reads.decodeLaunch(ctx, context, signature),
    getPatient: (ctx, patientId) => reads.getPatient(ctx, patientId),
    findPatientByNhi: (ctx, nhi) => reads.findPatientByNhi(ctx, nhi),
    createMedia: (ctx, media) => creates.create(ctx, 'Media', media),
    createDocumentReference: (ctx, doc) => creates.create(ctx, 'DocumentReference', doc),
    findMediaByIdentifier: (ctx, nhi, identifier) => reads.findMediaByIdentifier(ctx, nhi, identifier),
    getDocumentReference: (ctx, id) => reads.getDocumentReference(ctx, id),
    async ready() {
      if (breakers.allOpen()) return { ok: false, detail: 'ALEX circuit open for every facility' };
      try {
        await tokens.getToken();
        return { ok: true };
      } catch (err) {
        return { ok: false, detail: err instanceof AppError ? err.code : 'ERR_ALEX_AUTH' };
      }
    },
    stats: () => ({
      token: tokens.stats(),
      attempts: transport.attempts,
      breakerRejections: executor.breakerRejections,
      createsWaiting: writes.waiting(),
      connections: transport.connections(),
    }),
    breakerState: (facilityId) => breakers.for(facilityId).current(),
    close: () => transport.close(),
  };
}
