import type { BucketSpec, TakeResult } from './types';

export interface BucketState {
  tokens: number;
  updatedAt: number;
}

/**
 * One token-bucket step: refill for the time passed, then take `cost` tokens if there are enough
 * (cost 0 only looks: allowed when at least one token is there). Pure, shared by the stores.
 */
export function bucketStep(state: BucketState | null, spec: BucketSpec, cost: number, now: number): { state: BucketState; result: TakeResult } {
  const prev = state ?? { tokens: spec.capacity, updatedAt: now };
  const elapsed = Math.max(0, now - prev.updatedAt) / 1000;
  const tokens = Math.min(spec.capacity, prev.tokens + elapsed * spec.refillPerSecond);
  const need = Math.max(cost, 1);
  if (tokens >= need) {
    return { state: { tokens: tokens - cost, updatedAt: now }, result: { allowed: true, retryAfterSeconds: 0 } };
  }
  const wait = Math.max(1, Math.ceil((need - tokens) / spec.refillPerSecond));
  return { state: { tokens, updatedAt: now }, result: { allowed: false, retryAfterSeconds: wait } };
}
