import { afterEach, describe, expect, it } from 'vitest';
import { keysFrom } from './crypto';
import { GRANT_A, GRANT_B, PATIENT_B, item, rig, type Rig } from './test-helpers';
import { waitFor } from './test-helpers';
import type { OutboxProgress } from './types';

let r: Rig | undefined;
afterEach(async () => {
  await r?.dispose();
  r = undefined;
});

describe('at-rest sealing', () => {
  const keys = keysFrom(Buffer.alloc(32, 7));
  it('round-trips, and refuses another label, another key, truncation and a flipped bit', () => {
    const sealed = keys.seal(Buffer.from('photo bytes'), 'img-1:media');
    expect(keys.open(sealed, 'img-1:media').toString()).toBe('photo bytes');
    expect(() => keys.open(sealed, 'img-2:media')).toThrow(/damaged/);
    expect(() => keysFrom(Buffer.alloc(32, 8)).open(sealed, 'img-1:media')).toThrow(/damaged/);
    expect(() => keys.open(sealed.subarray(0, 20), 'img-1:media')).toThrow(/damaged/);
    const flipped = Buffer.from(sealed);
    flipped[flipped.length - 1]! ^= 1;
    expect(() => keys.open(flipped, 'img-1:media')).toThrow(/damaged/);
  });
  it('seals the same plaintext differently each time (random IV); patient refs are stable and keyed', () => {
    expect(keys.seal(Buffer.from('x'), 'a').equals(keys.seal(Buffer.from('x'), 'a'))).toBe(false);
    expect(keys.patientRef('pat-a')).toBe(keys.patientRef('pat-a'));
    expect(keys.patientRef('pat-a')).not.toBe(keysFrom(Buffer.alloc(32, 8)).patientRef('pat-a'));
    expect(keys.patientRef('pat-a')).not.toContain('pat-a');
  });
});

describe('outbox views, filters and events', () => {
  it('lists by state and by patient; progress events follow each change', async () => {
    r = await rig();
    const progress: OutboxProgress[] = [];
    const off = r.outbox.on('progress', (p) => progress.push(p));
    const a = await item();
    const b = await item({ patient: PATIENT_B, grantId: GRANT_B }, 2);
    await r.outbox.enqueue(a);
    await r.outbox.enqueue(b);
    expect(r.outbox.list({ patientId: 'pat-b' }).map((v) => v.imageId)).toEqual([b.imageId]);
    expect(r.outbox.list({ patientId: 'pat-zzz' })).toEqual([]);
    expect(r.outbox.list({ states: ['committed'] })).toEqual([]);
    r.outbox.start();
    await r.outbox.idle();
    expect(r.outbox.list({ states: ['committed'], patientId: 'pat-a' }).map((v) => v.imageId)).toEqual([a.imageId]);
    expect(progress.at(-1)).toEqual({ queued: 0, sending: 0, waiting: 0, failed: 0, committed: 2, unconfirmed: 0 });
    expect(progress[0]).toMatchObject({ queued: 1 });
    off();
    const n = progress.length;
    await r.outbox.enqueue(await item({}, 3));
    expect(progress).toHaveLength(n);
  });

  it('a listener that throws does not stop the outbox', async () => {
    r = await rig();
    r.outbox.on('item-queued', () => {
      throw new Error('listener bug');
    });
    const a = await item();
    await r.outbox.enqueue(a);
    r.outbox.start();
    await r.outbox.idle();
    expect(r.outbox.get(a.imageId)?.state).toBe('committed');
  });
});

describe('send loop timing and grants in flight', () => {
  it('schedules its own retry with the system clock (no kick)', async () => {
    r = await rig({ clock: { now: () => Date.now() }, backoff: { baseMs: 5, maxMs: 10 } });
    r.standIn.faults.push({ status: 503 });
    const a = await item();
    const committed = new Promise<void>((res) => r!.outbox.on('item-committed', () => res()));
    await r.outbox.enqueue(a);
    r.outbox.start();
    await committed;
    expect(r.standIn.requests).toHaveLength(2);
  });

  it('a revoked or not-yet-enrolled PC keeps images waiting (not failed) until it is enrolled again', async () => {
    r = await rig();
    r.standIn.faults.push({ code: 'ERR_AUTH_DEVICE_REVOKED' });
    const a = await item();
    await r.outbox.enqueue(a);
    r.outbox.start();
    await r.outbox.idle();
    expect(r.outbox.get(a.imageId)).toMatchObject({ state: 'waiting', lastError: { code: 'ERR_AUTH_DEVICE_REVOKED' } });
    expect(r.outbox.get(a.imageId)?.reason).toMatch(/enrol/);
    r.clock.advance(10 * 60_000);
    r.outbox.kick();
    await r.outbox.idle();
    expect(r.outbox.get(a.imageId)?.state).toBe('committed');
  });

  it('a grant rebound while the post is in flight is used when that post comes back "grant expired"', async () => {
    r = await rig();
    let release!: () => void;
    r.standIn.gate = () => new Promise<void>((res) => (release = res));
    const a = await item();
    await r.outbox.enqueue(a);
    r.outbox.start();
    await waitFor(() => r!.standIn.inFlight === 1);
    r.standIn.grants.set(GRANT_A, { patientId: 'pat-a', expired: true });
    const fresh = 'grant-fresh-aaaaaaaaaa';
    r.standIn.grants.set(fresh, { patientId: 'pat-a' });
    expect(r.outbox.rebindGrant('pat-a', fresh)).toBe(0); // it is sending, not waiting
    r.standIn.gate = undefined;
    release();
    await r.outbox.idle();
    expect(r.outbox.get(a.imageId)?.state).toBe('committed');
    expect(r.standIn.requests.map((q) => q.grantId)).toEqual([GRANT_A, fresh]);
    expect(r.standIn.creates.map((c) => c.grantId)).toEqual([fresh]);
  });
});
