/** Exponential backoff with jitter for outbox retries. Pure: the caller supplies attempt count and randomness. */
export interface BackoffPolicy {
  /** Delay before the 1st retry, before jitter. Default 2 s. */
  baseMs: number;
  /** Upper bound of any delay. Default 5 min. */
  maxMs: number;
}

export const defaultBackoff: BackoffPolicy = { baseMs: 2_000, maxMs: 5 * 60_000 };

/**
 * Delay before retry number `attempt` (1 = first retry): "equal jitter" — half the exponential step fixed,
 * half random — so retries after an outage spread out but never come back immediately. A server's
 * Retry-After is a floor (still capped by maxMs).
 */
export function backoffDelayMs(attempt: number, random: () => number, policy: BackoffPolicy = defaultBackoff, retryAfterSeconds?: number): number {
  const step = Math.min(policy.maxMs, policy.baseMs * 2 ** Math.max(0, Math.min(attempt - 1, 30)));
  const r = Math.min(Math.max(random(), 0), 1);
  const jittered = step / 2 + r * (step / 2);
  const floor = retryAfterSeconds !== undefined ? Math.min(policy.maxMs, retryAfterSeconds * 1000) : 0;
  return Math.round(Math.max(jittered, floor));
}
