/**
 * The DPoP replay cache: each proof's jti is accepted once while the proof could still pass the freshness
 * check. In memory for one process (the embedded store's deployment), in Redis when REDIS_URL is set.
 */
import type { GatewayConfig } from '../config';
import { RedisProofReplayCache } from './replay-redis';

export interface ProofReplayCache {
  readonly kind: 'memory' | 'redis';
  /** true the first time `key` is seen before `expiresAt`, false on a replay; atomic across every gateway sharing the cache. */
  markUsed(key: string, expiresAt: number, now: number): Promise<boolean>;
  close(): Promise<void>;
}

/** One process. Expired entries are swept at most every `sweepEveryMs` of clock time: memory is bounded by the proof rate × ~2 min. */
export class MemoryProofReplayCache implements ProofReplayCache {
  readonly kind = 'memory' as const;
  private readonly seen = new Map<string, number>();
  private nextSweep = 0;

  constructor(private readonly sweepEveryMs = 10_000) {}

  async markUsed(key: string, expiresAt: number, now: number): Promise<boolean> {
    if (now >= this.nextSweep) {
      for (const [k, exp] of this.seen) if (exp <= now) this.seen.delete(k);
      this.nextSweep = now + this.sweepEveryMs;
    }
    const exp = this.seen.get(key);
    if (exp !== undefined && exp > now) return false;
    this.seen.set(key, expiresAt);
    return true;
  }

  /** Entries held (tests). */
  get size(): number {
    return this.seen.size;
  }

  async close(): Promise<void> {
    this.seen.clear();
  }
}

export function openProofReplayCache(config: Pick<GatewayConfig, 'redisUrl'>): ProofReplayCache {
  return config.redisUrl !== null ? new RedisProofReplayCache(config.redisUrl) : new MemoryProofReplayCache();
}
