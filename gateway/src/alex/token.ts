/**
 * OAuth 2.0 client-credentials token provider for ALEX: cache, single flight, background refresh, a 429
 * blocking every request until Retry-After, secret rotation (rules: ./README.md "Token"). The secret and
 * tokens are never logged or put into an error.
 */
import type { AxiosInstance, AxiosResponse } from 'axios';
import type { Logger } from 'pino';
import { AppError } from '../../../shared/errors';
import { classifyNetworkError, normaliseAlexNetworkError, parseAlexErrorBody, parseRetryAfter } from './errors';

export interface TokenProviderOptions {
  tokenUrl: string;
  clientId: string;
  clientSecret: string;
  /** A second valid secret during rotation: used when the primary is refused as `invalid_client`. */
  secondaryClientSecret?: string;
  scope: string;
  http: AxiosInstance;
  clock: () => number;
  logger: Logger;
  timeoutMs: number;
}

/** Refresh this long before expiry, and never later than this share of the lifetime. */
const REFRESH_BEFORE_EXPIRY_MS = 5 * 60_000;
const MAX_LIFETIME_SHARE = 0.8;
/** A token closer than this to expiry (at most 10% of its lifetime) is never used. */
const MIN_REMAINING_MS = 60_000;
/** The wait after a 429 without Retry-After. */
const DEFAULT_THROTTLE_MS = 60_000;

interface CachedToken {
  value: string;
  refreshAt: number;
  /** Not used from here on: too close to expiry. */
  staleAt: number;
}

/**
 * When a token is refreshed: at `min(lifetime − lead, share × lifetime)`, unless that is before half the
 * lifetime, then at `share × lifetime` (one request per lifetime either way). It stops being used
 * `min(MIN_REMAINING_MS, 10% of the lifetime)` before expiry, never before the refresh point.
 */
function tokenTiming(obtainedAt: number, lifetimeMs: number): { refreshAt: number; staleAt: number } {
  const byLead = lifetimeMs - REFRESH_BEFORE_EXPIRY_MS;
  const byShare = lifetimeMs * MAX_LIFETIME_SHARE;
  const refreshIn = byLead >= lifetimeMs / 2 ? Math.min(byLead, byShare) : byShare;
  const staleIn = lifetimeMs - Math.min(MIN_REMAINING_MS, lifetimeMs * 0.1);
  return { refreshAt: obtainedAt + refreshIn, staleAt: obtainedAt + Math.max(refreshIn, staleIn) };
}

export interface TokenStats {
  requests: number;
}

export interface TokenProvider {
  /** A token not yet stale. Throws AppError (ERR_ALEX_*) when none can be had. */
  getToken(signal?: AbortSignal): Promise<string>;
  /** Drops `token` if it is the cached one (after ALEX answered 401 with it). */
  invalidate(token: string): void;
  stats(): TokenStats;
}

/** A refused token request: `invalid-client` lets the other secret be tried; `blockUntil` follows a 429. */
interface TokenEndpointFailure {
  kind: 'invalid-client' | 'other';
  error: AppError;
  blockUntil?: number;
}

function tokenFromBody(data: unknown, obtainedAt: number, log: Logger): CachedToken | TokenEndpointFailure {
  let body: Record<string, unknown> = {};
  try {
    body = JSON.parse(String(data)) as Record<string, unknown>;
  } catch {
    /* handled below */
  }
  const token = body.access_token;
  const expiresIn = Number(body.expires_in);
  if (typeof token !== 'string' || token.length === 0 || !Number.isFinite(expiresIn) || expiresIn <= 0) {
    log.error({ event: 'token_response_invalid' }, 'ALEX token endpoint answered without a usable token');
    return { kind: 'other', error: new AppError('ERR_ALEX_AUTH', { detail: 'token response unreadable' }) };
  }
  log.info({ event: 'token_obtained', lifetimeS: expiresIn }, 'ALEX token obtained');
  return { value: token, ...tokenTiming(obtainedAt, expiresIn * 1000) };
}

function readTokenAnswer(res: AxiosResponse, startedAt: number, now: number, log: Logger): CachedToken | TokenEndpointFailure {
  // Count the lifetime from when we asked: the token may have been minted as soon as the request arrived.
  if (res.status === 200) return tokenFromBody(res.data, Math.min(startedAt, now), log);
  if (res.status === 429) {
    const retryAfterS = parseRetryAfter(res.headers['retry-after'], now);
    const waitMs = retryAfterS !== undefined ? retryAfterS * 1000 : DEFAULT_THROTTLE_MS;
    log.warn({ event: 'token_throttled', retryAfterS: Math.ceil(waitMs / 1000) }, 'ALEX token endpoint throttled us');
    const error = new AppError('ERR_ALEX_THROTTLED', { retryAfterSeconds: Math.ceil(waitMs / 1000), detail: 'token endpoint' });
    return { kind: 'other', error, blockUntil: now + waitMs };
  }
  if ((res.status === 400 || res.status === 401) && parseAlexErrorBody(res.data).text.includes('invalid_client')) {
    return { kind: 'invalid-client', error: new AppError('ERR_ALEX_AUTH', { detail: 'client credentials refused' }) };
  }
  log.warn({ event: 'token_request_refused', status: res.status }, 'ALEX token endpoint refused');
  const code = res.status === 503 ? 'ERR_ALEX_UNAVAILABLE' : res.status >= 500 ? 'ERR_ALEX_ERROR' : 'ERR_ALEX_AUTH';
  return { kind: 'other', error: new AppError(code, { detail: `token endpoint ${res.status}` }) };
}

export class AlexTokenProvider implements TokenProvider {
  private readonly secrets: string[];
  private preferred = 0;
  private cached: CachedToken | null = null;
  private inflight: Promise<CachedToken> | null = null;
  private blockedUntil = 0;
  private requests = 0;
  private readonly log: Logger;

  constructor(private readonly o: TokenProviderOptions) {
    this.secrets = [o.clientSecret, ...(o.secondaryClientSecret ? [o.secondaryClientSecret] : [])];
    this.log = o.logger.child({ component: 'alex-token' });
  }

  async getToken(signal?: AbortSignal): Promise<string> {
    const now = this.o.clock();
    const cached = this.cached;
    if (cached !== null && now < cached.staleAt) {
      // Due for refresh but still good: refresh in the background (single flight), answer at once.
      // A failed background refresh is logged where it happens; the next call tries again.
      if (now >= cached.refreshAt && now >= this.blockedUntil) void this.refresh().catch(() => undefined);
      return cached.value;
    }
    // Throttled and no usable token: fail fast without asking.
    if (now < this.blockedUntil) throw this.throttledError(now);
    return (await abortable(this.refresh(), signal)).value;
  }

  invalidate(token: string): void {
    if (this.cached?.value !== token) return;
    this.cached = null;
    this.log.info({ event: 'token_dropped' }, 'ALEX token dropped after 401');
  }

  stats(): TokenStats {
    return { requests: this.requests };
  }

  private refresh(): Promise<CachedToken> {
    this.inflight ??= this.fetchToken()
      .then((t) => (this.cached = t))
      .finally(() => {
        this.inflight = null;
      });
    return this.inflight;
  }

  /** The preferred secret, then the other one if it was refused as invalid_client. */
  private async fetchToken(): Promise<CachedToken> {
    let last: TokenEndpointFailure | null = null;
    for (const i of this.preferred === 0 ? [0, 1] : [1, 0]) {
      const secret = this.secrets[i];
      if (secret === undefined || this.o.clock() < this.blockedUntil) break;
      const result = await this.request(secret);
      const which = i === 0 ? 'primary' : 'secondary';
      if (!('kind' in result)) {
        if (i !== this.preferred) this.log.warn({ event: 'token_secret_switched', secret: which }, 'ALEX client secret refused; switched to the other configured secret');
        this.preferred = i;
        return result;
      }
      last = result;
      if (result.kind !== 'invalid-client') break;
      this.log.error({ event: 'token_secret_refused', secret: which }, 'ALEX refused a configured client secret');
    }
    throw last?.error ?? this.throttledError(this.o.clock());
  }

  private async request(secret: string): Promise<CachedToken | TokenEndpointFailure> {
    this.requests++;
    const form = new URLSearchParams({ grant_type: 'client_credentials', client_id: this.o.clientId, client_secret: secret, scope: this.o.scope });
    const startedAt = this.o.clock();
    let res: AxiosResponse;
    try {
      res = await this.o.http.post(this.o.tokenUrl, form.toString(), {
        headers: { 'Content-Type': 'application/x-www-form-urlencoded', Accept: 'application/json' },
        timeout: this.o.timeoutMs,
        validateStatus: () => true,
        responseType: 'text',
        transformResponse: (d: unknown) => d,
      });
    } catch (err) {
      const e = err as { code?: string; message?: string };
      const kind = classifyNetworkError(e.code, e.message);
      this.log.warn({ event: 'token_request_failed', kind }, 'ALEX token request failed');
      return { kind: 'other', error: normaliseAlexNetworkError(kind, undefined, undefined) };
    }
    const answer = readTokenAnswer(res, startedAt, this.o.clock(), this.log);
    if ('blockUntil' in answer && answer.blockUntil !== undefined) this.blockedUntil = Math.max(this.blockedUntil, answer.blockUntil);
    return answer;
  }

  private throttledError(now: number): AppError {
    return new AppError('ERR_ALEX_THROTTLED', { retryAfterSeconds: Math.max(1, Math.ceil((this.blockedUntil - now) / 1000)), detail: 'token endpoint' });
  }
}

/** Lets one waiter give up without cancelling the shared promise for the others. */
function abortable<T>(p: Promise<T>, signal?: AbortSignal): Promise<T> {
  if (!signal) return p;
  if (signal.aborted) return Promise.reject(abortError());
  let onAbort = (): void => undefined;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(abortError());
    signal.addEventListener('abort', onAbort, { once: true });
  });
  return Promise.race([p, aborted]).finally(() => signal.removeEventListener('abort', onAbort));
}

export function abortError(): Error {
  const e = new Error('The call was cancelled.');
  e.name = 'AbortError';
  return e;
}
