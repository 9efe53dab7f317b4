/**
 * What a GP and a nurse wait for, end to end, against the limit we do not control (ALEX's latency and the
 * write slots a practice may hold). Each table prints median, p95, rounds, the host's load, and the ratio to
 * the limit measured in the same run. `npm run bench -- e2e`; one part alone: `E2E_PARTS=launch|shutter|footprint`.
 *
 *  1. GP click → patient shown: the launch URL delivered to the loopback listener → the banner rendered in the
 *     desktop UI (real Chromium, browser host), ALEX answering the decode and the patient read after L ms each.
 *     Limit: those two ALEX round trips, timed directly in the same round. Goal: our share ≤ 100 ms p95.
 *  2. Phone shutter → "in Medtech ✓": N photos (E2E_BATCHES, default 1,10; E2E_HEIC_BATCHES, default 1) uploaded as the
 *     phone page does (two at a time), tagged, then Send (a commit ends the phone session, so the GP sends once the
 *     photos are on screen), to Media + Inbox Scan, ALEX at 1 s per write and the default write slots per practice.
 *     Limit: creates ÷ slots × 1 s + one upload (a photo uploaded alone, same stack). Goals: ≤ 1.15 × the limit for
 *     10 photos; the first photo confirmed within 1.15 × its two writes (counted from Send). "Sent — Medtech accepted
 *     it" (committed) and "in Medtech ✓" (read back) are timed apart: strict rows wait E2E_VERIFY_WAIT_SECONDS
 *     (default 0, see VERIFY_WAIT_MS) after the last commit; rows labelled BEST CASE switch the sandbox's searchFresh
 *     assumption on (search lag 0; E2E_BEST_CASE_BATCHES, default 10) and wait up to 10 s for "✓". A second table
 *     times the stages: all uploaded and all ready before Send, then the first photo's steps from Send.
 *  3. The companion at rest and at work, in its own process (as on a practice PC): see _e2e-footprint.ts.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { chromium } from 'playwright-core';
import { printTable, summarise } from './_stats';
import { alexLatency, alexRoundTripMs, benchStack, hostLoad, joinPhone, sandboxToken, traceHttp, waitForState, watchImages, type HttpStep } from './_e2e-kit';
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
/** Uploads the phone page keeps in flight at once (renderer/mobile/src/uploads.ts, `concurrency` default). */
const UPLOADS_AT_ONCE = 2;

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
      // A function, not a string: the desktop UI's CSP (no 'unsafe-eval') refuses a string predicate.
      await page.waitForFunction(() => (globalThis as unknown as { __bannerAt?: number }).__bannerAt !== undefined, undefined, { timeout: 30_000, polling: 50 });
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
  /** First shutter (upload start) → every photo "in Medtech ✓" (verified), or NaN when not all verified in time. */
  allMs: number;
  /** First shutter (upload start) → every photo "Sent — Medtech accepted it" (committed). */
  allCommittedMs: number;
  /** Send pressed → every photo "in Medtech ✓" (NaN: not all verified within the wait). */
  fromSendMs: number;
  /** Send pressed → the first photo "in Medtech ✓" (NaN: none verified within the wait). */
  firstMs: number;
  /** Send pressed → every photo "Sent — Medtech accepted it" (committed). */
  committedAllMs: number;
  /** Send pressed → the first photo committed. */
  committedFirstMs: number;
  /** Photos shown "in Medtech ✓" by the end of the wait. */
  verified: number;
  /** The limit: one upload + creates ÷ write slots × one write. */
  limitMs: number;
  /** Creates ÷ write slots × one write. */
  sendLimitMs: number;
  /** Where the first photo's time went, from Send (ms): render done, outbox post, HTTP steps, committed. */
  stages: Record<string, number>;
  /** Before Send, from the first shutter (ms): every photo uploaded, every photo ready. */
  before: { uploaded: number; ready: number };
}

/** The sandbox as a row runs it: strict (a new Media shows in searches only after the search lag), or the best case. */
type AlexMode = 'strict' | 'best';
const MODE_LABEL: Record<AlexMode, string> = {
  strict: 'strict sandbox (search lag on)',
  best: 'BEST CASE: searchFresh assumption on (search lag 0)',
};

/**
 * How long, after every photo is committed, a row waits for "in Medtech ✓" before it reports what it has. Strict rows
 * wait 0 s by default: the sandbox's search lag (60 s) and the read-back schedule (0, 15, 45, 105 s) put the first
 * possible "✓" ~105 s after the commit, a figure of those two settings, not of the pipeline.
 */
const VERIFY_WAIT_MS: Record<AlexMode, number> = {
  strict: Number(process.env.E2E_VERIFY_WAIT_SECONDS ?? 0) * 1000,
  best: Number(process.env.E2E_BEST_VERIFY_WAIT_SECONDS ?? 10) * 1000,
};

/**
 * One batch as a nurse and a GP do it: N photos taken, uploaded by the phone page (UPLOADS_AT_ONCE at a time), then
 * the GP presses Send once they are all on screen (a commit ends the phone session, so Send comes after the last photo).
 */
async function shutterBatch(photo: Buffer, name: string, n: number, writeMs: number, mode: AlexMode): Promise<ShutterRun> {
  const { stack, close } = await benchStack();
  try {
    if (mode === 'best') stack.sandbox.assumptions.set({ searchFresh: true });
    alexLatency(stack, writeMs, { method: 'POST', pathPrefix: '/FHIR/Media' });
    alexLatency(stack, writeMs, { method: 'POST', pathPrefix: '/FHIR/DocumentReference' });
    const { core } = stack.companion;
    await core['launch.open']({ url: stack.launchUrlFor('ZZZ0016') });
    const phone = await joinPhone(stack);
    const inMedtech = new Map<string, number>();
    const committed = new Map<string, number>();
    const posted = new Map<string, number>();
    const rendered = new Map<string, number>();
    const stop = watchImages(stack, (img, at) => {
      if (img.status === 'committed' && !committed.has(img.id)) committed.set(img.id, at);
      if (img.committed?.verified === true && !inMedtech.has(img.id)) inMedtech.set(img.id, at);
    });
    const stopOutbox = stack.companion.core.on('state', (s) => {
      const at = performance.now();
      for (const item of s.outbox) if (item.status === 'sending' && !posted.has(item.imageId)) posted.set(item.imageId, at);
    });
    const stopProgress = stack.companion.core.on('image-progress', (p) => {
      if (p.phase === 'render' && p.fraction === 1 && !rendered.has(p.imageId)) rendered.set(p.imageId, performance.now());
    });
    // "One upload" of the limit: a photo uploaded alone (to ingested), then removed before the batch.
    const u0 = performance.now();
    const solo = await phone.upload(photo, name, '14975008');
    const firstUploadMs = performance.now() - u0;
    await core['images.remove']({ ids: [solo] });
    await core.idle(); // its render ahead finished: the batch starts on quiet cores
    const ids: string[] = [];
    const http = traceHttp();
    const t0 = performance.now();
    // As the phone page does (renderer/mobile/src/uploads.ts): UPLOADS_AT_ONCE in flight, in shutter order.
    let next = 0;
    const uploader = async (): Promise<void> => {
      for (let i = next++; i < n; i = next++) ids[i] = await phone.upload(photo, name, '14975008');
    };
    await Promise.all(Array.from({ length: Math.min(UPLOADS_AT_ONCE, n) }, uploader));
    const tUploaded = performance.now();
    const { at: tReady } = await waitForState(stack, (s) => ids.every((id) => s.images.find((img) => img.id === id)?.status === 'ready'));
    const tSend = performance.now();
    const wallSend = Date.now();
    await core['commit.start']({ ids, targets: TARGETS, captionStrip: false });
    await waitForState(stack, () => ids.every((id) => committed.has(id)));
    await waitForState(stack, () => ids.every((id) => inMedtech.has(id)), VERIFY_WAIT_MS[mode]).catch(() => undefined);
    stop();
    stopOutbox();
    stopProgress();
    http.stop();
    const firstStep = (side: HttpStep['side'], test: (path: string) => boolean): number => (http.steps.find((x) => x.at >= tSend && x.side === side && test(x.path))?.at ?? Number.NaN) - tSend;
    const isCommit = (path: string): boolean => path === '/v1/commits';
    const isCreate = (path: string): boolean => path.startsWith('/FHIR/Media') || path.startsWith('/FHIR/DocumentReference');
    const firstId = ids[0] ?? '';
    const creates = stack.sandbox.store
      .requests()
      .filter((r) => r.method === 'POST' && (r.path.startsWith('/FHIR/Media') || r.path.startsWith('/FHIR/DocumentReference')) && r.at >= wallSend)
      .map((r) => r.at - wallSend);
    const sendLimitMs = ((n * CREATES_PER_PHOTO) / WRITE_SLOTS) * writeMs;
    const verifiedAt = [...inMedtech.values()];
    const firstVerified = verifiedAt.length === 0 ? Number.NaN : Math.min(...verifiedAt);
    const lastVerified = verifiedAt.length < ids.length ? Number.NaN : Math.max(...verifiedAt);
    return {
      allMs: lastVerified - t0,
      allCommittedMs: Math.max(...ids.map((id) => committed.get(id) ?? Number.NaN)) - t0,
      fromSendMs: lastVerified - tSend,
      firstMs: firstVerified - tSend,
      committedAllMs: Math.max(...ids.map((id) => committed.get(id) ?? Number.NaN)) - tSend,
      committedFirstMs: Math.min(...ids.map((id) => committed.get(id) ?? Number.NaN)) - tSend,
      verified: inMedtech.size,
      limitMs: firstUploadMs + sendLimitMs,
      sendLimitMs,
      stages: {
        render_done: (rendered.get(firstId) ?? Number.NaN) - tSend,
        outbox_sending: (posted.get(firstId) ?? Number.NaN) - tSend,
        post_to_gateway: firstStep('client-start', isCommit),
        gateway_got_it: firstStep('server-start', isCommit),
        create_sent: firstStep('client-start', isCreate),
        alex_got_first: creates.length > 0 ? Math.min(...creates) : Number.NaN,
        alex_got_second: creates.length > 1 ? [...creates].sort((a, b) => a - b)[1] ?? Number.NaN : Number.NaN,
        alex_answered: firstStep('server-done', isCreate),
        gateway_answered: firstStep('server-done', isCommit),
        answer_received: firstStep('client-done', isCommit),
        committed: (committed.get(firstId) ?? Number.NaN) - tSend,
      },
      before: { uploaded: tUploaded - t0, ready: tReady - t0 },
    };
  } finally {
    await close();
  }
}

export async function benchShutterToMedtech(): Promise<void> {
  const writeMs = Number(process.env.E2E_ALEX_WRITE_MS ?? 1000);
  const sizes = (process.env.E2E_BATCHES ?? '1,10').split(',').map(Number); // 32: the footprint part's batch, or E2E_BATCHES=1,10,32
  const heicSizes = (process.env.E2E_HEIC_BATCHES ?? '1').split(',').filter((x) => x !== '').map(Number);
  const bestSizes = (process.env.E2E_BEST_CASE_BATCHES ?? '10').split(',').filter((x) => x !== '').map(Number);
  const rounds = Number(process.env.E2E_SHUTTER_ROUNDS ?? 3);
  const jpeg = await readFile(join(PHOTOS, 'photo-12mp-orient6.jpg'));
  const heic = process.env.E2E_HEIC === '0' ? null : await sharpToHeicOrNull();
  const inputs: { label: string; bytes: Buffer; name: string }[] = [{ label: '12 MP JPEG', bytes: jpeg, name: 'IMG_0001.JPG' }];
  if (heic) inputs.push({ label: '12 MP HEIC', bytes: heic, name: 'IMG_0001.HEIC' });
  const load = hostLoad();
  const rows: Record<string, string | number>[] = [];
  const stageRows: Record<string, string | number>[] = [];
  const plan: { input: (typeof inputs)[number]; n: number; mode: AlexMode }[] = [];
  for (const input of inputs) for (const n of input === inputs[0] ? sizes : heicSizes) plan.push({ input, n, mode: 'strict' });
  for (const n of bestSizes) plan.push({ input: inputs[0]!, n, mode: 'best' });
  for (const { input, n, mode } of plan) {
    const runs: ShutterRun[] = [];
    const rowLoad = hostLoad();
    for (let r = 0; r < rounds; r++) runs.push(await shutterBatch(input.bytes, input.name, n, writeMs, mode));
    const med = (f: (x: ShutterRun) => number): number => summarise(runs.map(f)).median;
    const label = `${n} × ${input.label}, ${MODE_LABEL[mode]}`;
    rows.push({
      photos: label,
      host: `${rowLoad} → ${hostLoad().split(' ')[1]}`,
      send_to_first_committed_s: med((x) => x.committedFirstMs) / 1000,
      first_committed_ratio: med((x) => x.committedFirstMs) / writeMs,
      send_to_all_committed_s: med((x) => x.committedAllMs) / 1000,
      send_limit_s: med((x) => x.sendLimitMs) / 1000,
      committed_ratio: med((x) => x.committedAllMs) / med((x) => x.sendLimitMs),
      verified: `${Math.min(...runs.map((x) => x.verified))}/${n}`,
      send_to_first_verified_s: med((x) => x.firstMs) / 1000,
      first_ratio: med((x) => x.firstMs) / writeMs,
      send_to_all_verified_s: med((x) => x.fromSendMs) / 1000,
      send_ratio: med((x) => x.fromSendMs) / med((x) => x.sendLimitMs),
      shutter_to_all_committed_s: med((x) => x.allCommittedMs) / 1000,
      shutter_to_all_s: med((x) => x.allMs) / 1000,
      limit_s: med((x) => x.limitMs) / 1000,
      shutter_committed_ratio: med((x) => x.allCommittedMs) / med((x) => x.limitMs),
      ratio: med((x) => x.allMs) / med((x) => x.limitMs),
    });
    const stageRow: Record<string, string | number> = { photos: label, all_uploaded_before_send: med((x) => x.before.uploaded), all_ready_before_send: med((x) => x.before.ready) };
    for (const k of Object.keys(runs[0]?.stages ?? {})) stageRow[k] = med((x) => x.stages[k] ?? Number.NaN);
    stageRows.push(stageRow);
  }
  printTable(
    `Phone shutter → "Sent — Medtech accepted it" (committed) and "in Medtech ✓" (verified) (Media + Inbox Scan, ALEX ${writeMs} ms per write, ${WRITE_SLOTS} write slots, ${rounds} rounds per row, medians; verify waited ${VERIFY_WAIT_MS.strict / 1000} s (strict) / ${VERIFY_WAIT_MS.best / 1000} s (best case) after the last commit; ${load})`,
    rows,
  );
  printTable(`Where the time goes: from the first shutter to all uploaded and all ready, then the first photo's steps from Send, ms (medians; ALEX ${writeMs} ms per write; ${load})`, stageRows);
  for (const mode of ['strict', 'best'] as const) {
    const ten = rows.find((r) => String(r.photos).startsWith('10 × 12 MP JPEG') && String(r.photos).endsWith(MODE_LABEL[mode]));
    if (!ten) continue;
    const verdict = (v: number): string => (Number.isNaN(v) ? 'not verified within the wait' : `${v <= 1.15 ? 'met' : 'not met'} (${v.toFixed(2)})`);
    console.log(
      `${MODE_LABEL[mode]} — goal: 10 photos ≤ 1.15 × limit — verified ${verdict(Number(ten.ratio))}, committed ${verdict(Number(ten.shutter_committed_ratio))} (from Send: ${verdict(Number(ten.committed_ratio))}); first photo ≤ 1.15 × its two writes — verified ${verdict(Number(ten.first_ratio))}, committed ${verdict(Number(ten.first_committed_ratio))}`,
    );
  }
  console.log('limit = one upload + creates ÷ write slots × one write; send_limit = creates ÷ write slots × one write; first ratios = Send → first photo ÷ one write (its two writes go out together)');
  console.log('committed = "Sent — Medtech accepted it" (both creates answered); verified = "in Medtech ✓" (read back; the strict sandbox hides a new Media from searches for its search lag)');
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
