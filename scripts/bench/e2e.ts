/**
 * What a GP and a nurse wait for, end to end, against the limit we do not control (ALEX's latency and the
 * write slots a practice may hold). Each table prints median, p95, rounds, the host's load, and the ratio to
 * the limit measured in the same run. `npm run bench -- e2e`; one part alone: `E2E_PARTS=launch|shutter|footprint`.
 *
 *  1. GP click → patient shown: the launch URL delivered to the loopback listener → the banner rendered in the
 *     desktop UI (real Chromium, browser host), ALEX answering the decode and the patient read after L ms each.
 *     Limit: those two ALEX round trips, timed directly in the same round. Goal: our share ≤ 100 ms p95.
 *  2. Phone shutter → "in Medtech ✓": N photos uploaded as the phone page does, tagged, then Send (a commit ends
 *     the phone session, so the GP sends once the photos are on screen), to Media + Inbox Scan, ALEX at 1 s per
 *     write and the default write slots per practice. Limit: creates ÷ slots × 1 s + one upload. Goals: ≤ 1.15 ×
 *     the limit for 10 photos; the first photo confirmed within 1.15 × its two writes (counted from Send).
 *  3. The companion at rest and at work, in its own process (as on a practice PC): see _e2e-footprint.ts.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { chromium } from 'playwright-core';
import { printTable, summarise } from './_stats';
import { alexLatency, alexRoundTripMs, benchStack, hostLoad, joinPhone, sandboxToken, waitForState, watchImages } from './_e2e-kit';
import { runFootprintBench } from './_e2e-footprint';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const PHOTOS = join(ROOT, '..', 'shared', 'fixtures', 'photos');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'];
const PATIENTS = [
  { nhi: 'ZZZ0016', name: 'TESTPATIENT, Aroha' },
  { nhi: 'ZZZ0024', name: 'TESTPATIENT, Wiremu' },
];
/** Media + Inbox Scan: two creates per photo. */
const TARGETS = { media: true, inboxScan: true };
const CREATES_PER_PHOTO = 2;
/** Runs in the page: notes the wall-clock time at which the banner first holds NAME. */
const BANNER_WATCH = `(() => {
  delete window.__bannerAt;
  const seen = () => (document.querySelector('[data-testid="patient-banner"]')?.textContent ?? '').includes(NAME);
  const obs = new MutationObserver(() => { if (seen()) { window.__bannerAt = Date.now(); obs.disconnect(); } });
  obs.observe(document.body, { subtree: true, childList: true, characterData: true });
})()`;
const WRITE_SLOTS = 2;

// --- 1. GP click → patient shown ---------------------------------------------------------------------------

export async function benchLaunchToBanner(latencyMs = Number(process.env.E2E_ALEX_READ_MS ?? 300), rounds = Number(process.env.E2E_LAUNCH_ROUNDS ?? 15)): Promise<void> {
  const { stack, close } = await benchStack(join(ROOT, 'dist', 'renderer'));
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });
  const load = hostLoad();
  try {
    alexLatency(stack, latencyMs, { method: 'GET', pathPrefix: '/FHIR/vendorforms' });
    alexLatency(stack, latencyMs, { method: 'GET', pathPrefix: '/FHIR/Patient' });
    const token = await sandboxToken(stack);
    const page = await browser.newPage();
    await page.goto(stack.host.url);
    const totals: number[] = [];
    const limits: number[] = [];
    const ours: number[] = [];
    for (let i = 0; i < rounds + 1; i++) {
      const who = PATIENTS[i % PATIENTS.length] ?? PATIENTS[0]!;
      const custom = new URL(stack.launchUrlFor(who.nhi));
      const url = stack.loopback.launchTemplate
        .replace('{context}', encodeURIComponent(custom.searchParams.get('context') ?? ''))
        .replace('{signature}', encodeURIComponent(custom.searchParams.get('signature') ?? ''));
      // The page notes the wall-clock time at which the banner first holds this patient's name.
      await page.evaluate(BANNER_WATCH.replace('NAME', JSON.stringify(who.name)));
      const t0 = Date.now();
      const res = await fetch(url);
      if (res.status !== 200) throw new Error(`launch refused: HTTP ${res.status}`);
      await page.waitForFunction('window.__bannerAt !== undefined', undefined, { timeout: 30_000, polling: 50 });
      const shownAt = Number(await page.evaluate('window.__bannerAt'));
      // The limit, this round: two ALEX round trips at the same latency, timed directly.
      const patientId = stack.sandbox.patients.find((p) => p.nhi === who.nhi)?.id ?? '';
      const limit = (await alexRoundTripMs(stack, token, patientId)) + (await alexRoundTripMs(stack, token, patientId));
      if (i === 0) continue; // warm-up: first page render, first connections
      totals.push(shownAt - t0);
      limits.push(limit);
      ours.push(shownAt - t0 - limit);
    }
    const t = summarise(totals);
    const l = summarise(limits);
    const o = summarise(ours);
    printTable(`GP click → patient shown; ALEX decode and patient read ${latencyMs} ms each; ${rounds} rounds; ${load}`, [
      { measure: 'launch → banner', median_ms: t.median, p95_ms: t.p95, max_ms: t.max, ratio_to_limit: t.median / l.median },
      { measure: 'limit: 2 ALEX round trips', median_ms: l.median, p95_ms: l.p95, max_ms: l.max, ratio_to_limit: 1 },
      { measure: 'our share (total − limit)', median_ms: o.median, p95_ms: o.p95, max_ms: o.max, ratio_to_limit: o.median / l.median },
    ]);
    console.log(`goal: our share ≤ 100 ms p95 — ${o.p95 <= 100 ? 'met' : 'not met'} (${o.p95.toFixed(0)} ms)`);
  } finally {
    await browser.close();
    await close();
  }
}

// --- 2. Phone shutter → "in Medtech ✓" -----------------------------------------------------------------------

interface ShutterRun {
  /** First shutter (upload start) → every photo "in Medtech ✓". */
  allMs: number;
  /** Send pressed → every photo "in Medtech ✓". */
  fromSendMs: number;
  /** Send pressed → the first photo "in Medtech ✓". */
  firstMs: number;
  /** The limit: one upload + creates ÷ write slots × one write. */
  limitMs: number;
  /** Creates ÷ write slots × one write. */
  sendLimitMs: number;
}

/**
 * One batch as a nurse and a GP do it: N photos taken and uploaded one after another from the phone, then the GP
 * presses Send once they are all on screen (a commit ends the phone session, so Send comes after the last photo).
 */
async function shutterBatch(photo: Buffer, name: string, n: number, writeMs: number): Promise<ShutterRun> {
  const { stack, close } = await benchStack();
  try {
    alexLatency(stack, writeMs, { method: 'POST', pathPrefix: '/FHIR/Media' });
    alexLatency(stack, writeMs, { method: 'POST', pathPrefix: '/FHIR/DocumentReference' });
    const { core } = stack.companion;
    await core['launch.open']({ url: stack.launchUrlFor('ZZZ0016') });
    const phone = await joinPhone(stack);
    const inMedtech = new Map<string, number>();
    const stop = watchImages(stack, (img, at) => {
      if (img.committed?.verified === true && !inMedtech.has(img.id)) inMedtech.set(img.id, at);
    });
    const ids: string[] = [];
    const t0 = performance.now();
    let firstUploadMs = 0;
    for (let i = 0; i < n; i++) {
      const u0 = performance.now();
      ids.push(await phone.upload(photo, name, '14975008'));
      if (i === 0) firstUploadMs = performance.now() - u0;
    }
    await waitForState(stack, (s) => ids.every((id) => s.images.find((img) => img.id === id)?.status === 'ready'));
    const tSend = performance.now();
    await core['commit.start']({ ids, targets: TARGETS, captionStrip: false });
    await waitForState(stack, () => ids.every((id) => inMedtech.has(id)));
    stop();
    const first = Math.min(...ids.map((id) => inMedtech.get(id) ?? Number.NaN));
    const last = Math.max(...ids.map((id) => inMedtech.get(id) ?? Number.NaN));
    const sendLimitMs = ((n * CREATES_PER_PHOTO) / WRITE_SLOTS) * writeMs;
    return { allMs: last - t0, fromSendMs: last - tSend, firstMs: first - tSend, limitMs: firstUploadMs + sendLimitMs, sendLimitMs };
  } finally {
    await close();
  }
}

export async function benchShutterToMedtech(): Promise<void> {
  const writeMs = Number(process.env.E2E_ALEX_WRITE_MS ?? 1000);
  const sizes = (process.env.E2E_BATCHES ?? '1,10,32').split(',').map(Number);
  const rounds = Number(process.env.E2E_SHUTTER_ROUNDS ?? 3);
  const jpeg = await readFile(join(PHOTOS, 'photo-12mp-orient6.jpg'));
  const heic = await sharpToHeicOrNull();
  const inputs: { label: string; bytes: Buffer; name: string }[] = [{ label: '12 MP JPEG', bytes: jpeg, name: 'IMG_0001.JPG' }];
  if (heic) inputs.push({ label: '12 MP HEIC', bytes: heic, name: 'IMG_0001.HEIC' });
  const load = hostLoad();
  const rows: Record<string, string | number>[] = [];
  for (const input of inputs) {
    for (const n of sizes) {
      const runs: ShutterRun[] = [];
      for (let r = 0; r < rounds; r++) runs.push(await shutterBatch(input.bytes, input.name, n, writeMs));
      const med = (f: (x: ShutterRun) => number): number => summarise(runs.map(f)).median;
      rows.push({
        photos: `${n} × ${input.label}`,
        shutter_to_all_s: med((x) => x.allMs) / 1000,
        limit_s: med((x) => x.limitMs) / 1000,
        ratio: med((x) => x.allMs) / med((x) => x.limitMs),
        send_to_all_s: med((x) => x.fromSendMs) / 1000,
        send_limit_s: med((x) => x.sendLimitMs) / 1000,
        send_ratio: med((x) => x.fromSendMs) / med((x) => x.sendLimitMs),
        send_to_first_s: med((x) => x.firstMs) / 1000,
        first_ratio: med((x) => x.firstMs) / writeMs,
      });
    }
  }
  printTable(
    `Phone shutter → "in Medtech ✓" (Media + Inbox Scan, ALEX ${writeMs} ms per write, ${WRITE_SLOTS} write slots, ${rounds} rounds per row, medians; ${load})`,
    rows,
  );
  const ten = rows.find((r) => String(r.photos).startsWith('10 × 12 MP JPEG'));
  if (ten) {
    const verdict = (v: number): string => `${v <= 1.15 ? 'met' : 'not met'} (${v.toFixed(2)})`;
    console.log(`goal: 10 photos ≤ 1.15 × limit — ${verdict(Number(ten.ratio))}; first photo ≤ 1.15 × its two writes — ${verdict(Number(ten.first_ratio))}`);
  }
  console.log('limit = one upload + creates ÷ write slots × one write; send_limit = creates ÷ write slots × one write; first_ratio = Send → first photo in Medtech ÷ one write (its two writes go out together)');
}

/** The 12 MP reference as an iPhone-style HEIC, made with Debian's heif-enc when it is installed. */
async function sharpToHeicOrNull(): Promise<Buffer | null> {
  const { spawnSync } = await import('node:child_process');
  const { mkdtemp, rm, writeFile } = await import('node:fs/promises');
  const { tmpdir } = await import('node:os');
  if (spawnSync('heif-enc', ['--version']).error) return null;
  const dir = await mkdtemp(join(tmpdir(), 'cpi-bench-heic-'));
  try {
    const png = join(dir, 'in.png');
    await writeFile(png, await sharp(join(PHOTOS, 'photo-12mp-orient6.jpg')).rotate().png({ compressionLevel: 1 }).toBuffer());
    const out = join(dir, 'out.heic');
    const r = spawnSync('heif-enc', ['-q', '60', '-o', out, png]);
    return r.status === 0 ? await readFile(out) : null;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export async function runE2eBench(): Promise<void> {
  const parts = new Set((process.env.E2E_PARTS ?? 'launch,shutter,footprint').split(','));
  if (parts.has('launch')) await benchLaunchToBanner();
  if (parts.has('shutter')) await benchShutterToMedtech();
  if (parts.has('footprint')) await runFootprintBench();
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await runE2eBench();
}
