import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { plainMasterFiles } from './master-files';
import { createImagingService } from './service';
import { QuietSpell, type SpellTimers } from './quiet-spell';
import { RenderAhead, type RenderFn } from './render-ahead';
import type { Edits, ImagingService } from './types';
import { orientedJpeg } from './testkit/images';

const PLAIN: Edits = { rotate: 0, annotations: [] };
const MB = { format: 'jpeg', maxBytes: 1_000_000 } as const;

describe('RenderAhead (real sharp)', () => {
  let dir: string;
  let svc: ImagingService;
  let master: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cpi-render-ahead-'));
    svc = createImagingService({});
    master = (await svc.ingest({ buffer: await orientedJpeg(1, 640, 480) }, { dir, id: 'img-1' })).masterPath;
  });
  afterAll(async () => {
    await svc.close();
    await rm(dir, { recursive: true, force: true });
  });

  function counting(): { fn: RenderFn; calls: () => number } {
    let n = 0;
    return {
      fn: (p, e, o) => {
        n += 1;
        return svc.render(p, e, o);
      },
      calls: () => n,
    };
  }

  const BOTH = { media: true, inboxScan: true, inboxScanFormat: 'pdf' } as const;
  const LIMIT = 1_000_000;

  it("Send gets the renders started ahead: the Media JPEG encoded once, the PDF the same bytes a render of its own gives", async () => {
    const r = counting();
    const ahead = new RenderAhead(r.fn);
    ahead.warmImage(master, PLAIN, 'pdf', LIMIT);
    ahead.warmImage(master, PLAIN, 'pdf', LIMIT);
    const taken = await ahead.take(master, PLAIN, BOTH, LIMIT);
    expect(r.calls()).toBe(1);
    expect(ahead.size).toBe(0);
    expect(taken.media?.data.equals((await svc.render(master, PLAIN, MB)).data)).toBe(true);
    expect(taken.document?.data.equals((await svc.render(master, PLAIN, { format: 'pdf', maxBytes: LIMIT })).data)).toBe(true);
  });

  it('a caption (text in the PDF, pixels in the JPEG), a TIFF, or a JPEG too big to wrap: the Inbox Scan copy is rendered on its own', async () => {
    const r = counting();
    const ahead = new RenderAhead(r.fn);
    const captioned = await ahead.take(master, { ...PLAIN, captionStrip: 'Left forearm' }, BOTH, LIMIT);
    expect(r.calls()).toBe(2);
    expect(captioned.media?.height).toBeGreaterThan(captioned.document?.height ?? Infinity);
    const tiff = await ahead.take(master, PLAIN, { ...BOTH, inboxScanFormat: 'tiff' }, LIMIT);
    expect([tiff.media?.contentType, tiff.document?.contentType, r.calls()]).toEqual(['image/jpeg', 'image/tiff', 4]);
    const small = await svc.render(master, PLAIN, MB);
    const jpeg = { ...small, data: Buffer.concat([small.data, Buffer.alloc(40_000)]) }; // bytes after the image's end
    const tight = jpeg.data.length + 100; // the JPEG fits, the JPEG in a page does not
    const big = new RenderAhead((p, e, o) => (o.format === 'jpeg' ? Promise.resolve(jpeg) : svc.render(p, e, o)));
    const fitted = await big.take(master, PLAIN, BOTH, tight);
    expect(fitted.document?.contentType).toBe('application/pdf');
    expect(fitted.document?.data.length).toBeLessThanOrEqual(tight);
  });

  it('an edit or another target made after the render ahead gets a fresh render, never the stale one; Media only sends no PDF', async () => {
    const r = counting();
    const ahead = new RenderAhead(r.fn);
    ahead.warmImage(master, PLAIN, 'pdf', LIMIT);
    const rotated = await ahead.take(master, { rotate: 90, annotations: [] }, BOTH, LIMIT);
    expect([rotated.media?.width, rotated.media?.height]).toEqual([480, 640]);
    const mediaOnly = await ahead.take(master, PLAIN, { ...BOTH, inboxScan: false }, LIMIT);
    expect(mediaOnly.document).toBeUndefined();
    expect(r.calls()).toBe(3);
    ahead.warmImage(master, { rotate: 180, annotations: [] }, 'pdf', LIMIT);
    ahead.forgetImage('img-1');
    expect(ahead.size).toBe(0);
  });

  it('a PDF while only Media is chosen is not rendered ahead (Send says why); a full cache starts nothing new', async () => {
    const r = counting();
    const ahead = new RenderAhead(r.fn, 1);
    ahead.useTargets({ media: true, inboxScan: false });
    expect(() => ahead.warmImage(join(dir, 'img-2.master.pdf'), PLAIN, 'pdf', LIMIT)).not.toThrow();
    expect(ahead.size).toBe(0);
    ahead.useTargets({ media: true, inboxScan: true });
    ahead.warmImage(master, PLAIN, 'pdf', LIMIT);
    ahead.warmImage(master, { rotate: 90, annotations: [] }, 'pdf', LIMIT);
    expect([ahead.size, r.calls()]).toEqual([1, 1]);
  });

  /** Three new photos ingesting (their thumbnails and a render's first read logged in order), and a RenderAhead. */
  async function threeNewPhotosAndARenderAhead(prefix: string) {
    const order: string[] = [];
    const read = (p: string): Promise<Buffer> => (order.push('render starts'), plainMasterFiles.read(p));
    const imaging = createImagingService({ masterFiles: { write: plainMasterFiles.write, read } });
    const photo = await orientedJpeg(6, 1600, 1200);
    const ingests = [1, 2, 3].map((n) => imaging.ingest({ buffer: photo }, { dir, id: `${prefix}-${n}` }, { onThumbnail: () => order.push('thumbnail') }));
    return { order, imaging, ingests, ahead: new RenderAhead((p, e, o) => imaging.render(p, e, o)) };
  }

  it("a render ahead starts only once new photos' first looks (running or waiting) are done: their thumbnails come first", async () => {
    const { order, imaging, ingests, ahead } = await threeNewPhotosAndARenderAhead('next');
    ahead.warmImage(master, PLAIN, 'pdf', LIMIT);
    await Promise.all(ingests);
    expect((await ahead.take(master, PLAIN, BOTH, LIMIT)).media?.contentType).toBe('image/jpeg');
    await imaging.close();
    expect(order).toEqual(['thumbnail', 'thumbnail', 'thumbnail', 'render starts']);
  });

  it('a render ahead that Send takes goes at once: it no longer waits for first looks running or waiting', async () => {
    const { order, imaging, ingests, ahead } = await threeNewPhotosAndARenderAhead('sent');
    ahead.warmImage(master, PLAIN, 'pdf', LIMIT);
    const sent = ahead.take(master, PLAIN, BOTH, LIMIT); // Send, while all three first looks are still to come
    expect((await sent).media?.contentType).toBe('image/jpeg');
    await Promise.all(ingests);
    await imaging.close();
    expect(order[0]).toBe('render starts');
    expect(order.filter((o) => o === 'thumbnail')).toHaveLength(3);
  });

  /** Timers fired by the test, not by the clock. */
  function testTimers(): SpellTimers & { delays: () => number[]; fire: () => void } {
    const due = new Map<number, { fn: () => void; ms: number }>();
    let next = 0;
    return {
      setTimeout: (fn, ms) => (due.set(++next, { fn, ms }), next),
      clearTimeout: (handle) => void due.delete(handle as number),
      delays: () => [...due.values()].map((t) => t.ms),
      fire: () => [...due.entries()].forEach(([id, t]) => (due.delete(id), t.fn())),
    };
  }
  /** Lets every pending promise callback and I/O callback run (no time passes on the test's timers). */
  const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

  it('a render ahead waits while photos come in and starts once the phone pauses: 200 ms after the last upload ends, none begun since', async () => {
    const timers = testTimers();
    const spell = new QuietSpell(200, timers);
    const r = counting();
    const tracked: Promise<unknown>[] = [];
    const ahead = new RenderAhead(r.fn, 2, { incoming: spell, track: (work) => tracked.push(work) });
    let finished = false;
    spell.begin(); // the photo whose ingest makes it ready is still being answered
    ahead.warmImage(master, PLAIN, 'pdf', LIMIT);
    expect(tracked).toHaveLength(1); // in flight from now: "idle" waits for it
    void tracked[0]?.then(() => (finished = true));
    spell.begin(); // the next photo starts while the first is answered
    spell.end();
    await settle();
    expect([r.calls(), timers.delays()]).toEqual([0, []]);
    spell.end();
    expect(timers.delays()).toEqual([200]);
    spell.begin(); // a third photo within the spell: the wait starts again once it is answered
    expect(timers.delays()).toEqual([]);
    spell.end();
    await settle();
    expect(r.calls()).toBe(0);
    expect(finished).toBe(false);
    timers.fire();
    await settle();
    expect(r.calls()).toBe(1);
    await tracked[0];
    expect((await ahead.take(master, PLAIN, BOTH, LIMIT)).media?.contentType).toBe('image/jpeg');
    expect(r.calls()).toBe(1);
  });

  it('Send takes a render ahead at once while photos still come in; one whose image is removed before it starts is never made', async () => {
    const timers = testTimers();
    const spell = new QuietSpell(200, timers);
    const r = counting();
    const ahead = new RenderAhead(r.fn, 2, { incoming: spell });
    spell.begin();
    ahead.warmImage(master, PLAIN, 'pdf', LIMIT);
    expect((await ahead.take(master, PLAIN, BOTH, LIMIT)).media?.contentType).toBe('image/jpeg');
    expect(r.calls()).toBe(1);
    ahead.warmImage(master, { rotate: 90, annotations: [] }, 'pdf', LIMIT);
    ahead.forgetImage('img-1');
    spell.end();
    timers.fire();
    await settle();
    expect([r.calls(), ahead.size]).toEqual([1, 0]);
  });

  it('on close, a render ahead still waiting for the phone\'s pause is never made, and its tracked work settles at once', async () => {
    const spell = new QuietSpell(200, testTimers());
    const r = counting();
    const tracked: Promise<unknown>[] = [];
    const ahead = new RenderAhead(r.fn, 2, { incoming: spell, track: (work) => tracked.push(work) });
    spell.begin(); // an upload that will never be answered
    ahead.warmImage(master, PLAIN, 'pdf', LIMIT);
    ahead.stop();
    await expect(tracked[0]).rejects.toMatchObject({ code: 'ERR_NOT_FOUND' });
    expect([r.calls(), ahead.size]).toEqual([0, 0]);
  });

  it('an early render: any while no phone sends; in a run of uploads, the first ingest to ask, until the next pause', () => {
    const timers = testTimers();
    const spell = new QuietSpell(200, timers);
    expect([spell.claimEarlyRender(), spell.claimEarlyRender()]).toEqual(['if-room', 'if-room']); // photos added on the desktop
    spell.begin();
    spell.begin(); // the phone sends two at a time
    expect([spell.claimEarlyRender(), spell.claimEarlyRender()]).toEqual(['beside', false]);
    spell.end();
    spell.end();
    spell.begin(); // within the spell: the same run
    expect(spell.claimEarlyRender()).toBe(false);
    spell.end();
    timers.fire();
    spell.begin(); // after a pause, a new run
    expect([spell.claimEarlyRender(), spell.claimEarlyRender()]).toEqual(['beside', false]);
  });

  it('a failed render ahead fails only the Send that takes it', async () => {
    const missing = join(dir, 'gone.master.jpg');
    const broken = new RenderAhead(counting().fn);
    broken.warmImage(missing, PLAIN, 'pdf', LIMIT);
    await expect(broken.take(missing, PLAIN, BOTH, LIMIT)).rejects.toMatchObject({ code: expect.stringMatching(/^ERR_/) });
  });
});
