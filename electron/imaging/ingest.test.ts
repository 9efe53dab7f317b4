import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { AppError, type ErrorCode } from '../../shared/errors';
import { createImagingService } from './service';
import type { ImagingService } from './types';
import {
  PHOTO_12MP,
  PHOTO_HEIC,
  PHOTO_PNG,
  QUADRANTS,
  heicBomb,
  heifEnc,
  jpegBomb,
  jpegWithGps,
  makePdf,
  near,
  orientedJpeg,
  pixelAt,
  pngBomb,
  quadrantRaw,
  tiffBomb,
  webpBomb,
  withIrot,
} from './testkit/images';

let root: string;
let dest: string;
let svc: ImagingService;
let n = 0;
const nextId = (): string => `img-${++n}`;

beforeAll(async () => {
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'imaging-ingest-'));
  svc = createImagingService();
});
afterAll(async () => {
  await svc.close();
  await fs.rm(root, { recursive: true, force: true });
});
beforeEach(async () => {
  dest = await fs.mkdtemp(path.join(root, 'dest-'));
});

async function expectCode(p: Promise<unknown>, code: ErrorCode): Promise<void> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(AppError);
  expect((err as AppError).code).toBe(code);
}
const listDest = (): Promise<string[]> => fs.readdir(dest);

/** Upright check of a quadrant image: the four corners (inset 15%) have the expected colours. */
async function expectUprightQuadrants(file: string, width: number, height: number): Promise<void> {
  const ix = Math.round(width * 0.15);
  const iy = Math.round(height * 0.15);
  expect(near(await pixelAt(file, ix, iy), QUADRANTS.tl)).toBe(true);
  expect(near(await pixelAt(file, width - 1 - ix, iy), QUADRANTS.tr)).toBe(true);
  expect(near(await pixelAt(file, ix, height - 1 - iy), QUADRANTS.bl)).toBe(true);
  expect(near(await pixelAt(file, width - 1 - ix, height - 1 - iy), QUADRANTS.br)).toBe(true);
}

describe('ingest: EXIF orientation applied exactly once', () => {
  it.each([1, 2, 3, 4, 5, 6, 7, 8])('orientation %i ends upright with no EXIF', async (o) => {
    const input = await orientedJpeg(o);
    // Sanity: the stored pixels really are transformed (except for 1), so the check below can fail.
    const meta = await sharp(input).metadata();
    expect(meta.orientation).toBe(o);
    const r = await svc.ingest({ buffer: input }, { dir: dest, id: nextId() });
    expect([r.width, r.height]).toEqual([160, 96]);
    await expectUprightQuadrants(r.masterPath, r.width, r.height);
    const out = await sharp(r.masterPath).metadata();
    expect(out.exif).toBeUndefined();
    expect(out.orientation).toBeUndefined();
  });

  it('the 12 MP orientation-6 phone photo becomes a 3024×4032 upright master, thumbnail ≤ 320 px', async () => {
    const r = await svc.ingest({ path: PHOTO_12MP }, { dir: dest, id: nextId() });
    expect(r.sourceType).toBe('jpeg');
    expect([r.width, r.height]).toEqual([3024, 4032]);
    const ref = await sharp(PHOTO_12MP).autoOrient().resize(48, 64, { fit: 'fill' }).raw().toBuffer();
    const got = await sharp(r.masterPath).resize(48, 64, { fit: 'fill' }).raw().toBuffer();
    const sideways = await sharp(PHOTO_12MP).resize(48, 64, { fit: 'fill' }).raw().toBuffer();
    const diff = (a: Buffer, b: Buffer): number => a.reduce((s, v, i) => s + Math.abs(v - (b[i] ?? 0)), 0) / a.length;
    expect(diff(got, ref)).toBeLessThan(4);
    expect(diff(got, sideways)).toBeGreaterThan(15);
    const meta = await sharp(r.masterPath).metadata();
    expect(meta.exif).toBeUndefined();
    expect(meta.icc).toBeUndefined();
    expect(r.thumbnailMime).toBe('image/jpeg');
    const t = await sharp(r.thumbnail).metadata();
    expect(Math.max(t.width ?? 0, t.height ?? 0)).toBe(320);
    expect(t.height).toBeGreaterThan(t.width ?? 0);
  });
});

describe('ingest: metadata stripped', () => {
  it('removes EXIF GPS and camera tags', async () => {
    const input = await jpegWithGps();
    expect(input.includes(Buffer.from('CanaryCam'))).toBe(true);
    expect((await sharp(input).metadata()).exif).toBeDefined();
    const r = await svc.ingest({ buffer: input }, { dir: dest, id: nextId() });
    const master = await fs.readFile(r.masterPath);
    expect(master.includes(Buffer.from('CanaryCam'))).toBe(false);
    expect(master.includes(Buffer.from('Exif\0'))).toBe(false);
    expect((await sharp(master).metadata()).exif).toBeUndefined();
    expect((await sharp(r.thumbnail).metadata()).exif).toBeUndefined();
  });

  it('converts a Display P3 image to sRGB pixels and drops the profile', async () => {
    // Pure sRGB red, converted to and tagged as Display P3 by sharp: stored values are no longer (255,0,0).
    const red = Buffer.alloc(64 * 64 * 3);
    for (let i = 0; i < red.length; i += 3) red[i] = 255;
    const p3 = await sharp(red, { raw: { width: 64, height: 64, channels: 3 } }).withIccProfile('p3').png().toBuffer();
    const stored = await sharp(p3).keepIccProfile().raw().toBuffer(); // the stored values, untransformed
    expect(stored[1]).toBeGreaterThan(20); // P3 encoding of sRGB red has green in it
    const r = await svc.ingest({ buffer: p3 }, { dir: dest, id: nextId() });
    expect((await sharp(r.masterPath).metadata()).icc).toBeUndefined();
    expect(near(await pixelAt(r.masterPath, 32, 32), [255, 0, 0], 12)).toBe(true);
  });
});

describe('ingest: each accepted type', () => {
  it('PNG 1600×2133 (already upright)', async () => {
    const r = await svc.ingest({ path: PHOTO_PNG }, { dir: dest, id: nextId() });
    expect(r.sourceType).toBe('png');
    expect([r.width, r.height]).toEqual([1600, 2133]);
    expect(path.basename(r.masterPath)).toMatch(/\.master\.jpg$/);
  });

  it('WebP and TIFF', async () => {
    const raw = quadrantRaw(160, 96);
    const webp = await sharp(raw, { raw: { width: 160, height: 96, channels: 3 } }).webp({ quality: 90 }).toBuffer();
    const tiff = await sharp(raw, { raw: { width: 160, height: 96, channels: 3 } }).tiff().toBuffer();
    const a = await svc.ingest({ buffer: webp }, { dir: dest, id: nextId() });
    const b = await svc.ingest({ buffer: tiff }, { dir: dest, id: nextId() });
    expect([a.sourceType, b.sourceType]).toEqual(['webp', 'tiff']);
    await expectUprightQuadrants(a.masterPath, 160, 96);
    await expectUprightQuadrants(b.masterPath, 160, 96);
  });

  it('PNG with transparency is flattened onto white', async () => {
    const rgba = Buffer.alloc(32 * 32 * 4); // fully transparent
    const png = await sharp(rgba, { raw: { width: 32, height: 32, channels: 4 } }).png().toBuffer();
    const r = await svc.ingest({ buffer: png }, { dir: dest, id: nextId() });
    expect(near(await pixelAt(r.masterPath, 16, 16), [255, 255, 255], 3)).toBe(true);
  });

  it('HEIC fixture decodes in the worker', async () => {
    const r = await svc.ingest({ path: PHOTO_HEIC }, { dir: dest, id: nextId() });
    expect(r.sourceType).toBe('heic');
    expect([r.width, r.height]).toEqual([1134, 1512]);
    expect((await sharp(r.masterPath).metadata()).format).toBe('jpeg');
  });

  it('HEIC from heif-enc: EXIF orientation inside a HEIC is not applied (libheif/irot decides)', async () => {
    // heif-enc copies the JPEG's EXIF (orientation 6) but writes no irot: the pixels are already as stored.
    const jpeg = await sharp(quadrantRaw(160, 96), { raw: { width: 160, height: 96, channels: 3 } })
      .jpeg({ quality: 95 })
      .withMetadata({ orientation: 6 })
      .toBuffer();
    const heic = await heifEnc(jpeg, root, `exif6-${n}`);
    const r = await svc.ingest({ buffer: heic }, { dir: dest, id: nextId() });
    expect([r.width, r.height]).toEqual([160, 96]);
    await expectUprightQuadrants(r.masterPath, 160, 96);
  });

  it('HEIC with an irot property is rotated exactly once', async () => {
    // Stored pixels are the upright image turned 90° clockwise; irot says "turn 90° anticlockwise to show".
    const up = quadrantRaw(160, 96);
    const stored = await sharp(up, { raw: { width: 160, height: 96, channels: 3 } }).rotate(90).raw().toBuffer();
    const jpeg = await sharp(stored, { raw: { width: 96, height: 160, channels: 3 } }).jpeg({ quality: 95 }).withMetadata().toBuffer();
    const heic = withIrot(await heifEnc(jpeg, root, `irot-${n}`), 1);
    const r = await svc.ingest({ buffer: heic }, { dir: dest, id: nextId() });
    expect([r.width, r.height]).toEqual([160, 96]);
    await expectUprightQuadrants(r.masterPath, 160, 96);
  });

  it('HEIC decoding leaves the event loop free (it runs in a worker thread)', async () => {
    let ticks = 0;
    let running = true;
    const spin = (): void => {
      ticks++;
      if (running) setImmediate(spin);
    };
    setImmediate(spin);
    await svc.ingest({ path: PHOTO_HEIC }, { dir: dest, id: nextId() });
    running = false;
    expect(ticks).toBeGreaterThan(20);
  });

  it('PDF passes through byte for byte with a document thumbnail', async () => {
    const pdf = await makePdf();
    const r = await svc.ingest({ buffer: pdf }, { dir: dest, id: nextId() });
    expect(r.sourceType).toBe('pdf');
    expect(path.basename(r.masterPath)).toMatch(/\.master\.pdf$/);
    expect((await fs.readFile(r.masterPath)).equals(pdf)).toBe(true);
    expect([r.width, r.height]).toEqual([595, 842]);
    expect((await sharp(r.thumbnail).metadata()).format).toBe('jpeg');
  });
});

describe('ingest: bad inputs get a coded error and leave nothing behind', () => {
  const cases: Array<[string, () => Promise<Buffer> | Buffer, ErrorCode]> = [
    ['PNG header 65535×65535 (pixel flood)', () => pngBomb(), 'ERR_IMAGE_TOO_MANY_PIXELS'],
    ['PNG header 8000×7000 (56 MP, over the 50 MP limit)', () => pngBomb(8000, 7000), 'ERR_IMAGE_TOO_MANY_PIXELS'],
    ['JPEG header 65500×65500', () => jpegBomb(), 'ERR_IMAGE_TOO_MANY_PIXELS'],
    ['WebP header 16383×16383', () => webpBomb(), 'ERR_IMAGE_TOO_MANY_PIXELS'],
    ['TIFF header 65000×65000', () => tiffBomb(), 'ERR_IMAGE_TOO_MANY_PIXELS'],
    ['GIF', () => sharp(quadrantRaw(32, 32), { raw: { width: 32, height: 32, channels: 3 } }).gif().toBuffer(), 'ERR_IMAGE_UNSUPPORTED'],
    ['SVG', () => Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="10" height="10"/></svg>'), 'ERR_IMAGE_UNSUPPORTED'],
    ['SVG with XML prolog', () => Buffer.from('<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"/>'), 'ERR_IMAGE_UNSUPPORTED'],
    ['AVIF', () => sharp(quadrantRaw(32, 32), { raw: { width: 32, height: 32, channels: 3 } }).avif().toBuffer(), 'ERR_IMAGE_UNSUPPORTED'],
    ['HTML named .jpg', () => Buffer.from('<html><script>alert(1)</script></html>'), 'ERR_IMAGE_UNSUPPORTED'],
    ['ZIP', () => Buffer.from('PK\u0003\u0004 not a photo'), 'ERR_IMAGE_UNSUPPORTED'],
    ['empty file', () => Buffer.alloc(0), 'ERR_IMAGE_CORRUPT'],
    ['truncated JPEG (first 60%)', async () => {
      const full = await fs.readFile(PHOTO_PNG).then((png) => sharp(png).jpeg({ quality: 90 }).toBuffer());
      return full.subarray(0, Math.floor(full.length * 0.6));
    }, 'ERR_IMAGE_CORRUPT'],
    ['JPEG signature then garbage', () => Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.alloc(2000, 0x41)]), 'ERR_IMAGE_CORRUPT'],
    ['truncated PNG', async () => (await sharp(quadrantRaw(300, 300), { raw: { width: 300, height: 300, channels: 3 } }).png().toBuffer()).subarray(0, 200), 'ERR_IMAGE_CORRUPT'],
    ['PDF that does not parse', () => Buffer.from('%PDF-1.7\n1 0 obj garbage'), 'ERR_IMAGE_CORRUPT'],
  ];

  it.each(cases)('%s', async (_name, make, code) => {
    const input = await make();
    const started = performance.now();
    await expectCode(svc.ingest({ buffer: input }, { dir: dest, id: nextId() }), code);
    if (code === 'ERR_IMAGE_TOO_MANY_PIXELS') expect(performance.now() - started).toBeLessThan(2_000); // refused from the header, not decoded
    expect(await listDest()).toEqual([]);
  });

  it('truncated HEIC and HEIC pixel bomb (ispe 65535×65535)', async () => {
    const heic = await fs.readFile(PHOTO_HEIC);
    await expectCode(svc.ingest({ buffer: heic.subarray(0, Math.floor(heic.length / 2)) }, { dir: dest, id: nextId() }), 'ERR_IMAGE_CORRUPT');
    await expectCode(svc.ingest({ buffer: heicBomb(heic) }, { dir: dest, id: nextId() }), 'ERR_IMAGE_TOO_MANY_PIXELS');
    expect(await listDest()).toEqual([]);
  });

  it('a file over the size cap is refused before it is read', async () => {
    const small = createImagingService({ limits: { maxUploadFileBytes: 1_000_000 } });
    try {
      await expectCode(small.ingest({ path: PHOTO_12MP }, { dir: dest, id: nextId() }), 'ERR_IMAGE_FILE_TOO_LARGE');
      await expectCode(small.ingest({ buffer: Buffer.alloc(1_000_001, 0xff) }, { dir: dest, id: nextId() }), 'ERR_IMAGE_FILE_TOO_LARGE');
    } finally {
      await small.close();
    }
    expect(await listDest()).toEqual([]);
  });

  it('a real photo over a lower pixel limit is refused (limitInputPixels is configurable, never off)', async () => {
    const strict = createImagingService({ limits: { maxInputPixels: 1_000_000 } });
    try {
      await expectCode(strict.ingest({ path: PHOTO_12MP }, { dir: dest, id: nextId() }), 'ERR_IMAGE_TOO_MANY_PIXELS');
      await expectCode(strict.ingest({ path: PHOTO_HEIC }, { dir: dest, id: nextId() }), 'ERR_IMAGE_TOO_MANY_PIXELS');
    } finally {
      await strict.close();
    }
    expect(await listDest()).toEqual([]);
  });

  it('a missing input file is ERR_NOT_FOUND', async () => {
    await expectCode(svc.ingest({ path: path.join(root, 'nope.jpg') }, { dir: dest, id: nextId() }), 'ERR_NOT_FOUND');
  });

  it('identifiers that could name another place are refused; only dest.id names the file', async () => {
    const input = await orientedJpeg(1);
    for (const id of ['../escape', 'a/b', '..', '', '.hidden', 'x'.repeat(200), 'a\u0000b', 'C:\\x']) {
      await expectCode(svc.ingest({ buffer: input }, { dir: dest, id }), 'ERR_REQUEST_INVALID');
    }
    await expectCode(svc.ingest({ buffer: input }, { dir: 'relative/dir', id: 'ok' }), 'ERR_REQUEST_INVALID');
    expect(await listDest()).toEqual([]);
    expect(await fs.readdir(root)).not.toContain('escape.master.jpg');
    const r = await svc.ingest({ path: PHOTO_PNG }, { dir: dest, id: 'b1c6a2e4-0f5e-4c1e-9b1a-3f0c2d9e8a77' });
    expect(await listDest()).toEqual(['b1c6a2e4-0f5e-4c1e-9b1a-3f0c2d9e8a77.master.jpg']);
    expect(path.dirname(r.masterPath)).toBe(await fs.realpath(dest));
  });

  it('an identifier already used is refused and the first master is kept', async () => {
    const a = await svc.ingest({ buffer: await orientedJpeg(1) }, { dir: dest, id: 'same' });
    const before = await fs.readFile(a.masterPath);
    await expectCode(svc.ingest({ path: PHOTO_PNG }, { dir: dest, id: 'same' }), 'ERR_REQUEST_INVALID');
    expect((await fs.readFile(a.masterPath)).equals(before)).toBe(true);
  });
});

describe('ingest: polyglots are re-encoded, never stored as sent', () => {
  it.each([
    ['ZIP', Buffer.concat([Buffer.from('PK\u0003\u0004'), Buffer.from('payload.txt'), Buffer.alloc(64, 7)])],
    ['HTML', Buffer.from('<html><script>alert("polyglot")</script></html>')],
  ])('JPEG + appended %s', async (_name, payload) => {
    const polyglot = Buffer.concat([await orientedJpeg(1), payload]);
    const r = await svc.ingest({ buffer: polyglot }, { dir: dest, id: nextId() });
    const master = await fs.readFile(r.masterPath);
    expect(master.includes(payload.subarray(0, 8))).toBe(false);
    expect(master.subarray(-2)).toEqual(Buffer.from([0xff, 0xd9]));
    await expectUprightQuadrants(r.masterPath, 160, 96);
  });
});
