import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createImagingService } from './service';
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

  it('Send gets the render started ahead — the same bytes as a fresh one — and renders it only once', async () => {
    const r = counting();
    const ahead = new RenderAhead(r.fn);
    ahead.warm(master, PLAIN, MB);
    ahead.warm(master, PLAIN, MB);
    const taken = await ahead.take(master, PLAIN, MB);
    expect(r.calls()).toBe(1);
    expect(ahead.size).toBe(0);
    expect(taken.data.equals((await svc.render(master, PLAIN, MB)).data)).toBe(true);
  });

  it('an edit, a caption or another format made after the render ahead gets a fresh render, never the stale one', async () => {
    const r = counting();
    const ahead = new RenderAhead(r.fn);
    ahead.warm(master, PLAIN, MB);
    const rotated = await ahead.take(master, { rotate: 90, annotations: [] }, MB);
    expect([rotated.width, rotated.height]).toEqual([480, 640]);
    const pdf = await ahead.take(master, PLAIN, { format: 'pdf', maxBytes: 1_000_000 });
    expect(pdf.contentType).toBe('application/pdf');
    expect(r.calls()).toBe(3);
    ahead.warm(master, PLAIN, MB);
    ahead.forgetImage('img-1');
    expect(ahead.size).toBe(0);
  });

  it('a full cache starts nothing new (memory stays bounded); a failed render ahead fails only the Send that takes it', async () => {
    const r = counting();
    const ahead = new RenderAhead(r.fn, 1);
    ahead.warm(master, PLAIN, MB);
    ahead.warm(master, PLAIN, { format: 'pdf', maxBytes: 1_000_000 });
    expect(ahead.size).toBe(1);
    expect(r.calls()).toBe(1);
    const missing = join(dir, 'gone.master.jpg');
    const broken = new RenderAhead(r.fn);
    broken.warm(missing, PLAIN, MB);
    await expect(broken.take(missing, PLAIN, MB)).rejects.toMatchObject({ code: expect.stringMatching(/^ERR_/) });
  });
});
