/**
 * Imaging benchmark: the 12 MP reference photo → ≤ 1 MB JPEG and TIFF through the real pipeline,
 * against two baselines run in the same process: a naive full-resolution binary search over quality
 * (sharp, 1..100) and the same search with jimp (pure JavaScript). Also a 20-photo batch (ingest +
 * render through the service queue) for peak RSS, and the working-master decode cost. Then the render's steps (CPU
 * and wall, medians) and the instant Send: an ingest followed at once by its render (as a Send the moment a photo
 * is ready), with the render begun from the ingest's own pixels (early render) and, alternating in the same run,
 * from the master (`earlyRenders: false`), for the 12 MP JPEG and (with heif-enc) an iPhone-like 12 MP HEIC.
 * Goals: JPEG median ≤ 350 ms and ≥ 1.8× faster than naive; TIFF ≤ 300 ms; batch peak RSS ≤ 600 MB.
 * IMAGING_STEP_ROUNDS (default 11) rounds for the last two tables; IMAGING_PARTS=steps runs only those two.
 * Run alone: `npx tsx scripts/bench/imaging.ts` (or `npm run bench -- imaging`).
 */
import { execFileSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import sharp from 'sharp';
import { Jimp } from 'jimp';
import { createImagingService } from '../../electron/imaging';
import { SizeModel, fitLossy, type LossyEncoder, type RawImage } from '../../electron/imaging/fit';
import { MASTER_JPEG } from '../../electron/imaging/ingest';
import { plainMasterFiles } from '../../electron/imaging/master-files';
import { jpegToPdf } from '../../electron/imaging/pdf';
import { encodeJpeg } from '../../electron/imaging/render';
import type { Edits } from '../../electron/imaging/types';
import { printTable, summarise, trackPeakRss } from './_stats';

const PHOTO = fileURLToPath(new URL('../../../shared/fixtures/photos/photo-12mp-orient6.jpg', import.meta.url));
const MAX_BYTES = 1_000_000;
const NO_EDITS: Edits = { rotate: 0, annotations: [] };
const mb = (bytes: number): number => bytes / (1024 * 1024);
const STEP_ROUNDS = Number(process.env.IMAGING_STEP_ROUNDS ?? 11);
const load = (): string => os.loadavg()[0]?.toFixed(1) ?? '?';

/** CPU (all threads of this process) and wall ms of each named step, over rounds; medians printed. */
class Steps {
  private readonly seen = new Map<string, { cpu: number[]; wall: number[] }>();
  async time<T>(name: string, fn: () => Promise<T>): Promise<T> {
    const c = process.cpuUsage();
    const t = performance.now();
    const out = await fn();
    const u = process.cpuUsage(c);
    const s = this.seen.get(name) ?? { cpu: [], wall: [] };
    this.seen.set(name, s);
    s.cpu.push((u.user + u.system) / 1000);
    s.wall.push(performance.now() - t);
    return out;
  }
  rows(): Array<Record<string, string | number>> {
    return [...this.seen].map(([step, { cpu, wall }]) => ({ step, rounds: cpu.length, 'CPU ms': Math.round(summarise(cpu).median), 'wall ms': Math.round(summarise(wall).median) }));
  }
}

/** One render of a master, step by step, as renderImage and fitLossy do it (fit: 1/12 band sample at 5 qualities, then full encodes). */
async function renderSteps(master: string, steps: Steps): Promise<void> {
  const bytes = await steps.time('read master (plain file)', () => plainMasterFiles.read(master));
  const { data, info } = await steps.time('decode master → raw', () => sharp(bytes, { failOn: 'warning' }).removeAlpha().raw().toBuffer({ resolveWithObject: true }));
  const img: RawImage = { data, width: info.width, height: info.height, channels: 3 };
  await steps.time('band sample: 5 encodes + overhead (parallel, as the fit)', () => SizeModel.build(img, encodeJpeg, [92, 81, 70, 59, 50]));
  let full = 0;
  const counting: LossyEncoder = (im, q) => (im.height === img.height && full++, encodeJpeg(im, q));
  const fit = await steps.time('fit (sample + full encodes)', () => fitLossy(img, counting, { maxBytes: MAX_BYTES }));
  await steps.time(`one full encode (q${fit.quality}, ${full} in the fit)`, () => encodeJpeg(img, fit.quality));
  await steps.time('PDF wrap of the Media JPEG', () => jpegToPdf(fit.data, fit.width, fit.height, null));
}

/** An ingest's master after its first look, step by step (the early render's hand-over point is after the decode). */
async function ingestSteps(root: string, steps: Steps, round: number): Promise<void> {
  const src = await steps.time('ingest: read the 12 MP JPEG', () => fs.readFile(PHOTO));
  const px = await steps.time('ingest: decode + EXIF turn + sRGB → raw', () => sharp(src, { failOn: 'warning', sequentialRead: true }).autoOrient().flatten({ background: '#ffffff' }).toColourspace('srgb').raw().toBuffer({ resolveWithObject: true }));
  const master = await steps.time('ingest: master encode q95 4:4:4 from raw', () => sharp(px.data, { raw: { width: px.info.width, height: px.info.height, channels: 3 } }).jpeg(MASTER_JPEG).toBuffer());
  await steps.time('ingest: master write (plain file, fsync)', () => plainMasterFiles.write(path.join(root, `steps-${round}.master.jpg`), master));
}

/** An iPhone-like 12 MP HEIC of the reference photo (heif-enc -q 60 from a P3 JPEG), or null without heif-enc. */
async function iphoneLikeHeic(dir: string): Promise<Buffer | null> {
  const src = path.join(dir, 'heic-src.jpg');
  const out = path.join(dir, 'heic-out.heic');
  await fs.writeFile(src, await sharp(PHOTO).autoOrient().withIccProfile('p3').jpeg({ quality: 95 }).toBuffer());
  try {
    execFileSync('heif-enc', ['-q', '60', src, '-o', out], { stdio: 'ignore' });
  } catch {
    return null;
  }
  return fs.readFile(out);
}

/** Ingest, then at once its render for Send (JPEG ≤ 1 MB, as a render ahead taken at once): early render vs from the master, alternating. */
async function instantSend(root: string, label: string, input: Buffer, rows: Array<Record<string, string | number>>): Promise<void> {
  const modes = [
    { name: 'early render (from the ingest\'s pixels)', svc: createImagingService({ concurrency: 2 }) },
    { name: 'from the master (earlyRenders: false)', svc: createImagingService({ concurrency: 2, earlyRenders: false }) },
  ];
  const seen = modes.map(() => ({ ingest: [] as number[], after: [] as number[], cpu: [] as number[], quality: 0 }));
  const loadBefore = load();
  let n = 0;
  try {
    for (let r = -1; r < STEP_ROUNDS; r++) {
      for (const [i, { svc }] of modes.entries()) {
        const c = process.cpuUsage();
        const t0 = performance.now();
        const m = await svc.ingest({ buffer: input }, { dir: root, id: `instant-${label.replace(/\W+/g, '-')}-${n++}` });
        const t1 = performance.now();
        const out = await svc.render(m.masterPath, NO_EDITS, { format: 'jpeg', maxBytes: MAX_BYTES, ahead: { taken: Promise.resolve() } });
        const u = process.cpuUsage(c);
        const s = seen[i]!;
        if (r < 0) continue; // warm-up
        s.ingest.push(t1 - t0);
        s.after.push(performance.now() - t1);
        s.cpu.push((u.user + u.system) / 1000);
        s.quality = out.quality;
      }
    }
  } finally {
    await Promise.all(modes.map((m) => m.svc.close()));
  }
  modes.forEach(({ name }, i) => {
    const s = seen[i]!;
    const med = (a: number[]): number => Math.round(summarise(a).median);
    rows.push({ photo: label, render: name, rounds: s.cpu.length, 'ingest wall ms': med(s.ingest), 'render after the ingest, wall ms': med(s.after), 'p95': Math.round(summarise(s.after).p95), 'ingest + render CPU ms': med(s.cpu), quality: s.quality, load: `${loadBefore} → ${load()}` });
  });
}

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

/** The render's steps (of the master), then the instant Send (tables 2 and 3). */
async function stepsAndInstantSend(root: string, master: string): Promise<void> {
  // 5. The render's steps, then the instant Send.
  const steps = new Steps();
  const stepsLoad = load();
  for (let r = 0; r < STEP_ROUNDS; r++) {
    await ingestSteps(root, steps, r);
    await renderSteps(master, steps);
  }
  printTable(`an ingest's master after its first look, and a render of the 12 MP master → JPEG ≤ 1 MB, step by step, one at a time (medians; load ${stepsLoad} → ${load()})`, steps.rows());
  const instant: Array<Record<string, string | number>> = [];
  await instantSend(root, '12 MP JPEG (EXIF 6)', await fs.readFile(PHOTO), instant);
  const heic = await iphoneLikeHeic(root);
  if (heic) await instantSend(root, '12 MP HEIC (heif-enc -q 60, P3)', heic, instant);
  printTable('instant Send: ingest, then at once its render (JPEG ≤ 1 MB; plain master files; medians)', instant);
}

export async function runImagingBench(): Promise<void> {
  const root = await fs.mkdtemp(path.join(os.tmpdir(), 'imaging-bench-'));
  const svc = createImagingService({ concurrency: 2 });
  if (process.env.IMAGING_PARTS === 'steps') {
    try {
      return await stepsAndInstantSend(root, (await svc.ingest({ path: PHOTO }, { dir: root, id: 'steps' })).masterPath);
    } finally {
      await svc.close();
      await fs.rm(root, { recursive: true, force: true });
    }
  }
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

    await stepsAndInstantSend(root, master);
    console.log(`process peak RSS (maxRSS): ${Math.round(process.resourceUsage().maxRSS / 1024)} MB`);
  } finally {
    await svc.close();
    await fs.rm(root, { recursive: true, force: true });
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await runImagingBench();
}
