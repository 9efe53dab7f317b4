/**
 * Best picture under 1 MB: how close the fit (electron/imaging/fit.ts) comes to the best picture any scale ×
 * quality could give under the same limit, and at what share of the time.
 *
 * For each reference photo (../shared/fixtures, upright pixels as the working master gives them):
 *   - the fit: `fitLossy` with the pipeline's JPEG encoder, timed;
 *   - the exhaustive search: every scale 0.40–1.00 (step 0.05, Lanczos 3 from the original pixels) × the
 *     highest JPEG quality that fits at that scale (binary search 30–100; at one scale a higher quality never
 *     looks worse), with sharp's default JPEG settings and with `mozjpeg: true`, each candidate scored; timed.
 * Score: SSIM on luma (BT.601 weights; electron/imaging/testkit/quality-metrics.ts) of the output, scaled back to the
 * original size with Lanczos 3, against the original pixels — what the GP sees when zooming to the same size.
 * Goals: quality gap ≤ 0.5 % of the best SSIM; fit time ≤ ⅓ of the exhaustive search.
 * Run alone: `npx tsx scripts/bench/fit-quality.ts` (or `npm run bench -- fit-quality`).
 */
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { createImagingService } from '../../electron/imaging';
import { fitLossy, rawInput, resizeRaw, type RawImage } from '../../electron/imaging/fit';
import { ssimLuma } from '../../electron/imaging/testkit/quality-metrics';
import { encodeJpeg } from '../../electron/imaging/render';
import { printTable } from './_stats';

const FIXTURES = fileURLToPath(new URL('../../../shared/fixtures/photos/', import.meta.url));
const PHOTOS = ['photo-12mp-orient6.jpg', 'photo-1600-portrait.png', 'photo-iphone-like.heic'];
const MAX_BYTES = 1_000_000;
const SCALES = Array.from({ length: 13 }, (_, i) => 1 - i * 0.05);

function luma(img: RawImage): Uint8Array {
  const out = new Uint8Array(img.width * img.height);
  for (let i = 0, p = 0; i < out.length; i++, p += img.channels) {
    out[i] = Math.round(0.299 * (img.data[p] ?? 0) + 0.587 * (img.data[p + 1] ?? 0) + 0.114 * (img.data[p + 2] ?? 0));
  }
  return out;
}

/** SSIM of an encoded output against the original, after scaling the output back to the original size. */
async function score(jpeg: Buffer, original: RawImage, originalLuma: Uint8Array): Promise<number> {
  const { data, info } = await sharp(jpeg).resize(original.width, original.height, { fit: 'fill', kernel: 'lanczos3' }).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return ssimLuma(luma({ data, width: info.width, height: info.height, channels: info.channels as RawImage['channels'] }), originalLuma, original.width, original.height);
}

type Encoder = (img: RawImage, q: number) => Promise<Buffer>;
const mozjpeg: Encoder = (img, q) => sharp(img.data, rawInput(img)).jpeg({ quality: q, mozjpeg: true }).toBuffer();

/** Highest quality in 30..100 whose encode fits (null if none). */
async function bestFitting(img: RawImage, encode: Encoder): Promise<{ data: Buffer; quality: number } | null> {
  let lo = 30;
  let hi = 100;
  let best: { data: Buffer; quality: number } | null = null;
  while (lo <= hi) {
    const q = Math.floor((lo + hi) / 2);
    const data = await encode(img, q);
    if (data.length <= MAX_BYTES) {
      best = { data, quality: q };
      lo = q + 1;
    } else hi = q - 1;
  }
  return best;
}

async function uprightPixels(file: string, dir: string): Promise<RawImage> {
  const svc = createImagingService();
  try {
    const m = await svc.ingest({ path: file }, { dir, id: path.basename(file).replace(/\W/g, '-') });
    const { data, info } = await sharp(m.masterPath).removeAlpha().raw().toBuffer({ resolveWithObject: true });
    return { data, width: info.width, height: info.height, channels: info.channels as RawImage['channels'] };
  } finally {
    await svc.close();
  }
}

export async function runFitQualityBench(): Promise<void> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'fit-quality-'));
  const rows: Array<Record<string, string | number>> = [];
  try {
    for (const name of PHOTOS) {
      const original = await uprightPixels(path.join(FIXTURES, name), dir);
      const originalLuma = luma(original);

      const t0 = performance.now();
      const fit = await fitLossy(original, encodeJpeg, { maxBytes: MAX_BYTES });
      const fitMs = performance.now() - t0;
      const fitSsim = await score(fit.data, original, originalLuma);

      const t1 = performance.now();
      let best = { ssim: -1, scale: 0, quality: 0, encoder: '', bytes: 0 };
      let bestSame = best; // with the fit's own encoder settings only
      for (const [encName, encode] of [['default', encodeJpeg], ['mozjpeg', mozjpeg]] as const) {
        for (const s of SCALES) {
          const w = Math.round(original.width * s);
          const h = Math.round(original.height * s);
          const img = s === 1 ? original : await resizeRaw(original, w, h);
          const candidate = await bestFitting(img, encode);
          if (!candidate) continue;
          const ssim = await score(candidate.data, original, originalLuma);
          const c = { ssim, scale: s, quality: candidate.quality, encoder: encName, bytes: candidate.data.length };
          if (ssim > best.ssim) best = c;
          if (encName === 'default' && ssim > bestSame.ssim) bestSame = c;
        }
      }
      const exhaustiveMs = performance.now() - t1;
      const gap = ((best.ssim - fitSsim) / best.ssim) * 100;
      const gapSame = ((bestSame.ssim - fitSsim) / bestSame.ssim) * 100;
      rows.push({
        photo: `${name} (${original.width}×${original.height})`,
        'fit: size q': `${fit.width}×${fit.height} q${fit.quality}`,
        'fit SSIM': fitSsim.toFixed(4),
        'fit ms': Math.round(fitMs),
        'best: scale q enc': `${best.scale.toFixed(2)} q${best.quality} ${best.encoder}`,
        'best SSIM': best.ssim.toFixed(4),
        'exhaustive ms': Math.round(exhaustiveMs),
        'gap %': gap.toFixed(2),
        'same-encoder best': `${bestSame.scale.toFixed(2)} q${bestSame.quality} ${bestSame.ssim.toFixed(4)}`,
        'gap same enc %': gapSame.toFixed(2),
        'time ratio': (fitMs / exhaustiveMs).toFixed(3),
        bytes: `${fit.data.length} / ${best.bytes}`,
      });
    }
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
  printTable(`Fit vs exhaustive scale × quality search, ≤ ${MAX_BYTES} bytes, SSIM on luma at the original size (load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')})`, rows);
  console.log('goals: gap ≤ 0.5 % of the best SSIM; fit time ≤ 1/3 of the exhaustive search');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await runFitQualityBench();
}
