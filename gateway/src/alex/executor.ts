/**
 * Runs one ALEX call: breaker permit, token, attempt, retry with backoff. A create is resent only when ALEX
 * certainly did not process it; otherwise ERR_ALEX_OUTCOME_UNKNOWN, proven later by ../commit/outcome.ts.
 */
import type { Logger } from 'pino';
import { AppError } from '../../../shared/errors';
import type { BreakerPermit, BreakerRegistry } from './breaker';
import { isHybridConnectionDown, normaliseAlexHttpError, normaliseAlexNetworkError, parseRetryAfter } from './errors';
import { abortError, type TokenProvider } from './token';
import type { AlexTransport, Attempt, Call, Method } from './transport';

export interface RetryOptions {
  /** Attempts per call, including the first (1..5). */
  maxAttempts: number;
  /** Attempt n waits random() × min(maxDelayMs, baseDelayMs × 2^(n-1)). */
  baseDelayMs: number;
  maxDelayMs: number;
  /** No retry that would end past this long after the call began (Retry-After included). */
  maxTotalMs: number;
}

export const DEFAULT_RETRY: RetryOptions = { maxAttempts: 5, baseDelayMs: 250, maxDelayMs: 8_000, maxTotalMs: 30_000 };

type Executed = Omit<Extract<Attempt, { type: 'answer' }>, 'type'>;

export interface ExecutorDeps {
  transport: AlexTransport;
  tokens: TokenProvider;
  breakers: BreakerRegistry;
  retry: RetryOptions;
  clock: () => number;
  random: () => number;
  sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  log: Logger;
}

/**
 * True only when ALEX certainly did not store a create: never connected, refused for the token (401),
 * throttled at the door (429), or the practice's Hybrid Connection has no listener (503 saying so).
 */
export function certainlyNotProcessed(a: Attempt): boolean {
  if (a.type === 'network') return a.kind === 'not-sent';
  return a.status === 429 || a.status === 401 || isHybridConnectionDown(a.status, a.data);
}

function retryableAnswer(status: number, method: Method): boolean {
  if (status === 429 || status === 502 || status === 503 || status === 504) return true;
  return method === 'POST' && status === 500;
}

function countsAsFailure(a: Attempt): boolean {
  return a.type === 'network' || a.status === 429 || a.status >= 500;
}

/** The create may have reached ALEX and nothing proves it was stored or not. */
export function outcomeUnknown(err: AppError): AppError {
  return new AppError('ERR_ALEX_OUTCOME_UNKNOWN', { correlationId: err.correlationId, retryAfterSeconds: err.retryAfterSeconds, detail: err.detail, cause: err });
}

export class AlexExecutor {
  breakerRejections = 0;

  constructor(private readonly d: ExecutorDeps) {}

  async execute(call: Call): Promise<Executed> {
    const policy = this.d.retry;
    const startedAt = this.d.clock();
    let attempt = 0;
    let forcedRefresh = false;
    for (;;) {
      if (call.ctx.signal?.aborted) throw abortError();
      const permit = this.permit(call);
      attempt++;
      const token = await this.token(call, permit, policy, attempt, startedAt);
      if (token === null) continue;
      const result = await this.attempt(call, token, permit);
      if (result.type === 'answer' && ((result.status >= 200 && result.status < 300) || call.accept?.includes(result.status))) {
        return { status: result.status, data: result.data, headers: result.headers };
      }
      if (result.type === 'answer' && result.status === 401 && !forcedRefresh) {
        // Stale token: drop it, fetch one new token, retry once. Not counted as a retry attempt.
        forcedRefresh = true;
        this.d.tokens.invalidate(token);
        attempt--;
        continue;
      }
      const wait = await this.afterFailure(call, result, policy, attempt, startedAt);
      await this.d.sleep(wait, call.ctx.signal);
    }
  }

  private permit(call: Call): BreakerPermit {
    const decision = this.d.breakers.for(call.ctx.facilityId).acquire();
    if (decision.ok) return decision.permit;
    this.breakerRejections++;
    const retryAfterSeconds = Math.ceil(decision.retryAfterMs / 1000);
    throw new AppError('ERR_ALEX_UNAVAILABLE', { correlationId: call.ctx.correlationId, retryAfterSeconds, detail: 'circuit open' });
  }

  /** The token, or null after waiting to try again (no request went out: safe for any method). */
  private async token(call: Call, permit: BreakerPermit, policy: RetryOptions, attempt: number, startedAt: number): Promise<string | null> {
    try {
      return await this.d.tokens.getToken(call.ctx.signal);
    } catch (caught) {
      permit.release();
      let err = caught;
      if (err instanceof AppError) {
        err = new AppError(err.code, { correlationId: call.ctx.correlationId, retryAfterSeconds: err.retryAfterSeconds, detail: err.detail });
      }
      if (!(err instanceof AppError) || !err.retryable || err.code === 'ERR_ALEX_AUTH') throw err;
      const wait = this.backoff(policy, attempt, startedAt, err.retryAfterSeconds);
      if (wait === null) throw err;
      await this.d.sleep(wait, call.ctx.signal);
      return null;
    }
  }

  private async attempt(call: Call, token: string, permit: BreakerPermit): Promise<Attempt> {
    let result: Attempt;
    try {
      result = await this.d.transport.send(call, token);
    } catch (err) {
      permit.release();
      throw err;
    }
    if (countsAsFailure(result)) permit.failure();
    else permit.success();
    return result;
  }

  /** Throws the failure, or returns how long to wait before the next attempt. */
  private afterFailure(call: Call, result: Attempt, policy: RetryOptions, attempt: number, startedAt: number): number {
    const err = this.toError(result, call.ctx.correlationId);
    const fields = { op: call.op, code: err.code, attempts: attempt, correlationId: call.ctx.correlationId, facilityId: call.ctx.facilityId };
    if (call.method === 'POST' && !certainlyNotProcessed(result) && (result.type === 'network' || retryableAnswer(result.status, 'POST'))) {
      // A byte may have reached ALEX: resending could store the image twice.
      this.d.log.warn({ event: 'alex_create_outcome_unknown', ...fields }, 'create interrupted; outcome unknown; not resent');
      throw outcomeUnknown(err);
    }
    const retryable = result.type === 'network' || retryableAnswer(result.status, call.method);
    if (!retryable) {
      this.d.log.warn({ event: 'alex_call_failed', status: result.type === 'answer' ? result.status : undefined, ...fields }, 'ALEX call failed');
      throw err;
    }
    const wait = this.backoff(policy, attempt, startedAt, err.retryAfterSeconds);
    if (wait === null) {
      this.d.log.warn({ event: 'alex_call_gave_up', ...fields }, 'ALEX call failed after retries');
      throw err;
    }
    this.d.log.info({ event: 'alex_call_retry', ...fields, waitMs: Math.round(wait) }, 'retrying ALEX call');
    return wait;
  }

  /** The wait before the next attempt, or null when the attempts or the time budget do not allow one. */
  private backoff(policy: RetryOptions, attempt: number, startedAt: number, retryAfterSeconds: number | undefined): number | null {
    if (attempt >= policy.maxAttempts) return null;
    const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
    const jittered = this.d.random() * ceiling;
    const wait = retryAfterSeconds !== undefined ? Math.max(retryAfterSeconds * 1000, jittered) : jittered;
    if (this.d.clock() - startedAt + wait > policy.maxTotalMs) return null;
    return wait;
  }

  private toError(a: Attempt, correlationId: string): AppError {
    if (a.type === 'network') return normaliseAlexNetworkError(a.kind, correlationId, a.cause);
    const retryAfterSeconds = parseRetryAfter(a.headers['retry-after'], this.d.clock());
    return normaliseAlexHttpError({ status: a.status, body: a.data, retryAfterSeconds, correlationId });
  }
}
