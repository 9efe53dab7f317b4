/**
 * Someone copies the practice PC's disk (issue #26, item 4): is any photo readable without the key?
 * A real session (startDevStack: gateway, sandbox, companion core with its LAN server) adds photos from the
 * desktop (JPEG 12 MP, PNG, HEIC, a PDF) and a phone, edits one, commits one; a phone upload is left
 * half-sent (what a crash mid-upload leaves); then companion cores in child processes are SIGKILLed while
 * ingesting photos (crashed mid-ingest). After each step the whole data folder is scanned:
 * - image signatures (JPEG, PNG, HEIC/HEIF, TIFF, PDF) anywhere, each candidate confirmed by decoding it;
 * - the source files' bytes (sha256 of every file, and 64-byte windows of each source file);
 * - the source photos' pixels (64-byte windows of their decoded RGB, as an uncompressed dump would hold them).
 * Bar: 0 hits. The photos still render and commit (they are sealed, not lost).
 * Size: HARD_SCALE=full → 12 kills (half mid-ingest, half just after a photo was ingested); default 4.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { PDFDocument } from 'pdf-lib';
import pino from 'pino';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BOUNDARY, exchange, multipartBody, tokenFromUrl, upload } from '../../electron/lan/testing';
import { startDevStack, type DevStack } from '../../scripts/browser-host/stack';
import type { CoreCrashTodo } from './core-crash-child';
import { scaled } from './helpers/scale';
import { FACILITY, startWorld, type World } from './helpers/world';

const FIXTURES = new URL('../../../shared/fixtures/photos/', import.meta.url).pathname;
const KILLS = scaled(12, 4);
const CHILD_TS = fileURLToPath(new URL('./core-crash-child.ts', import.meta.url));
const CHILD = fileURLToPath(new URL(`../../node_modules/.cache/clinicpro-tests/disk-copy-child-${process.pid}.mjs`, import.meta.url));

interface Source {
  name: string;
  bytes: Buffer;
  sha: string;
  /** 64-byte windows of the file and of its decoded RGB pixels. */
  windows: Buffer[];
}

async function sourceOf(name: string, bytes: Buffer): Promise<Source> {
  const windows: Buffer[] = [];
  for (const at of [0.25, 0.5, 0.75]) windows.push(bytes.subarray(Math.floor(bytes.length * at), Math.floor(bytes.length * at) + 64));
  if (!name.endsWith('.pdf')) {
    const input = name.endsWith('.heic') ? null : bytes;
    if (input !== null) {
      const rgb = await sharp(input).autoOrient().removeAlpha().raw().toBuffer();
      for (const at of [0.3, 0.6]) windows.push(rgb.subarray(Math.floor(rgb.length * at), Math.floor(rgb.length * at) + 64));
    }
  }
  return { name, bytes, sha: createHash('sha256').update(bytes).digest('hex'), windows };
}

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
}

const SIGNATURES: { kind: string; bytes: Buffer }[] = [
  { kind: 'jpeg', bytes: Buffer.from([0xff, 0xd8, 0xff]) },
  { kind: 'png', bytes: Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]) },
  { kind: 'heic', bytes: Buffer.from('ftypheic') },
  { kind: 'heif', bytes: Buffer.from('ftypmif1') },
  { kind: 'tiff', bytes: Buffer.from('II*\0', 'latin1') },
  { kind: 'tiff', bytes: Buffer.from('MM\0*', 'latin1') },
  { kind: 'pdf', bytes: Buffer.from('%PDF-') },
];

/** A signature hit is an image only if it decodes from there (random ciphertext holds 3-byte runs by chance). */
async function decodesAt(bytes: Buffer, at: number, kind: string): Promise<boolean> {
  if (kind === 'pdf') return true;
  const from = kind === 'heic' || kind === 'heif' ? Math.max(0, at - 4) : at;
  try {
    const meta = await sharp(bytes.subarray(from), { failOn: 'none' }).metadata();
    return (meta.width ?? 0) > 0;
  } catch {
    return kind === 'heic' || kind === 'heif'; // sharp here cannot decode HEVC: a real ftyp box is a hit
  }
}

/** Every clear image, source byte or source pixel run under `dir`. */
async function clearImagesUnder(dir: string, sources: Source[]): Promise<string[]> {
  const hits: string[] = [];
  for (const file of await filesUnder(dir)) {
    const bytes = await readFile(file).catch(() => null);
    if (bytes === null) continue;
    const rel = file.slice(dir.length);
    for (const sig of SIGNATURES) {
      for (let at = bytes.indexOf(sig.bytes); at !== -1; at = bytes.indexOf(sig.bytes, at + 1)) {
        if (await decodesAt(bytes, at, sig.kind)) {
          hits.push(`${rel}: ${sig.kind} at ${at}`);
          break;
        }
      }
    }
    const sha = createHash('sha256').update(bytes).digest('hex');
    for (const s of sources) {
      if (s.sha === sha) hits.push(`${rel}: the whole of ${s.name}`);
      if (s.windows.some((w) => w.length === 64 && bytes.includes(w))) hits.push(`${rel}: bytes or pixels of ${s.name}`);
    }
  }
  return hits;
}

async function aPdf(): Promise<Buffer> {
  const doc = await PDFDocument.create();
  const page = doc.addPage([300, 400]);
  page.drawText('Referral letter for the wound clinic', { x: 20, y: 360, size: 12 });
  return Buffer.from(await doc.save());
}

let sources: Source[] = [];
beforeAll(async () => {
  const names = ['photo-12mp-orient6.jpg', 'photo-1600-portrait.png', 'photo-iphone-like.heic'];
  sources = await Promise.all(names.map(async (n) => sourceOf(n, await readFile(join(FIXTURES, n)))));
  sources.push(await sourceOf('letter.pdf', await aPdf()));
}, 60_000);

describe('a copied disk holds no photo in clear', () => {
  let stack: DevStack;
  let dataDir: string;
  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'hard-disk-copy-'));
    stack = await startDevStack({ dataDir, staticDir: dataDir, memorySecrets: true, autoEnrol: true, lan: { host: '127.0.0.1', port: 0 }, logger: pino({ level: 'silent' }) });
  }, 120_000);
  afterAll(async () => {
    await stack?.close();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('committed, uncommitted, edited, phone and half-uploaded photos: 0 clear image bytes under the data folder', async () => {
    const core = stack.companion.core;
    expect(await core['launch.open']({ url: stack.launchUrlFor('ZZZ0016') })).toEqual({ status: 'ready' });
    const added = await core['images.addFiles']({ files: sources.map((s) => ({ name: s.name, dataBase64: s.bytes.toString('base64') })) });
    expect(added.rejected).toEqual([]);
    expect(added.imageIds).toHaveLength(sources.length);

    // A phone photo, and a phone upload left half-sent (what a crash or a dropped Wi-Fi mid-upload leaves).
    const phone = await core['phone.start']({});
    const port = stack.companion.lanAddress?.port ?? 0;
    const cred = (await exchange(port, tokenFromUrl(phone.qrUrl))).json as { credential: string };
    const heic = sources.find((s) => s.name.endsWith('.heic')) as Source;
    const part = (data: Buffer) => [
      { name: 'clientUploadId', value: '5b1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f' },
      { name: 'file', filename: 'IMG_0001.heic', contentType: 'image/heic', data },
    ];
    expect((await upload(port, cred.credential, part(heic.bytes))).status).toBe(200);
    const body = multipartBody([{ name: 'clientUploadId', value: '6c2e3f4a-5b6c-4d7e-8f9a-0b1c2d3e4f5a' }, { name: 'file', filename: 'IMG_0002.jpg', contentType: 'image/jpeg', data: sources[0]?.bytes as Buffer }]);
    const half = request({ host: '127.0.0.1', port, method: 'POST', path: '/api/images/v1/upload', agent: false, headers: { host: `127.0.0.1:${port}`, authorization: `Bearer ${cred.credential}`, 'content-type': `multipart/form-data; boundary=${BOUNDARY}`, 'content-length': String(body.length) } });
    half.on('error', () => undefined);
    const streaming = new Promise<void>((resolve) => stack.companion.lan?.once('upload-progress', () => resolve()));
    half.write(body.subarray(0, Math.floor(body.length / 2)));
    await streaming; // the LAN server has the first half (in memory: it writes nothing of an upload)
    const midUpload = await clearImagesUnder(join(dataDir, 'companion'), sources);
    half.destroy();

    // Edit one (rotate, an arrow), preview it, commit another; the rest stay uncommitted.
    const ids = (await core['app.getState']({})).images.map((i) => i.id);
    await core['images.edit']({ id: ids[0] as string, edits: { rotate: 90, annotations: [{ kind: 'arrow', from: { x: 0.1, y: 0.1 }, to: { x: 0.5, y: 0.5 }, colour: 'red' }] } });
    await core['images.preview']({ id: ids[0] as string });
    await core['images.applyMetadataToAll']({ patch: { bodySiteCode: '14975008', laterality: 'left' } });
    await core['commit.start']({ ids: [ids[1] as string], targets: { media: true, inboxScan: false }, captionStrip: false });
    for (let i = 0; i < 50 && stack.sandbox.store.listMedia().length === 0; i++) {
      await stack.companion.outbox.idle();
      await core.idle();
    }
    expect(stack.sandbox.store.listMedia()).toHaveLength(1);
    await core.idle();

    const afterSession = await clearImagesUnder(join(dataDir, 'companion'), sources);
    const state = await core['app.getState']({});
    console.log(`hard disk-copy: ${JSON.stringify({ images: state.images.length, committed: state.images.filter((i) => i.status === 'committed').length, filesScanned: (await filesUnder(join(dataDir, 'companion'))).length, hitsMidUpload: midUpload.length, hitsAfterSession: afterSession.length })}`);
    expect(midUpload).toEqual([]);
    expect(afterSession).toEqual([]);
    // Sealed, not lost: an uncommitted photo still renders, and commits.
    const left = state.images.filter((i) => i.status !== 'committed').map((i) => i.id);
    expect(left.length).toBeGreaterThanOrEqual(sources.length);
    await core['commit.start']({ ids: [left[0] as string], targets: { media: true, inboxScan: false }, captionStrip: false });
    for (let i = 0; i < 50 && stack.sandbox.store.listMedia().length < 2; i++) {
      await stack.companion.outbox.idle();
      await core.idle();
    }
    expect(stack.sandbox.store.listMedia()).toHaveLength(2);
  }, 300_000);
});

describe('a core killed mid-ingest leaves no photo in clear', () => {
  let w: World;
  let work: string;
  beforeAll(async () => {
    w = await startWorld();
    work = mkdtempSync(join(tmpdir(), 'hard-disk-copy-crash-'));
    await build({ entryPoints: [CHILD_TS], bundle: true, platform: 'node', format: 'esm', packages: 'external', outfile: CHILD, logLevel: 'error' });
  }, 120_000);
  afterAll(async () => {
    await w?.close();
    rmSync(CHILD, { force: true });
    if (work) rmSync(work, { recursive: true, force: true });
  });

  /** Run the companion child on `todo`, SIGKILL it `afterMs` after the line starting with `on` (ADDING: mid-ingest; ADDED: ingested, not yet sent). */
  function runAndKill(on: 'ADDING' | 'ADDED', afterMs: number): Promise<boolean> {
    return new Promise((resolve) => {
      const child = spawn(process.execPath, [CHILD, work, w.gatewayDirectUrl, w.sandbox.url], { stdio: ['ignore', 'pipe', 'ignore'] });
      let killed = false;
      let armed = false;
      createInterface({ input: child.stdout }).on('line', (line) => {
        if (!armed && line.startsWith(on)) {
          armed = true;
          setTimeout(() => {
            if (child.exitCode === null) killed = child.kill('SIGKILL');
          }, afterMs);
        }
      });
      const guard = setTimeout(() => child.kill('SIGKILL'), 180_000);
      child.on('close', () => {
        clearTimeout(guard);
        resolve(killed);
      });
    });
  }

  it(`SIGKILL at ${KILLS} points while ingesting real photos → 0 clear image bytes in the data folder after each`, async () => {
    const { code } = await w.devices.issueEnrolmentCode(FACILITY, 'Test Practice', 72);
    writeFileSync(join(work, 'enrol-code.txt'), code);
    mkdirSync(join(work, 'src'));
    const crashSources: Source[] = [];
    let kills = 0;
    const hits: string[] = [];
    for (let round = 0; kills < KILLS && round < KILLS * 4; round++) {
      // A fresh photo each round (real pixels: the 12 MP fixture cropped at a random place), so ingest is under way at the kill.
      const big = sources[0] as Source;
      const meta = await sharp(big.bytes).metadata();
      const left = Math.floor(Math.random() * ((meta.width ?? 4000) - 2000));
      const file = join(work, 'src', `r${round}.jpg`);
      const bytes = await sharp(big.bytes).extract({ left, top: 0, width: 2000, height: 1500 }).jpeg({ quality: 90 }).toBuffer();
      writeFileSync(file, bytes);
      crashSources.push(await sourceOf(`r${round}.jpg`, bytes));
      const todo: CoreCrashTodo[] = [{ key: `r${round}`, patientId: w.patient('ZZZ0016').id, file }];
      writeFileSync(join(work, 'todo.json'), JSON.stringify(todo));
      const killed = round % 2 === 0 ? await runAndKill('ADDING', Math.floor(Math.random() * 300)) : await runAndKill('ADDED', Math.floor(Math.random() * 10));
      if (killed) kills += 1;
      hits.push(...(await clearImagesUnder(join(work, 'data'), [...sources, ...crashSources])));
    }
    console.log(`hard disk-copy-crash: ${JSON.stringify({ kills, hits: hits.length, filesLeft: (await filesUnder(join(work, 'data'))).length })}`);
    expect(kills).toBeGreaterThanOrEqual(KILLS);
    expect(hits).toEqual([]);
  }, 900_000);
});

