/**
 * Redis store (REDIS_URL): shared state for several gateway processes behind a load balancer.
 * Every read-modify-write runs as one Lua script (atomic on the server); the launch replay cache is
 * SET NX PX. Times come from the caller's injected clock, not Redis's, so expiry is testable.
 */
import { Redis } from 'ioredis';
import type {
  AcquireResult,
  AuditQuery,
  AuditRecord,
  BucketSpec,
  CommitProgress,
  ConsumeCodeResult,
  DeviceRecord,
  EnrolmentCodeRecord,
  GatewayStore,
  GrantRecord,
  IdempotencyClaim,
  IdempotencyRecord,
  StoredResponse,
  TakeResult,
} from './types';

const REVOKE = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
if redis.call('HGET', KEYS[1], 'revokedAt') == '' then redis.call('HSET', KEYS[1], 'revokedAt', ARGV[1]) end
return 1`;

const CONSUME_CODE = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 'invalid' end
if redis.call('HGET', KEYS[1], 'usedAt') ~= '' then return 'used' end
if tonumber(redis.call('HGET', KEYS[1], 'expiresAt')) <= tonumber(ARGV[1]) then return 'expired' end
redis.call('HSET', KEYS[1], 'usedAt', ARGV[1], 'usedBy', ARGV[2])
return 'ok'`;

// KEYS[1] record; ARGV: fingerprint, deviceId, owner, now, leaseMs, meta, retentionMs
const ACQUIRE = `
local now = tonumber(ARGV[4])
if redis.call('EXISTS', KEYS[1]) == 0 then
  redis.call('HSET', KEYS[1], 'fp', ARGV[1], 'dev', ARGV[2], 'state', 'in-progress', 'owner', ARGV[3],
    'leaseExp', now + tonumber(ARGV[5]), 'attempts', 1, 'progress', '{}', 'response', '', 'meta', ARGV[6],
    'createdAt', now, 'updatedAt', now)
  redis.call('PEXPIRE', KEYS[1], ARGV[7])
  return 'acquired'
end
if redis.call('HGET', KEYS[1], 'fp') ~= ARGV[1] or cjson.decode(redis.call('HGET', KEYS[1], 'meta')).facilityId ~= cjson.decode(ARGV[6]).facilityId then return 'mismatch' end
if redis.call('HGET', KEYS[1], 'state') == 'completed' then return 'completed' end
if redis.call('HGET', KEYS[1], 'owner') ~= '' and tonumber(redis.call('HGET', KEYS[1], 'leaseExp')) > now then return 'in-progress' end
redis.call('HSET', KEYS[1], 'owner', ARGV[3], 'leaseExp', now + tonumber(ARGV[5]), 'updatedAt', now)
redis.call('HINCRBY', KEYS[1], 'attempts', 1)
redis.call('PEXPIRE', KEYS[1], ARGV[7])
return 'acquired'`;

// KEYS[1] record, KEYS[2] audit zset; ARGV: owner, mode ('progress'|'complete'|'release'), payload, leaseExp, now,
// progress ('' = keep), audit member ('' = none), audit score
const UPDATE = `
local own = redis.call('HGET', KEYS[1], 'owner') == ARGV[1] and redis.call('HGET', KEYS[1], 'state') == 'in-progress'
if ARGV[7] ~= '' and (own or ARGV[2] == 'release') then redis.call('ZADD', KEYS[2], ARGV[8], ARGV[7]) end
if not own then return 0 end
if ARGV[6] ~= '' then redis.call('HSET', KEYS[1], 'progress', ARGV[6]) end
if ARGV[2] == 'progress' then
  redis.call('HSET', KEYS[1], 'progress', ARGV[3], 'leaseExp', ARGV[4], 'updatedAt', ARGV[5])
elseif ARGV[2] == 'complete' then
  redis.call('HSET', KEYS[1], 'state', 'completed', 'response', ARGV[3], 'owner', '', 'leaseExp', 0, 'updatedAt', ARGV[5])
else
  redis.call('HSET', KEYS[1], 'owner', '', 'leaseExp', 0, 'updatedAt', ARGV[5])
end
return 1`;

// KEYS[1]; ARGV: capacity, refillPerSecond, cost, now → {allowed, retryAfterSeconds}
const TAKE = `
local cap = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local now = tonumber(ARGV[4])
local tokens = tonumber(redis.call('HGET', KEYS[1], 'tokens'))
local updated = tonumber(redis.call('HGET', KEYS[1], 'updatedAt'))
if tokens == nil then tokens = cap; updated = now end
local elapsed = math.max(0, now - updated) / 1000
tokens = math.min(cap, tokens + elapsed * rate)
local need = math.max(cost, 1)
local allowed = 0
local wait = 0
if tokens >= need then
  tokens = tokens - cost
  allowed = 1
else
  wait = math.max(1, math.ceil((need - tokens) / rate))
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'updatedAt', now)
redis.call('PEXPIRE', KEYS[1], 3600000)
return {allowed, wait}`;

/** A connection whose errors surface through the commands that fail (and /readyz); ioredis prints nothing. */
export function connectRedis(url: string): Redis {
  const redis = new Redis(url, { lazyConnect: false, maxRetriesPerRequest: 3, enableOfflineQueue: true });
  redis.on('error', () => undefined);
  return redis;
}

/** QUIT needs a live server; when Redis is gone, drop the connection instead of reconnecting forever. */
export async function closeRedis(redis: Redis): Promise<void> {
  if (redis.status === 'ready') await redis.quit().catch(() => redis.disconnect());
  else redis.disconnect();
}

interface IdemMeta {
  facilityId: string;
  patientId: string;
  patientNhi: string;
}

export interface RedisStoreOptions {
  /** Key prefix, so one Redis can hold several deployments (or tests). */
  prefix?: string;
  /** How long idempotency records live, ms. */
  idempotencyRetentionMs?: number;
}

export class RedisStore implements GatewayStore {
  readonly kind = 'redis' as const;
  private readonly redis: Redis;
  private readonly p: string;
  private readonly retentionMs: number;

  constructor(url: string, options: RedisStoreOptions = {}) {
    this.redis = connectRedis(url);
    this.p = options.prefix ?? 'cpi:';
    this.retentionMs = options.idempotencyRetentionMs ?? 30 * 24 * 3600 * 1000;
  }

  private k(...parts: string[]): string {
    return this.p + parts.join(':');
  }

  async putDevice(device: DeviceRecord): Promise<void> {
    const { revokedAt, ...rest } = device;
    await this.redis
      .multi()
      .hset(this.k('dev', device.deviceId), 'json', JSON.stringify(rest), 'revokedAt', revokedAt === null ? '' : String(revokedAt))
      .sadd(this.k('devices'), device.deviceId)
      .exec();
  }

  async getDevice(deviceId: string): Promise<DeviceRecord | null> {
    const [json, revokedAt] = await this.redis.hmget(this.k('dev', deviceId), 'json', 'revokedAt');
    if (json === null) return null;
    return { ...(JSON.parse(json) as Omit<DeviceRecord, 'revokedAt'>), revokedAt: revokedAt ? Number(revokedAt) : null };
  }

  async listDevices(): Promise<DeviceRecord[]> {
    const ids = await this.redis.smembers(this.k('devices'));
    const devices = await Promise.all(ids.map((id) => this.getDevice(id)));
    return devices.filter((d): d is DeviceRecord => d !== null).sort((a, b) => a.createdAt - b.createdAt);
  }

  async revokeDevice(deviceId: string, now: number): Promise<boolean> {
    return (await this.redis.eval(REVOKE, 1, this.k('dev', deviceId), String(now))) === 1;
  }

  async putEnrolmentCode(code: EnrolmentCodeRecord): Promise<void> {
    const key = this.k('code', code.codeHash);
    const ok = await this.redis
      .multi()
      .hsetnx(key, 'json', JSON.stringify(code))
      .hset(key, 'expiresAt', String(code.expiresAt), 'usedAt', '', 'usedBy', '')
      .pexpire(key, Math.max(1, code.expiresAt - code.createdAt) + 30 * 24 * 3600 * 1000)
      .exec();
    if (!ok || ok[0]?.[1] !== 1) throw new Error('enrolment code collision');
  }

  async consumeEnrolmentCode(codeHash: string, deviceId: string, now: number): Promise<ConsumeCodeResult> {
    const key = this.k('code', codeHash);
    const r = (await this.redis.eval(CONSUME_CODE, 1, key, String(now), deviceId)) as string;
    if (r !== 'ok') return { ok: false, reason: r as 'invalid' | 'used' | 'expired' };
    const json = await this.redis.hget(key, 'json');
    const code = JSON.parse(json ?? '{}') as EnrolmentCodeRecord;
    return { ok: true, code: { ...code, usedAt: now, usedByDeviceId: deviceId } };
  }

  async putGrant(grant: GrantRecord): Promise<void> {
    const ttl = Math.max(1000, grant.expiresAt - grant.issuedAt + 60_000);
    await this.redis.set(this.k('grant', grant.grantHash), JSON.stringify(grant), 'PX', ttl);
  }

  async getGrant(grantHash: string): Promise<GrantRecord | null> {
    const json = await this.redis.get(this.k('grant', grantHash));
    return json === null ? null : (JSON.parse(json) as GrantRecord);
  }

  async markLaunchUsed(launchHash: string, expiresAt: number, now: number): Promise<boolean> {
    const r = await this.redis.set(this.k('launch', launchHash), '1', 'PX', Math.max(1, expiresAt - now), 'NX');
    return r === 'OK';
  }

  async getIdempotency(key: string): Promise<IdempotencyRecord | null> {
    const h = await this.redis.hgetall(this.k('idem', key));
    if (h.fp === undefined) return null;
    const meta = JSON.parse(h.meta ?? '{}') as IdemMeta;
    return {
      key,
      fingerprint: h.fp,
      deviceId: h.dev ?? '',
      facilityId: meta.facilityId,
      patientId: meta.patientId,
      patientNhi: meta.patientNhi,
      state: h.state === 'completed' ? 'completed' : 'in-progress',
      leaseOwner: h.owner ? h.owner : null,
      leaseExpiresAt: Number(h.leaseExp ?? 0),
      attempts: Number(h.attempts ?? 0),
      progress: JSON.parse(h.progress ?? '{}') as CommitProgress,
      response: h.response ? (JSON.parse(h.response) as StoredResponse) : null,
      createdAt: Number(h.createdAt ?? 0),
      updatedAt: Number(h.updatedAt ?? 0),
    };
  }

  async acquireIdempotency(c: IdempotencyClaim): Promise<AcquireResult> {
    const meta: IdemMeta = { facilityId: c.facilityId, patientId: c.patientId, patientNhi: c.patientNhi };
    const args = [c.fingerprint, c.deviceId, c.leaseOwner, c.now, c.leaseMs, JSON.stringify(meta), this.retentionMs].map(String);
    const r = (await this.redis.eval(ACQUIRE, 1, this.k('idem', c.key), ...args)) as string;
    if (r === 'mismatch' || r === 'in-progress') return { kind: r };
    const record = await this.getIdempotency(c.key);
    if (!record) throw new Error('idempotency record vanished');
    return r === 'completed' ? { kind: 'completed', record } : { kind: 'acquired', record };
  }

  private async update(key: string, owner: string, mode: string, payload: string, leaseExp: number, now: number, progress?: CommitProgress, audit?: AuditRecord): Promise<boolean> {
    const args = [owner, mode, payload, leaseExp, now, progress ? JSON.stringify(progress) : '', audit ? JSON.stringify(audit) : '', audit?.at ?? 0].map(String);
    const r = await this.redis.eval(UPDATE, 2, this.k('idem', key), this.k('audit'), ...args);
    return r === 1;
  }

  saveProgress(key: string, leaseOwner: string, progress: CommitProgress, leaseExpiresAt: number, now: number): Promise<boolean> {
    return this.update(key, leaseOwner, 'progress', JSON.stringify(progress), leaseExpiresAt, now);
  }

  completeIdempotency(key: string, leaseOwner: string, response: StoredResponse, now: number, progress?: CommitProgress, audit?: AuditRecord): Promise<boolean> {
    return this.update(key, leaseOwner, 'complete', JSON.stringify(response), 0, now, progress, audit);
  }

  async releaseIdempotency(key: string, leaseOwner: string, now: number, progress?: CommitProgress, audit?: AuditRecord): Promise<void> {
    await this.update(key, leaseOwner, 'release', '', 0, now, progress, audit);
  }

  async appendAudit(record: AuditRecord): Promise<void> {
    await this.redis.zadd(this.k('audit'), record.at, JSON.stringify(record));
  }

  async listAudit(query: AuditQuery): Promise<AuditRecord[]> {
    const raw = await this.redis.zrangebyscore(this.k('audit'), query.since ?? '-inf', '+inf');
    let records = raw.map((s) => JSON.parse(s) as AuditRecord);
    if (query.deviceId !== undefined) records = records.filter((r) => r.deviceId === query.deviceId);
    const limit = query.limit ?? 100;
    return records.slice(Math.max(0, records.length - limit));
  }

  async takeToken(key: string, spec: BucketSpec, cost: number, now: number): Promise<TakeResult> {
    const args = [spec.capacity, spec.refillPerSecond, cost, now].map(String);
    const [allowed, wait] = (await this.redis.eval(TAKE, 1, this.k('bucket', key), ...args)) as [number, number];
    return { allowed: allowed === 1, retryAfterSeconds: wait };
  }

  async purgeExpired(): Promise<void> {
    // Redis expires grants, launch entries, idempotency records and buckets by TTL.
  }

  async ping(): Promise<boolean> {
    try {
      return (await this.redis.ping()) === 'PONG';
    } catch {
      return false;
    }
  }

  close(): Promise<void> {
    return closeRedis(this.redis);
  }
}
