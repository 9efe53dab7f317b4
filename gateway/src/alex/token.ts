/**
 * OAuth 2.0 client-credentials token provider for ALEX (Azure AD in production, the sandbox here).
 *
 * - One cached token, one token request per lifetime whatever the lifetime (ALEX issues 3599 s today;
 *   a 60 s token costs one request a minute, not one per call): refreshed ~5 min before expiry and never
 *   later than 80% of its lifetime; a lifetime too short for a 5 min lead is refreshed at 80%. The
 *   refresh runs in the background while the old token is still good, so no call waits for it. A token
 *   is not used within min(60 s, 10% of its lifetime) of its expiry (`tokenTiming`).
 * - Single-flight: however many calls wait, one token request is made.
 * - A 429 from the token endpoint blocks every token request until Retry-After has passed; callers get
 *   ERR_ALEX_THROTTLED meanwhile (or the cached token while it is still valid).
 * - Secret rotation: when the primary secret is refused (`invalid_client`), the secondary is tried and,
 *   if it works, preferred from then on.
 * - `invalidate(token)` drops the token after ALEX answered 401, so the next call fetches a new one.
 * The secret and tokens are never logged or put into an error.
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
  /** Refresh this long before expiry (default 5 min)… */
  refreshBeforeExpiryMs?: number;
  /** …and never later than this share of the lifetime (default 0.8). */
  maxLifetimeShare?: number;
  /** A token closer than this to expiry (at most 10% of its lifetime) is never used (default 60 s). */
  minRemainingMs?: number;
  /** Wait this long after a 429 without Retry-After (default 60 s). */
  defaultThrottleMs?: number;
}

interface CachedToken {
  value: string;
  obtainedAt: number;
  expiresAt: number;
  refreshAt: number;
  /** Not used from here on: too close to expiry. */
  staleAt: number;
}

/**
 * When a token obtained at `obtainedAt` for `lifetimeMs` is refreshed and stops being used. The refresh
 * comes at `min(lifetime − lead, share × lifetime)`, unless that is before half the lifetime (a lifetime
 * not much longer than the lead), then at `share × lifetime`: one request per lifetime either way. It
 * stops being used `min(minRemainingMs, 10% of the lifetime)` before expiry, after the refresh point.
 */
export function tokenTiming(obtainedAt: number, lifetimeMs: number, leadMs: number, share: number, minRemainingMs: number): { refreshAt: number; staleAt: number } {
  const byLead = lifetimeMs - leadMs;
  const byShare = lifetimeMs * share;
  const refreshIn = byLead >= lifetimeMs / 2 ? Math.min(byLead, byShare) : byShare;
  const staleIn = lifetimeMs - Math.min(minRemainingMs, lifetimeMs * 0.1);
  return { refreshAt: obtainedAt + refreshIn, staleAt: obtainedAt + Math.max(refreshIn, staleIn) };
}

export interface TokenStats {
  /** Token endpoint requests made. */
  requests: number;
  /** Requests refused locally because of a 429 Retry-After. */
  throttledLocally: number;
}

export interface TokenProvider {
  /** A token valid for at least `minRemainingMs`. Throws AppError (ERR_ALEX_*) when none can be had. */
  getToken(signal?: AbortSignal): Promise<string>;
  /** Drops `token` if it is the cached one (after ALEX answered 401 with it). */
  invalidate(token: string): void;
  /** True when a usable token is cached. */
  hasUsableToken(): boolean;
  /** When the token endpoint may be asked again (ms since epoch), or 0. */
  blockedUntil(): number;
  stats(): TokenStats;
}

interface TokenEndpointFailure {
  kind: 'invalid-client' | 'other';
  error: AppError;
}

export function createTokenProvider(o: TokenProviderOptions): TokenProvider {
  const refreshBeforeExpiryMs = o.refreshBeforeExpiryMs ?? 5 * 60_000;
  const maxLifetimeShare = o.maxLifetimeShare ?? 0.8;
  const minRemainingMs = o.minRemainingMs ?? 60_000;
  const defaultThrottleMs = o.defaultThrottleMs ?? 60_000;
  const secrets = [o.clientSecret, ...(o.secondaryClientSecret ? [o.secondaryClientSecret] : [])];
  let preferred = 0;
  let cached: CachedToken | null = null;
  let inflight: Promise<CachedToken> | null = null;
  let blockedUntil = 0;
  const stats: TokenStats = { requests: 0, throttledLocally: 0 };
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
      const timing = tokenTiming(obtainedAt, lifetimeMs, refreshBeforeExpiryMs, maxLifetimeShare, minRemainingMs);
      log.info({ event: 'token_obtained', lifetimeS: expiresIn }, 'ALEX token obtained');
      return { value: token, obtainedAt, expiresAt: obtainedAt + lifetimeMs, ...timing };
    }
    if (res.status === 429) {
      const retryAfterS = parseRetryAfter(res.headers['retry-after'], now);
      const waitMs = retryAfterS !== undefined ? retryAfterS * 1000 : defaultThrottleMs;
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
        stats.throttledLocally++;
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
    hasUsableToken(): boolean {
      return usable(cached, o.clock());
    },
    blockedUntil: () => blockedUntil,
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
