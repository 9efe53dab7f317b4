import sharp from 'sharp';
import { AppError } from '../../shared/errors';
import { LIMITS } from '../../shared/limits';
import { HeicDecoder } from './heic';
import { firstLook, writeMaster } from './ingest';
import { JobLimiter } from './limiter';
import { plainMasterFiles } from './master-files';
import { EarlyRenders } from './early-render';
import { renderImage, renderPixels } from './render';
import type { ImagingLimits, ImagingLogger, ImagingService, ImagingServiceOptions } from './types';

const silentLogger: ImagingLogger = { info() {}, warn() {} };

/** The shared LIMITS, with the caller's own where given. */
function imagingLimits(own: Partial<ImagingLimits> | undefined): ImagingLimits {
  const { maxInputPixels, maxUploadFileBytes, thumbnailEdgePx, alexMaxAttachmentBytes, maxCaptionChars } = LIMITS;
  return { maxInputPixels, maxUploadFileBytes, thumbnailEdgePx, alexMaxAttachmentBytes, maxCaptionChars, ...own };
}

/**
 * The companion's imaging pipeline. An ingest's first look (type, header, thumbnail) has a lane of its own, so a
 * new photo's thumbnail never waits behind masters and renders; masters and renders share one queue (default 2
 * at once). Renders ahead of Send go one at a time and step aside (between their encodes) for every first look; a
 * photo's render may begin from its ingest's own pixels (early-render.ts), the first photo of a run of uploads even
 * beside the queue's jobs.
 * Logs carry sizes and timings, never paths, identifiers or pixels.
 */
export function createImagingService(options: ImagingServiceOptions = {}): ImagingService {
  sharp.cache({ files: 0 }); // libvips's cache keeps files open; on Windows an open master or upload could not be wiped
  const limits = imagingLimits(options.limits);
  const logger = options.logger ?? silentLogger;
  const concurrency = options.concurrency ?? 2;
  const firstSight = new JobLimiter(concurrency);
  const queue = new JobLimiter(concurrency);
  const aheadLane = new JobLimiter(1);
  // Two HEIC workers: a new photo's thumbnail never waits behind another photo's primary decode (~1 s of libheif).
  const [heicImages, heicThumbnails] = [new HeicDecoder(options.heicTimeoutMs ?? 30_000), new HeicDecoder(options.heicTimeoutMs ?? 30_000)];
  const heic = { decode: heicImages.decode.bind(heicImages), thumbnail: heicThumbnails.thumbnail.bind(heicThumbnails) };
  const deps = { limits, heic, files: options.masterFiles ?? plainMasterFiles };
  const inFlight = new Set<Promise<unknown>>();
  let closed = false;
  const hold = <T>(promise: Promise<T>): Promise<T> => {
    inFlight.add(promise);
    const settle = (): boolean => inFlight.delete(promise);
    promise.then(settle, settle);
    return promise;
  };
  const early = new EarlyRenders({
    render: (img, wanted, step) => renderPixels(img, { ...wanted, caption: null }, step),
    // Beside: the first photo of a run of uploads, while the queue holds the next photos' ingests (one such render at a time).
    run: (job, beside) => hold(aheadLane.run(beside ? job : () => queue.run(job))),
    // Only when it starts at once: no render ahead running or waiting and, unless beside, a free place in the queue (pixels never wait there).
    room: (beside) => options.earlyRenders !== false && aheadLane.pending === 0 && (beside || queue.pending < concurrency),
    yieldTo: () => firstSight.whenIdle(),
    limits,
  });

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
    return hold(promise);
  }

  return {
    ingest(input, dest, ingestOptions) {
      return track(
        'ingest',
        async () => {
          const look = await firstSight.run(() => firstLook(input, deps, ingestOptions));
          await firstSight.whenIdle(); // another photo's first look (running or waiting) goes before this full decode
          return queue.run(() => early.ingest((onPixels) => writeMaster(look, dest, deps, onPixels), ingestOptions?.renderEarly));
        },
        (r) => ({ sourceType: r.sourceType, width: r.width, height: r.height }),
      );
    },
    render(masterPath, edits, output) {
      return track(
        'render',
        () => {
          const started = early.take(masterPath, edits, output); // begun from the ingest's pixels
          if (started !== undefined) return started;
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
