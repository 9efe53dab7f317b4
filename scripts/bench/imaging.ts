/**
 * Imaging benchmark: the 12 MP reference photo → ≤ 1 MB JPEG and TIFF through the real pipeline,
 * against two baselines run in the same process: a naive full-resolution binary search over quality
 * (sharp, 1..100) and the same search with jimp (pure JavaScript). Also a 20-photo batch (ingest +
 * render through the service queue) for peak RSS, and the working-master decode cost.
 * Goals: JPEG median ≤ 350 ms and ≥ 1.8× faster than naive; TIFF ≤ 300 ms; batch peak RSS ≤ 600 MB.
 * Run alone: `npx tsx scripts/bench/imaging.ts` (or `npm run bench -- imaging`).
 */
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import sharp from 'sharp';
import { Jimp } from 'jimp';
import { createImagingService } from '../../electron/imaging';
import type { Edits } from '../../electron/imaging/types';
import { printTable, summarise, trackPeakRss } from './_stats';

const PHOTO = fileURLToPath(new URL('../../../shared/fixtures/photos/photo-12mp-orient6.jpg', import.meta.url));
const MAX_BYTES = 1_000_000;
const NO_EDITS: Edits = { rotate: 0, annotations: [] };
const mb = (bytes: number): number => bytes / (1024 * 1024);

async function timeIt<T>(runs: number, fn: () => Promise<T>): Promise<{ ms: number[]; last: T }> {
  const ms: number[] = [];
  let last!: T;
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    last = await fn();
    ms.push(performance.now() - t);
  }
  return { ms, last };
}

/** Highest quality 1..100 whose full-resolution encode fits, by plain binary search. */
async function binarySearch(encode: (q: number) => Promise<Buffer>): Promise<{ data: Buffer; quality: number; encodes: number }> {
  let lo = 1;
  let hi = 100;
  let best: { data: Buffer; quality: number } | null = null;
  let encodes = 0;
  while (lo <= hi) {
    const q = Math.floor((lo + hi) / 2);
    const data = await encode(q);
    encodes++;
    if (data.length <= MAX_BYTES) {
      best = { data, quality: q };
      lo = q + 1;
    } else hi = q - 1;
  }
  if (!best) throw new Error('naive search found nothing that fits');
  return { ...best, encodes };
}

export async function runImagingBench(): Promise<void> {
  const root = await fs.mkdtemp(path.join(os.tmpdir(), 'imaging-bench-'));
  const svc = createImagingService({ concurrency: 2 });
  const rows: Array<Record<string, string | number>> = [];
  const rssNow = (): number => Math.round(mb(process.memoryUsage.rss()));
  try {
    // 1. Batch first, so the process peak RSS belongs to it (later rows hold more in memory).
    const rssBefore = rssNow();
    const peak = trackPeakRss(5);
    const t0 = performance.now();
    const batch = await Promise.all(
      Array.from({ length: 20 }, async (_, i) => {
        const m = await svc.ingest({ path: PHOTO }, { dir: root, id: `batch-${i}` });
        return svc.render(m.masterPath, NO_EDITS, { format: 'jpeg' });
      }),
    );
    const batchMs = performance.now() - t0;
    const batchPeak = peak.stop();
    const maxRss = process.resourceUsage().maxRSS / 1024;
    rows.push({
      case: '20-photo batch: ingest + JPEG ≤1MB (queue of 2)',
      runs: 1,
      'median ms': Math.round(batchMs / 20),
      'p95 ms': '-',
      'peak RSS MB': Math.round(Math.max(batchPeak, maxRss)),
      note: `total ${Math.round(batchMs)} ms; RSS before ${rssBefore} MB; all ≤1MB: ${batch.every((r) => r.data.length <= MAX_BYTES)}`,
    });

    // 2. Ingest alone.
    let k = 0;
    const ingest = await timeIt(7, () => svc.ingest({ path: PHOTO }, { dir: root, id: `ingest-${k++}` }));
    const master = ingest.last.masterPath;
    const ingestStats = summarise(ingest.ms);
    rows.push({ case: 'ingest 12 MP JPEG → master + thumbnail', runs: 7, 'median ms': Math.round(ingestStats.median), 'p95 ms': Math.round(ingestStats.p95), 'peak RSS MB': rssNow(), note: `master ${(mb((await fs.stat(master)).size)).toFixed(1)} MB (JPEG q95 4:4:4)` });

    // 3. Master format: decode cost of the JPEG master vs an uncompressed libvips (.v) master.
    const vFile = path.join(root, 'master.v');
    await sharp(master).toFile(vFile);
    const decJ = summarise((await timeIt(7, () => sharp(master).raw().toBuffer())).ms);
    const decV = summarise((await timeIt(7, () => sharp(vFile).raw().toBuffer())).ms);
    rows.push({ case: 'master decode: JPEG q95 4:4:4', runs: 7, 'median ms': Math.round(decJ.median), 'p95 ms': Math.round(decJ.p95), 'peak RSS MB': rssNow(), note: `${mb((await fs.stat(master)).size).toFixed(1)} MB on disk` });
    rows.push({ case: 'master decode: uncompressed .v (not chosen)', runs: 7, 'median ms': Math.round(decV.median), 'p95 ms': Math.round(decV.p95), 'peak RSS MB': rssNow(), note: `${mb((await fs.stat(vFile)).size).toFixed(1)} MB on disk` });

    // 4. Smart fit vs naive binary search (sharp) vs jimp.
    const RUNS = 11;
    await svc.render(master, NO_EDITS, { format: 'jpeg' }); // warm-up
    const smart = await timeIt(RUNS, () => svc.render(master, NO_EDITS, { format: 'jpeg' }));
    const smartStats = summarise(smart.ms);
    const naive = await timeIt(RUNS, async () => {
      const { data, info } = await sharp(master).raw().toBuffer({ resolveWithObject: true });
      const raw = { raw: { width: info.width, height: info.height, channels: info.channels } };
      return binarySearch((q) => sharp(data, raw).jpeg({ quality: q }).toBuffer());
    });
    const naiveStats = summarise(naive.ms);
    const jimpRuns = 3;
    const jimp = await timeIt(jimpRuns, async () => {
      const img = await Jimp.read(master);
      return binarySearch((q) => img.getBuffer('image/jpeg', { quality: q }));
    });
    const jimpStats = summarise(jimp.ms);
    const tiff = await timeIt(RUNS, () => svc.render(master, NO_EDITS, { format: 'tiff' }));
    const tiffStats = summarise(tiff.ms);

    const s = smart.last;
    rows.push({ case: '12 MP → JPEG ≤1MB (smart fit)', runs: RUNS, 'median ms': Math.round(smartStats.median), 'p95 ms': Math.round(smartStats.p95), 'peak RSS MB': rssNow(), note: `${s.width}×${s.height} q${s.quality} ${(s.data.length / 1000).toFixed(0)} kB` });
    rows.push({ case: 'baseline: naive binary search (sharp)', runs: RUNS, 'median ms': Math.round(naiveStats.median), 'p95 ms': Math.round(naiveStats.p95), 'peak RSS MB': rssNow(), note: `q${naive.last.quality}, ${naive.last.encodes} full encodes; smart is ${(naiveStats.median / smartStats.median).toFixed(2)}× faster` });
    rows.push({ case: 'baseline: binary search (jimp)', runs: jimpRuns, 'median ms': Math.round(jimpStats.median), 'p95 ms': Math.round(jimpStats.p95), 'peak RSS MB': rssNow(), note: `q${jimp.last.quality}; smart is ${(jimpStats.median / smartStats.median).toFixed(1)}× faster` });
    const t = tiff.last;
    rows.push({ case: '12 MP → TIFF ≤1MB (JPEG-compressed, smart fit)', runs: RUNS, 'median ms': Math.round(tiffStats.median), 'p95 ms': Math.round(tiffStats.p95), 'peak RSS MB': rssNow(), note: `${t.width}×${t.height} q${t.quality} ${(t.data.length / 1000).toFixed(0)} kB` });

    printTable(`imaging (Node ${process.version}, ${os.cpus().length} cores, sharp ${sharp.versions.sharp}, libvips ${sharp.versions.vips})`, rows);
    console.log(`process peak RSS (maxRSS): ${Math.round(process.resourceUsage().maxRSS / 1024)} MB`);
  } finally {
    await svc.close();
    await fs.rm(root, { recursive: true, force: true });
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await runImagingBench();
}
