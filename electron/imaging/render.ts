import path from 'node:path';
import sharp from 'sharp';
import type { Metadata } from 'sharp';
import { AppError } from '../../shared/errors';
import { annotationSvg, captionSvg, validateEdits } from './edits';
import { decodeError, invalidArgument, storageError } from './errors';
import { fitLossy, fitPng, rawInput, type FitResult, type LossyEncoder, type RawImage } from './fit';
import { FAIL_ON, inspectPdf } from './ingest';
import { jpegToPdf } from './pdf';
import { SNIFF_BYTES, sniffType } from './sniff';
import type { Edits, ImagingLimits, MasterFiles, OutputFormat, RenderOutput, RenderResult } from './types';

const FORMATS: readonly OutputFormat[] = ['jpeg', 'png', 'tiff', 'pdf'];
/** Room for the PDF wrapper (objects, xref, font, caption text) around the embedded JPEG. */
const PDF_OVERHEAD_BYTES = 6_000;

export const encodeJpeg: LossyEncoder = (img, quality) => sharp(img.data, rawInput(img)).jpeg({ quality }).toBuffer();
/** TIFF with JPEG compression: what Medtech's Inbox Scan and referral readers take, at JPEG sizes. */
export const encodeTiff: LossyEncoder = (img, quality) => sharp(img.data, rawInput(img)).tiff({ compression: 'jpeg', quality }).toBuffer();

export function checkOutput(output: RenderOutput, limits: ImagingLimits): { format: OutputFormat; maxBytes: number } {
  if (typeof output !== 'object' || output === null || !FORMATS.includes(output.format)) {
    throw invalidArgument('output.format', "'jpeg', 'png', 'tiff' or 'pdf'", output?.format);
  }
  const maxBytes = output.maxBytes ?? limits.alexMaxAttachmentBytes;
  if (!Number.isInteger(maxBytes) || maxBytes < 20_000 || maxBytes > 100_000_000) {
    throw invalidArgument('output.maxBytes', 'a whole number of bytes from 20000 to 100000000', maxBytes);
  }
  return { format: output.format, maxBytes };
}

async function readMaster(files: MasterFiles, masterPath: string): Promise<Buffer> {
  try {
    return await files.read(masterPath);
  } catch (err) {
    if (err instanceof AppError) throw err;
    throw storageError(err);
  }
}

export const hasEdits = (edits: Edits): boolean =>
  edits.rotate !== 0 || !!edits.crop || (Array.isArray(edits.annotations) && edits.annotations.length > 0) || !!edits.captionStrip?.trim();

/** An Inbox Scan PDF passes through untouched when it fits and parses. */
async function renderPdfMaster(data: Buffer, edits: Edits, format: OutputFormat, maxBytes: number): Promise<RenderResult> {
  // A PDF is sent as itself, to the Inbox Scan (planTargets in targets.ts chooses that); never rasterised.
  if (format !== 'pdf') throw new AppError('ERR_IMAGE_PDF_INBOX_ONLY', { detail: 'a PDF can only be sent as a PDF' });
  if (hasEdits(edits)) throw invalidArgument('edits', 'no edits for a PDF document', 'edits');
  if (data.length > maxBytes) throw new AppError('ERR_IMAGE_CANNOT_FIT', { detail: 'PDF larger than the limit' });
  const info = await inspectPdf(data);
  return { data, contentType: 'application/pdf', width: info.width, height: info.height, quality: 100 };
}

/** Applies annotations → crop → rotate → caption strip to the master, returning raw pixels. */
async function applyEdits(master: Buffer, edits: Edits, withCaption: boolean, limits: ImagingLimits): Promise<RawImage> {
  let meta: Metadata;
  try {
    meta = await sharp(master, { failOn: FAIL_ON, limitInputPixels: limits.maxInputPixels }).metadata();
  } catch (err) {
    throw decodeError(err);
  }
  const masterW = meta.width ?? 0;
  const masterH = meta.height ?? 0;
  if (masterW * masterH > limits.maxInputPixels) throw new AppError('ERR_IMAGE_TOO_MANY_PIXELS');
  const region = validateEdits(edits, masterW, masterH, limits.maxCaptionChars);
  try {
    let stage = sharp(master, { failOn: FAIL_ON, limitInputPixels: limits.maxInputPixels }).removeAlpha();
    if (region.width !== masterW || region.height !== masterH) {
      stage = stage.extract({ left: region.x, top: region.y, width: region.width, height: region.height });
    }
    if (edits.annotations.length > 0) {
      stage = stage.composite([{ input: Buffer.from(annotationSvg(edits.annotations, region, masterW, masterH)), left: 0, top: 0 }]);
    }
    const first = await stage.raw().toBuffer({ resolveWithObject: true });
    let img: RawImage = { data: first.data, width: first.info.width, height: first.info.height, channels: first.info.channels as RawImage['channels'] };
    const caption = withCaption ? edits.captionStrip?.trim() : undefined;
    if (edits.rotate !== 0 || caption) {
      let second = sharp(img.data, rawInput(img)).rotate(edits.rotate);
      if (caption) {
        const width = edits.rotate === 90 || edits.rotate === 270 ? img.height : img.width;
        const strip = captionSvg(caption, width);
        second = second
          .extend({ bottom: strip.height, background: '#ffffff' })
          .composite([{ input: Buffer.from(strip.svg), gravity: 'south' }]);
      }
      const out = await second.raw().toBuffer({ resolveWithObject: true });
      img = { data: out.data, width: out.info.width, height: out.info.height, channels: out.info.channels as RawImage['channels'] };
    }
    return img;
  } catch (err) {
    throw decodeError(err);
  }
}

/** What a render reads with; `pause` (when given) is awaited before its decode and each encode. */
type RenderEnv = { limits: ImagingLimits; files: MasterFiles; pause?: () => Promise<void> };
/** How each encode of a render is run (e.g. after a pause, or one at a time). */
export type EncodeStep = <T>(encode: () => Promise<T>) => Promise<T>;

/** Renders the edited master into what Medtech accepts, at the best quality under maxBytes. */
export async function renderImage(masterPath: string, edits: Edits, output: RenderOutput, { limits, files, pause = async () => {} }: RenderEnv): Promise<RenderResult> {
  const { format, maxBytes } = checkOutput(output, limits);
  if (typeof masterPath !== 'string' || !path.isAbsolute(masterPath)) throw invalidArgument('masterPath', 'an absolute path', masterPath);
  if (typeof edits !== 'object' || edits === null) throw invalidArgument('edits', 'an object', edits);
  // The master is read into memory (it may be sealed on disk) and decoded from there.
  const master = await readMaster(files, masterPath);
  const type = sniffType(master.subarray(0, SNIFF_BYTES));
  if (type === 'pdf') return renderPdfMaster(master, edits, format, maxBytes);
  if (type !== 'jpeg') throw new AppError('ERR_IMAGE_UNSUPPORTED', { detail: 'not a working master' });

  await pause();
  const img = await applyEdits(master, edits, format !== 'pdf', limits);
  return renderPixels(img, { format, maxBytes, caption: edits.captionStrip?.trim() || null }, (encode) => pause().then(encode));
}

/**
 * Fits upright, edited pixels (a decoded master, or an ingest's own pixels) into the output format under maxBytes.
 * `caption` is the PDF's text under the image (JPEG, PNG and TIFF have it burned into the pixels already).
 */
export async function renderPixels(
  img: RawImage,
  { format, maxBytes, caption }: { format: OutputFormat; maxBytes: number; caption: string | null },
  step: EncodeStep = (encode) => encode(),
): Promise<RenderResult> {
  const paused = (encode: LossyEncoder): LossyEncoder => (image, quality) => step(() => encode(image, quality));
  const jpeg = paused(encodeJpeg);
  let fit: FitResult;
  switch (format) {
    case 'jpeg':
      fit = await fitLossy(img, jpeg, { maxBytes });
      return { data: fit.data, contentType: 'image/jpeg', width: fit.width, height: fit.height, quality: fit.quality };
    case 'tiff':
      fit = await fitLossy(img, paused(encodeTiff), { maxBytes });
      return { data: fit.data, contentType: 'image/tiff', width: fit.width, height: fit.height, quality: fit.quality };
    case 'png':
      fit = await fitPng(img, { maxBytes });
      return { data: fit.data, contentType: 'image/png', width: fit.width, height: fit.height, quality: fit.quality };
    case 'pdf': {
      let budget = maxBytes - PDF_OVERHEAD_BYTES - 2 * (caption?.length ?? 0);
      for (let attempt = 0; attempt < 3 && budget >= 20_000; attempt++) {
        fit = await fitLossy(img, jpeg, { maxBytes: budget });
        const data = await jpegToPdf(fit.data, fit.width, fit.height, caption);
        if (data.length <= maxBytes) return { data, contentType: 'application/pdf', width: fit.width, height: fit.height, quality: fit.quality };
        budget -= data.length - maxBytes + 2_000;
      }
      throw new AppError('ERR_IMAGE_CANNOT_FIT');
    }
    default: {
      const never: never = format;
      throw invalidArgument('output.format', 'a known format', never);
    }
  }
}
