/**
 * Test probe for storage-faults.test.ts (never product code). Runs the real companion (startCompanion) with its
 * data folder under <root>, enrolled and launched against the gateway at <gatewayUrl>, and injects one storage
 * fault while the GP works:
 *   full   <root> is a small tmpfs (private mount namespace): a filler file takes the last free space
 *   fsync  the process runs under `fiu-run -x`; fsync/fdatasync are made to fail with EIO through libfiu's
 *          control fifo (Debian fiu-utils) for the faulty phase only
 * Phases: add photo A (works), a phone joins → fault on → add photo B, commit A, the phone sends photo P → fault off →
 * the phone sends P again (same clientUploadId) → restart the companion → A, B (if acknowledged) and P restored
 * intact → commit all → done. Prints one JSON line.
 * Usage: tsx test/hard/storage-probe.ts <full|fsync> <root> <gatewayUrl> <sandboxUrl> <enrolCode> <patientId>
 */
import { randomUUID } from 'node:crypto';
import { closeSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import pino from 'pino';
import type { AppState } from '../../shared/contracts/bridge';
import { startCompanion, type RunningCompanion } from '../../electron/core';
import { DevFileSecretStoreForDevelopmentOnly, DevFileSettingsStore } from '../../scripts/browser-host/dev-stores';
import { errorCode, exchange, hold, tokenFromUrl, upload, type HttpResult } from '../../electron/lan/testing';

const [mode, root, gatewayUrl, sandboxUrl, enrolCode, patientId] = process.argv.slice(2);
if (!mode || !root || !gatewayUrl || !sandboxUrl || !enrolCode || !patientId) throw new Error('usage: storage-probe <mode> <root> <gatewayUrl> <sandboxUrl> <code> <patientId>');
const PHOTO = new URL('../../../shared/fixtures/photos/photo-1600-portrait.png', import.meta.url).pathname;
const logLines: string[] = [];
const logger = pino({ level: 'info' }, { write: (s: string) => void logLines.push(s) });

const start = (): Promise<RunningCompanion> =>
  startCompanion({
    dataDir: join(root, 'data'),
    secrets: new DevFileSecretStoreForDevelopmentOnly(join(root, 'secrets.json')),
    settingsStore: new DevFileSettingsStore(join(root, 'settings.json')),
    logger,
    lan: { bindHost: '127.0.0.1', port: 0 },
    verifyAfterCommit: false,
  });

/** libfiu remote control (fiu-run's per-process fifo pair). */
function fiu(cmd: string): void {
  writeFileSync(`/tmp/fiu-ctrl-${process.pid}.in`, `${cmd}\n`);
  const rc = readFileSync(`/tmp/fiu-ctrl-${process.pid}.out`, 'utf8').trim();
  if (rc !== '0') throw new Error(`fiu control answered ${rc}`);
}

function fill(): void {
  const fd = openSync(join(root, 'filler'), 'w');
  const block = Buffer.alloc(64 * 1024, 1);
  try {
    for (;;) writeSync(fd, block);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
  } finally {
    closeSync(fd);
  }
}

async function launch(core: RunningCompanion['core']): Promise<void> {
  const res = await fetch(`${sandboxUrl}/_sandbox/launch`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ patientId, facilityCode: 'F2N060-E' }) });
  const pair = (await res.json()) as { context: string; signature: string };
  const r = await core['launch.open']({ url: `clinicpro-images://launch?context=${encodeURIComponent(pair.context)}&signature=${encodeURIComponent(pair.signature)}` });
  if (r.status !== 'ready') throw new Error(`launch ${r.status}`);
}

const codeOf = (err: unknown): string => (err as { code?: string }).code ?? 'no-code';

let c = await start();
await c.core['enrolment.enrol']({ gatewayUrl, enrolmentCode: enrolCode, deviceName: 'Storage room' });
await launch(c.core);
const a = await c.core['images.addPaths']({ paths: [PHOTO] });
const idA = a.imageIds[0] as string;
await c.core['images.updateMetadata']({ ids: [idA], patch: { bodySiteCode: '89545001' } });
// A nurse's phone joins and numbers photo P, as the phone page does.
const lanPort = c.lanAddress?.port ?? 0;
const credential = ((await exchange(lanPort, tokenFromUrl((await c.core['phone.start']({})).qrUrl))).json as { credential: string }).credential;
const photoP = randomUUID();
const phoneHeld = (await hold(lanPort, credential, [photoP])).status;
const sendP = (): Promise<HttpResult> =>
  upload(lanPort, credential, [
    { name: 'clientUploadId', value: photoP },
    { name: 'bodySiteCode', value: '89545001' },
    { name: 'file', filename: 'p.png', contentType: 'image/png', data: readFileSync(PHOTO) },
  ]);
const phoneAnswer = (r: HttpResult): { status: number; code?: string; mentionsRoot: boolean } => ({ status: r.status, code: errorCode(r), mentionsRoot: r.text.includes(root) });

// Fault on.
if (mode === 'full') fill();
else fiu('enable name=posix/io/sync/*,failinfo=5');
let addB: { ok: boolean; code?: string; rejected?: string[] };
try {
  const b = await c.core['images.addPaths']({ paths: [PHOTO] });
  addB = { ok: b.imageIds.length > 0, rejected: b.rejected.map((r) => r.error.code) };
} catch (err) {
  addB = { ok: false, code: codeOf(err) };
}
let commitA: { queued: number; skipped: string[]; code?: string };
try {
  const r = await c.core['commit.start']({ ids: [idA], targets: { media: true, inboxScan: true }, captionStrip: false });
  commitA = { queued: r.queued.length, skipped: r.skipped.map((s) => s.error.code) };
} catch (err) {
  commitA = { queued: 0, skipped: [], code: codeOf(err) };
}
const phoneDuring = phoneAnswer(await sendP());
const stateDuring: AppState = await c.core['app.getState']({});
const duringImages = stateDuring.images.map((i) => ({ status: i.status, code: i.error?.code ?? null }));
const noticesDuring = stateDuring.notices.map((n) => n.kind);

// Fault off, restart (the GP frees space / the disk recovers, the PC restarts the app).
if (mode === 'full') rmSync(join(root, 'filler'));
else fiu('disable name=posix/io/sync/*');
const phoneAfter = phoneAnswer(await sendP()); // the phone sends P again, as it does after an error
await c.close().catch(() => undefined);
c = await start();
const restored: AppState = await c.core['app.getState']({});
await launch(c.core);
const open = restored.images.filter((i) => i.status === 'ready' || i.status === 'needs-info' || i.status === 'failed').map((i) => i.id);
if (open.length > 0) {
  await c.core['images.updateMetadata']({ ids: open, patch: { bodySiteCode: '89545001' } });
  for (const id of open) if (restored.images.find((i) => i.id === id)?.status === 'failed') await c.core['outbox.retry']({ imageId: id }).catch(() => undefined);
  await c.core['commit.start']({ ids: open.filter((id) => restored.images.find((i) => i.id === id)?.status !== 'failed'), targets: { media: true, inboxScan: true }, captionStrip: false }).catch(() => undefined);
}
let final: AppState = restored;
for (let i = 0; i < 1_000; i++) {
  await c.outbox.idle();
  await c.core.idle();
  final = await c.core['app.getState']({});
  if (final.images.every((img) => img.status === 'committed' || img.status === 'failed')) break;
  await new Promise((r) => setTimeout(r, 20));
  c.outbox.kick();
}
await c.close();
const left = await readdir(join(root, 'data', 'images'));
process.stdout.write(
  `${JSON.stringify({
    idA,
    addB,
    commitA,
    duringImages,
    noticesDuring,
    phoneHeld,
    phoneDuring,
    phoneAfter,
    restored: restored.images.map((i) => ({ id: i.id, status: i.status })),
    restoredNotices: restored.notices.map((n) => n.kind),
    final: final.images.map((i) => ({ id: i.id, status: i.status, code: i.error?.code ?? null })),
    imagesLeft: left,
    logHasPath: logLines.some((l) => l.includes(root)),
  })}\n`,
);
process.exit(0);
