import { Worker } from 'node:worker_threads';
import { AppError } from '../../shared/errors';
import { PIXELS_AT, TAIL_ROOM } from './raw-tiff';

/** The colour information of a HEIF image item: an ICC profile (`colr` prof), else nclx code points (H.273). */
export type HeicColour = { icc: Buffer } | { nclx: { primaries: number; transfer: number; matrix: number } } | null;

export interface DecodedRgba {
  width: number;
  height: number;
  /**
   * RGBA, 8 bits per channel, already upright (libheif applied irot/imir), in the item's own colour space; a view with
   * room before and after it in its buffer for a TIFF around it (raw-tiff.ts).
   */
  data: Buffer;
  colour: HeicColour;
}

interface WorkerImage {
  width?: number;
  height?: number;
  data?: ArrayBuffer;
  /** Where the pixels start in `data`. */
  offset?: number;
  colour?: { icc?: ArrayBuffer; nclx?: { primaries: number; transfer: number; matrix: number } } | null;
}
interface WorkerReply extends WorkerImage {
  jobId: number;
  error?: 'corrupt' | 'too-many-pixels';
}

interface Pending {
  resolve: (value: DecodedRgba | null) => void;
  reject: (err: unknown) => void;
  timer: NodeJS.Timeout;
}

const isCount = (v: unknown, least: number): v is number => Number.isSafeInteger(v) && (v as number) >= least;

function toDecoded(reply: WorkerImage): DecodedRgba | null {
  const { data, width, height, offset = 0 } = reply;
  if (!data || !isCount(width, 1) || !isCount(height, 1) || !isCount(offset, 0)) return null;
  const length = width * height * 4;
  if (offset + length > data.byteLength) return null;
  const c = reply.colour;
  const colour: HeicColour = c?.icc ? { icc: Buffer.from(c.icc) } : c?.nclx ? { nclx: c.nclx } : null;
  return { width, height, data: Buffer.from(data, offset, length), colour };
}

const WORKER_URL = new URL('./heic-worker.mjs', import.meta.url);

/**
 * Decodes HEIC/HEIF in a worker thread (libheif wasm blocks whatever thread it runs on).
 * One worker, started on first use; a crashed or hung worker is replaced on the next decode.
 */
export class HeicDecoder {
  private worker: Worker | null = null;
  private loaded: Promise<void> = Promise.resolve();
  private nextJobId = 1;
  private readonly pending = new Map<number, Pending>();

  constructor(private readonly timeoutMs: number) {}

  /** The primary image, upright. */
  async decode(bytes: Uint8Array, maxPixels: number): Promise<DecodedRgba> {
    const image = await this.request(bytes, maxPixels, 'image');
    if (!image) throw new AppError('ERR_IMAGE_CORRUPT');
    return image;
  }

  /**
   * The file's own thumbnail (a `thmb` item of at most 4 MP), upright, when it shows the same picture the same way
   * up as the primary image; else null. The primary's header is checked as by `decode`: a bomb or a damaged file is refused.
   */
  thumbnail(bytes: Uint8Array, maxPixels: number): Promise<DecodedRgba | null> {
    return this.request(bytes, maxPixels, 'thumbnail');
  }

  private request(bytes: Uint8Array, maxPixels: number, part: 'image' | 'thumbnail'): Promise<DecodedRgba | null> {
    const worker = this.ensureWorker();
    worker.ref();
    const jobId = this.nextJobId++;
    const copy = new Uint8Array(bytes); // a copy in a transferable buffer of exactly the file's size (the caller keeps its bytes)
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        // A decode that never ends: stop the worker, fail this job and anything queued behind it.
        this.failAll(new AppError('ERR_IMAGE_CORRUPT', { detail: 'HEIC decode did not finish' }));
        void this.stopWorker();
      }, this.timeoutMs);
      timer.unref();
      this.pending.set(jobId, { resolve, reject, timer });
      worker.postMessage({ jobId, bytes: copy.buffer, maxPixels, part, room: { before: PIXELS_AT, after: TAIL_ROOM } }, [copy.buffer]);
    });
  }

  /**
   * Starts the worker now (libheif takes ~300 ms of CPU to load) so the next decode does not wait for it; resolves once
   * libheif is loaded (or the worker stopped).
   */
  warm(): Promise<void> {
    this.ensureWorker();
    return this.loaded;
  }

  async close(): Promise<void> {
    this.failAll(new AppError('ERR_INTERNAL', { detail: 'imaging service closed' }));
    await this.stopWorker();
  }

  private ensureWorker(): Worker {
    if (this.worker) return this.worker;
    // libheif prints parse errors for damaged files to the console; swallow them (pino is our only log).
    const worker = new Worker(WORKER_URL, { stdout: true, stderr: true });
    worker.stdout.resume();
    worker.stderr.resume();
    const stopped = (cause?: unknown): void => {
      if (this.worker === worker) this.worker = null;
      this.failAll(new AppError('ERR_IMAGE_CORRUPT', { detail: 'HEIC decoder stopped', cause }));
    };
    this.loaded = new Promise((resolve) => {
      worker.on('message', (reply: WorkerReply | { loaded: true }) => ('loaded' in reply ? resolve() : this.onReply(reply)));
      worker.once('exit', () => resolve());
    });
    worker.on('error', stopped);
    worker.on('exit', () => stopped());
    worker.unref();
    this.worker = worker;
    return worker;
  }

  private onReply(reply: WorkerReply): void {
    const job = this.pending.get(reply.jobId);
    if (!job) return;
    this.pending.delete(reply.jobId);
    if (this.pending.size === 0) this.worker?.unref();
    clearTimeout(job.timer);
    if (reply.error) job.reject(new AppError(reply.error === 'too-many-pixels' ? 'ERR_IMAGE_TOO_MANY_PIXELS' : 'ERR_IMAGE_CORRUPT'));
    else job.resolve(toDecoded(reply));
  }

  private failAll(err: AppError): void {
    for (const [id, job] of this.pending) {
      clearTimeout(job.timer);
      job.reject(err);
      this.pending.delete(id);
    }
    this.worker?.unref();
  }

  private async stopWorker(): Promise<void> {
    const worker = this.worker;
    this.worker = null;
    if (worker) await worker.terminate();
  }
}
