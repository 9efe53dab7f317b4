/**
 * The upload queue's rules on a hand-driven clock. The network is a scripted stand-in here (each attempt is
 * answered by the test); the real LAN server and Chromium are exercised by test/e2e/mobile*.spec.ts.
 */
import { describe, expect, it } from 'vitest';
import type { UploadResponse } from '../../../shared/contracts/lan';
import type { UploadHooks, UploadRequest } from './api';
import { bodyFor, RequestFailed, type Failure } from './failures';
import { UploadQueue, type Photo, type QueueDeps } from './uploads';

interface Attempt {
  req: UploadRequest;
  hooks: UploadHooks;
  resolve(r: UploadResponse): void;
  reject(f: Failure): void;
}

class ScriptedNetworkStandIn {
  readonly attempts: Attempt[] = [];
  upload = (req: UploadRequest, hooks: UploadHooks): Promise<UploadResponse> =>
    new Promise((resolve, reject) => {
      const a: Attempt = { req, hooks, resolve, reject: (f) => reject(new RequestFailed(f)) };
      hooks.signal.addEventListener('abort', () => reject(new RequestFailed({ kind: 'aborted' })));
      this.attempts.push(a);
    });
  open(): Attempt[] {
    return this.attempts.filter((a) => !a.hooks.signal.aborted && !(a as { done?: boolean }).done);
  }
  ok(a: Attempt, duplicate = false): void {
    (a as { done?: boolean }).done = true;
    a.resolve({ clientUploadId: a.req.clientUploadId, imageId: `img-${a.req.clientUploadId.slice(0, 4)}`, bytes: a.req.file.size, sha256: '0'.repeat(64), duplicate });
  }
  fail(a: Attempt, f: Failure): void {
    (a as { done?: boolean }).done = true;
    a.reject(f);
  }
}

class ManualTimers {
  now = 1_000_000;
  private seq = 0;
  private readonly due = new Map<number, { at: number; fn: () => void }>();
  set = (fn: () => void, ms: number): unknown => {
    const id = ++this.seq;
    this.due.set(id, { at: this.now + ms, fn });
    return id;
  };
  clear = (h: unknown): void => {
    this.due.delete(h as number);
  };
  get pending(): number {
    return this.due.size;
  }
  advance(ms: number): void {
    this.now += ms;
    for (const [id, t] of [...this.due].sort((a, b) => a[1].at - b[1].at)) {
      if (t.at <= this.now) {
        this.due.delete(id);
        t.fn();
      }
    }
  }
}

const flush = () => new Promise((r) => setTimeout(r, 0));
const http = (status: number, code: Parameters<typeof bodyFor>[0]): Failure => ({ kind: 'http', status, body: bodyFor(code) });

function setup(over: Partial<QueueDeps> = {}) {
  const net = new ScriptedNetworkStandIn();
  const timers = new ManualTimers();
  const stops: string[] = [];
  const removed: string[] = [];
  let n = 0;
  const q = new UploadQueue({
    transport: net,
    credential: () => 'C'.repeat(43),
    newId: () => `00000000-0000-4000-8000-${String(++n).padStart(12, '0')}`,
    setTimer: timers.set,
    clearTimer: timers.clear,
    random: () => 0.5,
    maxBytes: 1000,
    onChange: (p: Photo, rm?: boolean) => {
      if (rm === true) removed.push(p.id);
    },
    onSessionStop: (b) => stops.push(b.code),
    ...over,
  });
  const file = (size = 10, name = 'a.jpg') => new File([new Uint8Array(size)], name, { type: 'image/jpeg' });
  return { q, net, timers, stops, removed, file };
}

describe('UploadQueue', () => {
  it('sends at most two at a time, with the fields, and drops each file once sent', async () => {
    const { q, net, file } = setup();
    const a = q.add(file());
    q.add(file());
    q.add(file());
    q.update(a.id, { bodySiteCode: '14975008', laterality: 'left', consent: 'written' });
    expect(net.attempts).toHaveLength(0); // nothing goes before Send
    q.sendAll();
    expect(net.open()).toHaveLength(2);
    expect(net.attempts[0]?.req).toMatchObject({ clientUploadId: a.id, bodySiteCode: '14975008', laterality: 'left', consent: 'written' });
    expect(net.attempts[1]?.req).not.toHaveProperty('consent');
    net.ok(net.attempts[0]!);
    await flush();
    expect(net.open()).toHaveLength(2);
    net.open().forEach((x) => net.ok(x));
    await flush();
    expect(q.counts()).toMatchObject({ sent: 3, sending: 0 });
    expect(q.list().every((p) => p.file === undefined && p.state === 'sent')).toBe(true);
  });

  it('retries a dropped connection with the SAME clientUploadId after a backoff, then succeeds once', async () => {
    const { q, net, timers, file } = setup();
    const p = q.add(file());
    q.sendAll();
    net.open()[0]!.hooks.onProgress(5, 10);
    expect(q.get(p.id)?.progress).toBe(0.5);
    net.fail(net.attempts[0]!, { kind: 'network' });
    await flush();
    expect(q.get(p.id)?.state).toBe('retrying');
    expect(net.open()).toHaveLength(0);
    timers.advance(499); // attempt 1: full jitter over 1 s, random 0.5 → 500 ms
    expect(net.attempts).toHaveLength(1);
    timers.advance(1);
    expect(net.attempts).toHaveLength(2);
    expect(net.attempts[1]?.req.clientUploadId).toBe(p.id);
    net.fail(net.attempts[1]!, http(503, 'ERR_INTERNAL'));
    await flush();
    timers.advance(1000); // attempt 2: 0.5 × 2 s
    expect(net.attempts).toHaveLength(3);
    net.ok(net.attempts[2]!, true);
    await flush();
    expect(q.get(p.id)).toMatchObject({ state: 'sent', attempts: 3 });
    expect(new Set(net.attempts.map((a) => a.req.clientUploadId)).size).toBe(1);
  });

  it('waits at least Retry-After and caps the backoff', () => {
    const { q } = setup({ random: () => 0.999 });
    expect(q.delayFor(1, http(429, 'ERR_RATE_LIMITED'))).toBe(999);
    expect(q.delayFor(1, { kind: 'http', status: 429, body: bodyFor('ERR_RATE_LIMITED', { retryAfterSeconds: 60 }) })).toBe(60_000);
    expect(q.delayFor(20, { kind: 'network' })).toBe(29_970);
    expect(q.delayFor(1, http(507, 'ERR_STORAGE_FULL'))).toBe(30_000);
  });

  it('resume() (Wi-Fi back, page visible) starts a waiting photo at once', async () => {
    const { q, net, timers, file } = setup();
    q.add(file());
    q.sendAll();
    net.fail(net.attempts[0]!, { kind: 'timeout' });
    await flush();
    expect(timers.pending).toBe(1);
    q.resume();
    expect(timers.pending).toBe(0);
    expect(net.open()).toHaveLength(1);
  });

  it('starts nothing while the browser is offline, and everything as soon as it is back', async () => {
    const { q, net, timers, file } = setup();
    q.add(file());
    q.add(file());
    q.setOnline(false);
    q.sendAll();
    expect(net.attempts).toHaveLength(0);
    expect(q.counts().queued).toBe(2);
    timers.advance(600_000);
    expect(net.attempts).toHaveLength(0);
    q.setOnline(true);
    expect(net.open()).toHaveLength(2);
  });

  it('after the automatic attempts the photo waits for Try again, keeping its file', async () => {
    const { q, net, timers, file } = setup({ maxAutoAttempts: 2 });
    const p = q.add(file());
    q.sendAll();
    net.fail(net.attempts[0]!, { kind: 'network' });
    await flush();
    timers.advance(60_000);
    net.fail(net.attempts[1]!, { kind: 'network' });
    await flush();
    expect(q.get(p.id)?.state).toBe('failed');
    expect(q.get(p.id)?.file).toBeDefined();
    q.retry(p.id);
    expect(net.attempts).toHaveLength(3);
    expect(net.attempts[2]?.req.clientUploadId).toBe(p.id);
  });

  it('patient changed: every upload stops at once, in-flight requests are aborted and nothing more is sent', async () => {
    const { q, net, timers, stops, file } = setup();
    const ps = [q.add(file()), q.add(file()), q.add(file())];
    q.sendAll();
    const [first, second] = net.open();
    net.fail(first!, http(409, 'ERR_LAN_PATIENT_CHANGED'));
    await flush();
    expect(stops).toEqual(['ERR_LAN_PATIENT_CHANGED']);
    expect(second!.hooks.signal.aborted).toBe(true);
    expect(ps.map((p) => q.get(p.id)?.state)).toEqual(['stopped', 'stopped', 'stopped']);
    expect(ps.every((p) => q.get(p.id)?.file === undefined)).toBe(true);
    q.sendAll();
    q.resume();
    q.retry(ps[2]!.id);
    timers.advance(600_000);
    expect(net.attempts).toHaveLength(2);
    expect(q.add(file()).state).toBe('stopped');
  });

  it('a bad file fails alone; the others carry on', async () => {
    const { q, net, file } = setup();
    const bad = q.add(file());
    const good = q.add(file());
    q.sendAll();
    net.fail(net.attempts[0]!, http(415, 'ERR_IMAGE_UNSUPPORTED'));
    net.ok(net.attempts[1]!);
    await flush();
    expect(q.get(bad.id)).toMatchObject({ state: 'failed', error: { code: 'ERR_IMAGE_UNSUPPORTED' }, file: undefined });
    expect(q.get(good.id)?.state).toBe('sent');
    q.sendAll();
    expect(net.attempts).toHaveLength(2); // the refused file is never sent again
  });

  it('refuses empty and oversize files before any request', () => {
    const { q, net, file } = setup();
    expect(q.add(file(0))).toMatchObject({ state: 'failed', error: { code: 'ERR_IMAGE_UNSUPPORTED' } });
    expect(q.add(file(1001))).toMatchObject({ state: 'failed', error: { code: 'ERR_IMAGE_FILE_TOO_LARGE' } });
    q.sendAll();
    expect(net.attempts).toHaveLength(0);
  });

  it('removes only photos that have not started; editing stops once sending', async () => {
    const { q, net, removed, file } = setup();
    const a = q.add(file());
    const b = q.add(file());
    expect(q.remove(a.id)).toBe(true);
    expect(removed).toEqual([a.id]);
    q.sendAll();
    expect(net.attempts.map((x) => x.req.clientUploadId)).toEqual([b.id]);
    expect(q.remove(b.id)).toBe(false);
    expect(q.update(b.id, { bodySiteCode: '14975008' })).toBe(false);
    expect(net.attempts[0]?.req.bodySiteCode).toBeUndefined();
  });

  describe('photos held for the confirmed patient', () => {
    function withHold() {
      const holds: { ids: string[]; resolve(n: number[]): void; reject(f: Failure): void }[] = [];
      const switched: string[] = [];
      const env = setup({
        onHeldOnly: (b) => switched.push(b.code),
      });
      const hold = (_cred: string, ids: string[]) =>
        new Promise<{ held: { clientUploadId: string; photoNumber: number }[] }>((resolve, reject) => {
          holds.push({
            ids,
            resolve: (ns) => resolve({ held: ids.map((clientUploadId, i) => ({ clientUploadId, photoNumber: ns[i] ?? 0 })) }),
            reject: (f) => reject(new RequestFailed(f)),
          });
        });
      const released: string[] = [];
      const release = async (_cred: string, ids: string[]): Promise<void> => {
        released.push(...ids);
      };
      Object.assign(env.net, { hold, release });
      return { ...env, holds, switched, released };
    }

    /** Two photos numbered by the PC and sending; the first is answered with `answer` (the GP sent, or switched patient). */
    async function twoHeldFirstAnswered(answer: { sessionSent: true } | { patientChanged: true }) {
      const env = withHold();
      const { q, net, file, holds } = env;
      const [a, b] = [q.add(file()), q.add(file())];
      holds[0]!.resolve([1]);
      await flush();
      holds[1]!.resolve([2]);
      await flush();
      q.sendAll();
      const [first] = net.open();
      (first as { done?: boolean }).done = true;
      first!.resolve({ clientUploadId: first!.req.clientUploadId, imageId: 'img-1', bytes: 10, sha256: '0'.repeat(64), duplicate: false, ...answer });
      await flush();
      return { ...env, a, b };
    }

    it('each photo is held as it is added and takes the number the PC gives it', async () => {
      const { q, file, holds } = withHold();
      const a = q.add(file());
      expect(holds).toHaveLength(1);
      const b = q.add(file()); // one hold at a time: b waits for the first answer
      expect(holds).toHaveLength(1);
      holds[0]!.resolve([7]);
      await flush();
      expect(q.get(a.id)).toMatchObject({ held: true, n: 7 });
      expect(holds[1]?.ids).toEqual([b.id]);
      holds[1]!.resolve([8]);
      await flush();
      expect(q.get(b.id)).toMatchObject({ held: true, n: 8 });
    });

    it('patient switched: held photos still send (to the confirmed patient), the never-held one stops, nothing new is taken', async () => {
      const { q, net, file, holds, switched, stops } = withHold();
      const held = q.add(file());
      holds[0]!.resolve([1]);
      await flush();
      const unheld = q.add(file());
      holds[1]!.reject({ kind: 'network' }); // Wi-Fi blinked while this one was being held
      await flush();
      q.sendAll(); // retries the hold of the second photo; the PC has switched meanwhile
      holds[2]!.reject(http(409, 'ERR_LAN_PATIENT_CHANGED'));
      await flush();
      expect(switched).toEqual(['ERR_LAN_PATIENT_CHANGED']);
      expect(q.get(unheld.id)).toMatchObject({ state: 'stopped', file: undefined });
      expect(q.get(held.id)?.state).toBe('sending');
      expect(q.add(file()).state).toBe('stopped');
      net.open().forEach((x) => net.ok(x));
      await flush();
      expect(q.get(held.id)?.state).toBe('sent');
      expect(stops).toEqual(['ERR_LAN_PATIENT_CHANGED']); // all held photos delivered: now the session is over
    });

    it('an upload answered "patient changed" for a held photo (the grace ran out) stops everything', async () => {
      const { q, net, file, holds, stops } = withHold();
      const p = q.add(file());
      holds[0]!.resolve([1]);
      await flush();
      q.sendAll();
      net.fail(net.open()[0]!, http(409, 'ERR_LAN_PATIENT_CHANGED'));
      await flush();
      expect(stops).toEqual(['ERR_LAN_PATIENT_CHANGED']);
      expect(q.get(p.id)?.state).toBe('stopped');
    });

    it('the GP sent: held photos still go, a new photo is refused with the plain message, then the session is over', async () => {
      const { q, net, file, holds, switched, stops, a, b } = await twoHeldFirstAnswered({ sessionSent: true });
      expect(switched).toEqual(['ERR_LAN_SESSION_SENT']);
      expect(q.heldOnlyBecause?.message).toMatch(/^The GP has sent the photos from this session/);
      const shutter = q.add(file());
      expect(shutter).toMatchObject({ state: 'stopped', file: undefined, error: { code: 'ERR_LAN_SESSION_SENT' } });
      expect(holds).toHaveLength(2); // nothing new is asked of the PC
      expect([q.get(a.id)?.state, q.get(b.id)?.state]).toEqual(['sent', 'sending']);
      expect(stops).toEqual([]);
      net.open().forEach((x) => net.ok(x));
      await flush();
      expect(q.get(b.id)?.state).toBe('sent');
      expect(stops).toEqual(['ERR_LAN_SESSION_SENT']);
    });

    it('a hold answered "the GP sent" keeps the held photos going and stops the new one', async () => {
      const { q, file, holds, switched } = withHold();
      const held = q.add(file());
      holds[0]!.resolve([1]);
      await flush();
      q.sendAll();
      const fresh = q.add(file());
      holds[1]!.reject(http(410, 'ERR_LAN_SESSION_SENT'));
      await flush();
      expect(switched).toEqual(['ERR_LAN_SESSION_SENT']);
      expect(q.get(fresh.id)?.state).toBe('stopped');
      expect(q.get(held.id)?.state).toBe('sending');
    });

    it('a held photo the phone will not send (removed, refused for good, too large) is released, so the PC stops waiting for it', async () => {
      const { q, net, file, holds, released } = withHold();
      const [removed, refused, tooLarge, kept] = [q.add(file()), q.add(file()), q.add(file(5000)), q.add(file())];
      holds[0]!.resolve([1]);
      await flush();
      holds[1]!.resolve([2, 3, 4]);
      await flush();
      expect(released).toEqual([tooLarge.id]); // failed on the phone before its number came
      expect(q.remove(removed.id)).toBe(true);
      expect(released).toEqual([tooLarge.id, removed.id]);
      q.sendAll();
      net.fail(net.open()[0]!, http(415, 'ERR_IMAGE_UNSUPPORTED'));
      await flush();
      expect(q.get(refused.id)?.state).toBe('failed');
      expect(released).toEqual([tooLarge.id, removed.id, refused.id]);
      net.ok(net.open()[0]!);
      await flush();
      expect(q.get(kept.id)?.state).toBe('sent');
      expect(released).not.toContain(kept.id);
    });

    it('a held photo delivered after the switch tells the page the PC moved on', async () => {
      const { q, net, switched } = await twoHeldFirstAnswered({ patientChanged: true });
      expect(switched).toEqual(['ERR_LAN_PATIENT_CHANGED']);
      expect(q.counts()).toMatchObject({ sent: 1 });
      expect(net.open()).toHaveLength(1); // the other held photo carries on
    });
  });
});
