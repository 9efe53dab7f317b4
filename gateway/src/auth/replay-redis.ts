/**
 * The DPoP replay cache in Redis: `SET <prefix>dpop:<key> 1 NX PX <ttl>` is atomic on the server, so a proof
 * is accepted by exactly one process. The TTL comes from the injected clock (expiresAt − now).
 */
import type { Redis } from 'ioredis';
import { closeRedis, connectRedis } from '../store/redis';
import type { ProofReplayCache } from './replay';

export class RedisProofReplayCache implements ProofReplayCache {
  readonly kind = 'redis' as const;
  private readonly redis: Redis;
  private readonly prefix: string;

  /** `prefix` as for RedisStore, so one Redis can hold several deployments or tests. */
  constructor(url: string, options: { prefix?: string } = {}) {
    this.redis = connectRedis(url);
    this.prefix = `${options.prefix ?? 'cpi:'}dpop:`;
  }

  async markUsed(key: string, expiresAt: number, now: number): Promise<boolean> {
    const r = await this.redis.set(this.prefix + key, '1', 'PX', Math.max(1, expiresAt - now), 'NX');
    return r === 'OK';
  }

  close(): Promise<void> {
    return closeRedis(this.redis);
  }
}
