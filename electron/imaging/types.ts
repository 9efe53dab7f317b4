import type { LIMITS } from '../../shared/limits';

/** The real type of an input, decided from its bytes (never from a name, extension or claimed MIME type). */
export type SourceType = 'jpeg' | 'png' | 'heic' | 'webp' | 'tiff' | 'pdf';

export type IngestInput = { path: string } | { buffer: Buffer };

/** Where the working master goes. `id` is ours (the image UUID); no client-supplied name reaches the disk. */
export interface IngestDest {
  dir: string;
  id: string;
}

export interface IngestResult {
  /** Upright size of the working master in pixels (for a PDF: first page size in points). */
  width: number;
  height: number;
  sourceType: SourceType;
  /** Absolute path of the working master: `<dir>/<id>.master.jpg` (images) or `<dir>/<id>.master.pdf`. */
  masterPath: string;
  thumbnail: Buffer;
  thumbnailMime: 'image/jpeg';
}

export interface IngestOptions {
  /**
   * Called as soon as a true thumbnail exists — before the working master is written: from a JPEG/PNG/WebP/TIFF
   * by shrink-on-load decoding, from a HEIC by its own embedded thumbnail (transforms and colour applied).
   * Not called when there is no cheaper source than the full decode; the result's `thumbnail` always comes.
   */
  onThumbnail?: (thumbnail: Buffer, mime: 'image/jpeg') => void;
  /**
   * Asked once, before the full decode, when an early render could begin (README: Early render): `'if-room'` — it may, when
   * the render queue has a free place; `'beside'` — it begins at its pixels even beside other photos' ingests (the first
   * photo of a run of uploads: the one Send is likeliest to take while the rest still come); `false` — it must not (more
   * photos are coming in, and its render ahead waits for their pause). Unset: `'if-room'`.
   */
  renderEarly?: () => EarlyRenderClaim;
}

export type EarlyRenderClaim = 'if-room' | 'beside' | false;

export interface Point {
  x: number;
  y: number;
}

/** Annotations are drawn in master pixel coordinates (the upright master, before crop and rotate). */
export type Annotation =
  | { kind: 'arrow'; from: Point; to: Point; color?: string }
  | { kind: 'circle'; center: Point; radius: number; color?: string }
  | { kind: 'text'; at: Point; text: string; color?: string; size?: number };

export interface Edits {
  /** Clockwise, applied after crop. */
  rotate: 0 | 90 | 180 | 270;
  /** In master pixels (before rotate). */
  crop?: { x: number; y: number; width: number; height: number } | undefined;
  annotations: Annotation[];
  /** Plain-words clinical metadata shown under the image (burned in for JPEG/PNG/TIFF; real text in PDF). */
  captionStrip?: string | null | undefined;
}

export type OutputFormat = 'jpeg' | 'png' | 'tiff' | 'pdf';

export interface RenderOutput {
  format: OutputFormat;
  /** Hard upper bound on the output size. Default LIMITS.alexMaxAttachmentBytes. */
  maxBytes?: number;
  /**
   * Rendered ahead of Send: one at a time, and only while no new photo's first look is running or waiting — until
   * Send takes it (`taken` settles), when it goes at once.
   */
  ahead?: { taken: Promise<void> };
}

export interface RenderResult {
  data: Buffer;
  contentType: 'image/jpeg' | 'image/png' | 'image/tiff' | 'application/pdf';
  /** Pixel size of the encoded image (for PDF: of the embedded image; for a passed-through PDF: first page in points). */
  width: number;
  height: number;
  /** JPEG quality used (JPEG, TIFF, PDF); 100 for lossless PNG and for a passed-through PDF. */
  quality: number;
}

/** The pino-compatible subset we log through. Never given patient data. */
export interface ImagingLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

/** The limits the pipeline enforces (defaults from shared LIMITS; tests and practices may lower them). */
export type ImagingLimits = {
  [K in 'maxInputPixels' | 'maxUploadFileBytes' | 'thumbnailEdgePx' | 'alexMaxAttachmentBytes' | 'maxCaptionChars']: (typeof LIMITS)[K] extends number ? number : never;
};

/**
 * Where working masters live: written whole and atomically (nothing partial left, even after a crash),
 * read back into memory for every render. Default: plain files (`master-files.ts`); the companion passes
 * sealed ones (electron/sealed-files), so no image is in clear on its disk.
 */
export interface MasterFiles {
  write(path: string, bytes: Buffer): Promise<void>;
  /** The bytes; ERR_NOT_FOUND when the file is gone. */
  read(path: string): Promise<Buffer>;
}

export interface ImagingServiceOptions {
  masterFiles?: MasterFiles;
  /** Most first looks, and most masters and renders, running at once; the rest queue. Default 2. */
  concurrency?: number;
  limits?: Partial<ImagingLimits>;
  logger?: ImagingLogger;
  /** Longest a single HEIC decode may take before the worker is stopped (ms). Default 30 000. */
  heicTimeoutMs?: number;
  /** false: no render begins from an ingest's pixels, every render decodes its master (a benchmark's baseline). Default true. */
  earlyRenders?: boolean;
}

export interface ImagingService {
  ingest(input: IngestInput, dest: IngestDest, options?: IngestOptions): Promise<IngestResult>;
  render(masterPath: string, edits: Edits, output: RenderOutput): Promise<RenderResult>;
  /** Photos may come soon (a phone joined): loads the HEIC decoders now, off the main thread, so the first HEIC does not wait. */
  warmUp?(): void;
  /** Finishes queued and running jobs, refuses new ones, stops the HEIC worker. */
  close(): Promise<void>;
}
