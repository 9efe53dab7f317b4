/**
 * D1 — kill -9. A child process (crash-child.ts) runs the real outbox against the REAL gateway wired to
 * the REAL ALEX sandbox over HTTP on loopback (test/gateway/helpers/harness.ts). The test SIGKILLs it at
 * random points while it is saving images (ingest) and while it is posting them (commit), restarts it each
 * time with the images it has not yet acknowledged, and finally lets it run to the end. Then, at the
 * sandbox: 0 acknowledged images lost, 0 sha256 mismatches, 0 duplicate resources, every image on its own
 * patient (two patients, interleaved); and 0 stale temp files or payloads left on the PC.
 * Kills: OUTBOX_CRASH_KILLS (default 60; CHECKS.md D1 asks 200 for a release run).
 */
import { spawn } from 'node:child_process';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EnrolResponse, LaunchGrant } from '../../shared/contracts/gateway';
import { startHarness, type Harness } from '../gateway/helpers/harness';
import type { CrashSpec } from './crash-child';

const KILLS = Number(process.env.OUTBOX_CRASH_KILLS ?? 60);
const DEBUG_EXIT_EARLY = process.env.OUTBOX_CRASH_MAX_ROUNDS;
/** Enough images that the kills never run out of work. */
const IMAGES = Math.max(48, Math.ceil(KILLS * 1.4));
const CHILD_TS = fileURLToPath(new URL('./crash-child.ts', import.meta.url));
/** The child is bundled once with esbuild (packages stay external), so each restart costs a plain `node` start. */
const CHILD = fileURLToPath(new URL(`../../node_modules/.cache/clinicpro-tests/crash-child-${process.pid}.mjs`, import.meta.url));
const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

let h: Harness;
let url: string;
let work: string;

beforeAll(async () => {
  h = await startHarness();
  url = await h.app.listen({ host: '127.0.0.1', port: 0 });
  work = mkdtempSync(join(tmpdir(), 'cpi-crash-'));
  await build({ entryPoints: [CHILD_TS], bundle: true, platform: 'node', format: 'esm', packages: 'external', outfile: CHILD, logLevel: 'error' });
}, 60_000);
afterAll(async () => {
  await h?.close();
  rmSync(CHILD, { force: true });
});

/** A real JPEG of random noise (~100–200 kB, so writes take long enough to be interrupted), different each time. */
async function noiseJpeg(w: number, hgt: number): Promise<Buffer> {
  return sharp(randomBytes(w * hgt * 3), { raw: { width: w, height: hgt, channels: 3 } })
    .jpeg({ quality: 80 })
    .toBuffer();
}
async function noiseTiff(): Promise<Buffer> {
  return sharp(randomBytes(160 * 120 * 3), { raw: { width: 160, height: 120, channels: 3 } })
    .tiff({ compression: 'lzw' })
    .toBuffer();
}

interface RunResult {
  lines: string[];
  killed: boolean;
  code: number | null;
  stderr: string;
  phaseAtKill: { ingest: boolean; commit: boolean };
}

/** Runs the child; when `killAfter` is set, SIGKILLs it `delayMs` after its `killAfter`-th output line. */
function runChild(todoCount: number, killAfter: number | null, delayMs: number): Promise<RunResult> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CHILD, work, url], { stdio: ['ignore', 'pipe', 'pipe'] });
    const lines: string[] = [];
    let stderr = '';
    let killed = false;
    const sending = new Set<string>();
    let acks = 0;
    const phaseAtKill = { ingest: false, commit: false };
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    createInterface({ input: child.stdout }).on('line', (line) => {
      lines.push(line);
      const [kind, id] = line.split(' ');
      if (kind === 'ACK') acks++;
      if (kind === 'SENDING' && id) sending.add(id);
      if ((kind === 'COMMITTED' || kind === 'WAITING' || kind === 'FAILED') && id) sending.delete(id);
      if (killAfter !== null && lines.length === killAfter) {
        setTimeout(() => {
          phaseAtKill.ingest = acks < todoCount;
          phaseAtKill.commit = sending.size > 0;
          killed = child.kill('SIGKILL');
        }, delayMs);
      }
    });
    // A run that never finishes is a failure, not a hang: stop it after 2 minutes.
    const guard = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.on('close', (code) => {
      clearTimeout(guard);
      resolve({ lines, killed, code, stderr, phaseAtKill });
    });
  });
}

describe('outbox kill -9 against the real gateway and ALEX sandbox', () => {
  it(`SIGKILL at ${KILLS} random points in ingest and commit: nothing acknowledged is lost, duplicated, altered or misfiled`, async () => {
    const device: EnrolResponse = await h.enrol();
    writeFileSync(join(work, 'device.json'), JSON.stringify({ deviceId: device.deviceId, deviceSecret: device.deviceSecret }));
    const grants: LaunchGrant[] = [await h.launch(device, 'ZZZ0016'), await h.launch(device, 'ZZZ0024')];
    expect(grants[0]?.patient.id).not.toBe(grants[1]?.patient.id);

    // Two patients interleaved; every third image also goes as an Inbox Scan TIFF.
    mkdirSync(join(work, 'src'));
    const specs: CrashSpec[] = [];
    const expected = new Map<string, { patientId: string; media: string; document?: string }>();
    for (let i = 0; i < IMAGES; i++) {
      const g = grants[i % 2]!;
      const imageId = randomUUID();
      const jpg = await noiseJpeg(400 + (i % 5) * 40, 300);
      const mediaFile = join(work, 'src', `${imageId}.jpg`);
      writeFileSync(mediaFile, jpg);
      const spec: CrashSpec = { imageId, patient: g.patient, grantId: g.grantId, facilityId: g.facilityId, mediaFile };
      const e: { patientId: string; media: string; document?: string } = { patientId: g.patient.id, media: sha(jpg) };
      if (i % 3 === 0) {
        const tif = await noiseTiff();
        spec.documentFile = join(work, 'src', `${imageId}.tif`);
        writeFileSync(spec.documentFile, tif);
        e.document = sha(tif);
      }
      specs.push(spec);
      expected.set(imageId, e);
    }

    const acked = new Set<string>();
    let kills = 0;
    let ingestKills = 0;
    let commitKills = 0;
    let staleSeen = 0;
    const failures: string[] = [];
    const waitingCodes: Record<string, number> = {};
    const tally = (line: string): void => {
      const [kind, , code] = line.split(' ');
      if (kind === 'WAITING' && code) waitingCodes[code] = (waitingCodes[code] ?? 0) + 1;
    };
    for (let round = 0; kills < KILLS && round < (DEBUG_EXIT_EARLY ? Number(DEBUG_EXIT_EARLY) : KILLS * 4); round++) {
      const todo = specs.filter((s) => !acked.has(s.imageId));
      writeFileSync(join(work, 'todo.json'), JSON.stringify(todo));
      // Kill after 2..7 lines (line 1 is STALE), then 0–12 ms later: lands in writes, fsyncs, renames, posts.
      const r = await runChild(todo.length, 2 + Math.floor(Math.random() * 6), Math.floor(Math.random() * 13));
      for (const line of r.lines) {
        tally(line);
        const [kind, id, code] = line.split(' ');
        if (kind === 'ACK' && id) acked.add(id);
        if (kind === 'STALE') staleSeen += Number(id);
        if (kind === 'FAILED') failures.push(`${id} ${code}`);
      }
      if (r.killed) {
        kills++;
        if (r.phaseAtKill.ingest) ingestKills++;
        if (r.phaseAtKill.commit) commitKills++;
      } else {
        expect(r.code, r.stderr).toBe(0);
        if (r.lines.includes('DONE') && acked.size === IMAGES) break;
      }
    }

    // Final run without a kill: everything left goes out.
    writeFileSync(join(work, 'todo.json'), JSON.stringify(specs.filter((s) => !acked.has(s.imageId))));
    const last = await runChild(IMAGES - acked.size, null, 0);
    expect(last.code, last.stderr).toBe(0);
    expect(last.lines).toContain('DONE');
    for (const line of last.lines) {
      tally(line);
      const [kind, id, code] = line.split(' ');
      if (kind === 'ACK' && id) acked.add(id);
      if (kind === 'FAILED') failures.push(`${id} ${code}`);
    }

    // At the sandbox (what reached "Medtech").
    let lost = 0;
    let mismatches = 0;
    let duplicates = 0;
    let misfiled = 0;
    for (const [imageId, e] of expected) {
      const media = h.sandbox.store.listMedia({ identifierValue: imageId });
      const docs = h.sandbox.store.listDocumentReferences({ identifierValue: imageId });
      if (acked.has(imageId) && (media.length === 0 || (e.document && docs.length === 0))) lost++;
      duplicates += Math.max(0, media.length - 1) + Math.max(0, docs.length - 1);
      if (!e.document && docs.length > 0) duplicates++;
      for (const m of media) {
        if (sha(m.bytes) !== e.media) mismatches++;
        if (m.patientId !== e.patientId) misfiled++;
      }
      for (const d of docs) {
        if (sha(d.bytes) !== e.document) mismatches++;
        if (d.patientId !== e.patientId) misfiled++;
      }
    }
    const payloadsLeft = readdirSync(join(work, 'outbox', 'payloads'));
    const summary = { kills, ingestKills, commitKills, staleTempFilesCleanedAtRestart: staleSeen, acked: acked.size, lost, mismatches, duplicates, misfiled, failures: failures.length, payloadsLeft: payloadsLeft.length, waitingCodes };
    console.log('outbox crash test:', JSON.stringify(summary));

    expect(kills).toBeGreaterThanOrEqual(Math.min(KILLS, 50));
    expect(ingestKills).toBeGreaterThanOrEqual(5);
    expect(commitKills).toBeGreaterThanOrEqual(5);
    expect(acked.size).toBe(IMAGES);
    expect({ lost, mismatches, duplicates, misfiled }).toEqual({ lost: 0, mismatches: 0, duplicates: 0, misfiled: 0 });
    expect(failures).toEqual([]);
    expect(payloadsLeft).toEqual([]); // no temp files, and every committed image wiped
    // No patient data at rest in the database or in the companion's log (H1).
    const db = readFileSync(join(work, 'outbox', 'outbox.db')).toString('latin1');
    const log = readFileSync(join(work, 'child.log'), 'utf8');
    for (const g of grants) {
      for (const secret of [g.patient.familyName, g.patient.givenName, g.patient.nhi, g.patient.id, g.grantId]) {
        expect(db).not.toContain(secret);
        expect(log).not.toContain(secret);
      }
    }
  }, 600_000);
});
