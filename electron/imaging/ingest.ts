import { promises as fs } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import type { Metadata, OutputInfo, Sharp } from 'sharp';
import { PDFDocument } from 'pdf-lib';
import { AppError } from '../../shared/errors';
import { decodeError, invalidArgument, storageError } from './errors';
import type { DecodedRgba, HeicDecoder } from './heic';
import type { RawImage } from './fit';
import { heicPixels } from './heic-colour';
import { SNIFF_BYTES, sniffType } from './sniff';
import type { ImagingLimits, IngestDest, IngestInput, IngestOptions, IngestResult, MasterFiles, SourceType } from './types';

/** Working master: its generation loss is far below what the ≤ 1 MB output costs anyway (README: measured sizes). */
export const MASTER_JPEG = { quality: 95, chromaSubsampling: '4:4:4', optimiseCoding: false } as const;
/** sharp's strictest setting: any decoder warning (truncated or damaged data) refuses the file. */
export const FAIL_ON = 'warning' as const;

const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$/;

export interface IngestDeps {
  limits: ImagingLimits;
  heic: Pick<HeicDecoder, 'decode' | 'thumbnail'>;
  /** Writes the master whole and atomically (plain or sealed). */
  files: MasterFiles;
}

type Source = { kind: 'path'; path: string } | { kind: 'buffer'; buffer: Buffer };

/** Checks dest and returns the master path for `ext`, not used before. Nothing client-supplied is used. */
async function resolveDest(dest: IngestDest, ext: 'jpg' | 'pdf'): Promise<string> {
  if (typeof dest?.dir !== 'string' || !path.isAbsolute(dest.dir)) throw invalidArgument('dest.dir', 'an absolute directory path', dest?.dir);
  if (typeof dest.id !== 'string' || !ID_PATTERN.test(dest.id)) throw invalidArgument('dest.id', 'an identifier of letters, digits, - and _', dest.id);
  let dir: string;
  try {
    dir = await fs.realpath(dest.dir);
    if (!(await fs.stat(dir)).isDirectory()) throw invalidArgument('dest.dir', 'a directory', 'a file');
  } catch (err) {
    if (err instanceof AppError) throw err;
    throw storageError(err);
  }
  const masterPath = path.join(dir, `${dest.id}.master.${ext}`);
  if (path.dirname(masterPath) !== dir) throw invalidArgument('dest.id', 'a plain identifier', dest.id);
  const used = await fs.access(masterPath).then(() => true, () => false);
  if (used) throw invalidArgument('dest.id', 'an identifier not used before in this directory', 'one already used');
  return masterPath;
}

async function openSource(input: IngestInput, limits: ImagingLimits): Promise<{ source: Source; head: Buffer }> {
  if (input && 'buffer' in input && Buffer.isBuffer(input.buffer)) {
    if (input.buffer.length > limits.maxUploadFileBytes) throw new AppError('ERR_IMAGE_FILE_TOO_LARGE');
    if (input.buffer.length === 0) throw new AppError('ERR_IMAGE_CORRUPT', { detail: 'empty file' });
    return { source: { kind: 'buffer', buffer: input.buffer }, head: input.buffer.subarray(0, SNIFF_BYTES) };
  }
  if (!input || !('path' in input) || typeof input.path !== 'string' || !path.isAbsolute(input.path)) {
    throw invalidArgument('input', '{ path } (absolute) or { buffer }', input && 'path' in input ? input.path : input);
  }
  let handle: fs.FileHandle | undefined;
  try {
    handle = await fs.open(input.path, 'r');
    const stat = await handle.stat();
    if (!stat.isFile()) throw invalidArgument('input.path', 'a file', 'a directory');
    if (stat.size > limits.maxUploadFileBytes) throw new AppError('ERR_IMAGE_FILE_TOO_LARGE');
    if (stat.size === 0) throw new AppError('ERR_IMAGE_CORRUPT', { detail: 'empty file' });
    const head = Buffer.alloc(Math.min(SNIFF_BYTES, stat.size));
    await handle.read(head, 0, head.length, 0);
    return { source: { kind: 'path', path: input.path }, head };
  } catch (err) {
    if (err instanceof AppError) throw err;
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new AppError('ERR_NOT_FOUND', { detail: 'input file not found', cause: err });
    throw storageError(err);
  } finally {
    await handle?.close();
  }
}

async function readAll(source: Source): Promise<Buffer> {
  if (source.kind === 'buffer') return source.buffer;
  try {
    return await fs.readFile(source.path);
  } catch (err) {
    throw storageError(err);
  }
}

/** Reads only the header and refuses a pixel bomb before any pixel is decoded. */
async function checkHeader(input: string | Buffer, type: Exclude<SourceType, 'heic' | 'pdf'>, limits: ImagingLimits): Promise<void> {
  let meta: Metadata;
  try {
    meta = await sharp(input, { limitInputPixels: limits.maxInputPixels, failOn: FAIL_ON }).metadata();
  } catch (err) {
    throw decodeError(err);
  }
  if (meta.format !== type) throw new AppError('ERR_IMAGE_CORRUPT', { detail: 'content does not match its signature' });
  const width = meta.width ?? 0;
  const height = meta.height ?? 0;
  if (width <= 0 || height <= 0) throw new AppError('ERR_IMAGE_CORRUPT', { detail: 'no image size in header' });
  if (width * height > limits.maxInputPixels) throw new AppError('ERR_IMAGE_TOO_MANY_PIXELS');
}

/**
 * Upright, sRGB, no metadata, opaque: the one decode of the untrusted input, encoded (in memory) as the working master.
 * With `onPixels`, the decoded 8-bit RGB pixels are handed over (read-only) before the master is encoded from them.
 */
async function encodeMaster(pipeline: Sharp, onPixels?: (img: RawImage) => void): Promise<{ data: Buffer; width: number; height: number }> {
  let out: { data: Buffer; info: OutputInfo };
  try {
    const upright = pipeline.flatten({ background: '#ffffff' }).toColourspace('srgb');
    const px = onPixels && (await upright.raw().toBuffer({ resolveWithObject: true }));
    if (px && px.info.channels === 3 && px.data.length === px.info.width * px.info.height * 3) {
      const img: RawImage = { data: px.data, width: px.info.width, height: px.info.height, channels: 3 };
      onPixels?.(img);
      out = await sharp(img.data, { raw: { width: img.width, height: img.height, channels: 3 } }).jpeg(MASTER_JPEG).toBuffer({ resolveWithObject: true });
    } else {
      out = await upright.jpeg(MASTER_JPEG).toBuffer({ resolveWithObject: true }); // not 8-bit RGB: no hand-over
    }
  } catch (err) {
    throw decodeError(err);
  }
  return { data: out.data, width: out.info.width, height: out.info.height };
}

/** The master onto disk through `files` (whole, atomic); storage errors coded. */
async function storeMaster(files: MasterFiles, masterPath: string, bytes: Buffer): Promise<void> {
  try {
    await files.write(masterPath, bytes);
  } catch (err) {
    if (err instanceof AppError) throw err;
    throw storageError(err);
  }
}

/**
 * The thumbnail: at most the thumbnail edge, opaque, sRGB JPEG. The resize comes straight after decode so
 * libvips shrinks a JPEG (DCT scaling) or WebP on load instead of decoding every pixel.
 */
function thumbnailOf(image: Sharp, edgePx: number): Promise<Buffer> {
  return image.resize(edgePx, edgePx, { fit: 'inside', withoutEnlargement: true }).flatten({ background: '#ffffff' }).toColourspace('srgb').jpeg({ quality: 80 }).toBuffer();
}

/** The thumbnail straight from the untrusted source, EXIF orientation applied once as for the master. */
async function sourceThumbnail(input: string | Buffer, limits: ImagingLimits): Promise<Buffer> {
  try {
    return await thumbnailOf(sharp(input, { limitInputPixels: limits.maxInputPixels, failOn: FAIL_ON }).autoOrient(), limits.thumbnailEdgePx);
  } catch (err) {
    throw decodeError(err);
  }
}

/** The HEIC's own embedded thumbnail (libheif turned it) in sRGB; null when there is none or it cannot be read. */
async function heicThumbnail(thumb: DecodedRgba | null, limits: ImagingLimits): Promise<Buffer | null> {
  try {
    return thumb && (await thumbnailOf(heicPixels(thumb, limits.maxInputPixels), limits.thumbnailEdgePx));
  } catch {
    return null; // a bad embedded thumbnail only loses the head start
  }
}

/** Calls the caller's listener without letting it throw into the pipeline; returns the thumbnail. */
function tell(options: IngestOptions | undefined, thumbnail: Buffer): Buffer {
  try {
    options?.onThumbnail?.(thumbnail, 'image/jpeg');
  } catch {
    // the listener's failure is not the image's
  }
  return thumbnail;
}

/** A document icon for a PDF (PDFs pass through unrasterised). */
async function pdfThumbnail(pages: number, edgePx: number): Promise<Buffer> {
  const h = edgePx;
  const w = Math.round(edgePx * 0.75);
  const fold = Math.round(w * 0.22);
  const label = pages === 1 ? '1 page' : `${pages} pages`;
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}">
<rect width="${w}" height="${h}" fill="#eef1f5"/>
<path d="M${w * 0.12} ${h * 0.06} H${w * 0.88 - fold} L${w * 0.88} ${h * 0.06 + fold} V${h * 0.94} H${w * 0.12} Z" fill="#ffffff" stroke="#6b7785" stroke-width="3"/>
<text x="${w / 2}" y="${h * 0.5}" font-family="DejaVu Sans, sans-serif" font-size="${Math.round(w * 0.2)}" font-weight="bold" text-anchor="middle" fill="#b3261e">PDF</text>
<text x="${w / 2}" y="${h * 0.66}" font-family="DejaVu Sans, sans-serif" font-size="${Math.round(w * 0.09)}" text-anchor="middle" fill="#3c4650">${label}</text>
</svg>`;
  return sharp(Buffer.from(svg)).jpeg({ quality: 85 }).toBuffer();
}

/** Checks that a PDF parses (pdf-lib) and returns its page count and first page size in points. */
export async function inspectPdf(bytes: Uint8Array): Promise<{ pages: number; width: number; height: number }> {
  let doc: PDFDocument;
  try {
    doc = await PDFDocument.load(bytes, { updateMetadata: false });
  } catch (err) {
    if (err instanceof Error && err.name === 'EncryptedPDFError') {
      throw new AppError('ERR_IMAGE_UNSUPPORTED', { detail: 'password-protected PDF', cause: err });
    }
    throw new AppError('ERR_IMAGE_CORRUPT', { cause: err });
  }
  // A damaged page tree can load and then throw a TypeError on first use: that is a corrupt file, not our bug.
  let pages: number;
  let size: { width: number; height: number } | undefined;
  try {
    pages = doc.getPageCount();
    size = pages > 0 ? doc.getPage(0).getSize() : undefined;
  } catch (err) {
    throw new AppError('ERR_IMAGE_CORRUPT', { detail: 'PDF page tree unreadable', cause: err });
  }
  if (!size) throw new AppError('ERR_IMAGE_CORRUPT', { detail: 'PDF has no pages' });
  return { pages, width: Math.round(size.width), height: Math.round(size.height) };
}

/** What the first look at an input found: its type and, when a cheaper source than the full decode exists, its thumbnail. */
export interface FirstLook {
  source: Source;
  sourceType: SourceType;
  thumbnail: Buffer | null;
}

/**
 * The first look at an untrusted input, before anything else is done with it: its type from its bytes, a pixel
 * bomb refused from its header, and the thumbnail from the cheapest true source, told to `onThumbnail` at once.
 */
export async function firstLook(input: IngestInput, deps: IngestDeps, options?: IngestOptions): Promise<FirstLook> {
  const { limits } = deps;
  const { source, head } = await openSource(input, limits);
  const sourceType = sniffType(head);
  if (!sourceType) throw new AppError('ERR_IMAGE_UNSUPPORTED');
  let thumbnail: Buffer | null = null;
  if (sourceType === 'heic') {
    const bytes = await readAll(source);
    thumbnail = await heicThumbnail(await deps.heic.thumbnail(bytes, limits.maxInputPixels), limits);
    return { source: { kind: 'buffer', buffer: bytes }, sourceType, thumbnail: thumbnail && tell(options, thumbnail) };
  }
  if (sourceType !== 'pdf') {
    const sharpInput = source.kind === 'path' ? source.path : source.buffer;
    await checkHeader(sharpInput, sourceType, limits);
    thumbnail = tell(options, await sourceThumbnail(sharpInput, limits));
  }
  return { source, sourceType, thumbnail };
}

/**
 * The working master of what `firstLook` accepted, in `dest.dir` named from `dest.id` only. On any failure nothing is left there.
 * `onPixels` (optional): given the decoded pixels and the master's path before the master is encoded (8-bit RGB only).
 */
export async function writeMaster(look: FirstLook, dest: IngestDest, deps: IngestDeps, onPixels?: (img: RawImage, masterPath: string) => void): Promise<IngestResult> {
  const { limits } = deps;
  const { source, sourceType } = look;
  if (sourceType === 'pdf') {
    const masterPath = await resolveDest(dest, 'pdf');
    const bytes = await readAll(source);
    const info = await inspectPdf(bytes);
    const thumbnail = await pdfThumbnail(info.pages, limits.thumbnailEdgePx);
    await storeMaster(deps.files, masterPath, Buffer.from(bytes));
    return { width: info.width, height: info.height, sourceType, masterPath, thumbnail, thumbnailMime: 'image/jpeg' };
  }
  const masterPath = await resolveDest(dest, 'jpg');
  try {
    let pipeline: Sharp;
    if (source.kind === 'buffer' && sourceType === 'heic') {
      // libheif applied irot/imir (no EXIF rotation: it would turn twice) but no colour: heicPixels carries the HEIC's ICC/nclx into sharp.
      pipeline = heicPixels(await deps.heic.decode(source.buffer, limits.maxInputPixels), limits.maxInputPixels);
    } else {
      pipeline = sharp(source.kind === 'path' ? source.path : source.buffer, { limitInputPixels: limits.maxInputPixels, failOn: FAIL_ON, sequentialRead: true }).autoOrient();
    }
    const { data, width, height } = await encodeMaster(pipeline, onPixels && ((img) => onPixels(img, masterPath)));
    // A HEIC's embedded thumbnail may be smaller than ours: the result's comes from the master.
    const thumbnail = sourceType === 'heic' || !look.thumbnail ? await thumbnailOf(sharp(data, { failOn: FAIL_ON }), limits.thumbnailEdgePx) : look.thumbnail;
    await storeMaster(deps.files, masterPath, data);
    return { width, height, sourceType, masterPath, thumbnail, thumbnailMime: 'image/jpeg' };
  } catch (err) {
    if (err instanceof AppError) throw err;
    throw storageError(err);
  }
}
