/**
 * G6 across processes: two gateways behind one public address share a real redis-server (store and
 * DPoP replay cache, `SET NX PX`), so a proof accepted by one is a replay on the other, and of
 * concurrent copies spread over both exactly one gets through.
 */
import type { FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openProofReplayCache } from '../../gateway/src/auth/replay';
import { RedisProofReplayCache } from '../../gateway/src/auth/replay-redis';
import { RedisStore } from '../../gateway/src/store/redis';
import { startHarness, type Harness } from './helpers/harness';
import { enrolWithKey, httpRequest, listenOnLoopback, proofFor, type KeyedDevice } from './helpers/dpop';
import { startRedisServer, type RedisServerHandle } from './helpers/redis-server';
import { startSecondGateway, type SecondGateway } from './helpers/second-gateway';

const PUBLIC = 'https://gateway.example.org';
const ME = '/v1/devices/me';
const PREFIX = 'gw-dpop:';

let redis: RedisServerHandle;
let h: Harness;
let baseA: string;
let baseB: string;
let second: FastifyInstance;
let gatewayB: SecondGateway;
let secondCache: RedisProofReplayCache;
let device: KeyedDevice;

beforeAll(async () => {
  redis = await startRedisServer();
  h = await startHarness({
    store: new RedisStore(redis.url, { prefix: PREFIX }),
    proofReplayCache: new RedisProofReplayCache(redis.url, { prefix: PREFIX }),
    env: { GATEWAY_PUBLIC_URL: PUBLIC, RATE_LIMIT_AUTH_FAILURES_PER_MINUTE: '100000' },
  });
  baseA = await listenOnLoopback(h.app);
  secondCache = new RedisProofReplayCache(redis.url, { prefix: PREFIX });
  gatewayB = startSecondGateway(h, new RedisStore(redis.url, { prefix: PREFIX }), secondCache);
  second = gatewayB.app;
  baseB = await listenOnLoopback(second);
  device = await enrolWithKey(h, baseA);
});
afterAll(async () => {
  await gatewayB?.close();
  await h?.close();
  await redis?.kill();
});

const me = (base: string, proof: string) => httpRequest(base, 'GET', ME, { authorization: h.auth(device), dpop: proof });
const proof = () => proofFor(h, device.key, 'GET', `${PUBLIC}${ME}`);

describe('DPoP replay cache in Redis, shared by two gateways', () => {
  it('the runtime picks Redis when REDIS_URL is set, memory otherwise', async () => {
    const fromUrl = openProofReplayCache({ redisUrl: redis.url });
    expect(fromUrl.kind).toBe('redis');
    await fromUrl.close();
    expect(openProofReplayCache({ redisUrl: null }).kind).toBe('memory');
    expect(h.runtime.proofReplayCache.kind).toBe('redis');
  });

  it('a proof accepted by one gateway is refused as a replay by the other, both ways', async () => {
    const p = proof();
    expect((await me(baseA, p)).status).toBe(200);
    const replay = await me(baseB, p);
    expect([replay.status, replay.code]).toEqual([401, 'ERR_AUTH_PROOF_REPLAYED']);
    const q = proof();
    expect((await me(baseB, q)).status).toBe(200);
    expect((await me(baseA, q)).code).toBe('ERR_AUTH_PROOF_REPLAYED');
  });

  it('20 concurrent copies of one proof over both gateways: exactly one accepted', async () => {
    const p = proof();
    const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => me(i % 2 ? baseB : baseA, p)));
    expect(answers.filter((r) => r.status === 200)).toHaveLength(1);
    expect(answers.filter((r) => r.code === 'ERR_AUTH_PROOF_REPLAYED')).toHaveLength(19);
  });

  it('keeps each jti only for the proof lifetime (a TTL just over 2 minutes)', async () => {
    const key = `ttl-check-${Date.now()}`;
    const now = h.clock.now();
    expect(await secondCache.markUsed(key, now + 121_000, now)).toBe(true);
    expect(await secondCache.markUsed(key, now + 121_000, now)).toBe(false);
    const client = new Redis(redis.url);
    const ttl = await client.pttl(`${PREFIX}dpop:${key}`);
    await client.quit();
    expect(ttl).toBeGreaterThan(110_000);
    expect(ttl).toBeLessThanOrEqual(121_000);
  });
});
