import { join, resolve } from 'node:path';
import type { GatewayConfig } from '../config';
import { RedisStore } from './redis';
import { SqliteStore } from './sqlite';
import type { GatewayStore } from './types';

/** REDIS_URL set → Redis; otherwise the embedded SQLite file in GATEWAY_DATA_DIR. */
export function openStore(config: Pick<GatewayConfig, 'dataDir' | 'redisUrl' | 'idempotencyRetentionDays'>): GatewayStore {
  if (config.redisUrl !== null) {
    return new RedisStore(config.redisUrl, { idempotencyRetentionMs: config.idempotencyRetentionDays * 24 * 3600 * 1000 });
  }
  return new SqliteStore(join(resolve(config.dataDir), 'gateway.sqlite'));
}
