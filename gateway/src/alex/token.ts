/**
 * OAuth 2.0 client-credentials token provider for ALEX: cache, single flight, background refresh, a 429
 * blocking every request until Retry-After, secret rotation (rules: ./README.md "Token"). The secret and
 * tokens are never logged or put into an error.
 */
import type { AxiosInstance } from 'axios';
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
  /** Token endpoint requests made. */
  requests: number;
}

export interface TokenProvider {
  /** A token not yet stale. Throws AppError (ERR_ALEX_*) when none can be had. */
  getToken(signal?: AbortSignal): Promise<string>;
  /** Drops `token` if it is the cached one (after ALEX answered 401 with it). */
  invalidate(token: string): void;
  stats(): TokenStats;
}

interface TokenEndpointFailure {
  kind: 'invalid-client' | 'other';
  error: AppError;
}

export function createTokenProvider(o: TokenProviderOptions): TokenProvider {
  const secrets = [o.clientSecret, ...(o.secondaryClientSecret ? [o.secondaryClientSecret] : [])];
  let preferred = 0;
  let cached: CachedToken | null = null;
  let inflight: Promise<CachedToken> | null = null;
  let blockedUntil = 0;
  const stats: TokenStats = { requests: 0 };
  const log = o.logger.child({ component: 'alex-token' });

  const usable = (t: CachedToken | null, now: number): t is CachedToken => t !== null && now < t.staleAt;

  async function requestOnce(secret: string): Promise<CachedToken | TokenEndpointFailure> {
    stats.requests++;
    const form = new URLSearchParams({ grant_type: 'client_credentials', client_id: o.clientId, client_secret: secret, scope: o.scope });
    const startedAt = o.clock();
    let res;
    try {
      res = await o.http.post(o.tokenUrl, form.toString(), {
        headers: { 'Content-Type': 'application/x-www-form-urlencoded', Accept: 'application/json' },
        timeout: o.timeoutMs,
        validateStatus: () => true,
        responseType: 'text',
        transformResponse: (d: unknown) => d,
      });
    } catch (err) {
      const e = err as { code?: string; message?: string };
      const kind = classifyNetworkError(e.code, e.message);
      log.warn({ event: 'token_request_failed', kind }, 'ALEX token request failed');
      return { kind: 'other', error: normaliseAlexNetworkError(kind, undefined, undefined) };
    }
    const now = o.clock();
    if (res.status === 200) {
      let body: Record<string, unknown> = {};
      try {
        body = JSON.parse(String(res.data)) as Record<string, unknown>;
      } catch {
        /* handled below */
      }
      const token = body.access_token;
      const expiresIn = Number(body.expires_in);
      if (typeof token !== 'string' || token.length === 0 || !Number.isFinite(expiresIn) || expiresIn <= 0) {
        log.error({ event: 'token_response_invalid' }, 'ALEX token endpoint answered without a usable token');
        return { kind: 'other', error: new AppError('ERR_ALEX_AUTH', { detail: 'token response unreadable' }) };
      }
      const lifetimeMs = expiresIn * 1000;
      // Count the lifetime from when we asked: the token may have been minted as soon as the request arrived.
      const obtainedAt = Math.min(startedAt, now);
      log.info({ event: 'token_obtained', lifetimeS: expiresIn }, 'ALEX token obtained');
      return { value: token, ...tokenTiming(obtainedAt, lifetimeMs) };
    }
    if (res.status === 429) {
      const retryAfterS = parseRetryAfter(res.headers['retry-after'], now);
      const waitMs = retryAfterS !== undefined ? retryAfterS * 1000 : DEFAULT_THROTTLE_MS;
      blockedUntil = Math.max(blockedUntil, now + waitMs);
      log.warn({ event: 'token_throttled', retryAfterS: Math.ceil(waitMs / 1000) }, 'ALEX token endpoint throttled us');
      return { kind: 'other', error: new AppError('ERR_ALEX_THROTTLED', { retryAfterSeconds: Math.ceil(waitMs / 1000), detail: 'token endpoint' }) };
    }
    const parsed = parseAlexErrorBody(res.data);
    if ((res.status === 400 || res.status === 401) && parsed.text.includes('invalid_client')) {
      return { kind: 'invalid-client', error: new AppError('ERR_ALEX_AUTH', { detail: 'client credentials refused' }) };
    }
    log.warn({ event: 'token_request_refused', status: res.status }, 'ALEX token endpoint refused');
    if (res.status >= 500) return { kind: 'other', error: new AppError(res.status === 503 ? 'ERR_ALEX_UNAVAILABLE' : 'ERR_ALEX_ERROR', { detail: `token endpoint ${res.status}` }) };
    return { kind: 'other', error: new AppError('ERR_ALEX_AUTH', { detail: `token endpoint ${res.status}` }) };
  }

  async function fetchToken(): Promise<CachedToken> {
    // Try the preferred secret, then the other one if it was refused as invalid_client.
    const order = secrets.map((_, i) => (preferred + i) % secrets.length);
    let last: TokenEndpointFailure | null = null;
    for (const i of order) {
      if (o.clock() < blockedUntil) break;
      const secret = secrets[i];
      if (secret === undefined) continue;
      const result = await requestOnce(secret);
      if (!('kind' in result)) {
        if (i !== preferred) {
          log.warn({ event: 'token_secret_switched', secret: i === 0 ? 'primary' : 'secondary' }, 'ALEX client secret refused; switched to the other configured secret');
          preferred = i;
        }
        return result;
      }
      last = result;
      if (result.kind !== 'invalid-client') break;
      log.error({ event: 'token_secret_refused', secret: i === 0 ? 'primary' : 'secondary' }, 'ALEX refused a configured client secret');
    }
    throw last?.error ?? throttledError(o.clock());
  }

  function throttledError(now: number): AppError {
    return new AppError('ERR_ALEX_THROTTLED', { retryAfterSeconds: Math.max(1, Math.ceil((blockedUntil - now) / 1000)), detail: 'token endpoint' });
  }

  function refresh(): Promise<CachedToken> {
    if (!inflight) {
      inflight = fetchToken()
        .then((t) => {
          cached = t;
          return t;
        })
        .finally(() => {
          inflight = null;
        });
    }
    return inflight;
  }

  return {
    async getToken(signal?: AbortSignal): Promise<string> {
      const now = o.clock();
      if (usable(cached, now)) {
        // Due for refresh but still good: refresh in the background (single flight), answer at once.
        // A failed background refresh is logged where it happens; the next call tries again.
        if (now >= cached.refreshAt && now >= blockedUntil) void refresh().catch(() => undefined);
        return cached.value;
      }
      if (now < blockedUntil) {
        // Throttled and no usable token: fail fast without asking.
        throw throttledError(now);
      }
      const t = await abortable(refresh(), signal);
      return t.value;
    },
    invalidate(token: string): void {
      if (cached?.value === token) {
        cached = null;
        log.info({ event: 'token_dropped' }, 'ALEX token dropped after 401');
      }
    },
    stats: () => ({ ...stats }),
  };
}

/** Lets one waiter give up without cancelling the shared promise for the others. */
function abortable<T>(p: Promise<T>, signal?: AbortSignal): Promise<T> {
  if (!signal) return p;
  if (signal.aborted) return Promise.reject(abortError());
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(abortError());
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e instanceof Error ? e : new Error(String(e)));
      },
    );
  });
}

export function abortError(): Error {
  const e = new Error('The call was cancelled.');
  e.name = 'AbortError';
  return e;
}
