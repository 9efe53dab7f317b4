/**
 * A web page open in the GP's browser attacks the loopback launch listener (issue #26, item 3).
 * Real Chromium (Debian's, through playwright-core) opens a page on ANOTHER loopback origin
 * (http://localhost:<port>, a different site from http://127.0.0.1) that fires launch requests at the
 * listener: `fetch(…, {mode:'no-cors'})`, `<img>` and a cross-site navigation, all with a syntactically
 * valid pair (`context=QUFB&signature=QkJC`). Bars: the working patient is unchanged, the sandbox decoded
 * 0 launches, the gateway verified 0, and the PC still commits a photo afterwards (its gateway budget
 * untouched). Then the same garbage delivered as launches that did get through (the custom scheme): the
 * patient on screen stays the working patient.
 * Real gateway, sandbox, companion core and listener (startDevStack). Size: HARD_SCALE=full → 150 fetches; default 150.
 */
import { createServer, type Server } from 'node:http';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDevStack, type DevStack } from '../../scripts/browser-host/stack';
import { scaled } from './helpers/scale';

const FIXTURES = new URL('../../../shared/fixtures/photos/', import.meta.url).pathname;
const FETCHES = scaled(150, 150);
const PATIENT = 'ZZZ0016';

let stack: DevStack;
let dataDir: string;
let browser: Browser;
let evil: Server;
let evilPort = 0;

/** The hostile page: everything a page can make a browser send to the listener without the user. */
function hostilePage(target: string): string {
  return `<!doctype html><title>cat pictures</title><script>
    (async () => {
      const shots = [];
      for (let i = 0; i < ${FETCHES}; i++) shots.push(fetch(${JSON.stringify(target)} + '&n=' + i, { mode: 'no-cors' }).catch(() => null));
      await Promise.allSettled(shots);
      await Promise.all([0, 1, 2].map((i) => new Promise((done) => { const img = new Image(); img.onload = img.onerror = done; img.src = ${JSON.stringify(target)} + '&img=' + i; })));
      document.title = 'fired';
    })();
  </script>`;
}

async function deviceId(): Promise<string> {
  const devices = await stack.gateway.store.listDevices();
  const d = devices.find((x) => x.revokedAt === null);
  if (!d) throw new Error('no enrolled device');
  return d.deviceId;
}

async function launchVerifications(): Promise<number> {
  const entries = await stack.gateway.store.listAudit({ deviceId: await deviceId(), limit: 10_000 });
  return entries.filter((e) => e.action === 'launch.verify').length;
}

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'hard-launch-page-'));
  stack = await startDevStack({ dataDir, staticDir: dataDir, memorySecrets: true, lan: false, autoEnrol: true, logger: pino({ level: 'silent' }) });
  const target = `http://127.0.0.1:${stack.loopback.port}/launch?context=QUFB&signature=QkJC`;
  evil = createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end(req.url === '/navigate' ? `<!doctype html><a id="go" href="${target}&nav=1">go</a>` : hostilePage(target));
  });
  await new Promise<void>((resolve) => evil.listen(0, '127.0.0.1', resolve));
  evilPort = (evil.address() as { port: number }).port;
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] });
}, 120_000);
afterAll(async () => {
  await browser?.close();
  await new Promise<void>((resolve) => (evil ? evil.close(() => resolve()) : resolve()));
  await stack?.close();
  await rm(dataDir, { recursive: true, force: true });
});

describe('a hostile page against the loopback launch listener', () => {
  it(`${FETCHES} no-cors launch fetches, images and a navigation from another loopback origin → patient unchanged, 0 decodes, the PC still commits`, async () => {
    const core = stack.companion.core;
    expect(await core['launch.open']({ url: stack.launchUrlFor(PATIENT) })).toEqual({ status: 'ready' });
    const decodesBefore = stack.sandbox.store.counters.launchDecodes;
    const verifiesBefore = await launchVerifications();

    const page = await browser.newPage();
    await page.goto(`http://localhost:${evilPort}/`);
    await page.waitForFunction("document.title === 'fired'", undefined, { timeout: 120_000 });
    await core.idle();
    const checkUntouched = async (): Promise<void> => {
      const state = await core['app.getState']({});
      expect(state.patient?.nhi).toBe(PATIENT);
      expect(state.launch).toEqual({ status: 'ready' });
      expect(stack.sandbox.store.counters.launchDecodes - decodesBefore).toBe(0);
      expect((await launchVerifications()) - verifiesBefore).toBe(0);
    };
    await checkUntouched();
    // A link the user is tricked into clicking: a cross-site navigation, refused too.
    await page.goto(`http://localhost:${evilPort}/navigate`);
    await Promise.all([page.waitForNavigation(), page.click('#go')]);
    expect(await page.content()).toContain('did not come from Medtech Evolution');
    await page.close();
    await core.idle();
    await checkUntouched();

    // The device's gateway budget is intact: a photo still commits.
    const png = await readFile(join(FIXTURES, 'photo-1600-portrait.png'));
    const added = await core['images.addFiles']({ files: [{ name: 'wound.png', dataBase64: png.toString('base64') }] });
    await core['images.applyMetadataToAll']({ patch: { bodySiteCode: '14975008', laterality: 'left' } });
    await core['commit.start']({ ids: added.imageIds, targets: { media: true, inboxScan: false }, captionStrip: false });
    for (let i = 0; i < 50 && stack.sandbox.store.listMedia().length === 0; i++) {
      await stack.companion.outbox.idle();
      await core.idle();
    }
    expect(stack.sandbox.store.listMedia()).toHaveLength(1);
    console.log(`hard launch-page: ${JSON.stringify({ fetches: FETCHES, decodes: stack.sandbox.store.counters.launchDecodes - decodesBefore, patientKept: true })}`);
  }, 300_000);

  it('garbage launches that do reach the core (custom scheme) never hide the patient on screen', async () => {
    const core = stack.companion.core;
    expect(await core['launch.open']({ url: stack.launchUrlFor(PATIENT) })).toEqual({ status: 'ready' });
    const garbage = [
      'clinicpro-images://launch?context=QUFB&signature=QkJC',
      'clinicpro-images://launch?context=a" --gpu-launcher="calc&signature=b',
      'clinicpro-images://launch?context=%25%32%35&signature=x',
      `http://127.0.0.1:${stack.loopback.port}/launch?context=QUFB&signature=QkJC`,
    ];
    for (const url of garbage) {
      const view = await core['launch.open']({ url });
      expect(view.status).toBe('error');
      const state = await core['app.getState']({});
      expect(state.patient?.nhi, url).toBe(PATIENT);
    }
  }, 120_000);
});
