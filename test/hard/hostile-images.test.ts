/**
 * CHECKS.md U5 at size: mutated photos through the real imaging pipeline (sharp, libheif worker, pdf-lib).
 * Seeds are real: the shared fixture photos (12 MP JPEG with EXIF orientation 6, iPhone-like HEIC, PNG) scaled
 * to working size, plus WebP, TIFF and a PDF made from them. Mutations: zzuf (Debian) at three ratios, plus
 * truncations and forged huge dimensions in the headers. Each input is ingested; accepted ones are also
 * rendered for ALEX. Bars: 0 crashes (only coded image errors), 0 inputs over 5 s, 0 files left for a refused
 * input, peak RSS reported. Size: HARD_SCALE=full → 600 inputs; default 60.
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { PDFDocument } from 'pdf-lib';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppError } from '../../shared/errors';
import { createImagingService } from '../../electron/imaging';
import type { ImagingService } from '../../electron/imaging/types';
import { trackPeakRss } from '../../scripts/bench/_stats';
import { scaled } from './helpers/scale';

const INPUTS = scaled(600, 60);
const FIXTURES = new URL('../../../shared/fixtures/photos/', import.meta.url).pathname;
const IMAGE_ERRORS = new Set(['ERR_IMAGE_CORRUPT', 'ERR_IMAGE_UNSUPPORTED', 'ERR_IMAGE_TOO_MANY_PIXELS', 'ERR_IMAGE_TOO_LARGE', 'ERR_IMAGE_PDF_INBOX_ONLY']);

let root: string;
let svc: ImagingService;
const seeds: [string, Buffer][] = [];

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'hard-images-'));
  svc = createImagingService();
  const jpeg12 = await readFile(join(FIXTURES, 'photo-12mp-orient6.jpg'));
  const small = await sharp(jpeg12).resize(1000).withMetadata().jpeg({ quality: 85 }).toBuffer(); // keeps orientation 6
  const png = await sharp(join(FIXTURES, 'photo-1600-portrait.png')).resize(500).png().toBuffer();
  const pdf = await PDFDocument.create();
  const img = await pdf.embedJpg(await sharp(small).resize(300).jpeg().toBuffer());
  pdf.addPage([300, 400]).drawImage(img, { x: 0, y: 0, width: 300, height: 225 });
  seeds.push(
    ['jpeg', small],
    ['heic', await readFile(join(FIXTURES, 'photo-iphone-like.heic'))],
    ['png', png],
    ['webp', await sharp(small).webp().toBuffer()],
    ['tiff', await sharp(small).resize(400).tiff({ compression: 'lzw' }).toBuffer()],
    ['pdf', Buffer.from(await pdf.save())],
  );
}, 120_000);
afterAll(async () => {
  await svc?.close();
  await rm(root, { recursive: true, force: true });
});

/** Input i: zzuf at 0.1 %, 0.5 % or 2 %, or a truncation, or forged 65 535 × 65 535 dimensions. */
function mutate(i: number): { name: string; bytes: Buffer } {
  const [name, seed] = seeds[i % seeds.length] as [string, Buffer];
  const variant = Math.floor(i / seeds.length) % 5;
  if (variant === 3) return { name: `${name}-trunc`, bytes: seed.subarray(0, Math.floor(seed.length * (((i * 37) % 97) / 100))) };
  if (variant === 4) {
    const b = Buffer.from(seed);
    if (name === 'png') {
      b.writeUInt32BE(65_535, 16);
      b.writeUInt32BE(65_535, 20); // IHDR width/height (CRC now wrong too)
    } else {
      const at = b.indexOf(Buffer.from([0xff, 0xc0])); // JPEG SOF0 height/width; elsewhere a random 4-byte stamp
      if (at > 0) b.writeUInt32BE(0xffffffff, at + 5);
      else b.writeUInt32BE(0xffffffff, Math.min(b.length - 4, 16 + ((i * 131) % 200)));
    }
    return { name: `${name}-dims`, bytes: b };
  }
  const ratio = ['0.001', '0.005', '0.02'][variant] as string;
  return { name: `${name}-zzuf${ratio}`, bytes: execFileSync('zzuf', ['-s', String(i), '-r', ratio], { input: seed, maxBuffer: 64 * 1024 * 1024 }) };
}

describe(`${INPUTS} mutated photos through ingest and render`, () => {
  it('only coded image errors, none over 5 s, nothing left behind for a refused input, bounded memory', async () => {
    const rss = trackPeakRss(20);
    const rssBefore = process.memoryUsage.rss() / 2 ** 20;
    const crashes: string[] = [];
    const leftovers: string[] = [];
    const slow: string[] = [];
    let accepted = 0;
    let refused = 0;
    let rendered = 0;
    let maxMs = 0;
    const codes: Record<string, number> = {};
    for (let i = 0; i < INPUTS; i++) {
      const { name, bytes } = mutate(i);
      const dir = await mkdtemp(join(root, 'in-'));
      const t0 = performance.now();
      let timer: NodeJS.Timeout | undefined;
      const hang = new Promise<'hang'>((r) => {
        timer = setTimeout(() => r('hang'), 5_000);
      });
      let stage: 'ingest' | 'render' = 'ingest';
      try {
        const work = (async () => {
          const res = await svc.ingest({ buffer: bytes }, { dir, id: 'm' });
          accepted++;
          stage = 'render';
          await svc.render(res.masterPath, { rotate: 90, annotations: [] }, { format: i % 2 ? 'jpeg' : 'pdf' });
          rendered++;
          return 'done' as const;
        })();
        const outcome = await Promise.race([work, hang]);
        if (outcome === 'hang') {
          slow.push(name);
          await work.catch(() => undefined);
        }
      } catch (err) {
        if (err instanceof AppError && IMAGE_ERRORS.has(err.code)) {
          refused++;
          codes[err.code] = (codes[err.code] ?? 0) + 1;
          const left = stage === 'ingest' ? await readdir(dir) : [];
          if (left.length > 0) leftovers.push(`${name}: ${left.join(',')}`);
        } else {
          crashes.push(`${name} at ${stage}: ${err instanceof AppError ? `${err.code} ${err.detail ?? ''}` : String(err)}`);
        }
      } finally {
        clearTimeout(timer);
      }
      maxMs = Math.max(maxMs, performance.now() - t0);
      await rm(dir, { recursive: true, force: true });
    }
    const peakRssMb = rss.stop();
    const summary = { inputs: INPUTS, accepted, rendered, refused, codes, crashes: crashes.length, over5s: slow.length, leftovers: leftovers.length, maxMs: Math.round(maxMs), rssBeforeMb: Math.round(rssBefore), peakRssMb: Math.round(peakRssMb) };
    console.log('hard image fuzz:', JSON.stringify(summary), crashes, leftovers);
    expect(crashes).toEqual([]);
    expect(slow).toEqual([]);
    expect(leftovers).toEqual([]);
    expect(refused).toBeGreaterThan(INPUTS / 10); // the mutations really damaged inputs
    expect(accepted).toBeGreaterThan(0);
    expect(peakRssMb - rssBefore).toBeLessThan(1_024);
  }, 1_800_000);
});
