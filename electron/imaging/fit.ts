import sharp from 'sharp';
import type { SharpOptions } from 'sharp';
import { AppError } from '../../shared/errors';

/** Decoded pixels, row-major, 8 bits per channel. */
export interface RawImage {
  data: Buffer;
  width: number;
  height: number;
  channels: 1 | 2 | 3 | 4;
}

/** Encodes raw pixels at a JPEG quality (JPEG, or TIFF with JPEG compression). */
export type LossyEncoder = (img: RawImage, quality: number) => Promise<Buffer>;

export interface FitOptions {
  maxBytes: number;
  /** Refuse (ERR_IMAGE_CANNOT_FIT) rather than shrink the long edge below this. */
  minLongEdge?: number;
}

export interface FitResult {
  data: Buffer;
  width: number;
  height: number;
  quality: number;
  /** Encodes of the full image (for tests and the benchmark). */
  fullEncodes: number;
}

export const FIT_DEFAULTS = {
  maxQuality: 92,
  /** Every pixel kept down to this quality: scored by SSIM at the original size, that beats any downscale (scripts/bench/fit-quality.ts). */
  minQuality: 50,
  downscaleQuality: 80,
  minLongEdge: 640,
  maxFullEncodes: 3,
} as const;

/** Aim a little under the limit on the first try, so one encode usually fits. */
const TARGET_FRACTION = 0.96;
const BAND_ROWS = 16; // one 4:2:0 MCU row: each band compresses as it would in the full image
const SAMPLE_FRACTION = 1 / 12;
const SAMPLE_MIN_PIXELS = 1_500_000;
const SAMPLE_QUALITIES_STEP = 11; // samples at 92, 81, 70: log-size is near linear in quality there

export const rawInput = (img: RawImage): SharpOptions => ({
  raw: { width: img.width, height: img.height, channels: img.channels },
});

/** Full-resolution bands of rows spread evenly over the image (~1/12 of it): the texture of the whole, cheaply. */
export function sampleBands(img: RawImage): { sample: RawImage; scale: number } {
  const pixels = img.width * img.height;
  if (pixels <= SAMPLE_MIN_PIXELS || img.height < BAND_ROWS * 8) return { sample: img, scale: 1 };
  const bands = Math.max(8, Math.ceil((img.height * SAMPLE_FRACTION) / BAND_ROWS));
  const rowBytes = img.width * img.channels;
  const out = Buffer.allocUnsafe(bands * BAND_ROWS * rowBytes);
  const step = (img.height - BAND_ROWS) / (bands - 1);
  for (let b = 0; b < bands; b++) {
    const row = Math.round(b * step);
    img.data.copy(out, b * BAND_ROWS * rowBytes, row * rowBytes, (row + BAND_ROWS) * rowBytes);
  }
  const sample: RawImage = { data: out, width: img.width, height: bands * BAND_ROWS, channels: img.channels };
  return { sample, scale: pixels / (sample.width * sample.height) };
}

/** Predicts the full-size byte count at any quality from a few encodes of the band sample. */
export class SizeModel {
  private correction = 1;
  private constructor(
    private readonly points: Array<{ q: number; bytes: number }>,
    private readonly scale: number,
    private readonly overhead: number,
  ) {}

  static async build(img: RawImage, encode: LossyEncoder, qualities: number[]): Promise<SizeModel> {
    const { sample, scale } = sampleBands(img);
    const tiny: RawImage = { data: Buffer.alloc(16 * 16 * img.channels, 128), width: 16, height: 16, channels: img.channels };
    const [overheadBuf, ...sizes] = await Promise.all([
      encode(tiny, qualities[0] ?? 90),
      ...qualities.map(async (q) => ({ q, bytes: (await encode(sample, q)).length })),
    ]);
    const overhead = scale === 1 ? 0 : (overheadBuf?.length ?? 0);
    return new SizeModel(
      sizes.sort((a, b) => a.q - b.q),
      scale,
      overhead,
    );
  }

  /** Predicted bytes at quality q (log-linear between sampled qualities, extrapolated at the ends). */
  predict(q: number): number {
    const pts = this.points;
    // The segment [i-1, i] that holds q; the first or last segment when q is outside the samples.
    let i = pts.findIndex((p) => p.q >= q);
    if (i === -1) i = pts.length - 1;
    if (i === 0) i = 1;
    const a = pts[i - 1] ?? pts[0];
    const b = pts[i] ?? a;
    if (!a || !b) return Infinity;
    const t = b.q === a.q ? 0 : (q - a.q) / (b.q - a.q);
    const logBytes = Math.log(a.bytes) + t * (Math.log(b.bytes) - Math.log(a.bytes));
    const sampleBytes = Math.exp(logBytes);
    return ((sampleBytes - this.overhead) * this.scale + this.overhead) * this.correction;
  }

  /** Highest quality in [minQ, maxQ] predicted to fit, or null when even minQ is predicted too big. */
  bestQuality(targetBytes: number, minQ: number, maxQ: number): number | null {
    for (let q = maxQ; q >= minQ; q--) if (this.predict(q) <= targetBytes) return q;
    return null;
  }

  /** Learn from a real full-size encode. */
  observe(q: number, actualBytes: number): void {
    const predicted = this.predict(q) / this.correction;
    if (predicted > 0) this.correction = actualBytes / predicted;
  }
}

export async function resizeRaw(img: RawImage, width: number, height: number): Promise<RawImage> {
  const { data, info } = await sharp(img.data, rawInput(img)).resize(width, height, { fit: 'fill', kernel: 'lanczos3' }).raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height, channels: info.channels as RawImage['channels'] };
}

/**
 * The best quality that fits under maxBytes: predict from a size model built on a band sample,
 * then at most `FIT_DEFAULTS.maxFullEncodes` full encodes per scale; when the quality would drop below the floor,
 * downscale (predicted from the same model) and repeat.
 */
export async function fitLossy(img: RawImage, encode: LossyEncoder, options: FitOptions): Promise<FitResult> {
  const { maxQuality: maxQ, minQuality: minQ, downscaleQuality: downQ, maxFullEncodes: maxFull } = FIT_DEFAULTS;
  const minLongEdge = options.minLongEdge ?? FIT_DEFAULTS.minLongEdge;
  const target = options.maxBytes * TARGET_FRACTION;
  const qualities: number[] = [];
  for (let q = maxQ; q > minQ; q -= SAMPLE_QUALITIES_STEP) qualities.push(q);
  qualities.push(minQ);

  let current = img;
  let fullEncodes = 0;
  for (let round = 0; round < 6; round++) {
    const model = await SizeModel.build(current, encode, qualities);
    let best: { data: Buffer; quality: number } | null = null;
    let q = model.bestQuality(target, minQ, maxQ);
    for (let attempt = 0; q !== null && attempt < maxFull; attempt++) {
      const data = await encode(current, q);
      fullEncodes++;
      model.observe(q, data.length);
      if (data.length <= options.maxBytes) {
        if (!best || q > best.quality) best = { data, quality: q };
        // Fits: one more try only if the corrected model says a clearly higher quality fits too.
        const higher = model.bestQuality(target, q + 1, maxQ);
        if (higher === null || higher - q < 2 || attempt + 1 >= maxFull) break;
        q = higher;
      } else {
        const lower = model.bestQuality(target, minQ, q - 1);
        if (best || lower === null) break;
        q = lower;
      }
    }
    if (best) return { data: best.data, width: current.width, height: current.height, quality: best.quality, fullEncodes };

    // Does not fit at the floor quality: shrink so the downscale quality is predicted to fit.
    const area = (target / model.predict(downQ)) * 0.95;
    const factor = Math.min(0.9, Math.sqrt(Math.max(area, 0.01)));
    const width = Math.max(1, Math.round(current.width * factor));
    const height = Math.max(1, Math.round(current.height * factor));
    if (Math.max(width, height) < minLongEdge) {
      throw new AppError('ERR_IMAGE_CANNOT_FIT', { detail: `would need fewer than ${minLongEdge} pixels on the long edge` });
    }
    current = await resizeRaw(img, width, height);
  }
  throw new AppError('ERR_IMAGE_CANNOT_FIT');
}

/** Lossless PNG: only the pixel count can change. Predict bytes per pixel from the band sample, then shrink. */
export async function fitPng(img: RawImage, options: { maxBytes: number; minLongEdge?: number }): Promise<FitResult> {
  const minLongEdge = options.minLongEdge ?? 320;
  const target = options.maxBytes * TARGET_FRACTION;
  const encode = (im: RawImage): Promise<Buffer> => sharp(im.data, rawInput(im)).png({ compressionLevel: 6 }).toBuffer();
  const { sample, scale } = sampleBands(img);
  let predicted: number | null = scale === 1 ? null : (await encode(sample)).length * scale;
  let current = img;
  let fullEncodes = 0;
  for (let round = 0; round < 6; round++) {
    if (predicted !== null && predicted > target) {
      const factor = Math.min(0.95, Math.sqrt((target / predicted) * 0.95));
      const width = Math.max(1, Math.round(current.width * factor));
      const height = Math.max(1, Math.round(current.height * factor));
      if (Math.max(width, height) < minLongEdge) throw new AppError('ERR_IMAGE_CANNOT_FIT');
      // Always resample from the full image, never from an already shrunk one.
      current = await resizeRaw(img, width, height);
    }
    const data = await encode(current);
    fullEncodes++;
    if (data.length <= options.maxBytes) return { data, width: current.width, height: current.height, quality: 100, fullEncodes };
    predicted = data.length;
  }
  throw new AppError('ERR_IMAGE_CANNOT_FIT');
}
