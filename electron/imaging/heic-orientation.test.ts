/**
 * HEIF transforms (ISO/IEC 23008-12:2022 §6.5.10 irot, §6.5.12 imir) against fixtures whose upright picture is
 * known from how they were made: the stored pixels are the upright four-colour image with the inverse of the
 * transforms applied, and the transform properties are written into the file (testkit/heif-boxes.ts).
 *   irot angle a: the displayed image is the stored one turned a × 90° anticlockwise.
 *   imir axis 0: top and bottom exchanged; axis 1: left and right exchanged (Exif 4 and 2 respectively).
 * Transformative properties apply in their ipma order. The EXIF orientation inside a HEIC is informative
 * (an iPhone writes one matching irot/imir): whether present, matching or contradicting, it is never applied.
 */
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import type { Sharp } from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createImagingService } from './service';
import { addItemProperties, heifItems, imirBox, irotBox } from './testkit/heif-boxes';
import { QUADRANTS, heifEnc, near, pixelAt, quadrantRaw } from './testkit/images';
import type { ImagingService } from './types';

type Step = { irot: 1 | 2 | 3 } | { imir: 0 | 1 };
const W = 160;
const H = 96;

let root: string;
let svc: ImagingService;
let n = 0;
beforeAll(async () => {
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'imaging-heic-orient-'));
  svc = createImagingService();
});
afterAll(async () => {
  await svc.close();
  await fs.rm(root, { recursive: true, force: true });
});

/** The inverse of one display step, in sharp terms (sharp's rotate is clockwise; flip = top↔bottom, flop = left↔right). */
const inverse = (s: Step) => (img: Sharp): Sharp => ('irot' in s ? img.rotate(90 * s.irot) : s.imir === 0 ? img.flip() : img.flop());

async function apply(raw: { data: Buffer; width: number; height: number }, op: (s: Sharp) => Sharp) {
  const out = await op(sharp(raw.data, { raw: { width: raw.width, height: raw.height, channels: 3 } })).raw().toBuffer({ resolveWithObject: true });
  return { data: out.data, width: out.info.width, height: out.info.height };
}

/** Stored pixels: undo the display steps from last to first. */
async function storedFor(steps: Step[], width = W, height = H) {
  let img = { data: quadrantRaw(width, height), width, height };
  for (const s of [...steps].reverse()) img = await apply(img, inverse(s));
  return img;
}

/** The EXIF orientation (1–8) that shows `stored` upright, found by letting sharp's autoOrient try each. */
async function exifEquivalent(steps: Step[]): Promise<number> {
  const small = await storedFor(steps, 8, 6);
  const want = quadrantRaw(8, 6);
  for (let o = 1; o <= 8; o++) {
    const tagged = await sharp(small.data, { raw: { width: small.width, height: small.height, channels: 3 } }).png().withMetadata({ orientation: o }).toBuffer();
    const shown = await sharp(tagged).autoOrient().raw().toBuffer({ resolveWithObject: true });
    if (shown.info.width === 8 && shown.info.height === 6 && shown.data.equals(want)) return o;
  }
  throw new Error('no EXIF orientation matches');
}

async function heicFor(steps: Step[], exif: number | null): Promise<Buffer> {
  const stored = await storedFor(steps);
  let jpeg = sharp(stored.data, { raw: { width: stored.width, height: stored.height, channels: 3 } }).jpeg({ quality: 95, chromaSubsampling: '4:4:4' });
  if (exif !== null) jpeg = jpeg.withMetadata({ orientation: exif }); // heif-enc copies the EXIF block, pixels untouched
  const heic = await heifEnc(await jpeg.toBuffer(), root, `o${++n}`);
  const props = steps.map((s) => ('irot' in s ? irotBox(s.irot) : imirBox(s.imir)));
  return props.length === 0 ? heic : addItemProperties(heic, heifItems(heic).primary, props);
}

async function expectUpright(heic: Buffer): Promise<void> {
  const dir = await fs.mkdtemp(path.join(root, 'dest-'));
  const r = await svc.ingest({ buffer: heic }, { dir, id: 'img' });
  expect([r.width, r.height]).toEqual([W, H]);
  const ix = Math.round(W * 0.15);
  const iy = Math.round(H * 0.15);
  const corners = [await pixelAt(r.masterPath, ix, iy), await pixelAt(r.masterPath, W - 1 - ix, iy), await pixelAt(r.masterPath, ix, H - 1 - iy), await pixelAt(r.masterPath, W - 1 - ix, H - 1 - iy)];
  expect(corners.map((c, i) => near(c, [QUADRANTS.tl, QUADRANTS.tr, QUADRANTS.bl, QUADRANTS.br][i] ?? [0, 0, 0]))).toEqual([true, true, true, true]);
  // The thumbnail shows the same picture the same way up.
  const t = await sharp(r.thumbnail).metadata();
  expect((t.width ?? 0) > (t.height ?? 0)).toBe(true);
}

const describeSteps = (steps: Step[]): string => (steps.length === 0 ? 'none' : steps.map((s) => ('irot' in s ? `irot ${s.irot}` : `imir ${s.imir}`)).join(' then '));

const CASES: Step[][] = [[]];
for (const a of [1, 2, 3] as const) CASES.push([{ irot: a }]);
for (const m of [0, 1] as const) {
  CASES.push([{ imir: m }]);
  for (const a of [1, 2, 3] as const) CASES.push([{ irot: a }, { imir: m }], [{ imir: m }, { irot: a }]);
}

describe('HEIC orientation: every irot × imir combination ends upright, transforms applied once', () => {
  it('the fixtures can fail: every non-empty transform set stores pixels that are not upright', async () => {
    const upright = quadrantRaw(W, H);
    for (const steps of CASES.slice(1)) {
      const stored = await storedFor(steps);
      expect(stored.width === W && stored.height === H && stored.data.equals(upright), describeSteps(steps)).toBe(false);
    }
  });

  it.each(CASES.map((steps) => [describeSteps(steps), steps] as const))('%s, no EXIF orientation', async (_name, steps) => {
    await expectUpright(await heicFor(steps, null));
  });

  it.each(CASES.map((steps) => [describeSteps(steps), steps] as const))('%s, with the matching EXIF orientation (as an iPhone writes)', async (_name, steps) => {
    await expectUpright(await heicFor(steps, await exifEquivalent(steps)));
  });

  it('an EXIF orientation that contradicts irot/imir is ignored', async () => {
    const steps: Step[] = [{ irot: 1 }, { imir: 1 }];
    const wrong = (await exifEquivalent(steps)) === 6 ? 8 : 6;
    await expectUpright(await heicFor(steps, wrong));
  });

  it('a mirrored-plus-rotated front-camera selfie comes out as the person saw it', async () => {
    // The sensor image is stored landscape; to show what the person saw on screen (portrait here turned
    // into this landscape test card) the file says: turn 270° anticlockwise, then exchange left and right.
    const steps: Step[] = [{ irot: 3 }, { imir: 1 }];
    expect(await exifEquivalent(steps)).toBe(5);
    await expectUpright(await heicFor(steps, 5));
  });
});
