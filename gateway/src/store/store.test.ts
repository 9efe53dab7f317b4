/**
 * One behavioural suite, run against every store: SQLite in memory, a SQLite file (WAL, synchronous=FULL)
 * and a real redis-server started here on loopback. The file's own write guarantees (settled means
 * readable by another connection, close, the process ending by itself) are in sqlite.test.ts.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedisServer, type RedisServerHandle } from '../../../test/gateway/helpers/redis-server';
import { RedisStore } from './redis';
import { device, T0 } from './records.testkit';
import { SqliteStore } from './sqlite';
import type { GatewayStore, GrantRecord, IdempotencyClaim } from './types';



const claim = (over: Partial<IdempotencyClaim> = {}): IdempotencyClaim => ({
  key: 'img-1',
  fingerprint: 'fp-1',
  deviceId: 'dev_a',
  facilityId: 'F2N060-E',
  patientId: 'p1',
  patientNhi: 'ZZZ0016',
  leaseOwner: 'owner-1',
  leaseMs: 60_000,
  now: T0,
  ...over,
});

let redis: RedisServerHandle;
let dir: string;
let prefixSeq = 0;

beforeAll(async () => {
  redis = await startRedisServer();
  dir = mkdtempSync(join(tmpdir(), 'gw-store-'));
});
afterAll(async () => {
  await redis.kill();
  rmSync(dir, { recursive: true, force: true });
});

const factories: [string, () => GatewayStore][] = [
  ['sqlite in memory', () => new SqliteStore(':memory:')],
  ['sqlite file', () => new SqliteStore(join(dir, `s${++prefixSeq}`, 'gateway.sqlite'))],
  ['redis', () => new RedisStore(redis.url, { prefix: `t${++prefixSeq}:` })],
];

describe.each(factories)('%s store', (_name, make) => {
  const withStore = async (fn: (s: GatewayStore) => Promise<void>): Promise<void> => {
    const s = make();
    try {
      await fn(s);
    } finally {
      await s.close();
    }
  };

  it('keeps devices and revokes them once', () =>
    withStore(async (s) => {
      await s.putDevice(device('dev_a'));
      await s.putDevice(device('dev_b', T0 + 1));
      expect((await s.getDevice('dev_a'))?.facilityId).toBe('F2N060-E');
      expect(await s.getDevice('dev_zz')).toBeNull();
      expect((await s.listDevices()).map((d) => d.deviceId)).toEqual(['dev_a', 'dev_b']);
      expect(await s.revokeDevice('dev_a', T0 + 5)).toBe(true);
      expect(await s.revokeDevice('dev_a', T0 + 9)).toBe(true);
      expect((await s.getDevice('dev_a'))?.revokedAt).toBe(T0 + 5);
      expect(await s.revokeDevice('dev_nope', T0)).toBe(false);
    }));

  it('lets an enrolment code be used exactly once, and not after expiry', () =>
    withStore(async (s) => {
      const base = { facilityId: 'F2N060-E', practiceName: 'P', createdAt: T0, usedAt: null, usedByDeviceId: null };
      await s.putEnrolmentCode({ ...base, codeHash: 'c1', expiresAt: T0 + 1000 });
      await s.putEnrolmentCode({ ...base, codeHash: 'c2', expiresAt: T0 + 1000 });
      const results = await Promise.all(Array.from({ length: 10 }, (_, i) => s.consumeEnrolmentCode('c1', `dev_${i}`, T0 + 1)));
      expect(results.filter((r) => r.ok)).toHaveLength(1);
      expect(results.filter((r) => !r.ok && r.reason === 'used')).toHaveLength(9);
      expect(await s.consumeEnrolmentCode('c2', 'dev_x', T0 + 1000)).toEqual({ ok: false, reason: 'expired' });
      expect(await s.consumeEnrolmentCode('nope', 'dev_x', T0)).toEqual({ ok: false, reason: 'invalid' });
    }));

  it('stores grants and answers the launch replay cache once per TTL', () =>
    withStore(async (s) => {
      const grant: GrantRecord = {
        grantHash: 'g1',
        deviceId: 'dev_a',
        facilityId: 'F2N060-E',
        patient: { id: 'p1', nhi: 'ZZZ0016', familyName: 'F', givenName: 'G', birthDate: '1980-01-01', sex: 'female' },
        providerId: null,
        issuedAt: T0,
        expiresAt: T0 + 60_000,
        requiresConfirmation: false,
      };
      await s.putGrant(grant);
      expect(await s.getGrant('g1')).toEqual(grant);
      expect(await s.getGrant('g2')).toBeNull();
      const firsts = await Promise.all(Array.from({ length: 10 }, () => s.markLaunchUsed('h1', T0 + 600_000, T0)));
      expect(firsts.filter(Boolean)).toHaveLength(1);
    }));

  it('gives one lease per key, 409-style in-progress to the rest, mismatch for another fingerprint or practice', () =>
    withStore(async (s) => {
      const results = await Promise.all(Array.from({ length: 20 }, (_, i) => s.acquireIdempotency(claim({ leaseOwner: `o${i}` }))));
      expect(results.filter((r) => r.kind === 'acquired')).toHaveLength(1);
      expect(results.filter((r) => r.kind === 'in-progress')).toHaveLength(19);
      expect((await s.acquireIdempotency(claim({ fingerprint: 'fp-2' }))).kind).toBe('mismatch');
      expect((await s.acquireIdempotency(claim({ facilityId: 'F99669-C' }))).kind).toBe('mismatch');
      // Another device of the same practice with the same request (a re-enrolled PC): the same request.
      expect((await s.acquireIdempotency(claim({ deviceId: 'dev_other', leaseOwner: 'o-other' }))).kind).toBe('in-progress');
    }));

  it('keeps progress across a released or expired lease and replays the completed answer', () =>
    withStore(async (s) => {
      const first = await s.acquireIdempotency(claim());
      expect(first.kind).toBe('acquired');
      expect(await s.saveProgress('img-1', 'owner-1', { media: { resourceType: 'Media', id: 'm1' } }, T0 + 60_000, T0 + 10)).toBe(true);
      expect(await s.saveProgress('img-1', 'intruder', {}, T0 + 60_000, T0 + 10)).toBe(false);
      // The lease runs out (gateway crashed): another owner takes it over, progress kept.
      const second = await s.acquireIdempotency(claim({ leaseOwner: 'owner-2', now: T0 + 60_001 }));
      expect(second.kind).toBe('acquired');
      if (second.kind !== 'acquired') return;
      expect(second.record.attempts).toBe(2);
      expect(second.record.progress.media?.id).toBe('m1');
      // The first owner can no longer write.
      expect(await s.completeIdempotency('img-1', 'owner-1', { status: 201, body: {} }, T0 + 60_002)).toBe(false);
      await s.releaseIdempotency('img-1', 'owner-2', T0 + 60_003);
      const third = await s.acquireIdempotency(claim({ leaseOwner: 'owner-3', now: T0 + 60_004 }));
      expect(third.kind).toBe('acquired');
      expect(await s.completeIdempotency('img-1', 'owner-3', { status: 201, body: { ok: 1 } }, T0 + 60_005)).toBe(true);
      const done = await s.acquireIdempotency(claim({ leaseOwner: 'owner-4', now: T0 + 60_006 }));
      expect(done.kind).toBe('completed');
      if (done.kind === 'completed') expect(done.record.response).toEqual({ status: 201, body: { ok: 1 } });
      const rec = await s.getIdempotency('img-1');
      expect(rec?.patientNhi).toBe('ZZZ0016');
      expect(rec?.state).toBe('completed');
    }));

  it('writes the audit record with the outcome, and not when the lease is no longer ours', () =>
    withStore(async (s) => {
      let at = T0;
      const audit = (id: string) => ({ id, at: ++at, deviceId: 'dev_a', facilityId: 'F', patientHash: null, action: 'commit', outcome: 'committed', imageId: 'img-1', resourceIds: [], errorCode: null, correlationId: id });
      await s.acquireIdempotency(claim());
      expect(await s.completeIdempotency('img-1', 'intruder', { status: 201, body: {} }, T0 + 1, {}, audit('lost'))).toBe(false);
      const progress = { media: { resourceType: 'Media' as const, id: 'm9' } };
      expect(await s.completeIdempotency('img-1', 'owner-1', { status: 201, body: {} }, T0 + 1, progress, audit('won'))).toBe(true);
      expect((await s.listAudit({})).map((r) => r.id)).toEqual(['won']);
      expect((await s.getIdempotency('img-1'))?.progress).toEqual(progress);
      // A released lease keeps its progress and always records why.
      await s.acquireIdempotency(claim({ key: 'img-2' }));
      await s.releaseIdempotency('img-2', 'owner-1', T0 + 2, progress, audit('deferred'));
      expect((await s.getIdempotency('img-2'))?.progress).toEqual(progress);
      expect((await s.listAudit({})).map((r) => r.id)).toEqual(['won', 'deferred']);
    }));

  it('appends and filters audit records', () =>
    withStore(async (s) => {
      for (let i = 0; i < 5; i++) {
        await s.appendAudit({
          id: `a${i}`,
          at: T0 + i,
          deviceId: i % 2 ? 'dev_a' : 'dev_b',
          facilityId: 'F2N060-E',
          patientHash: null,
          action: 'commit',
          outcome: 'committed',
          imageId: null,
          resourceIds: [],
          errorCode: null,
          correlationId: `c${i}`,
        });
      }
      expect((await s.listAudit({})).map((r) => r.id)).toEqual(['a0', 'a1', 'a2', 'a3', 'a4']);
      expect((await s.listAudit({ deviceId: 'dev_a' })).map((r) => r.id)).toEqual(['a1', 'a3']);
      expect((await s.listAudit({ since: T0 + 3 })).map((r) => r.id)).toEqual(['a3', 'a4']);
      expect((await s.listAudit({ limit: 2 })).map((r) => r.id)).toEqual(['a3', 'a4']);
    }));

  it('runs a token bucket on the injected clock', () =>
    withStore(async (s) => {
      const spec = { capacity: 3, refillPerSecond: 1 };
      const taken = [];
      for (let i = 0; i < 4; i++) taken.push(await s.takeToken('k', spec, 1, T0));
      expect(taken.map((t) => t.allowed)).toEqual([true, true, true, false]);
      expect(taken[3]?.retryAfterSeconds).toBe(1);
      expect((await s.takeToken('k', spec, 0, T0)).allowed).toBe(false);
      expect((await s.takeToken('k', spec, 1, T0 + 1000)).allowed).toBe(true);
      expect((await s.takeToken('other', spec, 1, T0)).allowed).toBe(true);
    }));

  it('answers ping', () => withStore(async (s) => expect(await s.ping()).toBe(true)));
});

describe('sqlite file settings', () => {
  it('runs in WAL with synchronous=FULL', async () => {
    const s = new SqliteStore(join(dir, 'pragmas', 'gateway.sqlite'));
    expect(await s.pragmas()).toEqual({ journalMode: 'wal', synchronous: 2 });
    await s.close();
  });
});

describe('sqlite file writes', () => {
  const code = (hash: string) => ({ codeHash: hash, facilityId: 'F2N060-E', practiceName: 'P', createdAt: T0, expiresAt: T0 + 60_000, usedAt: null, usedByDeviceId: null });

  it('commits concurrent writes durably, and fails a bad write alone', async () => {
    const file = join(dir, 'group', 'gateway.sqlite');
    const s = new SqliteStore(file);
    await s.putEnrolmentCode(code('dup'));
    const claims = Array.from({ length: 40 }, (_, i) => s.acquireIdempotency(claim({ key: `img-${i}`, leaseOwner: `o-${i}` })));
    const duplicate = s.putEnrolmentCode(code('dup'));
    const contested = [s.acquireIdempotency(claim({ key: 'same', leaseOwner: 'first' })), s.acquireIdempotency(claim({ key: 'same', leaseOwner: 'second' }))];
    expect((await Promise.all(claims)).every((r) => r.kind === 'acquired')).toBe(true);
    await expect(duplicate).rejects.toThrow(/UNIQUE/);
    expect((await Promise.all(contested)).map((r) => r.kind)).toEqual(['acquired', 'in-progress']);

    // Settled means on disk: a second connection sees every acknowledged write.
    const other = new SqliteStore(file);
    expect((await other.getIdempotency('img-39'))?.leaseOwner).toBe('o-39');
    expect((await other.getIdempotency('same'))?.leaseOwner).toBe('first');
    await other.close();

    // A write made just before the store closes is kept.
    const late = s.appendAudit({ id: 'a-late', at: T0, deviceId: 'dev_a', facilityId: null, patientHash: null, action: 'x', outcome: 'y', imageId: null, resourceIds: [], errorCode: null, correlationId: 'c' });
    await s.close();
    await late;
    const reopened = new SqliteStore(file);
    expect((await reopened.listAudit({})).map((a) => a.id)).toContain('a-late');
    await reopened.close();
  });

  it('rejects every write of a transaction that cannot commit, and stores none of them', async () => {
    const file = join(dir, 'locked', 'gateway.sqlite');
    const s = new SqliteStore(file, { busyTimeoutMs: 10 });
    await s.putDevice(device('dev_keep'));
    // Another connection holds the write lock past the busy timeout: the transaction cannot begin.
    const Database = (await import('better-sqlite3')).default;
    const holder = new Database(file);
    holder.pragma('busy_timeout = 0');
    holder.exec('BEGIN IMMEDIATE');
    const writes = [s.putDevice(device('dev_x')), s.acquireIdempotency(claim())];
    // SQLite's error reaches the caller, message and code.
    for (const w of writes) await expect(w).rejects.toMatchObject({ message: expect.stringMatching(/locked|busy/i), code: expect.stringMatching(/^SQLITE_BUSY/) });
    holder.exec('ROLLBACK');
    holder.close();
    expect(await s.getDevice('dev_x')).toBeNull();
    expect(await s.getIdempotency('img-1')).toBeNull();
    expect(await s.getDevice('dev_keep')).not.toBeNull();
    await s.close();
  });
});
