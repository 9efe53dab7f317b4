import sharp from 'sharp';
import { AppError } from '../../shared/errors';
import { LIMITS } from '../../shared/limits';
import { HeicDecoder } from './heic';
import { firstLook, writeMaster } from './ingest';
import { JobLimiter } from './limiter';
import { plainMasterFiles } from './master-files';
import { renderImage } from './render';
import type { ImagingLimits, ImagingLogger, ImagingService, ImagingServiceOptions } from './types';

const silentLogger: ImagingLogger = { info() {}, warn() {} };

/**
 * The companion's imaging pipeline. An ingest's first look (type, header, thumbnail) has a lane of its own, so a
 * new photo's thumbnail never waits behind masters and renders; masters and renders share one queue (default 2
 * at once). Renders ahead of Send go one at a time and step aside (between their encodes) for every first look.
 * Logs carry sizes and timings, never paths, identifiers or pixels.
 */
export function createImagingService(options: ImagingServiceOptions = {}): ImagingService {
  // libvips keeps recently opened files open in its cache. On Windows an open file cannot be deleted,
  // which would block wiping masters and upload temp files after commit: cache no file handles.
  sharp.cache({ files: 0 });
  const limits: ImagingLimits = {
    maxInputPixels: LIMITS.maxInputPixels,
    maxUploadFileBytes: LIMITS.maxUploadFileBytes,
    thumbnailEdgePx: LIMITS.thumbnailEdgePx,
    alexMaxAttachmentBytes: LIMITS.alexMaxAttachmentBytes,
    maxCaptionChars: LIMITS.maxCaptionChars,
    ...options.limits,
  };
  const logger = options.logger ?? silentLogger;
  const firstSight = new JobLimiter(options.concurrency ?? 2);
  const queue = new JobLimiter(options.concurrency ?? 2);
  const aheadLane = new JobLimiter(1);
  // Two HEIC workers: a new photo's thumbnail never waits behind another photo's primary decode (~1 s of libheif).
  const heicImages = new HeicDecoder(options.heicTimeoutMs ?? 30_000);
  const heicThumbnails = new HeicDecoder(options.heicTimeoutMs ?? 30_000);
  const heic = { decode: heicImages.decode.bind(heicImages), thumbnail: heicThumbnails.thumbnail.bind(heicThumbnails) };
  const deps = { limits, heic, files: options.masterFiles ?? plainMasterFiles };
  const inFlight = new Set<Promise<unknown>>();
  let closed = false;

  function track<T>(kind: 'ingest' | 'render', job: () => Promise<T>, describe: (result: T) => object): Promise<T> {
    if (closed) return Promise.reject(new AppError('ERR_INTERNAL', { detail: 'imaging service is closed' }));
    const promise = (async () => {
      const started = performance.now();
      try {
        const result = await job();
        logger.info({ job: kind, ms: Math.round(performance.now() - started), ...describe(result) }, `imaging ${kind} done`);
        return result;
      } catch (err) {
        const code = err instanceof AppError ? err.code : 'ERR_INTERNAL';
        logger.warn({ job: kind, ms: Math.round(performance.now() - started), code }, `imaging ${kind} failed`);
        if (err instanceof AppError) throw err;
        throw new AppError('ERR_INTERNAL', { cause: err });
      }
    })();
    inFlight.add(promise);
    const settle = (): boolean => inFlight.delete(promise);
    promise.then(settle, settle);
    return promise;
  }

  return {
    ingest(input, dest, ingestOptions) {
      return track(
        'ingest',
        async () => {
          const look = await firstSight.run(() => firstLook(input, deps, ingestOptions));
          await firstSight.whenIdle(); // another photo's first look (running or waiting) goes before this full decode
          return queue.run(() => writeMaster(look, dest, deps));
        },
        (r) => ({ sourceType: r.sourceType, width: r.width, height: r.height }),
      );
    },
    render(masterPath, edits, output) {
      return track(
        'render',
        () => {
          if (output?.ahead === undefined) return queue.run(() => renderImage(masterPath, edits, output, deps));
          const { taken } = output.ahead;
          const pause = (): Promise<void> => Promise.race([firstSight.whenIdle(), taken]);
          return aheadLane.run(() => pause().then(() => queue.run(() => renderImage(masterPath, edits, output, { ...deps, pause }))));
        },
        (r) => ({ contentType: r.contentType, width: r.width, height: r.height, quality: r.quality, bytes: r.data.length }),
      );
    },
    warmUp() {
      if (closed) return;
      void heicThumbnails.warm();
      void heicImages.warm();
    },
    async close() {
      closed = true;
      await Promise.allSettled([...inFlight]);
      await Promise.all([heicImages.close(), heicThumbnails.close()]);
    },
  };
}
