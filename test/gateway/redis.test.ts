/**
 * Idempotency with the Redis store, against a real redis-server started here: two gateway instances
 * (separate Redis connections, separate ALEX clients) share state, so a commit is created once however
 * the requests are spread over them.
 */
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CommitResponse, EnrolResponse, LaunchGrant } from '../../shared/contracts/gateway';
import { RedisStore } from '../../gateway/src/store/redis';
import { startHarness, type Harness } from './helpers/harness';
import { startRedisServer, type RedisServerHandle } from './helpers/redis-server';
import { startSecondGateway, type SecondGateway } from './helpers/second-gateway';

let redis: RedisServerHandle;
let h: Harness;
let second: FastifyInstance;
let gatewayB: SecondGateway;
let device: EnrolResponse;
let grant: LaunchGrant;

beforeAll(async () => {
  redis = await startRedisServer();
  h = await startHarness({ store: new RedisStore(redis.url, { prefix: 'gw:' }) });
  gatewayB = startSecondGateway(h, new RedisStore(redis.url, { prefix: 'gw:' }));
  second = gatewayB.app;
  device = await h.enrol();
  grant = await h.launch(device);
});
afterAll(async () => {
  await gatewayB?.close();
  await h?.close();
  await redis?.kill();
});

const commitOn = (app: FastifyInstance, body: { imageId: string }) =>
  app.inject({ method: 'POST', url: '/v1/commits', headers: { authorization: h.auth(device), 'idempotency-key': body.imageId }, payload: body });

describe('Redis-backed idempotency across two gateways', () => {
  it('a device enrolled on one gateway is known to the other', async () => {
    const me = await second.inject({ method: 'GET', url: '/v1/devices/me', headers: { authorization: h.auth(device) } });
    expect(me.statusCode).toBe(200);
  });

  it('20 concurrent first requests over both gateways: one create, the rest 409', async () => {
    const body = h.commitBody(grant, { media: true, document: true });
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => commitOn(i % 2 ? second : h.app, body)));
    const statuses = results.map((r) => r.statusCode);
    expect(statuses.filter((s) => s === 201)).toHaveLength(1);
    expect(statuses.filter((s) => s === 409)).toHaveLength(19);
    expect(h.sandbox.store.listMedia({ identifierValue: body.imageId })).toHaveLength(1);
    expect(h.sandbox.store.listDocumentReferences({ identifierValue: body.imageId })).toHaveLength(1);
  });

  it('100 serial and 20 concurrent replays over both: still one create, one commit audit record', async () => {
    const body = h.commitBody(grant, { media: true });
    const first = await commitOn(h.app, body);
    expect(first.statusCode).toBe(201);
    for (let i = 0; i < 100; i++) {
      const r = await commitOn(i % 2 ? second : h.app, body);
      expect(r.json<CommitResponse>()).toMatchObject({ replayed: true, media: first.json<CommitResponse>().media });
    }
    const concurrent = await Promise.all(Array.from({ length: 20 }, (_, i) => commitOn(i % 2 ? second : h.app, body)));
    expect(concurrent.every((r) => r.statusCode === 201 && r.json<CommitResponse>().replayed)).toBe(true);
    expect(h.sandbox.store.listMedia({ identifierValue: body.imageId })).toHaveLength(1);
    const audit = (await h.store.listAudit({ limit: 100_000 })).filter((a) => a.imageId === body.imageId);
    expect(audit.filter((a) => a.action === 'commit')).toHaveLength(1);
    expect(audit.filter((a) => a.action === 'commit.replay')).toHaveLength(120);
  });

  it('a different payload under the same key is 422 on either gateway', async () => {
    const body = h.commitBody(grant, { media: true });
    expect((await commitOn(second, body)).statusCode).toBe(201);
    const r = await commitOn(h.app, { ...body, metadata: { caption: 'changed' } } as typeof body);
    expect(r.statusCode).toBe(422);
    expect(h.sandbox.store.listMedia({ identifierValue: body.imageId })).toHaveLength(1);
  });

  it('a launch pair redeemed on one gateway is refused on the other', async () => {
    const pair = h.sandbox.issueLaunch({ patientId: h.patient().id, facilityCode: device.facilityId });
    const a = await h.app.inject({ method: 'POST', url: '/v1/launch/verify', headers: { authorization: h.auth(device) }, payload: pair });
    const b = await second.inject({ method: 'POST', url: '/v1/launch/verify', headers: { authorization: h.auth(device) }, payload: pair });
    expect([a.statusCode, b.statusCode]).toEqual([200, 409]);
  });

  it('when Redis goes away: not ready, and a commit fails retryably with nothing sent to ALEX', async () => {
    const body = h.commitBody(grant, { media: true });
    const before = h.sandbox.store.counters.mediaCreateCalls;
    await redis.kill();
    const ready = await h.app.inject({ method: 'GET', url: '/readyz' });
    expect(ready.statusCode).toBe(503);
    expect(ready.json<{ checks: { store: { ok: boolean } } }>().checks.store.ok).toBe(false);
    const r = await commitOn(h.app, body);
    expect(r.statusCode).toBe(500);
    expect(r.json<{ error: { code: string; retryable: boolean } }>().error).toMatchObject({ code: 'ERR_INTERNAL', retryable: true });
    expect(h.sandbox.store.counters.mediaCreateCalls).toBe(before);
  });
});
