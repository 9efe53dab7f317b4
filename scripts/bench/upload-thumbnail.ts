/**
 * Phone upload → thumbnail on the GP's screen: a 12 MP JPEG (4 MB) and a 12 MP HEIC (iPhone-like: its own
 * 320 px thumbnail item, both items turned by `irot`, Display P3 ICC) posted to the real LAN server on
 * loopback from a thread of their own (the phone), through the real companion core, until the core's `state`
 * event carries the image's thumbnail — what the desktop window shows. Goals: p95 ≤ 120 ms (JPEG) and ≤ 300 ms (HEIC).
 *
 * Same run, same uploads, the path before this change: the core showed the thumbnail only when ingest had
 * finished (decode, master written, thumbnail made from it). Its time here is "ingest complete" — a lower
 * bound of the old path, which also decoded the master again for the thumbnail after that.
 * `BENCH_ROUNDS` uploads per type (default 15), each sent as soon as the one before is answered. Each photo is ready on
 * arrival (body site sent), so the core renders it ahead, as in a batch: once the phone pauses (200 ms with no upload),
 * or at once if Send takes it; before, it started as its ingest ended, beside the next upload. `BENCH_RENDER_AHEAD=off`
 * sends no body site (nothing renders ahead); `BENCH_PAUSE_MS=300` makes the phone pause that long before each upload, so a
 * render ahead starts in the pause and overlaps the next upload (the worst pause for this rule); `BENCH_AT_ONCE=2` sends
 * two at once as the phone page does in a batch (one photo's master then overlaps the next one's first look).
 * Each phone thread first asks for the session status, as the phone page does once it has its credential, so its first
 * upload goes over an open connection from a loaded HTTP client, as a phone's does.
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import sharp from 'sharp';
import type { AppState } from '../../shared/contracts/bridge';
import { LAN_ROUTES, type ExchangeResponse, type UploadResponse } from '../../shared/contracts/lan';
import { addItemProperties, heifItems, irotBox } from '../../electron/imaging/testkit/heif-boxes';
import { startDevStack } from '../browser-host/stack';
import { printTable, summarise, trackPeakRss } from './_stats';

const FIXTURE = fileURLToPath(new URL('../../../shared/fixtures/photos/photo-12mp-orient6.jpg', import.meta.url));
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 15);
const RENDER_AHEAD = process.env.BENCH_RENDER_AHEAD !== 'off';
/** The phone's pause between an answer and its next upload (default none: a batch sent as fast as it goes). */
const PAUSE_MS = Number(process.env.BENCH_PAUSE_MS ?? 0);
/** Uploads in flight at once, each from a phone thread of its own (the phone page sends 2 at once in a batch). */
const AT_ONCE = Number(process.env.BENCH_AT_ONCE ?? 1);

/** A 12 MP iPhone-like HEIC: stored landscape with irot 3 on the primary and its thumbnail, P3 ICC (heif-enc + box edit). */
async function iphoneLikeHeic(dir: string): Promise<Buffer> {
  const src = join(dir, 'src.jpg');
  const out = join(dir, 'iphone.heic');
  // The fixture is stored landscape with EXIF 6; the HEIC stores the same pixels and says "turn 270° anticlockwise" instead.
  await writeFile(src, await sharp(FIXTURE).withIccProfile('p3').jpeg({ quality: 95 }).toBuffer());
  execFileSync('heif-enc', ['-q', '60', '-t', '320', src, '-o', out], { stdio: 'ignore' });
  const heic = await readFile(out);
  const items = heifItems(heic);
  let file = addItemProperties(heic, items.primary, [irotBox(3)]);
  for (const t of items.thumbnails) file = addItemProperties(file, t, [irotBox(3)]);
  return file;
}

/** The phone's side of each upload in a thread of its own (a phone is its own device): its event loop is not the core's. */
function phoneThread() {
  const worker = new Worker(
    `const { parentPort } = require('node:worker_threads');
     const at = () => performance.timeOrigin + performance.now();
     parentPort.on('message', async (m) => {
       if (m.status) {
         const res = await fetch(m.url, { headers: { authorization: 'Bearer ' + m.credential } });
         await res.arrayBuffer();
         parentPort.postMessage({ status: res.status });
         return;
       }
       const form = new FormData();
       for (const [k, v] of Object.entries(m.fields)) form.set(k, v);
       form.set('file', new Blob([m.bytes], { type: m.mime }), m.name);
       const t0 = at();
       const res = await fetch(m.url, { method: 'POST', headers: { authorization: 'Bearer ' + m.credential }, body: form });
       const body = await res.json();
       parentPort.postMessage({ t0, t1: at(), status: res.status, body });
     });`,
    { eval: true },
  );
  // Times come back on the epoch clock and are turned into this thread's performance.now().
  const local = (epochMs: number): number => epochMs - performance.timeOrigin;
  return {
    upload(m: { url: string; credential: string; fields: Record<string, string>; bytes: Buffer; mime: string; name: string }): Promise<{ t0: number; t1: number; status: number; body: UploadResponse }> {
      return new Promise((resolve, reject) => {
        worker.once('error', reject);
        worker.once('message', (r: { t0: number; t1: number; status: number; body: UploadResponse }) => {
          worker.off('error', reject);
          resolve({ ...r, t0: local(r.t0), t1: local(r.t1) });
        });
        worker.postMessage(m);
      });
    },
    /** The session status, as the phone page asks for it once it has the credential (its connection is open then). */
    status(url: string, credential: string): Promise<void> {
      return new Promise((resolve, reject) => {
        worker.once('message', (r: { status: number }) => (r.status === 200 ? resolve() : reject(new Error(`status refused: HTTP ${r.status}`))));
        worker.postMessage({ status: true, url, credential });
      });
    },
    close: () => worker.terminate(),
  };
}

export async function runUploadThumbnailBench(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'cpi-bench-upload-'));
  const stack = await startDevStack({
    dataDir: join(dir, 'data'),
    staticDir: dir,
    autoEnrol: true,
    memorySecrets: true,
    lan: { host: '127.0.0.1', port: 0 },
    logger: pino({ level: 'silent' }),
  });
  try {
    const { core } = stack.companion;
    await core['launch.open']({ url: stack.launchUrlFor('ZZZ0016') });
    const qr = new URL((await core['phone.start']({})).qrUrl);
    const token = new URLSearchParams(qr.hash.slice(1)).get('t') ?? '';
    const origin = `${qr.protocol}//${qr.host}`;
    const exchange = (await (
      await fetch(`${origin}${LAN_ROUTES.exchange}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token }) })
    ).json()) as ExchangeResponse;

    const inputs = [
      // A 4 MB phone photo: the 12 MP reference re-encoded at high quality (made here; the fixture is 3.2 MB).
      { kind: 'JPEG', mime: 'image/jpeg', name: 'IMG_0001.JPG', bytes: await sharp(FIXTURE).jpeg({ quality: 93, chromaSubsampling: '4:4:4' }).withMetadata({ orientation: 6 }).toBuffer(), goal: 120 },
      { kind: 'HEIC', mime: 'image/heic', name: 'IMG_0002.HEIC', bytes: await iphoneLikeHeic(dir), goal: 300 },
    ];

    const received = new Map<string, number>();
    const firstSight = new Map<string, number>();
    const ingested = new Map<string, number>();
    // The process's CPU time (all its threads; the phone's is idle then, awaiting its answer) from the core to the thumbnail.
    const cpuAtCore = new Map<string, number>();
    const cpuToThumbnail = new Map<string, number>();
    const cpuMs = (): number => {
      const u = process.cpuUsage();
      return (u.user + u.system) / 1000;
    };
    const off = core.on('state', (s: AppState) => {
      const now = performance.now();
      for (const img of s.images) {
        if (!received.has(img.id)) {
          received.set(img.id, now);
          cpuAtCore.set(img.id, cpuMs());
        }
        if (img.thumbnailUrl && !firstSight.has(img.id)) {
          firstSight.set(img.id, now);
          cpuToThumbnail.set(img.id, cpuMs() - (cpuAtCore.get(img.id) ?? 0));
        }
        if (img.status !== 'processing' && !ingested.has(img.id)) ingested.set(img.id, now);
      }
    });
    const rows: Array<Record<string, string | number>> = [];
    const verdicts: string[] = [];
    const phones = Array.from({ length: AT_ONCE }, phoneThread);
    for (const phone of phones) await phone.status(`${origin}${LAN_ROUTES.session}`, exchange.credential);
    for (const input of inputs) {
      const answered: number[] = [];
      const onScreen: number[] = [];
      const oldPath: number[] = [];
      const atCore: number[] = [];
      const cpu: number[] = [];
      const rss = trackPeakRss();
      let next = 0;
      const uploader = async (phone: ReturnType<typeof phoneThread>): Promise<void> => {
        let previous: string | undefined;
        for (let i = next++; i < ROUNDS; i = next++) {
          if (PAUSE_MS > 0) await new Promise((r) => setTimeout(r, PAUSE_MS));
          const fields: Record<string, string> = { clientUploadId: crypto.randomUUID(), ...(RENDER_AHEAD ? { bodySiteCode: '14975008' } : {}) };
          const { t0, t1, status, body } = await phone.upload({ url: `${origin}${LAN_ROUTES.upload}`, credential: exchange.credential, fields, bytes: input.bytes, mime: input.mime, name: input.name });
          if (status !== 200) throw new Error(`upload refused: HTTP ${status}`);
          answered.push(t1 - t0);
          while (!firstSight.has(body.imageId) || !ingested.has(body.imageId)) await new Promise((r) => setTimeout(r, 1));
          onScreen.push((firstSight.get(body.imageId) ?? 0) - t0);
          oldPath.push((ingested.get(body.imageId) ?? 0) - t0);
          atCore.push((received.get(body.imageId) ?? 0) - t0);
        cpu.push(cpuToThumbnail.get(body.imageId) ?? Number.NaN);
          // The photo before this one goes now (a batch keeps it at least until this one is on screen): at most two held,
          // so every photo is rendered ahead, and none is skipped only because it was removed.
          if (previous !== undefined) await core['images.remove']({ ids: [previous] });
          previous = body.imageId;
        }
        if (previous !== undefined) await core['images.remove']({ ids: [previous] });
      };
      await Promise.all(phones.map(uploader));
      const peak = rss.stop();
      const a = summarise(answered);
      const t = summarise(onScreen);
      const o = summarise(oldPath);
      const c = summarise(atCore);
      const gap = summarise(onScreen.map((ms, k) => ms - (atCore[k] ?? 0)));
      const size = `${(input.bytes.length / 1e6).toFixed(1)} MB ${input.kind}`;
      rows.push({ measure: `${size}: thumbnail on screen (now)`, median_ms: t.median, p95_ms: t.p95, max_ms: t.max, peak_rss_mb: peak });
      rows.push({ measure: `${size}: thumbnail on screen (before: at ingest end)`, median_ms: o.median, p95_ms: o.p95, max_ms: o.max, peak_rss_mb: peak });
      rows.push({ measure: `${size}: file handed to the core (upload received)`, median_ms: c.median, p95_ms: c.p95, max_ms: c.max, peak_rss_mb: peak });
      rows.push({ measure: `${size}: from the core to the thumbnail (now)`, median_ms: gap.median, p95_ms: gap.p95, max_ms: gap.max, peak_rss_mb: peak });
      const u = summarise(cpu);
      rows.push({ measure: `${size}: from the core to the thumbnail, CPU time`, median_ms: u.median, p95_ms: u.p95, max_ms: u.max, peak_rss_mb: peak });
      rows.push({ measure: `${size}: upload answered`, median_ms: a.median, p95_ms: a.p95, max_ms: a.max, peak_rss_mb: peak });
      verdicts.push(
        `${input.kind}: thumbnail p95 ${t.p95.toFixed(0)} ms (goal ≤ ${input.goal}: ${t.p95 <= input.goal ? 'met' : 'not met'}); before ${o.p95.toFixed(0)} ms; p95 ratio ${(o.p95 / t.p95).toFixed(1)}×, median ratio ${(o.median / t.median).toFixed(1)}×`,
      );
    }
    off();
    await Promise.all(phones.map((p) => p.close()));
    const load = loadavg().map((l) => l.toFixed(1)).join(' ');
    const ahead = `${RENDER_AHEAD ? 'each photo rendered ahead' : 'no render ahead'}${PAUSE_MS > 0 ? `, phone pauses ${PAUSE_MS} ms` : ''}${AT_ONCE > 1 ? `, ${AT_ONCE} uploads at once` : ''}`;
    printTable(`Phone upload → thumbnail event, ${ROUNDS} uploads per type (loopback, real LAN server + core, ${ahead}), load average ${load}`, rows);
    for (const v of verdicts) console.log(v);
  } finally {
    await stack.close();
    await rm(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await runUploadThumbnailBench();
}
