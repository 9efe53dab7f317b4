/**
 * The ALEX client: the only code that talks to Medtech's FHIR API (or the ALEX sandbox).
 * See ./README.md for the rules it keeps (retry, reconcile-before-resend, breaker, write limit).
 */
import http from 'node:http';
import https from 'node:https';
import { Readable } from 'node:stream';
import axios, { type AxiosInstance, type AxiosResponse } from 'axios';
import type { Logger } from 'pino';
import type { PatientSummary } from '../../../shared/contracts/common';
import { AppError } from '../../../shared/errors';
import { NHI_SYSTEM, isValidNhi, normaliseNhi } from '../../../shared/nhi';
import { BreakerRegistry, DEFAULT_BREAKER, type BreakerOptions, type BreakerPermit } from './breaker';
import {
  ALEX_OUTCOME_UNKNOWN_DETAIL,
  classifyNetworkError,
  normaliseAlexHttpError,
  normaliseAlexNetworkError,
  parseRetryAfter,
  type NetworkFailure,
} from './errors';
import { SerializedResource, alexRequestBytes } from '../fhir/serialize';
import { DEFAULT_ALEX_MAX_SOCKETS, DEFAULT_ALEX_WRITES_PER_FACILITY, KeyedLimiter } from './limiter';
import { patientNhi, toPatientSummary } from './patient';
import { abortError, createTokenProvider, type TokenProvider, type TokenStats } from './token';
import type { AlexCallContext, AlexClient, CreatedResource, DecodedLaunch, FhirResource, ReconcileOptions } from './types';

export interface RetryOptions {
  /** Attempts per call, including the first (1..5). */
  maxAttempts: number;
  /** Backoff base: attempt n waits random() × min(maxDelayMs, baseDelayMs × 2^(n-1)). */
  baseDelayMs: number;
  maxDelayMs: number;
  /** No retry starts once this much time has passed since the call began (Retry-After included). */
  maxTotalMs: number;
}

export const DEFAULT_RETRY: RetryOptions = { maxAttempts: 5, baseDelayMs: 250, maxDelayMs: 8_000, maxTotalMs: 30_000 };

export interface AlexClientOptions {
  /** e.g. https://alexapiuat.medtechglobal.com/FHIR (no trailing slash needed). */
  fhirBaseUrl: string;
  /** Azure AD token endpoint. */
  tokenUrl: string;
  clientId: string;
  clientSecret: string;
  /** The next secret during rotation: tried when the primary is refused as invalid_client. */
  secondaryClientSecret?: string;
  /** `api://{app-guid}/.default` */
  scope: string;
  logger: Logger;
  /** ms since the epoch. Default Date.now. */
  clock?: () => number;
  /** Uniform [0, 1) for backoff jitter. Default Math.random. */
  random?: () => number;
  /** How backoff waits. Default a real timer that stops early when `signal` aborts. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Per HTTP attempt. Default 20 s. */
  timeoutMs?: number;
  retry?: Partial<RetryOptions>;
  breaker?: Partial<BreakerOptions>;
  /** At most this many creates in flight per facility (ALEX's limits are unknown). Default 2 (`ALEX_WRITES_PER_FACILITY`). */
  maxConcurrentWritesPerFacility?: number;
  /** Base for the vendorforms launch-decode call. Default: fhirBaseUrl. */
  launchDecodeBaseUrl?: string;
  /** Token refresh lead (default 5 min) and lifetime cap (default 0.8). */
  tokenRefreshBeforeExpiryMs?: number;
  tokenMaxLifetimeShare?: number;
  /**
   * Sockets per ALEX host in each of the client's two pools: one for creates, one for everything else
   * (launch decodes, patient and resource reads, searches, tokens), so a GP's launch never queues behind
   * other practices' uploads. Default 256: creates are already bounded per facility, and this must not
   * bound them again below that (2 writes × 20 practices is 40 creates in flight).
   */
  maxSockets?: number;
  /** Largest response body accepted (a Media search returns the images). Default 64 MB. */
  maxResponseBytes?: number;
  /** Search result pages followed (same origin only). Default 10. */
  maxSearchPages?: number;
  /**
   * Checks every resource before it is created (e.g. `await loadFhirValidator()` from ../fhir/validate).
   * An invalid resource is a bug in our builders: it throws and nothing is sent.
   */
  fhirValidator?: { assertValid(resource: FhirResource): void };
}

/** What the client did, for tests, health and metrics. Never holds patient data. */
export interface AlexClientStats {
  token: TokenStats;
  /** HTTP attempts sent to ALEX (token endpoint excluded). */
  attempts: number;
  /** Creates answered by finding the resource already at ALEX. */
  reconciled: number;
  /** Calls refused by an open breaker. */
  breakerRejections: number;
  /** Creates waiting now for a write slot at their practice (the per-facility write limit). */
  createsWaiting: number;
  /** Connections to ALEX now, per pool: in use, kept open idle, and requests waiting for one. */
  connections: Record<'create' | 'read', ConnectionStats>;
}

export interface ConnectionStats {
  active: number;
  idle: number;
  waiting: number;
}

/** Sockets of an agent pair (http and https), all hosts together. */
function connectionStats(agents: { httpAgent: http.Agent; httpsAgent: https.Agent }): ConnectionStats {
  const count = (byHost: NodeJS.ReadOnlyDict<readonly unknown[]>): number => Object.values(byHost).reduce((n, list) => n + (list?.length ?? 0), 0);
  const out = { active: 0, idle: 0, waiting: 0 };
  for (const agent of [agents.httpAgent, agents.httpsAgent]) {
    out.active += count(agent.sockets);
    out.idle += count(agent.freeSockets);
    out.waiting += count(agent.requests);
  }
  return out;
}

export interface AlexClientHandle extends AlexClient {
  findDocumentReferenceByIdentifier(ctx: AlexCallContext, patientNhi: string, identifier: { system: string; value: string }): Promise<FhirResource | null>;
  stats(): AlexClientStats;
  /** 'closed' | 'open' | 'half-open' for a facility. */
  breakerState(facilityId: string): string;
  close(): void;
}

type Method = 'GET' | 'POST';

interface Call {
  op: string;
  method: Method;
  url: string;
  /** The JSON bytes to send (see ../fhir/serialize): made once per create, sent as they are on every attempt. */
  body?: Buffer;
  ctx: AlexCallContext;
  /** Statuses that are a normal answer for this call (e.g. 404 on a read → null). */
  accept?: readonly number[];
  /** For creates: how to find out whether an interrupted create happened. */
  reconcile?: () => Promise<CreatedResource | null>;
  /** For creates with `ctx.finishBodyAfter`: the time the last byte waited, over all attempts. */
  held?: { ms: number };
  retry?: Partial<RetryOptions>;
}

interface Executed {
  status: number;
  data: unknown;
  headers: Partial<Record<string, unknown>>;
  /** Set when an interrupted create was found at ALEX instead of being sent again. */
  reconciled?: CreatedResource;
}

/**
 * After an attempt, its request must not read the body any more (the body may be a pooled buffer, reused
 * once the create returns): a request that has not finished writing — ALEX answered before reading it all,
 * or the attempt failed — is destroyed, which stops its socket writing at once. (No redirects are
 * followed, so axios hands back Node's own ClientRequest.)
 */
function stopWriting(request: unknown): void {
  if (request instanceof http.ClientRequest && !request.writableFinished && !request.destroyed) request.destroy();
}

/**
 * A large body goes to the socket in pieces of this size, one per turn of the event loop: writing 1.3 MB
 * to a socket in one call holds the loop ~1 ms (the kernel's copy and its TCP work), during which no other
 * commit's I/O is taken; a 256 KB piece holds it ~0.2 ms. The request takes no longer for it (ALEX reads
 * far slower than a loop turn), and that time is ALEX's, not the gateway's.
 */
export const BODY_PIECE_BYTES = 256 * 1024;

/**
 * A request body as a stream of BODY_PIECE_BYTES pieces, each pushed on its own turn of the event loop.
 * With `after` (see AlexCallContext.finishBodyAfter), the last byte goes only once `after` has resolved:
 * until then ALEX holds an unfinished JSON text it cannot act on. If `after` rejects, the stream fails and
 * the request is destroyed unfinished. The wait, from when the rest has been taken to when the last byte
 * may go, is added to `held.ms`.
 */
export function pacedBody(body: Buffer, after: Promise<void> | undefined, held: { ms: number }, failed: (error: Error) => void): Readable {
  let ready = false;
  after?.then(
    () => (ready = true),
    () => undefined,
  );
  // Everything but the last byte, in pieces; then the last byte, when it may go.
  const last = body.length - 1;
  let at = 0;
  let finishing = false;
  return new Readable({
    read() {
      if (at < last) {
        const from = at;
        const to = Math.min(last, from + BODY_PIECE_BYTES);
        at = to;
        // The first piece at once; the next ones each on a later turn of the loop.
        if (from === 0) this.push(body.subarray(from, to));
        else setImmediate(() => this.destroyed || this.push(body.subarray(from, to)));
        return;
      }
      if (finishing) return;
      finishing = true;
      const finish = (): void => {
        if (this.destroyed) return;
        this.push(body.subarray(last));
        this.push(null);
      };
      if (after === undefined || ready) return void setImmediate(finish);
      const from = performance.now();
      after.then(
        () => {
          held.ms += performance.now() - from;
          finish();
        },
        (error: unknown) => {
          const e = error instanceof Error ? error : new Error(String(error));
          failed(e);
          this.destroy(e);
        },
      );
    },
  });
}

type Attempt =
  | { type: 'answer'; status: number; data: unknown; headers: AxiosResponse['headers'] }
  | { type: 'network'; kind: NetworkFailure; cause: unknown };

const SAFE_HEADER = /^[A-Za-z0-9._:\-]{1,128}$/;
const RESOURCE_ID = /^[A-Za-z0-9\-.]{1,64}$/;

const rec = (v: unknown): Record<string, unknown> | null =>
  typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : null;

function defaultSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(abortError());
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(abortError());
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

function trimSlash(u: string): string {
  return u.replace(/\/+$/, '');
}

function parseJson(data: unknown): unknown {
  if (typeof data !== 'string') return data;
  const s = data.trim();
  if (!s.startsWith('{') && !s.startsWith('[')) return data;
  try {
    return JSON.parse(s) as unknown;
  } catch {
    return data;
  }
}

/** The resources of one type in a search Bundle (ALEX may put an OperationOutcome entry in an empty one). */
export function bundleResources(bundle: unknown, resourceType: string): FhirResource[] {
  const b = rec(bundle);
  if (!b || b.resourceType !== 'Bundle' || !Array.isArray(b.entry)) return [];
  const out: FhirResource[] = [];
  for (const e of b.entry) {
    const r = rec(rec(e)?.resource);
    if (r && r.resourceType === resourceType) out.push(r as FhirResource);
  }
  return out;
}

function hasIdentifier(resource: FhirResource, identifier: { system: string; value: string }): boolean {
  const list = resource.identifier;
  if (!Array.isArray(list)) return false;
  return list.some((i) => {
    const r = rec(i);
    return r !== null && r.system === identifier.system && r.value === identifier.value;
  });
}

/** The id from a create answer: the body's id, or the Location header (…/Type/{id}[/_history/n]). */
function createdFrom(resourceType: string, data: unknown, headers: Executed['headers']): CreatedResource | null {
  const location = typeof headers.location === 'string' ? headers.location : undefined;
  const body = rec(data);
  let id = body && body.resourceType === resourceType && typeof body.id === 'string' ? body.id : undefined;
  if (!id && location) {
    const m = new RegExp(`${resourceType}/([A-Za-z0-9\\-.]{1,64})(?:/_history/[^/]+)?/?$`).exec(location);
    id = m?.[1];
  }
  if (!id || !RESOURCE_ID.test(id)) return null;
  return location ? { id, location } : { id };
}

export function createAlexClient(options: AlexClientOptions): AlexClientHandle {
  const clock = options.clock ?? (() => Date.now());
  const random = options.random ?? Math.random;
  const sleep = options.sleep ?? defaultSleep;
  const timeoutMs = options.timeoutMs ?? 20_000;
  const retryDefaults: RetryOptions = { ...DEFAULT_RETRY, ...options.retry };
  if (retryDefaults.maxAttempts < 1 || retryDefaults.maxAttempts > 5) {
    throw new RangeError(`Expected retry.maxAttempts from 1 to 5 but received ${retryDefaults.maxAttempts}`);
  }
  const base = trimSlash(options.fhirBaseUrl);
  const launchBase = trimSlash(options.launchDecodeBaseUrl ?? options.fhirBaseUrl);
  const baseOrigin = new URL(base).origin;
  const maxSearchPages = options.maxSearchPages ?? 10;
  const log = options.logger.child({ component: 'alex-client' });

  const agentOptions = { keepAlive: true, maxSockets: options.maxSockets ?? DEFAULT_ALEX_MAX_SOCKETS };
  // Two pools: a create holds its socket for as long as ALEX takes to store it (seconds, through a
  // practice's Hybrid Connection); reads and token calls must not wait behind those.
  const readAgents = { httpAgent: new http.Agent(agentOptions), httpsAgent: new https.Agent(agentOptions) };
  const createAgents = { httpAgent: new http.Agent(agentOptions), httpsAgent: new https.Agent(agentOptions) };
  const axiosInstance: AxiosInstance = axios.create({
    ...readAgents,
    proxy: false,
    maxRedirects: 0,
    maxContentLength: options.maxResponseBytes ?? 64 * 1024 * 1024,
    maxBodyLength: 16 * 1024 * 1024,
    transitional: { clarifyTimeoutError: true, silentJSONParsing: true, forcedJSONParsing: false },
  });

  const tokens: TokenProvider = createTokenProvider({
    tokenUrl: options.tokenUrl,
    clientId: options.clientId,
    clientSecret: options.clientSecret,
    secondaryClientSecret: options.secondaryClientSecret,
    scope: options.scope,
    http: axiosInstance,
    clock,
    logger: options.logger,
    timeoutMs,
    refreshBeforeExpiryMs: options.tokenRefreshBeforeExpiryMs,
    maxLifetimeShare: options.tokenMaxLifetimeShare,
  });
  const breakers = new BreakerRegistry({ ...DEFAULT_BREAKER, ...options.breaker }, clock);
  const writes = new KeyedLimiter(options.maxConcurrentWritesPerFacility ?? DEFAULT_ALEX_WRITES_PER_FACILITY);
  const counters = { attempts: 0, reconciled: 0, breakerRejections: 0 };

  function checkContext(ctx: AlexCallContext): void {
    if (!SAFE_HEADER.test(ctx.facilityId)) throw new AppError('ERR_REQUEST_INVALID', { detail: 'facility id' });
    if (!SAFE_HEADER.test(ctx.correlationId)) throw new AppError('ERR_REQUEST_INVALID', { detail: 'correlation id' });
  }

  async function send(call: Call, token: string): Promise<Attempt> {
    counters.attempts++;
    const headers: Record<string, string> = {
      Authorization: `Bearer ${token}`,
      'mt-facilityid': call.ctx.facilityId,
      'mt-correlationid': call.ctx.correlationId,
      Accept: 'application/fhir+json',
    };
    if (call.body !== undefined) headers['Content-Type'] = 'application/fhir+json';
    // The HTTP request of this attempt; with a body, it must not be able to read the body after we return.
    let request: unknown;
    let holdFailure: Error | undefined;
    let data: Buffer | Readable | undefined = call.body;
    const after = call.ctx.finishBodyAfter;
    if (call.body !== undefined && call.body.length > 0 && (after !== undefined || call.body.length > BODY_PIECE_BYTES)) {
      data = pacedBody(call.body, after, (call.held ??= { ms: 0 }), (e) => (holdFailure = e));
      headers['Content-Length'] = String(call.body.length);
    }
    try {
      const res = await axiosInstance.request({
        ...(call.method === 'POST' ? createAgents : readAgents),
        method: call.method,
        url: call.url,
        data,
        headers,
        timeout: timeoutMs,
        signal: call.ctx.signal,
        validateStatus: () => true,
        responseType: 'text',
        transformResponse: (d: unknown) => d,
      });
      request = res.request;
      return { type: 'answer', status: res.status, data: parseJson(res.data), headers: res.headers };
    } catch (err) {
      request = (err as { request?: unknown }).request;
      // The store could not make the lease durable: the body was never finished, so ALEX stored nothing.
      if (holdFailure !== undefined) throw new AppError('ERR_INTERNAL', { correlationId: call.ctx.correlationId, cause: holdFailure });
      if (axios.isCancel(err) || call.ctx.signal?.aborted) throw abortError();
      const e = err as { code?: string; message?: string };
      return { type: 'network', kind: classifyNetworkError(e.code, e.message), cause: err };
    } finally {
      if (call.body !== undefined) stopWriting(request);
      if (data instanceof Readable) data.destroy();
    }
  }

  /** Did ALEX certainly not process this attempt? (Only then may a create be resent without a check.) */
  /**
   * True only when ALEX certainly did not store a create: it was never sent, refused for the token (401) or
   * throttled at the front door (429). A 503 is NOT certain: the practice's Hybrid Connection can drop after
   * Evolution stored the resource, so a create answered 503 is looked up by identifier before it is resent.
   */
  function certainlyNotProcessed(a: Attempt): boolean {
    if (a.type === 'network') return a.kind === 'not-sent';
    return a.status === 429 || a.status === 401;
  }

  function retryableAnswer(status: number, method: Method): boolean {
    if (status === 429 || status === 502 || status === 503 || status === 504) return true;
    // A create answered 500 may or may not have been stored: reconcile, then resend.
    return method === 'POST' && status === 500;
  }

  function toError(a: Attempt, correlationId: string): AppError {
    if (a.type === 'network') return normaliseAlexNetworkError(a.kind, correlationId, a.cause);
    return normaliseAlexHttpError({
      status: a.status,
      body: a.data,
      retryAfterSeconds: parseRetryAfter(a.headers['retry-after'], clock()),
      correlationId,
    });
  }

  function withOutcomeUnknown(err: AppError): AppError {
    return new AppError(err.code, { correlationId: err.correlationId, retryAfterSeconds: err.retryAfterSeconds, detail: ALEX_OUTCOME_UNKNOWN_DETAIL });
  }

  function countsAsFailure(a: Attempt): boolean {
    if (a.type === 'network') return true;
    return a.status === 429 || a.status >= 500;
  }

  async function execute(call: Call): Promise<Executed> {
    const policy: RetryOptions = { ...retryDefaults, ...call.retry };
    const startedAt = clock();
    const breaker = breakers.for(call.ctx.facilityId);
    let attempt = 0;
    let forcedRefresh = false;
    let pendingReconcile = false;
    for (;;) {
      if (call.ctx.signal?.aborted) throw abortError();
      if (pendingReconcile && call.reconcile) {
        // The last create may have been stored: look before sending it again.
        let found: CreatedResource | null;
        try {
          found = await call.reconcile();
        } catch (err) {
          if (err instanceof Error && err.name === 'AbortError') throw err;
          log.warn({ event: 'alex_reconcile_failed', op: call.op, correlationId: call.ctx.correlationId }, 'could not check ALEX for an interrupted create');
          const e = err instanceof AppError ? err : new AppError('ERR_ALEX_ERROR', { correlationId: call.ctx.correlationId });
          throw withOutcomeUnknown(e);
        }
        if (found) {
          counters.reconciled++;
          log.info({ event: 'alex_create_reconciled', op: call.op, correlationId: call.ctx.correlationId }, 'interrupted create found at ALEX; not resent');
          return { status: 200, data: null, headers: {}, reconciled: found };
        }
        pendingReconcile = false;
      }
      const decision = breaker.acquire();
      if (!decision.ok) {
        counters.breakerRejections++;
        throw new AppError('ERR_ALEX_UNAVAILABLE', {
          correlationId: call.ctx.correlationId,
          retryAfterSeconds: Math.ceil(decision.retryAfterMs / 1000),
          detail: 'circuit open',
        });
      }
      const permit: BreakerPermit = decision.permit;
      attempt++;
      let token: string;
      try {
        token = await tokens.getToken(call.ctx.signal);
      } catch (err) {
        permit.release();
        if (err instanceof AppError) {
          err = new AppError(err.code, { correlationId: call.ctx.correlationId, retryAfterSeconds: err.retryAfterSeconds, detail: err.detail });
        }
        // No request went out: safe to retry for any method when the failure is retryable.
        if (!(err instanceof AppError) || !err.retryable || err.code === 'ERR_ALEX_AUTH') throw err;
        const wait = await backoff(policy, attempt, startedAt, err.retryAfterSeconds);
        if (wait === null) throw err;
        await sleep(wait, call.ctx.signal);
        continue;
      }
      let result: Attempt;
      try {
        result = await send(call, token);
      } catch (err) {
        permit.release();
        throw err;
      }
      if (countsAsFailure(result)) permit.failure();
      else permit.success();

      if (result.type === 'answer' && ((result.status >= 200 && result.status < 300) || call.accept?.includes(result.status))) {
        return result;
      }
      if (result.type === 'answer' && result.status === 401 && !forcedRefresh) {
        // Stale token: drop it, fetch one new token, retry once. Not counted as a retry attempt.
        forcedRefresh = true;
        tokens.invalidate(token);
        attempt--;
        continue;
      }
      const err = toError(result, call.ctx.correlationId);
      const retryable = result.type === 'network' || retryableAnswer(result.status, call.method);
      const ambiguous = call.method === 'POST' && !certainlyNotProcessed(result);
      if (!retryable) {
        log.warn({ event: 'alex_call_failed', op: call.op, code: err.code, status: result.type === 'answer' ? result.status : undefined, attempts: attempt, correlationId: call.ctx.correlationId, facilityId: call.ctx.facilityId }, 'ALEX call failed');
        throw err;
      }
      if (ambiguous && !call.reconcile) {
        // Nothing to check with: resending could store the image twice.
        log.warn({ event: 'alex_create_outcome_unknown', op: call.op, code: err.code, attempts: attempt, correlationId: call.ctx.correlationId }, 'create interrupted and cannot be checked; not resent');
        throw withOutcomeUnknown(err);
      }
      const wait = attempt >= policy.maxAttempts ? null : await backoff(policy, attempt, startedAt, err.retryAfterSeconds);
      if (wait === null) {
        log.warn({ event: 'alex_call_gave_up', op: call.op, code: err.code, attempts: attempt, correlationId: call.ctx.correlationId, facilityId: call.ctx.facilityId }, 'ALEX call failed after retries');
        if (!ambiguous) throw err;
        // No more sends, but one last look may still settle it: found → done; looked and not there → the
        // plain error (nothing was stored); could not look → outcome unknown.
        let looked = false;
        let found: CreatedResource | null = null;
        if (call.reconcile) {
          try {
            found = await call.reconcile();
            looked = true;
          } catch {
            looked = false;
          }
        }
        if (found) {
          counters.reconciled++;
          return { status: 200, data: null, headers: {}, reconciled: found };
        }
        if (looked) throw err;
        throw withOutcomeUnknown(err);
      }
      log.info({ event: 'alex_call_retry', op: call.op, code: err.code, attempt, waitMs: Math.round(wait), correlationId: call.ctx.correlationId }, 'retrying ALEX call');
      await sleep(wait, call.ctx.signal);
      pendingReconcile = ambiguous;
    }
  }

  /** The wait before the next attempt, or null when the time budget does not allow one. */
  async function backoff(policy: RetryOptions, attempt: number, startedAt: number, retryAfterSeconds: number | undefined): Promise<number | null> {
    if (attempt >= policy.maxAttempts) return null;
    const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
    const jittered = random() * ceiling;
    const wait = retryAfterSeconds !== undefined ? Math.max(retryAfterSeconds * 1000, jittered) : jittered;
    if (clock() - startedAt + wait > policy.maxTotalMs) return null;
    return wait;
  }

  async function search(ctx: AlexCallContext, op: string, path: string, resourceType: string, retry?: Partial<RetryOptions>): Promise<FhirResource[]> {
    const out: FhirResource[] = [];
    let url: string | null = `${base}/${path}`;
    for (let page = 0; url && page < maxSearchPages; page++) {
      const res = await execute({ op, method: 'GET', url, ctx, retry });
      out.push(...bundleResources(res.data, resourceType));
      url = nextLink(res.data);
    }
    return out;
  }

  function nextLink(bundle: unknown): string | null {
    const links = rec(bundle)?.link;
    if (!Array.isArray(links)) return null;
    for (const l of links) {
      const r = rec(l);
      if (r?.relation === 'next' && typeof r.url === 'string') {
        try {
          const u = new URL(r.url, `${base}/`);
          // Never send the token anywhere but ALEX.
          if (u.origin === baseOrigin) return u.toString();
        } catch {
          return null;
        }
      }
    }
    return null;
  }

  function nhiQuery(nhi: string): string {
    return encodeURIComponent(`${NHI_SYSTEM}|${nhi}`);
  }

  function checkedNhi(nhi: string): string {
    const n = normaliseNhi(nhi);
    if (!isValidNhi(n)) throw new AppError('ERR_REQUEST_INVALID', { detail: 'NHI is not valid' });
    return n;
  }

  async function findByIdentifier(
    ctx: AlexCallContext,
    resourceType: 'Media' | 'DocumentReference',
    patientNhi: string,
    identifier: { system: string; value: string },
    retry?: Partial<RetryOptions>,
  ): Promise<FhirResource | null> {
    checkContext(ctx);
    const nhi = checkedNhi(patientNhi);
    const found = await search(ctx, `find${resourceType}ByIdentifier`, `${resourceType}?patient.identifier=${nhiQuery(nhi)}`, resourceType, retry);
    return found.find((r) => hasIdentifier(r, identifier)) ?? null;
  }

  async function create(ctx: AlexCallContext, resourceType: 'Media' | 'DocumentReference', given: FhirResource | SerializedResource, reconcile?: ReconcileOptions): Promise<CreatedResource> {
    checkContext(ctx);
    if (given.resourceType !== resourceType) throw new AppError('ERR_REQUEST_INVALID', { detail: `expected a ${resourceType}` });
    // The bytes are made once and the resource object is not kept: a create waiting on ALEX holds its image once.
    const own = !(given instanceof SerializedResource);
    const resource = given instanceof SerializedResource ? given : SerializedResource.of(given, alexRequestBytes);
    try {
      return await createSerialized(ctx, resourceType, given, resource, reconcile);
    } finally {
      if (own) resource.release();
    }
  }

  async function createSerialized(
    ctx: AlexCallContext,
    resourceType: 'Media' | 'DocumentReference',
    given: FhirResource | SerializedResource,
    resource: SerializedResource,
    reconcile?: ReconcileOptions,
  ): Promise<CreatedResource> {
    const identifier = resource.identifier;
    if (!identifier) throw new AppError('ERR_IDEMPOTENCY_KEY_MISSING', { correlationId: ctx.correlationId });
    if (options.fhirValidator) options.fhirValidator.assertValid(given instanceof SerializedResource ? given.parse() : given);
    const lookup = reconcile
      ? async (): Promise<CreatedResource | null> => {
          // One quick look; if ALEX cannot answer, the caller learns the outcome is unknown.
          const found = await findByIdentifier(ctx, resourceType, reconcile.patientNhi, identifier, { maxAttempts: 2 });
          return found && typeof found.id === 'string' ? { id: found.id, reconciled: true } : null;
        }
      : undefined;
    if (reconcile) checkedNhi(reconcile.patientNhi);
    return writes.run(
      ctx.facilityId,
      async () => {
        if (reconcile?.checkFirst && lookup) {
          const already = await lookup();
          if (already) {
            counters.reconciled++;
            return already;
          }
        }
        const held = { ms: 0 };
        const res = await execute({ op: `create${resourceType}`, method: 'POST', url: `${base}/${resourceType}`, body: resource.json, ctx, reconcile: lookup, held });
        const heldMs = ctx.finishBodyAfter ? { heldMs: held.ms } : {};
        if (res.reconciled) return { ...res.reconciled, ...heldMs };
        const created = createdFrom(resourceType, res.data, res.headers);
        if (created) return { ...created, ...heldMs };
        // Stored, but ALEX did not say under which id: find it rather than send it again.
        const found = lookup ? await lookup().catch(() => null) : null;
        if (found) return { id: found.id };
        throw new AppError('ERR_ALEX_ERROR', { correlationId: ctx.correlationId, detail: ALEX_OUTCOME_UNKNOWN_DETAIL });
      },
      ctx.signal,
    );
  }

  const client: AlexClientHandle = {
    async decodeLaunch(ctx, context, signature): Promise<DecodedLaunch> {
      checkContext(ctx);
      if (!context || !signature || context.length > 4096 || signature.length > 4096) throw new AppError('ERR_LAUNCH_MALFORMED');
      const url = `${launchBase}/vendorforms/api/getlaunchcontextstring/${encodeURIComponent(context)}/${encodeURIComponent(signature)}`;
      let res;
      try {
        res = await execute({ op: 'decodeLaunch', method: 'GET', url, ctx });
      } catch (err) {
        if (err instanceof AppError && (err.code === 'ERR_ALEX_REJECTED' || err.code === 'ERR_ALEX_NOT_FOUND')) {
          throw new AppError('ERR_LAUNCH_SIGNATURE', { correlationId: ctx.correlationId });
        }
        throw err;
      }
      const b = rec(res.data);
      const str = (v: unknown) => (typeof v === 'string' && v.trim() !== '' ? v.trim() : null);
      const facilityCode = b ? str(b.facilityCode) : null;
      const createdTime = b ? str(b.createdTime) : null;
      if (!b || !facilityCode || !createdTime || Number.isNaN(Date.parse(createdTime))) {
        throw new AppError('ERR_LAUNCH_MALFORMED', { correlationId: ctx.correlationId, detail: 'launch answer unreadable' });
      }
      const patientId = str(b.patientId);
      const providerId = str(b.providerId);
      if ((patientId && !RESOURCE_ID.test(patientId)) || (providerId && !RESOURCE_ID.test(providerId))) {
        throw new AppError('ERR_LAUNCH_MALFORMED', { correlationId: ctx.correlationId, detail: 'launch ids unreadable' });
      }
      return { patientId, facilityCode, providerId, createdTime };
    },

    async getPatient(ctx, patientId): Promise<PatientSummary> {
      checkContext(ctx);
      if (!RESOURCE_ID.test(patientId)) throw new AppError('ERR_ALEX_PATIENT_NOT_FOUND', { correlationId: ctx.correlationId, detail: 'patient id not valid' });
      const res = await execute({ op: 'getPatient', method: 'GET', url: `${base}/Patient/${encodeURIComponent(patientId)}`, ctx, accept: [404] });
      if (res.status === 404) throw new AppError('ERR_ALEX_PATIENT_NOT_FOUND', { correlationId: ctx.correlationId });
      const summary = toPatientSummary(res.data);
      if (summary.id !== patientId) throw new AppError('ERR_ALEX_PATIENT_NOT_FOUND', { correlationId: ctx.correlationId, detail: 'ALEX returned another patient' });
      return summary;
    },

    async findPatientByNhi(ctx, nhi): Promise<PatientSummary | null> {
      checkContext(ctx);
      const n = checkedNhi(nhi);
      const found = await search(ctx, 'findPatientByNhi', `Patient?identifier=${nhiQuery(n)}`, 'Patient');
      const matching = found.filter((p) => patientNhi(p) === n);
      if (matching.length === 0) return null;
      const active = matching.filter((p) => p.active !== false);
      const pool = active.length > 0 ? active : matching;
      const ids = new Set(pool.map((p) => p.id));
      if (ids.size > 1) {
        // Two records with one NHI: never guess which person the photo is for.
        throw new AppError('ERR_ALEX_PATIENT_NOT_FOUND', { correlationId: ctx.correlationId, detail: 'more than one patient has this NHI' });
      }
      return toPatientSummary(pool[0]);
    },

    createMedia(ctx, media, reconcile) {
      return create(ctx, 'Media', media, reconcile);
    },

    createDocumentReference(ctx, doc, reconcile) {
      return create(ctx, 'DocumentReference', doc, reconcile);
    },

    findMediaByIdentifier(ctx, nhi, identifier) {
      return findByIdentifier(ctx, 'Media', nhi, identifier);
    },

    findDocumentReferenceByIdentifier(ctx, nhi, identifier) {
      return findByIdentifier(ctx, 'DocumentReference', nhi, identifier);
    },

    async getDocumentReference(ctx, id): Promise<FhirResource | null> {
      checkContext(ctx);
      if (!RESOURCE_ID.test(id)) throw new AppError('ERR_REQUEST_INVALID', { detail: 'resource id' });
      const res = await execute({ op: 'getDocumentReference', method: 'GET', url: `${base}/DocumentReference/${encodeURIComponent(id)}`, ctx, accept: [404] });
      if (res.status === 404) return null;
      const r = rec(res.data);
      if (!r || r.resourceType !== 'DocumentReference') throw new AppError('ERR_ALEX_ERROR', { correlationId: ctx.correlationId, detail: 'unexpected answer' });
      return r as FhirResource;
    },

    async ready() {
      const open = breakers.openFacilities();
      if (breakers.size() > 0 && open.length === breakers.size()) return { ok: false, detail: 'ALEX circuit open for every facility' };
      try {
        await tokens.getToken();
        return { ok: true };
      } catch (err) {
        return { ok: false, detail: err instanceof AppError ? err.code : 'ERR_ALEX_AUTH' };
      }
    },

    stats: () => ({
      token: tokens.stats(),
      ...counters,
      createsWaiting: writes.waiting(),
      connections: { create: connectionStats(createAgents), read: connectionStats(readAgents) },
    }),
    breakerState: (facilityId) => breakers.for(facilityId).current(),
    close() {
      for (const agents of [readAgents, createAgents]) {
        agents.httpAgent.destroy();
        agents.httpsAgent.destroy();
      }
    },
  };
  return client;
}
