/**
 * Colour test inputs made on the fly (nothing here is shipped): a colour-checker-like grid of saturated
 * patches whose true sRGB colours are known, stored in wide-gamut colour spaces (Display P3, Adobe RGB),
 * as ICC-tagged JPEG/PNG/WebP/TIFF, CMYK JPEG, and HEIC with an ICC `colr` or an nclx `colr` (heif-enc).
 * The patch colours are inside sRGB, so a correct conversion gives them back exactly (up to coding error).
 */
import { execFileSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import type { Sharp } from 'sharp';
import { ADOBE_RGB, makeIccProfile } from '../icc';
import type { Rgb8 } from './quality-metrics';
import { addItemProperties, heifItems, nclxBox } from './heif-boxes';

/** 24 sRGB patches: skin and erythema reds first (what a washed-out conversion hurts most), then primaries, secondaries, greys. */
export const PATCHES: readonly Rgb8[] = [
  [220, 20, 30], [240, 60, 40], [180, 10, 20], [235, 110, 100], [200, 120, 100], [150, 90, 70],
  [20, 180, 40], [90, 210, 60], [10, 120, 50], [20, 50, 210], [40, 140, 240], [15, 30, 130],
  [245, 210, 10], [245, 140, 10], [200, 170, 90], [210, 30, 190], [120, 40, 170], [235, 110, 205],
  [20, 200, 215], [10, 150, 150], [245, 245, 245], [180, 180, 180], [110, 110, 110], [40, 40, 40],
];
export const PATCH_PX = 24;
const COLS = 6;
const ROWS = 4;
export const GRID_W = COLS * PATCH_PX;
export const GRID_H = ROWS * PATCH_PX;

/** The upright grid as raw sRGB (3 channels). */
export function patchGridRaw(): Buffer {
  const buf = Buffer.alloc(GRID_W * GRID_H * 3);
  for (let y = 0; y < GRID_H; y++) {
    for (let x = 0; x < GRID_W; x++) {
      const c = PATCHES[Math.floor(y / PATCH_PX) * COLS + Math.floor(x / PATCH_PX)] as Rgb8;
      buf.set(c, (y * GRID_W + x) * 3);
    }
  }
  return buf;
}

/** The grid, optionally scaled up by a whole factor (nearest neighbour: patches stay flat). */
const grid = (scale = 1): Sharp => {
  const s = sharp(patchGridRaw(), { raw: { width: GRID_W, height: GRID_H, channels: 3 } });
  return scale === 1 ? s : s.resize(GRID_W * scale, GRID_H * scale, { kernel: 'nearest' });
};

/** Writes the Adobe RGB (1998) profile (made by icc.ts) to `dir` and returns its path (sharp wants a file). */
export async function adobeRgbIccPath(dir: string): Promise<string> {
  const file = path.join(dir, 'adobe-rgb-1998.icc');
  await fs.writeFile(file, makeIccProfile(ADOBE_RGB, 'Adobe RGB (1998) compatible'));
  return file;
}

export type WideGamut = 'p3' | { iccPath: string };
const profileName = (g: WideGamut): string => (g === 'p3' ? 'p3' : g.iccPath);

/** The grid converted by sharp (lcms) from sRGB into the wide-gamut space and tagged with its profile. */
export async function taggedGrid(gamut: WideGamut, format: 'jpeg' | 'png' | 'webp' | 'tiff', scale = 1): Promise<Buffer> {
  const s = grid(scale).withIccProfile(profileName(gamut));
  switch (format) {
    case 'jpeg':
      return s.jpeg({ quality: 100, chromaSubsampling: '4:4:4' }).toBuffer();
    case 'png':
      return s.png().toBuffer();
    case 'webp':
      return s.webp({ lossless: true }).toBuffer();
    case 'tiff':
      return s.tiff({ compression: 'lzw' }).toBuffer();
  }
}

/** The grid as a CMYK JPEG with the CMYK profile embedded (sharp's built-in `cmyk`). */
export async function cmykGrid(): Promise<Buffer> {
  return grid().withIccProfile('cmyk').jpeg({ quality: 100 }).toBuffer();
}

/** The wide-gamut values of the grid with no profile attached (what an nclx HEIC stores). */
async function untaggedWideGamutJpeg(gamut: WideGamut): Promise<Buffer> {
  const values = await sharp(await taggedGrid(gamut, 'png')).keepIccProfile().raw().toBuffer();
  return sharp(values, { raw: { width: GRID_W, height: GRID_H, channels: 3 } }).jpeg({ quality: 100, chromaSubsampling: '4:4:4' }).toBuffer();
}

function heifEncode(src: string, out: string, extra: string[]): void {
  execFileSync('heif-enc', ['-q', '95', '-p', 'chroma=444', ...extra, src, '-o', out], { stdio: 'ignore' });
}

/** HEIC whose `colr` box is the wide-gamut ICC profile (heif-enc copies the source JPEG's ICC, as an iPhone writes Display P3). */
export async function heicWithIcc(gamut: WideGamut, dir: string, name: string, opts: { scale?: number; thumbnailEdge?: number } = {}): Promise<Buffer> {
  const src = path.join(dir, `${name}.jpg`);
  const out = path.join(dir, `${name}.heic`);
  await fs.writeFile(src, await taggedGrid(gamut, 'jpeg', opts.scale ?? 1));
  heifEncode(src, out, opts.thumbnailEdge ? ['-t', String(opts.thumbnailEdge)] : []);
  return fs.readFile(out);
}

/**
 * HEIC whose `colr` box is nclx: Display P3 primaries (12), sRGB transfer (13), BT.601 matrix (6, what heif-enc
 * encodes with), full range. heif-enc 1.15 accepts the nclx options but writes no nclx box, so the box is added
 * to the item's properties afterwards (heif-boxes.ts).
 */
export async function heicWithNclxP3(dir: string, name: string): Promise<Buffer> {
  const src = path.join(dir, `${name}.jpg`);
  const out = path.join(dir, `${name}.heic`);
  await fs.writeFile(src, await untaggedWideGamutJpeg('p3'));
  heifEncode(src, out, []);
  const heic = await fs.readFile(out);
  return addItemProperties(heic, heifItems(heic).primary, [nclxBox(12, 13, 6)]);
}

/** Mean sRGB colour of the centre half of each patch of an upright GRID_W×GRID_H image. */
export async function measurePatches(input: Buffer | string, opts: { resizeToGrid?: boolean } = {}): Promise<Rgb8[]> {
  let img = sharp(input).removeAlpha().toColourspace('srgb');
  if (opts.resizeToGrid) img = img.resize(GRID_W, GRID_H, { fit: 'fill' });
  const { data, info } = await img.raw().toBuffer({ resolveWithObject: true });
  if (info.width !== GRID_W || info.height !== GRID_H) throw new Error(`expected ${GRID_W}×${GRID_H}, got ${info.width}×${info.height}`);
  return PATCHES.map((_, p) => {
    const x0 = (p % COLS) * PATCH_PX + PATCH_PX / 4;
    const y0 = Math.floor(p / COLS) * PATCH_PX + PATCH_PX / 4;
    const sum = [0, 0, 0];
    for (let y = y0; y < y0 + PATCH_PX / 2; y++) {
      for (let x = x0; x < x0 + PATCH_PX / 2; x++) for (let c = 0; c < 3; c++) sum[c] = (sum[c] ?? 0) + (data[(y * info.width + x) * info.channels + c] ?? 0);
    }
    const n = (PATCH_PX / 2) ** 2;
    return [Math.round((sum[0] ?? 0) / n), Math.round((sum[1] ?? 0) / n), Math.round((sum[2] ?? 0) / n)] as const;
  });
}
