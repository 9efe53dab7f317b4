import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { AppError } from '../../shared/errors';
import { FIT_DEFAULTS, SizeModel, fitLossy, fitPng, sampleBands, type LossyEncoder, type RawImage } from './fit';
import { encodeJpeg, encodeTiff } from './render';
import { PHOTO_12MP, PHOTO_PNG } from './testkit/images';

let photo: RawImage;
let portrait: RawImage;

async function load(file: string): Promise<RawImage> {
  const { data, info } = await sharp(file).autoOrient().removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height, channels: 3 };
}

/** Counts full-size encodes (sample encodes are smaller than the image). */
function counting(encode: LossyEncoder, img: () => RawImage): { encode: LossyEncoder; full: () => number } {
  let full = 0;
  return {
    encode: (im, q) => {
      if (im.width * im.height >= img().width * img().height * 0.25) full++;
      return encode(im, q);
    },
    full: () => full,
  };
}

beforeAll(async () => {
  photo = await load(PHOTO_12MP);
  portrait = await load(PHOTO_PNG);
});

describe('band sample', () => {
  it('is ~1/12 of a 12 MP image, full width, whole 16-row bands', () => {
    const { sample, scale } = sampleBands(photo);
    expect(sample.width).toBe(photo.width);
    expect(sample.height % 16).toBe(0);
    expect(scale).toBeGreaterThan(10);
    expect(scale).toBeLessThan(14);
  });

  it('predicts the full-size JPEG within 10% at several qualities', async () => {
    const model = await SizeModel.build(photo, encodeJpeg, [92, 86, 80, 74, 70]);
    for (const q of [90, 78, 70]) {
      const actual = (await encodeJpeg(photo, q)).length;
      expect(Math.abs(model.predict(q) / actual - 1)).toBeLessThan(0.1);
    }
  });
});

describe('fitLossy', () => {
  it.each([
    ['12 MP photo, 1 MB', () => photo, 1_000_000],
    ['1600×2133 portrait, 1 MB', () => portrait, 1_000_000],
    ['1600×2133 portrait, 400 kB', () => portrait, 400_000],
    ['12 MP photo, 3 MB', () => photo, 3_000_000],
  ] as const)('%s: fits, with few full encodes, near the best quality', async (_name, img, maxBytes) => {
    const c = counting(encodeJpeg, img);
    const r = await fitLossy(img(), c.encode, { maxBytes });
    expect(r.data.length).toBeLessThanOrEqual(maxBytes);
    expect(r.quality).toBeGreaterThanOrEqual(FIT_DEFAULTS.minQuality);
    expect(r.quality).toBeLessThanOrEqual(FIT_DEFAULTS.maxQuality);
    expect(r.fullEncodes).toBeLessThanOrEqual(4); // a naive binary search over 1..100 needs ~7
    // Near the best: at the chosen size, three quality steps more would not fit.
    if (r.quality <= FIT_DEFAULTS.maxQuality - 3) {
      const same = r.width === img().width ? img() : (await sharp(img().data, { raw: { width: img().width, height: img().height, channels: 3 } }).resize(r.width, r.height, { fit: 'fill', kernel: 'lanczos3' }).raw().toBuffer({ resolveWithObject: true }).then(({ data }) => ({ data, width: r.width, height: r.height, channels: 3 as const })));
      expect((await encodeJpeg(same, r.quality + 3)).length).toBeGreaterThan(maxBytes);
    }
  });

  it('downscales rather than go below the quality floor', async () => {
    const r = await fitLossy(photo, encodeJpeg, { maxBytes: 300_000 });
    expect(r.width).toBeLessThan(photo.width);
    expect(r.width / r.height).toBeCloseTo(photo.width / photo.height, 2);
    expect(r.quality).toBeGreaterThanOrEqual(FIT_DEFAULTS.minQuality);
    expect(r.data.length).toBeLessThanOrEqual(300_000);
  });

  it('TIFF with JPEG compression fits the same way', async () => {
    const r = await fitLossy(photo, encodeTiff, { maxBytes: 1_000_000 });
    expect(r.data.length).toBeLessThanOrEqual(1_000_000);
    expect((await sharp(r.data).metadata()).format).toBe('tiff');
  });

  it('refuses (ERR_IMAGE_CANNOT_FIT) rather than shrink below the minimum long edge', async () => {
    const err = await fitLossy(photo, encodeJpeg, { maxBytes: 20_000, minLongEdge: 1000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AppError);
    expect((err as AppError).code).toBe('ERR_IMAGE_CANNOT_FIT');
  });
});

describe('fitPng', () => {
  it('shrinks a photo until the lossless PNG fits, using most of the budget', async () => {
    const r = await fitPng(portrait, { maxBytes: 1_000_000 });
    expect(r.data.length).toBeLessThanOrEqual(1_000_000);
    expect(r.data.length).toBeGreaterThan(600_000);
    expect(r.fullEncodes).toBeLessThanOrEqual(3);
    expect(r.width / r.height).toBeCloseTo(portrait.width / portrait.height, 2);
  });
});

describe('SizeModel.predict', () => {
  it('is monotonic in quality, including beyond the sampled qualities', async () => {
    const model = await SizeModel.build(portrait, encodeJpeg, [90, 80, 70]);
    let previous = 0;
    for (let q = 50; q <= 100; q += 5) {
      const p = model.predict(q);
      expect(p).toBeGreaterThan(previous);
      previous = p;
    }
  });
});
