/**
 * The DPoP replay cache in Redis: `SET <prefix>dpop:<key> 1 NX PX <ttl>` is atomic on the server, so a proof
 * is accepted by exactly one process. The TTL comes from the injected clock (expiresAt − now).
 */
import { Redis } from 'ioredis';
import type { ProofReplayCache } from './replay';

export class RedisProofReplayCache implements ProofReplayCache {
  readonly kind = 'redis' as const;
  private readonly redis: Redis;
  private readonly prefix: string;

  /** `prefix` as for RedisStore, so one Redis can hold several deployments or tests. */
  constructor(url: string, options: { prefix?: string } = {}) {
    this.redis = new Redis(url, { lazyConnect: false, maxRetriesPerRequest: 3, enableOfflineQueue: true });
    // Connection errors surface through the commands that fail; keep ioredis from printing.
    this.redis.on('error', () => undefined);
    this.prefix = `${options.prefix ?? 'cpi:'}dpop:`;
  }

  async markUsed(key: string, expiresAt: number, now: number): Promise<boolean> {
    const r = await this.redis.set(this.prefix + key, '1', 'PX', Math.max(1, expiresAt - now), 'NX');
    return r === 'OK';
  }

  async close(): Promise<void> {
    // QUIT needs a live server; when Redis is gone, drop the connection instead of reconnecting forever.
    if (this.redis.status === 'ready') await this.redis.quit().catch(() => this.redis.disconnect());
    else this.redis.disconnect();
  }
}
