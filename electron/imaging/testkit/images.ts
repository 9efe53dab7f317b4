/**
 * Test inputs made on the fly (nothing here is shipped). Each maker says how the file is built,
 * so a reader can reproduce it. Photos come from ../shared/fixtures beside the repository (read-only, copied where needed).
 */
import { execFileSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import type { Sharp } from 'sharp';
import { PDFDocument, StandardFonts } from 'pdf-lib';

/** The shared read-only fixtures beside the repository (../shared/fixtures, see QUALITY.md). */
export const FIXTURES = fileURLToPath(new URL('../../../../shared/fixtures/photos', import.meta.url));
export const PHOTO_12MP = path.join(FIXTURES, 'photo-12mp-orient6.jpg');
export const PHOTO_HEIC = path.join(FIXTURES, 'photo-iphone-like.heic');
export const PHOTO_PNG = path.join(FIXTURES, 'photo-1600-portrait.png');

export type Rgb = [number, number, number];
/** Quadrant colours of the asymmetric test image, upright: top-left, top-right, bottom-left, bottom-right. */
export const QUADRANTS: { tl: Rgb; tr: Rgb; bl: Rgb; br: Rgb } = {
  tl: [230, 30, 30],
  tr: [30, 200, 30],
  bl: [30, 30, 230],
  br: [240, 240, 240],
};

/** An upright W×H image with four flat-colour quadrants, as raw RGB. */
export function quadrantRaw(width: number, height: number): Buffer {
  const buf = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const top = y < height / 2;
      const left = x < width / 2;
      const c = top ? (left ? QUADRANTS.tl : QUADRANTS.tr) : left ? QUADRANTS.bl : QUADRANTS.br;
      buf.set(c, (y * width + x) * 3);
    }
  }
  return buf;
}

async function transformRaw(data: Buffer, width: number, height: number, op: (s: Sharp) => Sharp) {
  const out = await op(sharp(data, { raw: { width, height, channels: 3 } })).raw().toBuffer({ resolveWithObject: true });
  return { data: out.data, width: out.info.width, height: out.info.height };
}

/**
 * A JPEG that *displays* as the upright quadrant image when EXIF orientation `o` is honoured:
 * the stored pixels are the inverse of orientation o's display transform, then the tag is set with
 * sharp `withMetadata({ orientation })`.
 */
export async function orientedJpeg(o: number, width = 160, height = 96): Promise<Buffer> {
  const up = { data: quadrantRaw(width, height), width, height };
  const ops: Record<number, Array<(s: Sharp) => Sharp>> = {
    1: [],
    2: [(s) => s.flop()],
    3: [(s) => s.rotate(180)],
    4: [(s) => s.flip()],
    5: [(s) => s.rotate(90), (s) => s.flop()], // transpose (self-inverse)
    6: [(s) => s.rotate(270)], // displayed = 90° clockwise of stored
    7: [(s) => s.rotate(90), (s) => s.flip()], // transverse (self-inverse)
    8: [(s) => s.rotate(90)],
  };
  let img = up;
  for (const op of ops[o] ?? []) img = await transformRaw(img.data, img.width, img.height, op);
  return sharp(img.data, { raw: { width: img.width, height: img.height, channels: 3 } })
    .jpeg({ quality: 95, chromaSubsampling: '4:4:4' })
    .withMetadata({ orientation: o })
    .toBuffer();
}

/** A JPEG carrying EXIF GPS and a camera Make (sharp `withExif`). */
export async function jpegWithGps(): Promise<Buffer> {
  return sharp(quadrantRaw(160, 96), { raw: { width: 160, height: 96, channels: 3 } })
    .jpeg({ quality: 90 })
    .withExif({
      IFD0: { Make: 'CanaryCam', Model: 'GPS-Test' },
      IFD3: { GPSLatitudeRef: 'S', GPSLatitude: '36/1 51/1 0/1', GPSLongitudeRef: 'E', GPSLongitude: '174/1 45/1 0/1' },
    })
    .toBuffer();
}

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();
function crc32(buf: Buffer): number {
  let c = 0xffffffff;
  for (const b of buf) c = (CRC_TABLE[(c ^ b) & 0xff] ?? 0) ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
function pngChunk(type: string, data: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([len, body, crc]);
}

/** A pixel-flood PNG: a valid IHDR declaring width×height and a tiny IDAT (a few bytes of zlib). */
export function pngBomb(width = 65535, height = 65535): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // RGB
  const idat = Buffer.from([0x78, 0x9c, 0x63, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01]);
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), pngChunk('IHDR', ihdr), pngChunk('IDAT', idat), pngChunk('IEND', Buffer.alloc(0))]);
}

/** A small real JPEG whose SOF0 header is patched to claim width×height. */
export async function jpegBomb(width = 65500, height = 65500): Promise<Buffer> {
  const buf = Buffer.from(await sharp(quadrantRaw(64, 64), { raw: { width: 64, height: 64, channels: 3 } }).jpeg().toBuffer());
  const sof = buf.indexOf(Buffer.from([0xff, 0xc0]));
  buf.writeUInt16BE(height, sof + 5);
  buf.writeUInt16BE(width, sof + 7);
  return buf;
}

/** A small lossy WebP whose VP8 frame header is patched to the format's maximum, 16383×16383 (268 MP). */
export async function webpBomb(): Promise<Buffer> {
  const buf = Buffer.from(await sharp(quadrantRaw(64, 64), { raw: { width: 64, height: 64, channels: 3 } }).webp({ quality: 80 }).toBuffer());
  if (buf.toString('latin1', 12, 16) !== 'VP8 ') throw new Error('expected a simple lossy WebP');
  buf.writeUInt16LE(16383, 26);
  buf.writeUInt16LE(16383, 28);
  return buf;
}

/** A small uncompressed TIFF whose ImageWidth/ImageLength tags are patched to width×height. */
export async function tiffBomb(width = 65000, height = 65000): Promise<Buffer> {
  const buf = Buffer.from(await sharp(quadrantRaw(64, 64), { raw: { width: 64, height: 64, channels: 3 } }).tiff({ compression: 'none' }).toBuffer());
  if (buf.toString('latin1', 0, 2) !== 'II') throw new Error('expected a little-endian TIFF');
  const ifd = buf.readUInt32LE(4);
  const count = buf.readUInt16LE(ifd);
  for (let i = 0; i < count; i++) {
    const e = ifd + 2 + i * 12;
    const tag = buf.readUInt16LE(e);
    const type = buf.readUInt16LE(e + 2);
    const value = tag === 256 ? width : tag === 257 ? height : null;
    if (value === null) continue;
    if (type === 3) buf.writeUInt16LE(value, e + 8);
    else buf.writeUInt32LE(value, e + 8);
  }
  return buf;
}

/** HEIC via Debian's heif-enc (libheif-examples) from a JPEG. heif-enc 1.15 copies EXIF but writes no irot. */
export async function heifEnc(jpeg: Buffer, dir: string, name: string): Promise<Buffer> {
  const src = path.join(dir, `${name}.jpg`);
  const out = path.join(dir, `${name}.heic`);
  await fs.writeFile(src, jpeg);
  execFileSync('heif-enc', ['-q', '90', src, '-o', out], { stdio: 'ignore' });
  return fs.readFile(out);
}

/**
 * Gives a heif-enc HEIC an `irot` (rotation) property: the item's `colr` property box (present when the
 * source JPEG had an ICC profile) is rewritten in place, same size, as `irot` with the given
 * anticlockwise quarter turns. No offsets move, so the file stays valid.
 */
export function withIrot(heic: Buffer, quarterTurnsAnticlockwise: 1 | 2 | 3): Buffer {
  const buf = Buffer.from(heic);
  const at = buf.indexOf(Buffer.from('colr', 'latin1'));
  if (at < 4) throw new Error('no colr box to turn into irot (encode from a JPEG with an ICC profile)');
  const size = buf.readUInt32BE(at - 4);
  buf.write('irot', at, 'latin1');
  buf.fill(0, at + 4, at - 4 + size);
  buf[at + 4] = quarterTurnsAnticlockwise;
  return buf;
}

/** Patches the HEIF `ispe` (image spatial extents) property to claim width×height (a HEIC pixel bomb). */
export function heicBomb(heic: Buffer, width = 65535, height = 65535): Buffer {
  const buf = Buffer.from(heic);
  const at = buf.indexOf(Buffer.from('ispe', 'latin1'));
  if (at < 0) throw new Error('no ispe box');
  buf.writeUInt32BE(width, at + 8);
  buf.writeUInt32BE(height, at + 12);
  return buf;
}

/** A one-page PDF made with pdf-lib; `padBytes` embeds a noise image to make it large. */
export async function makePdf(padBytes = 0): Promise<Buffer> {
  const doc = await PDFDocument.create();
  const page = doc.addPage([595, 842]);
  page.drawText('Referral scan', { x: 50, y: 780, size: 24, font: await doc.embedFont(StandardFonts.Helvetica) });
  if (padBytes > 0) {
    const side = Math.ceil(Math.sqrt(padBytes / 3));
    const noise = Buffer.alloc(side * side * 3);
    let state = 0x9e3779b9; // xorshift32: deterministic noise that JPEG cannot squeeze
    for (let i = 0; i < noise.length; i++) {
      state ^= state << 13;
      state ^= state >>> 17;
      state ^= state << 5;
      noise[i] = state & 0xff;
    }
    const jpg = await sharp(noise, { raw: { width: side, height: side, channels: 3 } }).jpeg({ quality: 100 }).toBuffer();
    page.drawImage(await doc.embedJpg(jpg), { x: 50, y: 50, width: 400, height: 400 });
  }
  return Buffer.from(await doc.save());
}

/** Mean absolute difference (0–255) between two equally sized raw buffers. */
export function meanDiff(a: Buffer, b: Buffer): number {
  if (a.length !== b.length) throw new Error(`size mismatch ${a.length} vs ${b.length}`);
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += Math.abs((a[i] ?? 0) - (b[i] ?? 0));
  return sum / a.length;
}

/** The RGB of the pixel at (x, y) of a decoded image. */
export async function pixelAt(input: Buffer | string, x: number, y: number): Promise<Rgb> {
  const { data, info } = await sharp(input).removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
  const i = (y * info.width + x) * info.channels;
  return [data[i] ?? 0, data[i + 1] ?? 0, data[i + 2] ?? 0];
}

export function near(actual: Rgb, expected: Rgb, tolerance = 40): boolean {
  return actual.every((v, i) => Math.abs(v - (expected[i] ?? 0)) <= tolerance);
}
