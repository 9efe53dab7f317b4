import { execFileSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import * as UTIF from 'utif';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppError, type ErrorCode } from '../../shared/errors';
import { DEFAULT_ANNOTATION_COLOR } from './edits';
import { createImagingService } from './service';
import type { Edits, ImagingService, IngestResult, RenderResult } from './types';
import { PHOTO_12MP, PHOTO_HEIC, PHOTO_PNG, QUADRANTS, makePdf, meanDiff, near, orientedJpeg, pixelAt, quadrantRaw, type Rgb } from './testkit/images';

const MB = 1_000_000;
const NO_EDITS: Edits = { rotate: 0, annotations: [] };

let root: string;
let svc: ImagingService;
let photo: IngestResult;
let quad: IngestResult;
let n = 0;

async function ingest(input: { path: string } | { buffer: Buffer }): Promise<IngestResult> {
  return svc.ingest(input, { dir: root, id: `r-${++n}` });
}

beforeAll(async () => {
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'imaging-render-'));
  svc = createImagingService();
  photo = await ingest({ path: PHOTO_12MP });
  // A 400×240 upright quadrant image: flat colours make "right way up" and "changed here" checkable.
  quad = await ingest({ buffer: await sharp(quadrantRaw(400, 240), { raw: { width: 400, height: 240, channels: 3 } }).png().toBuffer() });
});
afterAll(async () => {
  await svc.close();
  await fs.rm(root, { recursive: true, force: true });
});

async function expectCode(p: Promise<unknown>, code: ErrorCode): Promise<void> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(AppError);
  expect((err as AppError).code).toBe(code);
}

/** Small, same-size thumbnails of the output and of the upright original photo; 'upright' = close to it. */
async function uprightDiff(output: Buffer | { data: Uint8Array; width: number; height: number }): Promise<number> {
  const ref = await sharp(PHOTO_12MP).autoOrient().resize(48, 64, { fit: 'fill' }).removeAlpha().raw().toBuffer();
  const input = Buffer.isBuffer(output) ? sharp(output) : sharp(Buffer.from(output.data), { raw: { width: output.width, height: output.height, channels: 4 } });
  const got = await input.resize(48, 64, { fit: 'fill' }).removeAlpha().raw().toBuffer();
  return meanDiff(got, ref);
}

function expectNoExif(data: Buffer): void {
  expect(data.includes(Buffer.from('Exif\0\0'))).toBe(false);
}

describe('render: the 12 MP phone photo into each format under 1 MB', () => {
  const results = new Map<string, RenderResult>();

  it('JPEG: ≤ 1 MB, upright, no EXIF', async () => {
    const r = await svc.render(photo.masterPath, NO_EDITS, { format: 'jpeg' });
    results.set('jpeg', r);
    expect(r.contentType).toBe('image/jpeg');
    expect(r.data.length).toBeLessThanOrEqual(MB);
    expect(r.data.length).toBeGreaterThan(0.8 * MB); // uses the budget, not a timid guess
    const meta = await sharp(r.data).metadata();
    expect([meta.format, meta.width, meta.height]).toEqual(['jpeg', r.width, r.height]);
    expect(meta.exif).toBeUndefined();
    expectNoExif(r.data);
    expect(r.height / r.width).toBeCloseTo(4032 / 3024, 2);
    expect(await uprightDiff(r.data)).toBeLessThan(5);
  });

  it('TIFF (JPEG-compressed): ≤ 1 MB, decodes with UTIF (an independent reader), upright', async () => {
    const r = await svc.render(photo.masterPath, NO_EDITS, { format: 'tiff' });
    expect(r.contentType).toBe('image/tiff');
    expect(r.data.length).toBeLessThanOrEqual(MB);
    const ifds = UTIF.decode(r.data);
    const first = ifds[0];
    expect(first).toBeDefined();
    if (!first) return;
    UTIF.decodeImage(r.data, first);
    const rgba = UTIF.toRGBA8(first);
    expect([first.width, first.height]).toEqual([r.width, r.height]);
    expect(await uprightDiff({ data: rgba, width: r.width, height: r.height })).toBeLessThan(6);
    expectNoExif(r.data);
  });

  it('PNG: ≤ 1 MB (lossless, so smaller), upright', async () => {
    const r = await svc.render(photo.masterPath, NO_EDITS, { format: 'png' });
    expect(r.contentType).toBe('image/png');
    expect(r.data.length).toBeLessThanOrEqual(MB);
    expect(r.quality).toBe(100);
    expect(await uprightDiff(r.data)).toBeLessThan(5);
    expect((await sharp(r.data).metadata()).exif).toBeUndefined();
  });

  it('PDF: ≤ 1 MB, one page sized to the image, passes pdfinfo and qpdf --check, caption is real text', async () => {
    const caption = 'Left forearm, wound, close-up. Māori: Tūhoe whānau';
    const r = await svc.render(photo.masterPath, { ...NO_EDITS, captionStrip: caption }, { format: 'pdf' });
    expect(r.contentType).toBe('application/pdf');
    expect(r.data.length).toBeLessThanOrEqual(MB);
    const file = path.join(root, `out-${++n}.pdf`);
    await fs.writeFile(file, r.data);
    const info = execFileSync('pdfinfo', [file], { encoding: 'utf8' });
    expect(info).toMatch(/Pages:\s+1\b/);
    execFileSync('qpdf', ['--check', file], { encoding: 'utf8' }); // throws on a non-zero exit
    const text = execFileSync('pdftotext', [file, '-'], { encoding: 'utf8' }).replace(/\s+/g, ' ');
    expect(text).toContain('Left forearm, wound, close-up. Maori: Tuhoe whanau');
    // The embedded image is upright: extract it with poppler and compare.
    const prefix = path.join(root, `img-${n}`);
    execFileSync('pdfimages', ['-j', file, prefix]);
    const jpg = await fs.readFile(`${prefix}-000.jpg`);
    expect(await uprightDiff(jpg)).toBeLessThan(5);
  });

  it('HEIC and the 9 MB PNG also render to JPEG under 1 MB', async () => {
    for (const input of [PHOTO_HEIC, PHOTO_PNG]) {
      const m = await ingest({ path: input });
      const r = await svc.render(m.masterPath, NO_EDITS, { format: 'jpeg' });
      expect(r.data.length).toBeLessThanOrEqual(MB);
      expect(r.width / r.height).toBeCloseTo(m.width / m.height, 2);
    }
  });

  it('a 40 MP panorama (the photo stretched to 10000×4000, made in the test) ingests and fits', async () => {
    const pano = await sharp(PHOTO_12MP).autoOrient().resize(10_000, 4_000, { fit: 'fill' }).jpeg({ quality: 90 }).toBuffer();
    const m = await ingest({ buffer: pano });
    expect([m.width, m.height]).toEqual([10_000, 4_000]);
    for (const format of ['jpeg', 'tiff'] as const) {
      const r = await svc.render(m.masterPath, NO_EDITS, { format });
      expect(r.data.length).toBeLessThanOrEqual(MB);
      expect(r.width / r.height).toBeCloseTo(2.5, 2);
    }
  });

  it('a polyglot renders to clean output (no trailing payload)', async () => {
    const polyglot = Buffer.concat([await orientedJpeg(6), Buffer.from('PK\u0003\u0004<script>alert(1)</script>')]);
    const m = await ingest({ buffer: polyglot });
    for (const format of ['jpeg', 'png', 'tiff', 'pdf'] as const) {
      const r = await svc.render(m.masterPath, NO_EDITS, { format });
      expect(r.data.includes(Buffer.from('PK\u0003\u0004'))).toBe(false);
      expect(r.data.includes(Buffer.from('<script>'))).toBe(false);
      if (format === 'jpeg') expect(r.data.subarray(-2)).toEqual(Buffer.from([0xff, 0xd9]));
    }
  });
});

describe('render: edits change pixels where expected', () => {
  const yellow: Rgb = [0xff, 0xd4, 0x00];
  const at = (r: RenderResult, x: number, y: number): Promise<Rgb> => pixelAt(r.data, x, y);

  it('no edits keeps the quadrants', async () => {
    const r = await svc.render(quad.masterPath, NO_EDITS, { format: 'png' });
    expect([r.width, r.height]).toEqual([400, 240]);
    expect(near(await at(r, 50, 50), QUADRANTS.tl)).toBe(true);
  });

  it('rotate 90 turns the image clockwise', async () => {
    const r = await svc.render(quad.masterPath, { rotate: 90, annotations: [] }, { format: 'png' });
    expect([r.width, r.height]).toEqual([240, 400]);
    expect(near(await at(r, 30, 30), QUADRANTS.bl)).toBe(true);
    expect(near(await at(r, 210, 30), QUADRANTS.tl)).toBe(true);
    expect(near(await at(r, 30, 370), QUADRANTS.br)).toBe(true);
    expect(near(await at(r, 210, 370), QUADRANTS.tr)).toBe(true);
  });

  it('crop (in master pixels) keeps only that region; rotate applies after crop', async () => {
    const r = await svc.render(quad.masterPath, { rotate: 0, crop: { x: 200, y: 0, width: 200, height: 120 }, annotations: [] }, { format: 'png' });
    expect([r.width, r.height]).toEqual([200, 120]);
    for (const [x, y] of [[5, 5], [195, 5], [5, 115], [195, 115]] as const) expect(near(await at(r, x, y), QUADRANTS.tr)).toBe(true);
    const turned = await svc.render(quad.masterPath, { rotate: 270, crop: { x: 0, y: 0, width: 400, height: 120 }, annotations: [] }, { format: 'png' });
    expect([turned.width, turned.height]).toEqual([120, 400]);
    expect(near(await at(turned, 60, 20), QUADRANTS.tr)).toBe(true);
    expect(near(await at(turned, 60, 380), QUADRANTS.tl)).toBe(true);
  });

  it('circle, arrow and text are burned in where drawn, and nowhere else', async () => {
    const plain = await svc.render(quad.masterPath, NO_EDITS, { format: 'png' });
    const edits: Edits = {
      rotate: 0,
      annotations: [
        { kind: 'circle', center: { x: 100, y: 60 }, radius: 40 },
        { kind: 'arrow', from: { x: 220, y: 180 }, to: { x: 380, y: 180 }, color: '#00ffff' },
        { kind: 'text', at: { x: 20, y: 220 }, text: 'Wound </text><script>x</script> & "edge"', color: '#ff00ff', size: 18 },
      ],
    };
    const r = await svc.render(quad.masterPath, edits, { format: 'png' });
    expect(DEFAULT_ANNOTATION_COLOR).toBe('#ffd400');
    expect(near(await at(r, 140, 60), yellow, 60)).toBe(true); // on the ring
    expect(near(await at(r, 100, 60), QUADRANTS.tl)).toBe(true); // inside the ring: untouched
    expect(near(await at(r, 280, 180), [0, 255, 255], 60)).toBe(true); // on the arrow shaft
    const a = await sharp(r.data).raw().toBuffer({ resolveWithObject: true });
    const b = await sharp(plain.data).raw().toBuffer();
    let changedInTextBox = 0;
    let changedElsewhere = 0;
    for (let y = 0; y < a.info.height; y++) {
      for (let x = 0; x < a.info.width; x++) {
        const i = (y * a.info.width + x) * a.info.channels;
        const changed = Math.abs((a.data[i] ?? 0) - (b[i] ?? 0)) + Math.abs((a.data[i + 1] ?? 0) - (b[i + 1] ?? 0)) > 60;
        if (!changed) continue;
        const inCircle = Math.abs(Math.hypot(x - 100, y - 60) - 40) < 12;
        const inArrow = x >= 205 && y >= 160 && y <= 200;
        const inText = x >= 15 && y >= 195 && y <= 232;
        if (inText) changedInTextBox++;
        else if (!inCircle && !inArrow) changedElsewhere++;
      }
    }
    expect(changedInTextBox).toBeGreaterThan(200);
    expect(changedElsewhere).toBe(0);
  });

  it('caption strip adds a white band with dark text under the image', async () => {
    const r = await svc.render(quad.masterPath, { ...NO_EDITS, captionStrip: 'Right knee — post-operative, overview. 23 Nov 2026' }, { format: 'png' });
    expect(r.width).toBe(400);
    expect(r.height).toBeGreaterThan(240);
    expect(near(await at(r, 50, 50), QUADRANTS.tl)).toBe(true);
    const { data, info } = await sharp(r.data).extract({ left: 0, top: 242, width: 400, height: r.height - 242 }).greyscale().raw().toBuffer({ resolveWithObject: true });
    const dark = data.filter((v) => v < 100).length;
    const white = data.filter((v) => v > 240).length;
    expect(dark).toBeGreaterThan(100); // glyphs were drawn (a font was found)
    expect(white / (info.width * info.height)).toBeGreaterThan(0.6);
  });
});

describe('render: bad edits and outputs get a coded error', () => {
  const cases: Array<[string, Edits]> = [
    ['rotate 45', { rotate: 45 as 0, annotations: [] }],
    ['crop outside', { rotate: 0, crop: { x: 300, y: 0, width: 200, height: 100 }, annotations: [] }],
    ['crop negative', { rotate: 0, crop: { x: -1, y: 0, width: 100, height: 100 }, annotations: [] }],
    ['crop fractional', { rotate: 0, crop: { x: 0.5, y: 0, width: 100, height: 100 }, annotations: [] }],
    ['annotations not an array', { rotate: 0, annotations: 'x' as unknown as [] }],
    ['colour that would inject SVG', { rotate: 0, annotations: [{ kind: 'circle', center: { x: 10, y: 10 }, radius: 5, color: 'red" onload="x' }] }],
    ['point outside the image', { rotate: 0, annotations: [{ kind: 'arrow', from: { x: 0, y: 0 }, to: { x: 9999, y: 0 } }] }],
    ['NaN radius', { rotate: 0, annotations: [{ kind: 'circle', center: { x: 10, y: 10 }, radius: Number.NaN }] }],
    ['empty text', { rotate: 0, annotations: [{ kind: 'text', at: { x: 10, y: 10 }, text: '  ' }] }],
    ['unknown kind', { rotate: 0, annotations: [{ kind: 'polygon' } as unknown as Edits['annotations'][number]] }],
    ['too many annotations', { rotate: 0, annotations: Array.from({ length: 101 }, () => ({ kind: 'circle' as const, center: { x: 5, y: 5 }, radius: 2 })) }],
    ['caption too long', { rotate: 0, annotations: [], captionStrip: 'x'.repeat(501) }],
  ];
  it.each(cases)('%s → ERR_REQUEST_INVALID, no echo of text', async (_name, edits) => {
    const err = await svc.render(quad.masterPath, edits, { format: 'jpeg' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AppError);
    expect((err as AppError).code).toBe('ERR_REQUEST_INVALID');
    expect((err as AppError).toBody().detail ?? '').not.toContain('onload');
  });

  it('bad output options', async () => {
    await expectCode(svc.render(quad.masterPath, NO_EDITS, { format: 'gif' as 'jpeg' }), 'ERR_REQUEST_INVALID');
    await expectCode(svc.render(quad.masterPath, NO_EDITS, { format: 'jpeg', maxBytes: 10 }), 'ERR_REQUEST_INVALID');
    await expectCode(svc.render(path.join(root, 'missing.master.jpg'), NO_EDITS, { format: 'jpeg' }), 'ERR_NOT_FOUND');
    await expectCode(svc.render('relative.jpg', NO_EDITS, { format: 'jpeg' }), 'ERR_REQUEST_INVALID');
  });

  it('a photo that cannot fit a tiny budget at a readable size → ERR_IMAGE_CANNOT_FIT', async () => {
    await expectCode(svc.render(photo.masterPath, NO_EDITS, { format: 'jpeg', maxBytes: 20_000 }), 'ERR_IMAGE_CANNOT_FIT');
  });
});

describe('render: PDF documents for Inbox Scan pass through', () => {
  it('a PDF under the limit comes back byte for byte', async () => {
    const pdf = await makePdf();
    const m = await ingest({ buffer: pdf });
    const r = await svc.render(m.masterPath, NO_EDITS, { format: 'pdf' });
    expect(r.data.equals(pdf)).toBe(true);
    expect(r.contentType).toBe('application/pdf');
  });

  it('a PDF over the limit → ERR_IMAGE_CANNOT_FIT; as JPEG → ERR_IMAGE_PDF_INBOX_ONLY; edits → ERR_REQUEST_INVALID', async () => {
    const big = await makePdf(200_000);
    expect(big.length).toBeGreaterThan(100_000);
    const m = await ingest({ buffer: big });
    await expectCode(svc.render(m.masterPath, NO_EDITS, { format: 'pdf', maxBytes: 50_000 }), 'ERR_IMAGE_CANNOT_FIT');
    await expectCode(svc.render(m.masterPath, NO_EDITS, { format: 'jpeg' }), 'ERR_IMAGE_PDF_INBOX_ONLY');
    await expectCode(svc.render(m.masterPath, { rotate: 90, annotations: [] }, { format: 'pdf' }), 'ERR_REQUEST_INVALID');
  });
});
