/**
 * Every input path ends in sRGB with no profile: a colour-checker-like grid whose true sRGB colours are known,
 * stored in Display P3 / Adobe RGB / CMYK / nclx, must come back within mean ΔE2000 ≤ 2 and worst patch ≤ 5.
 */
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { heicProfile } from './heic-colour';
import { deltaEStats } from './testkit/quality-metrics';
import { createImagingService } from './service';
import {
  GRID_H,
  GRID_W,
  PATCHES,
  adobeRgbIccPath,
  cmykGrid,
  heicWithIcc,
  heicWithNclxP3,
  measurePatches,
  taggedGrid,
  type WideGamut,
} from './testkit/colour-images';
import type { ImagingService } from './types';

const MEAN_DE = 2;
const WORST_DE = 5;

let root: string;
let svc: ImagingService;
let adobe: WideGamut;
let n = 0;

beforeAll(async () => {
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'imaging-colour-'));
  svc = createImagingService();
  adobe = { iccPath: await adobeRgbIccPath(root) };
});
afterAll(async () => {
  await svc.close();
  await fs.rm(root, { recursive: true, force: true });
});

/** Ingests, checks the master is sRGB with no profile, and returns the patch colour differences. */
async function ingestAndMeasure(input: Buffer): Promise<{ mean: number; worst: number }> {
  const dir = await fs.mkdtemp(path.join(root, 'dest-'));
  const r = await svc.ingest({ buffer: input }, { dir, id: `c${++n}` });
  expect([r.width, r.height]).toEqual([GRID_W, GRID_H]);
  const meta = await sharp(r.masterPath).metadata();
  expect(meta.icc).toBeUndefined();
  expect(meta.space).toBe('srgb');
  return deltaEStats(PATCHES, await measurePatches(r.masterPath));
}

function expectTrueColour(stats: { mean: number; worst: number }): void {
  expect(stats.mean, `mean ΔE2000 ${stats.mean.toFixed(2)}`).toBeLessThanOrEqual(MEAN_DE);
  expect(stats.worst, `worst ΔE2000 ${stats.worst.toFixed(2)}`).toBeLessThanOrEqual(WORST_DE);
}

describe('colour: ICC-tagged inputs convert to sRGB', () => {
  it('the fixtures really are wide-gamut: read as if sRGB (the old HEIC path), they fail the bar', async () => {
    const p3 = await taggedGrid('p3', 'png');
    const raw = await sharp(p3).keepIccProfile().raw().toBuffer();
    const asIf = await sharp(raw, { raw: { width: GRID_W, height: GRID_H, channels: 3 } }).png().toBuffer();
    expect(deltaEStats(PATCHES, await measurePatches(asIf)).mean).toBeGreaterThan(MEAN_DE);
  });

  it.each([
    ['Display P3 JPEG', 'p3', 'jpeg'],
    ['Display P3 PNG', 'p3', 'png'],
    ['Display P3 WebP', 'p3', 'webp'],
    ['Display P3 TIFF', 'p3', 'tiff'],
    ['Adobe RGB JPEG', 'adobe', 'jpeg'],
    ['Adobe RGB PNG', 'adobe', 'png'],
    ['Adobe RGB TIFF', 'adobe', 'tiff'],
  ] as const)('%s', async (_name, gamut, format) => {
    const input = await taggedGrid(gamut === 'p3' ? 'p3' : adobe, format);
    expect((await sharp(input).metadata()).icc).toBeDefined();
    expectTrueColour(await ingestAndMeasure(input));
  });

  it('CMYK JPEG with its profile comes out as the RGB its profile means, close to the colours it was made from', async () => {
    const input = await cmykGrid();
    expect((await sharp(input).metadata()).space).toBe('cmyk');
    // A print profile's own round trip (sRGB → CMYK → sRGB, perceptual tables, saturated blues and greens
    // outside the print gamut) is lossy: measured mean ΔE 5.1, worst 10.7. The truth of a CMYK file is what its
    // profile says its inks mean, so: the master must match lcms's conversion of the file itself, and stay near
    // the colours it was made from (inverted or unconverted CMYK would be ΔE > 30).
    const meant = await measurePatches(await sharp(input).toColourspace('srgb').png().toBuffer());
    const dir = await fs.mkdtemp(path.join(root, 'dest-'));
    const r = await svc.ingest({ buffer: input }, { dir, id: `c${++n}` });
    expect((await sharp(r.masterPath).metadata()).icc).toBeUndefined();
    const got = await measurePatches(r.masterPath);
    expectTrueColour(deltaEStats(meant, got));
    const made = deltaEStats(PATCHES, got);
    expect(made.mean).toBeLessThanOrEqual(6);
    expect(made.worst).toBeLessThanOrEqual(12);
  });
});

describe('colour: HEIC carries its colour information into the conversion', () => {
  it('Display P3 HEIC with an ICC colr box (as an iPhone writes)', async () => {
    const heic = await heicWithIcc('p3', root, `p3icc-${n}`);
    expectTrueColour(await ingestAndMeasure(heic));
  });

  it('Adobe RGB HEIC with an ICC colr box', async () => {
    const heic = await heicWithIcc(adobe, root, `adobeicc-${n}`);
    expectTrueColour(await ingestAndMeasure(heic));
  });

  it('Display P3 HEIC described by nclx (primaries 12, transfer 13)', async () => {
    const heic = await heicWithNclxP3(root, `p3nclx-${n}`);
    expectTrueColour(await ingestAndMeasure(heic));
  });

  it('nclx that says sRGB (BT.709 primaries) needs no conversion; unknown primaries are treated as sRGB', () => {
    expect(heicProfile({ nclx: { primaries: 1, transfer: 13, matrix: 6 } })).toBeNull();
    expect(heicProfile({ nclx: { primaries: 2, transfer: 2, matrix: 6 } })).toBeNull();
    expect(heicProfile(null)).toBeNull();
    expect(heicProfile({ nclx: { primaries: 12, transfer: 13, matrix: 6 } })?.subarray(36, 40).toString('latin1')).toBe('acsp');
  });

  it('the rendered output of a P3 HEIC is sRGB with no profile and keeps the colours', async () => {
    const dir = await fs.mkdtemp(path.join(root, 'render-'));
    const r = await svc.ingest({ buffer: await heicWithIcc('p3', root, `p3render-${n}`) }, { dir, id: 'render' });
    for (const format of ['jpeg', 'png', 'tiff'] as const) {
      const out = await svc.render(r.masterPath, { rotate: 0, annotations: [] }, { format });
      const meta = await sharp(out.data).metadata();
      expect(meta.icc).toBeUndefined();
      expectTrueColour(deltaEStats(PATCHES, await measurePatches(out.data)));
    }
  });
});
