/**
 * First sight: the thumbnail comes before the working master is written, from the cheapest true source —
 * the JPEG itself (shrink-on-load) or the HEIC's own embedded thumbnail — upright and in sRGB.
 */
import { execFileSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deltaEStats } from './testkit/quality-metrics';
import { plainMasterFiles } from './master-files';
import { HeicDecoder } from './heic';
import { createImagingService } from './service';
import { GRID_H, GRID_W, PATCHES, heicWithIcc, measurePatches, taggedGrid } from './testkit/colour-images';
import { addItemProperties, heifItems, irotBox } from './testkit/heif-boxes';
import { QUADRANTS, near, orientedJpeg, pixelAt } from './testkit/images';
import type { ImagingService } from './types';

const FIXTURE_12MP = new URL('../../../shared/fixtures/photos/photo-12mp-orient6.jpg', import.meta.url).pathname;

let root: string;
let svc: ImagingService;
let n = 0;
beforeAll(async () => {
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'imaging-thumb-'));
  svc = createImagingService();
});
afterAll(async () => {
  await svc.close();
  await fs.rm(root, { recursive: true, force: true });
});

/** Ingests and records each early thumbnail with whether the master existed at that moment. */
async function ingestWatching(input: Buffer) {
  const dir = await fs.mkdtemp(path.join(root, 'dest-'));
  const id = `t${++n}`;
  const masterPath = path.join(dir, `${id}.master.jpg`);
  const seen: Array<{ thumb: Buffer; existed: Promise<boolean> }> = [];
  const r = await svc.ingest({ buffer: input }, { dir, id }, {
    onThumbnail: (thumb) => seen.push({ thumb, existed: fs.access(masterPath).then(() => true, () => false) }),
  });
  const early = await Promise.all(seen.map(async (e) => ({ thumb: e.thumb, masterExisted: await e.existed })));
  return { r, early };
}

describe('thumbnail first, master after', () => {
  it('a JPEG: the thumbnail arrives before the master exists, upright (EXIF applied once) and is the one returned', async () => {
    const { r, early } = await ingestWatching(await orientedJpeg(6, 640, 384));
    expect(early).toHaveLength(1);
    expect(early[0]?.masterExisted).toBe(false);
    const thumb = early[0]?.thumb as Buffer;
    expect(thumb.equals(r.thumbnail)).toBe(true);
    const meta = await sharp(thumb).metadata();
    expect([meta.width, meta.height]).toEqual([320, 192]);
    expect(meta.exif).toBeUndefined();
    expect(near(await pixelAt(thumb, 40, 30), QUADRANTS.tl)).toBe(true);
    expect(near(await pixelAt(thumb, 280, 160), QUADRANTS.br)).toBe(true);
  });

  it('a Display P3 JPEG: the early thumbnail is already sRGB with no profile', async () => {
    const { early } = await ingestWatching(await taggedGrid('p3', 'jpeg', 2));
    const thumb = early[0]?.thumb as Buffer;
    expect((await sharp(thumb).metadata()).icc).toBeUndefined();
    const stats = deltaEStats(PATCHES, await measurePatches(thumb, { resizeToGrid: true }));
    expect(stats.mean).toBeLessThanOrEqual(2);
    expect(stats.worst).toBeLessThanOrEqual(5);
  });

  it('a HEIC with its own thumbnail (P3, turned by irot on both items, as an iPhone writes): that thumbnail comes first, upright and in sRGB', async () => {
    // The grid stored turned 90° clockwise; irot 1 (90° anticlockwise) on the primary and on the thumbnail shows it upright.
    const turned = await sharp(await taggedGrid('p3', 'jpeg', 4)).rotate(90).keepIccProfile().jpeg({ quality: 100, chromaSubsampling: '4:4:4' }).toBuffer();
    const withThumb = await heicFromJpegWithThumbnail(turned, `turned-${n}`);
    const items = heifItems(withThumb);
    expect(items.thumbnails).toHaveLength(1);
    let file = addItemProperties(withThumb, items.primary, [irotBox(1)]);
    file = addItemProperties(file, items.thumbnails[0] as number, [irotBox(1)]);

    const { r, early } = await ingestWatching(file);
    expect(early).toHaveLength(1);
    expect(early[0]?.masterExisted).toBe(false);
    const thumb = early[0]?.thumb as Buffer;
    const meta = await sharp(thumb).metadata();
    expect(meta.width).toBeGreaterThan(meta.height ?? 0);
    expect(meta.icc).toBeUndefined();
    const stats = deltaEStats(PATCHES, await measurePatches(thumb, { resizeToGrid: true }));
    expect(stats.mean).toBeLessThanOrEqual(2);
    expect(stats.worst).toBeLessThanOrEqual(5);
    expect([r.width, r.height]).toEqual([GRID_W * 4, GRID_H * 4]);
  });

  it('a HEIC whose thumbnail is not turned like its primary image: no early thumbnail (it would show sideways)', async () => {
    const jpeg = await sharp(await taggedGrid('p3', 'jpeg', 4)).rotate(90).keepIccProfile().jpeg({ quality: 95 }).toBuffer();
    const withThumb = await heicFromJpegWithThumbnail(jpeg, `mismatch-${n}`);
    const items = heifItems(withThumb);
    const file = addItemProperties(withThumb, items.primary, [irotBox(1)]); // thumbnail left unturned
    const { r, early } = await ingestWatching(file);
    expect(early).toEqual([]);
    const meta = await sharp(r.thumbnail).metadata();
    expect(meta.width).toBeGreaterThan(meta.height ?? 0); // the final thumbnail (from the master) is upright
  });

  it('a HEIC without a thumbnail: no early thumbnail; the result still has one', async () => {
    const { r, early } = await ingestWatching(await heicWithIcc('p3', root, `nothumb-${n}`));
    expect(early).toEqual([]);
    expect((await sharp(r.thumbnail).metadata()).format).toBe('jpeg');
  });
});

describe("a new photo's thumbnail does not queue behind other work", () => {
  it.each(['JPEG', 'HEIC'])('a %s: its thumbnail comes while masters and renders hold every slot; its own master waits for one', async (kind) => {
    let release = (): void => undefined;
    const held = new Promise<void>((resolve) => (release = resolve));
    // Renders read their master through `masterFiles`: these hold their slots until released.
    const read = async (p: string): Promise<Buffer> => {
      await held;
      return plainMasterFiles.read(p);
    };
    const blocking = createImagingService({ concurrency: 2, masterFiles: { write: plainMasterFiles.write, read } });
    const dir = await fs.mkdtemp(path.join(root, 'busy-'));
    try {
      const before = await blocking.ingest({ buffer: await orientedJpeg(1, 640, 384) }, { dir, id: 'before' });
      const renders = [80, 90].map((q) => blocking.render(before.masterPath, { rotate: 0, annotations: [] }, { format: 'jpeg', maxBytes: q * 1000 }));
      const input = kind === 'JPEG' ? await orientedJpeg(6, 640, 384) : await heicFromJpegWithThumbnail(await orientedJpeg(1, 640, 384), `busy-${n}`);
      let ingest: Promise<unknown> = Promise.resolve();
      const thumb = await new Promise<Buffer>((resolve) => {
        ingest = blocking.ingest({ buffer: input }, { dir, id: 'new' }, { onThumbnail: resolve });
      });
      expect(await fs.readdir(dir)).toEqual(['before.master.jpg']);
      expect(near(await pixelAt(thumb, 40, 30), QUADRANTS.tl)).toBe(true);
      release();
      await Promise.all([...renders, ingest]);
      expect((await fs.readdir(dir)).sort()).toEqual(['before.master.jpg', 'new.master.jpg']);
    } finally {
      release();
      await blocking.close();
    }
  });
});

describe('HEIC decoders loaded before the first HEIC arrives (a phone joined)', () => {
  it('warm() resolves once libheif is loaded in the worker, which then decodes the thumbnail; again after close, a new worker', async () => {
    const decoder = new HeicDecoder(30_000);
    try {
      await decoder.warm();
      await decoder.warm(); // the same worker: loaded already
      const file = await heicFromJpegWithThumbnail(await orientedJpeg(1, 640, 384), `warm-${n}`);
      const thumb = await decoder.thumbnail(file, 50_000_000);
      expect([thumb?.width, thumb?.height]).toEqual([200, 120]);
      await decoder.close();
      await decoder.warm();
      expect((await decoder.thumbnail(file, 50_000_000))?.width).toBe(200);
    } finally {
      await decoder.close();
    }
  });
});

describe("an earlier photo's master waits for the next photo's first look", () => {
  it("a small photo's master is written only after the large photo behind it is on screen; both then ready", async () => {
    const order: string[] = [];
    const write = (p: string, bytes: Buffer): Promise<void> => (order.push(`master ${path.basename(p).split('.')[0]}`), plainMasterFiles.write(p, bytes));
    const one = createImagingService({ concurrency: 1, masterFiles: { write, read: plainMasterFiles.read } });
    const dir = await fs.mkdtemp(path.join(root, 'order-'));
    try {
      const large = await fs.readFile(FIXTURE_12MP); // stored landscape, EXIF 6: upright 3024 wide
      const ingests = [
        one.ingest({ buffer: await orientedJpeg(1, 320, 240) }, { dir, id: 'small' }, { onThumbnail: () => order.push('thumbnail small') }),
        one.ingest({ buffer: large }, { dir, id: 'large' }, { onThumbnail: () => order.push('thumbnail large') }),
      ];
      expect((await Promise.all(ingests)).map((r) => r.width)).toEqual([320, 3024]);
      expect(order).toEqual(['thumbnail small', 'thumbnail large', 'master small', 'master large']);
    } finally {
      await one.close();
    }
  });
});

/** heif-enc with `-t 200`: a `thmb` thumbnail item beside the primary, as an iPhone writes one. */
async function heicFromJpegWithThumbnail(jpeg: Buffer, name: string): Promise<Buffer> {
  const src = path.join(root, `${name}.jpg`);
  const out = path.join(root, `${name}.heic`);
  await fs.writeFile(src, jpeg);
  execFileSync('heif-enc', ['-q', '95', '-p', 'chroma=444', '-t', '200', src, '-o', out], { stdio: 'ignore' });
  return fs.readFile(out);
}
