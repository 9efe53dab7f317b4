import pino from 'pino';
import { describe, expect, it } from 'vitest';
import type { ImageView } from '../../shared/contracts/bridge';
import type { VerifyResponse } from '../../shared/contracts/gateway';
import { AppError } from '../../shared/errors/app-error';
import { ManualTimers } from '../../test/helpers/manual-timers';
import { CommitVerifier, DEFAULT_VERIFY_DELAYS_MS } from './verify';

const ID = '6f1c2a3b-4d5e-4f60-8a7b-9c0d1e2f3a4b';
const ID2 = '7a2d3b4c-5e6f-4a70-9b8c-0d1e2f3a4b5c';

class Clock {
  ms = Date.parse('2026-12-06T09:00:00Z');
  now(): number {
    return this.ms;
  }
  advance(ms: number): void {
    this.ms += ms;
  }
}

/**
 * The gateway's read-back, scripted (the real route against the sandbox is exercised in test/core/companion.test.ts):
 * `present(imageId, readNumber)` decides each answer; `undefined` = the gateway did not answer.
 */
function mockGatewayRead(clock: Clock, present: (imageId: string, n: number) => boolean | undefined, targets: ('media' | 'documentReference')[] = ['media', 'documentReference']) {
  const reads: { imageId: string; at: number }[] = [];
  const read = async (imageId: string): Promise<VerifyResponse> => {
    const n = reads.filter((r) => r.imageId === imageId).length + 1;
    reads.push({ imageId, at: clock.now() });
    const p = present(imageId, n);
    if (p === undefined) throw new AppError('ERR_GATEWAY_UNREACHABLE');
    const res: VerifyResponse = { imageId, checkedAt: new Date(clock.now()).toISOString() };
    if (targets.includes('media')) res.media = { id: 'm1', present: p };
    if (targets.includes('documentReference')) res.documentReference = { id: 'd1', present: true };
    return res;
  };
  return { read, reads };
}

function setUp(present: (imageId: string, n: number) => boolean | undefined, targets?: ('media' | 'documentReference')[]) {
  const clock = new Clock();
  const timers = new ManualTimers(clock);
  const gw = mockGatewayRead(clock, present, targets);
  const inFlight = new Set<Promise<unknown>>();
  let changes = 0;
  const verifier = new CommitVerifier({
    read: gw.read,
    changed: () => (changes += 1),
    logger: pino({ level: 'silent' }),
    timers,
    track: (p) => {
      inFlight.add(p);
      void p.finally(() => inFlight.delete(p));
      return p;
    },
  });
  const settle = async (): Promise<void> => {
    while (inFlight.size > 0) await Promise.allSettled([...inFlight]);
  };
  /** Moves time on in steps, letting each read answer before the next timer is due. */
  const wait = async (ms: number): Promise<void> => {
    for (let left = ms; left > 0; left -= 1000) {
      timers.advance(Math.min(1000, left));
      await settle();
    }
  };
  const view = (id = ID): ImageView => {
    const v = { id, status: 'committed', committed: { media: { id: 'm1' } } } as ImageView;
    verifier.decorateImage(v);
    return v;
  };
  const secondsOfReads = (id = ID) => gw.reads.filter((r) => r.imageId === id).map((r) => (r.at - gw.reads[0]!.at) / 1000);
  return { clock, timers, gw, verifier, settle, wait, view, secondsOfReads, changes: () => changes };
}

describe('CommitVerifier: reading a commit back from Medtech until it shows', () => {
  it('present at the first read: "in Medtech ✓" at once, nothing left scheduled', async () => {
    const t = setUp(() => true);
    t.verifier.start(ID);
    expect(t.view().committed).toEqual({ media: { id: 'm1' }, readBack: 'checking' });
    await t.settle();
    expect(t.view().committed).toEqual({ media: { id: 'm1' }, verified: true });
    expect(t.timers.size).toBe(0);
    expect(t.verifier.checking()).toBe(0);
  });

  it('a Media that shows only after a search lag: "checking" meanwhile, read again after 15 s and 30 s more, then "in Medtech ✓"', async () => {
    const t = setUp((_id, n) => n >= 3);
    t.verifier.start(ID);
    await t.settle();
    expect(t.view().committed?.readBack).toBe('checking');
    expect(t.view().committed?.verified).toBeUndefined();
    expect(t.timers.size).toBe(1);
    await t.wait(14_000);
    expect(t.gw.reads).toHaveLength(1); // no busy reading between the steps
    await t.wait(1_000);
    expect(t.secondsOfReads()).toEqual([0, 15]);
    expect(t.view().committed?.readBack).toBe('checking');
    await t.wait(30_000);
    expect(t.secondsOfReads()).toEqual([0, 15, 45]);
    expect(t.view().committed).toEqual({ media: { id: 'm1' }, verified: true });
    expect(t.timers.size).toBe(0);
    await t.wait(600_000);
    expect(t.gw.reads).toHaveLength(3); // nothing more once it showed
  });

  it('never shows: reads on the bounded schedule, then says "not seen" (never failed) and stops', async () => {
    const t = setUp(() => false);
    t.verifier.start(ID);
    await t.settle();
    await t.wait(10 * 60_000);
    const expected = [0];
    for (const d of DEFAULT_VERIFY_DELAYS_MS) expected.push((expected.at(-1) as number) + d / 1000);
    expect(t.secondsOfReads()).toEqual(expected); // 0, 15, 45, 105, 225, 465
    expect(t.view().committed).toEqual({ media: { id: 'm1' }, readBack: 'not-seen' });
    expect(t.verifier.state(ID)).toBe('not-seen');
    expect(t.timers.size).toBe(0);
    await t.wait(60 * 60_000);
    expect(t.gw.reads).toHaveLength(6);
  });

  it('the gateway does not answer: keeps to the schedule; answered later → present; never answered → "not checked"', async () => {
    const later = setUp((_id, n) => (n <= 2 ? undefined : true));
    later.verifier.start(ID);
    await later.settle();
    await later.wait(45_000);
    expect(later.view().committed?.verified).toBe(true);

    const never = setUp(() => undefined);
    never.verifier.start(ID);
    await never.settle();
    await never.wait(10 * 60_000);
    expect(never.gw.reads).toHaveLength(6);
    expect(never.view().committed?.readBack).toBe('not-checked');
  });

  it('at most one timer per image being checked, a second start is ignored, and close() clears them all', async () => {
    const t = setUp(() => false);
    t.verifier.start(ID);
    t.verifier.start(ID2);
    t.verifier.start(ID);
    await t.settle();
    expect(t.gw.reads).toHaveLength(2);
    expect(t.timers.size).toBe(2);
    await t.wait(15_000);
    expect(t.timers.size).toBe(2);
    t.verifier.close();
    expect(t.timers.size).toBe(0);
    await t.wait(10 * 60_000);
    expect(t.gw.reads).toHaveLength(4);
    t.verifier.start(ID2); // closed: nothing new starts
    expect(t.gw.reads).toHaveLength(4);
  });

  it('an answer that arrives after close() changes nothing', async () => {
    const t = setUp(() => true);
    t.verifier.start(ID);
    const before = t.changes();
    t.verifier.close();
    await t.settle();
    expect(t.changes()).toBe(before);
    expect(t.view().committed?.verified).toBeUndefined();
  });

  it('nothing to read back (no resource ids, e.g. a person confirmed it): no state, the view is left alone', async () => {
    const t = setUp(() => true, []);
    t.verifier.start(ID);
    await t.settle();
    expect(t.view().committed).toEqual({ media: { id: 'm1' } });
    expect(t.timers.size).toBe(0);
  });

  it('an image that is not committed is not decorated', async () => {
    const t = setUp(() => false);
    t.verifier.start(ID);
    await t.settle();
    const v = { id: ID, status: 'sending' } as ImageView;
    t.verifier.decorateImage(v);
    expect(v.committed).toBeUndefined();
  });
});
