import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { plainMasterFiles } from './master-files';
import { createImagingService } from './service';
import type { Edits, ImagingService, MasterFiles, RenderResult } from './types';
import { PHOTO_12MP, QUADRANTS, heifEnc, near, orientedJpeg, pixelAt } from './testkit/images';

const PLAIN: Edits = { rotate: 0, annotations: [] };
const MB = { format: 'jpeg', maxBytes: 1_000_000 } as const;

/** Plain master files that count how often a master is read back (a render from the master reads it once). */
function countingFiles(): { files: MasterFiles; reads: () => number } {
  let reads = 0;
  return {
    files: { write: plainMasterFiles.write, read: (p) => ((reads += 1), plainMasterFiles.read(p)) },
    reads: () => reads,
  };
}

/** A service over counting master files for one test, closed after it. */
async function withService(options: { earlyRenders?: boolean }, test: (imaging: ImagingService, reads: () => number) => Promise<void>): Promise<void> {
  const counting = countingFiles();
  const imaging = createImagingService({ masterFiles: counting.files, ...options });
  try {
    await test(imaging, counting.reads);
  } finally {
    await imaging.close();
  }
}

async function expectCleanJpeg(out: RenderResult, maxBytes: number): Promise<void> {
  const meta = await sharp(out.data).metadata();
  expect([meta.format, meta.width, meta.height]).toEqual(['jpeg', out.width, out.height]);
  expect(out.data.length).toBeLessThanOrEqual(maxBytes);
  expect([meta.exif, meta.icc, meta.xmp, meta.iptc]).toEqual([undefined, undefined, undefined, undefined]);
}

describe('early render: a photo rendered from its ingest’s own pixels (real sharp)', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cpi-early-render-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  let svc: ImagingService | undefined;
  afterAll(async () => {
    await svc?.close();
  });

  it('a 12 MP photo without edits: Send’s JPEG under 1 MB is made without reading the master back, upright, metadata-free, as good as one from the master', async () => {
    const counting = countingFiles();
    svc = createImagingService({ masterFiles: counting.files });
    const m = await svc.ingest({ path: PHOTO_12MP }, { dir, id: 'photo-12mp' });
    const early = await svc.render(m.masterPath, PLAIN, MB);
    expect(counting.reads()).toBe(0);
    await expectCleanJpeg(early, MB.maxBytes);
    expect([early.width, early.height]).toEqual([m.width, m.height]); // EXIF 6 applied once: portrait, every pixel kept

    const fromMaster = await svc.render(m.masterPath, PLAIN, MB); // taken once: the next render reads the master
    expect(counting.reads()).toBe(1);
    expect([fromMaster.width, fromMaster.height]).toEqual([early.width, early.height]);
    expect(Math.abs(early.quality - fromMaster.quality)).toBeLessThanOrEqual(1);
  });

  it('an edit, another limit or another format is rendered from the master; the next photo is rendered early as the last request without edits asked', async () => {
    await withService({}, async (imaging, reads) => {
      const photo = await orientedJpeg(6, 1600, 1200);
      const a = await imaging.ingest({ buffer: photo }, { dir, id: 'edits-a' });
      const rotated = await imaging.render(a.masterPath, { rotate: 90, annotations: [] }, MB);
      expect([rotated.width, rotated.height, reads()]).toEqual([1200, 1600, 1]);
      const tiff = await imaging.render(a.masterPath, PLAIN, { format: 'tiff', maxBytes: 600_000 });
      expect([tiff.contentType, reads()]).toEqual(['image/tiff', 2]);

      const b = await imaging.ingest({ buffer: photo }, { dir, id: 'edits-b' });
      const early = await imaging.render(b.masterPath, PLAIN, { format: 'tiff', maxBytes: 600_000 });
      expect([early.contentType, early.width, early.height, reads()]).toEqual(['image/tiff', 1600, 1200, 2]);
      expect(early.data.length).toBeLessThanOrEqual(600_000);
      // Upright: EXIF 6 applied exactly once.
      const tiffPixels = await sharp(early.data).jpeg().toBuffer();
      expect(near(await pixelAt(tiffPixels, 40, 40), QUADRANTS.tl) && near(await pixelAt(tiffPixels, 1560, 1160), QUADRANTS.br)).toBe(true);
    });
  });

  it('a HEIC (pixels from libheif, colour converted) is rendered early too', async () => {
    await withService({}, async (imaging, reads) => {
      const heic = await heifEnc(await sharp(await readFile(PHOTO_12MP)).resize(1200).jpeg().toBuffer(), dir, 'early-heic');
      const m = await imaging.ingest({ buffer: heic }, { dir, id: 'early-heic' });
      const out = await imaging.render(m.masterPath, PLAIN, MB);
      expect(reads()).toBe(0);
      await expectCleanJpeg(out, MB.maxBytes);
      expect([out.width, out.height]).toEqual([m.width, m.height]);
    });
  });

  it('a 16-bit PNG comes to 8-bit sRGB at ingest: rendered early, in its true colours', async () => {
    await withService({}, async (imaging, reads) => {
      const png16 = await sharp(await orientedJpeg(1, 320, 200)).toColourspace('rgb16').png().toBuffer();
      expect((await sharp(png16).metadata()).depth).toBe('ushort');
      const m = await imaging.ingest({ buffer: png16 }, { dir, id: 'png16' });
      const out = await imaging.render(m.masterPath, PLAIN, MB);
      expect(reads()).toBe(0);
      await expectCleanJpeg(out, MB.maxBytes);
      expect(near(await pixelAt(out.data, 20, 20), QUADRANTS.tl, 12) && near(await pixelAt(out.data, 300, 180), QUADRANTS.br, 12)).toBe(true);
    });
  });

  it('earlyRenders: false (a benchmark\'s baseline): every render decodes its master', async () => {
    await withService({ earlyRenders: false }, async (imaging, reads) => {
      const m = await imaging.ingest({ buffer: await orientedJpeg(1, 1600, 1200) }, { dir, id: 'no-early' });
      await expectCleanJpeg(await imaging.render(m.masterPath, PLAIN, MB), MB.maxBytes);
      expect(reads()).toBe(1);
    });
  });

  it('an ingest told not to (more photos are coming in) begins no render: its render decodes its master', async () => {
    await withService({}, async (imaging, reads) => {
      const asked: boolean[] = [];
      const renderEarly = (): false => (asked.push(false), false);
      const m = await imaging.ingest({ buffer: await orientedJpeg(1, 1600, 1200) }, { dir, id: 'in-a-run' }, { renderEarly });
      await expectCleanJpeg(await imaging.render(m.masterPath, PLAIN, MB), MB.maxBytes);
      expect([asked.length > 0, reads()]).toEqual([true, 1]);
    });
  });

  it('the first photo of a run of uploads is rendered from its own pixels beside the next photo’s ingest; a desktop photo only with a free place in the queue', async () => {
    for (const claim of ['beside', 'if-room'] as const) {
      // The next photo's master write waits until released, so its ingest holds the other place in the render queue.
      let release = (): void => undefined;
      const released = new Promise<void>((resolve) => (release = resolve));
      let nextWriting = (): void => undefined;
      const nextInQueue = new Promise<void>((resolve) => (nextWriting = resolve));
      let reads = 0;
      const files: MasterFiles = {
        write: async (path, bytes) => {
          if (path.includes('run-next')) {
            nextWriting();
            await released;
          }
          return plainMasterFiles.write(path, bytes);
        },
        read: (path) => ((reads += 1), plainMasterFiles.read(path)),
      };
      const imaging = createImagingService({ masterFiles: files });
      try {
        const photo = await orientedJpeg(6, 1600, 1200);
        const next = imaging.ingest({ buffer: photo }, { dir, id: `run-next-${claim}` }, { renderEarly: () => false });
        await nextInQueue;
        const first = await imaging.ingest({ buffer: photo }, { dir, id: `run-first-${claim}` }, { renderEarly: () => claim });
        await expectCleanJpeg(await imaging.render(first.masterPath, PLAIN, MB), MB.maxBytes);
        expect([claim, reads]).toEqual([claim, claim === 'beside' ? 0 : 1]);
        release();
        await next;
      } finally {
        release();
        await imaging.close();
      }
    }
  });

  it('a photo whose master could not be stored is never rendered from memory: the ingest fails and its render finds nothing', async () => {
    const files: MasterFiles = { write: () => Promise.reject(Object.assign(new Error('disk full'), { code: 'ENOSPC' })), read: plainMasterFiles.read };
    const imaging = createImagingService({ masterFiles: files });
    try {
      await expect(imaging.ingest({ buffer: await orientedJpeg(1, 1600, 1200) }, { dir, id: 'unstored' })).rejects.toMatchObject({ code: expect.stringMatching(/^ERR_STORAGE/) });
      await expect(imaging.render(join(dir, 'unstored.master.jpg'), PLAIN, MB)).rejects.toMatchObject({ code: 'ERR_NOT_FOUND' });
    } finally {
      await imaging.close();
    }
  });
});
