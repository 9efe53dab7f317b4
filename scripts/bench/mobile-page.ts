/**
 * The phone page's weight and time to interactive.
 *  - weight: every file the LAN server serves for the page (index.html + assets/), raw and gzip-compressed
 *    (the LAN server sends them uncompressed; gzip is the budget's measure: ≤ 150 KB);
 *  - time to interactive: from navigation start to the "Yes, this is the patient" button in the page and enabled,
 *    in Debian's Chromium with Pixel 7 emulation, against the real LAN server on 127.0.0.1 (token exchange
 *    included), each load with a fresh QR and a fresh browser context; once at full CPU and once with the CPU
 *    slowed 4× (a mid-range phone).
 * Run alone: `npx tsx scripts/bench/mobile-page.ts` (builds the page first when dist/renderer/mobile is missing).
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { chromium, devices } from 'playwright-core';
import { startHarness } from '../../electron/lan/testing';
import { printTable, summarise, trackPeakRss } from './_stats';

const DIST = join(process.cwd(), 'dist', 'renderer', 'mobile');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'];
const LOADS = 10;

async function pageFiles(): Promise<string[]> {
  const assets = await readdir(join(DIST, 'assets'));
  return ['index.html', ...assets.map((a) => join('assets', a))];
}

export async function runMobilePageBench(): Promise<void> {
  if (!existsSync(join(DIST, 'index.html'))) {
    const r = spawnSync('npx', ['vite', 'build', '--logLevel', 'warn', '--config', 'renderer/mobile/vite.config.ts'], { stdio: 'inherit' });
    if (r.status !== 0) throw new Error('the phone page did not build');
  }
  const weightRows: Record<string, string | number>[] = [];
  let raw = 0;
  let gz = 0;
  for (const f of await pageFiles()) {
    const bytes = await readFile(join(DIST, f));
    const z = gzipSync(bytes, { level: 9 }).length;
    raw += bytes.length;
    gz += z;
    weightRows.push({ file: f, 'raw KB': bytes.length / 1024, 'gzip KB': z / 1024 });
  }
  weightRows.push({ file: 'TOTAL (budget 150 KB gzip)', 'raw KB': raw / 1024, 'gzip KB': gz / 1024 });
  printTable('Phone page weight (every file served for /m/)', weightRows);

  const lan = await startHarness({ mobileAssetsDir: DIST });
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS, headless: true });
  const rss = trackPeakRss();
  const rows: Record<string, string | number>[] = [];
  try {
    const { defaultBrowserType: _engine, ...pixel } = devices['Pixel 7'];
    for (const cpu of [1, 4]) {
      const tti: number[] = [];
      const fcp: number[] = [];
      for (let i = 0; i < LOADS + 1; i += 1) {
        const { qr } = await lan.server.openSession({ sessionRef: `bench-${cpu}-${i}`, patient: { displayName: 'TESTPATIENT, Aroha', birthDate: '1985-03-14' }, roomLabel: 'Room 1' });
        const ctx = await browser.newContext(pixel);
        const page = await ctx.newPage();
        // Marks the moment the confirm button is on screen and enabled (a DOM observer, so polling adds no delay).
        await page.addInitScript(() => {
          type Btn = { disabled: boolean; textContent: string | null };
          const g = globalThis as unknown as {
            __ttiMark?: { tti: number; fcp: number };
            document: { querySelector(s: string): Btn | null; documentElement: object };
            performance: { now(): number; getEntriesByName(n: string): { startTime: number }[] };
            MutationObserver: new (cb: () => void) => { observe(t: object, o: object): void; disconnect(): void };
          };
          const obs = new g.MutationObserver(() => {
            const b = g.document.querySelector('.screen .btn-primary');
            if (b === null || b.disabled || b.textContent !== 'Yes, this is the patient') return;
            g.__ttiMark = { tti: g.performance.now(), fcp: g.performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? Number.NaN };
            obs.disconnect();
          });
          obs.observe(g.document, { childList: true, subtree: true });
        });
        if (cpu > 1) {
          const cdp = await ctx.newCDPSession(page);
          await cdp.send('Emulation.setCPUThrottlingRate', { rate: cpu });
        }
        await page.goto(qr.url, { waitUntil: 'commit' });
        const ready = await page.waitForFunction(() => (globalThis as unknown as { __ttiMark?: { tti: number; fcp: number } }).__ttiMark ?? false, undefined, { polling: 50, timeout: 60_000 });
        const t = (await ready.jsonValue()) as { tti: number; fcp: number };
        if (i > 0) {
          // the first load warms Chromium's process and the server; not counted
          tti.push(t.tti);
          fcp.push(t.fcp);
        }
        await ctx.close();
      }
      const a = summarise(tti);
      const b = summarise(fcp.filter((x) => Number.isFinite(x)));
      rows.push({ CPU: cpu === 1 ? 'full' : `${cpu}× slower`, loads: tti.length, 'FCP median ms': b.median, 'TTI median ms': a.median, 'TTI p95 ms': a.p95, 'TTI max ms': a.max });
    }
  } finally {
    const peak = rss.stop();
    await browser.close();
    await lan.cleanup();
    printTable('Phone page time to interactive (navigation start → confirm button enabled; QR exchange included)', rows);
    console.log(`peak RSS of the bench process (LAN server + driver): ${peak.toFixed(0)} MB`);
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await runMobilePageBench();
}
