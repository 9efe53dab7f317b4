/**
 * D3 through the companion core: disk full (a 24 MB tmpfs in a private mount namespace, `unshare -m`) and
 * fsync failing with EIO (`fiu-run -x`, Debian fiu-utils) while the GP adds a photo and commits another, and a
 * nurse's phone sends one over the LAN (real LAN server).
 * The probe (storage-probe.ts) runs the real companion against the real gateway + ALEX sandbox here.
 * Bars: the failed add answers a clear coded error (ERR_STORAGE_FULL / ERR_STORAGE_IO), nothing half-added; the
 * phone is told the same (never 200) and its resend after the fault is taken once;
 * after the fault is gone and the companion restarts, the earlier photo is restored intact (no "damaged"
 * notice), everything commits exactly once to the right patient, and no working files are left.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FACILITY, startWorld, type World } from './helpers/world';

const root = fileURLToPath(new URL('../..', import.meta.url));
const canUnshare = spawnSync('unshare', ['-m', 'true']).status === 0;
const hasFiu = spawnSync('fiu-run', ['-x', 'true']).status === 0;
if (!canUnshare) console.warn('disk-full check skipped: `unshare -m` is not permitted here.');
if (!hasFiu) console.warn('fsync-failure check skipped: fiu-run (Debian fiu-utils) is not installed.');

let w: World;
beforeAll(async () => {
  w = await startWorld();
});
afterAll(async () => {
  await w?.close();
});

interface ProbeResult {
  idA: string;
  addB: { ok: boolean; code?: string; rejected?: string[] };
  commitA: { queued: number; skipped: string[]; code?: string };
  duringImages: { status: string; code: string | null }[];
  phoneHeld: number;
  phoneDuring: { status: number; code?: string; mentionsRoot: boolean };
  phoneAfter: { status: number; code?: string; mentionsRoot: boolean };
  restored: { id: string; status: string }[];
  restoredNotices: string[];
  final: { id: string; status: string; code: string | null }[];
  imagesLeft: string[];
  logHasPath: boolean;
}

/** Async spawn: the gateway the probe talks to runs in THIS process, so the event loop must keep turning. */
function run(cmd: string, args: string[]): Promise<{ stdout: string; stderr: string; status: number | null }> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const guard = setTimeout(() => child.kill('SIGKILL'), 180_000);
    child.on('close', (status) => {
      clearTimeout(guard);
      resolve({ stdout, stderr, status });
    });
  });
}

async function runProbe(mode: 'full' | 'fsync', code: string): Promise<{ result: ProbeResult; stderr: string; status: number | null }> {
  const nhiPatient = w.patient('ZZZ0024').id;
  const args = (dir: string) => ['test/hard/storage-probe.ts', mode, dir, w.gatewayDirectUrl, w.sandbox.url, code, nhiPatient];
  let r;
  if (mode === 'full') {
    const mountPoint = `/tmp/hard-full-${process.pid}`;
    const script = `mkdir -p ${mountPoint} && mount -t tmpfs -o size=24m tmpfs ${mountPoint} && exec node_modules/.bin/tsx ${args(mountPoint).join(' ')}`;
    r = await run('unshare', ['-m', 'sh', '-c', script]);
    spawnSync('rmdir', [mountPoint]);
  } else {
    const dir = mkdtempSync(join(tmpdir(), 'hard-fsync-'));
    r = await run('fiu-run', ['-x', 'node_modules/.bin/tsx', ...args(dir)]);
    rmSync(dir, { recursive: true, force: true });
  }
  const last = r.stdout.trim().split('\n').pop() ?? '{}';
  return { result: JSON.parse(last.startsWith('{') ? last : '{}') as ProbeResult, stderr: r.stderr, status: r.status };
}

function checkOutcome(mode: 'full' | 'fsync', r: ProbeResult, expectedCode: string): void {
  console.log(`hard storage ${mode}:`, JSON.stringify({ addB: r.addB, commitA: r.commitA, phone: [r.phoneDuring, r.phoneAfter], during: r.duringImages, restored: r.restored.length, restoredNotices: r.restoredNotices, final: r.final.map((f) => f.status) }));
  // The add during the fault: a clear coded error, nothing acknowledged.
  const codes = [r.addB.code, ...(r.addB.rejected ?? [])].filter(Boolean);
  expect(r.addB.ok).toBe(false);
  expect(codes).toContain(expectedCode);
  expect(r.phoneHeld).toBe(200); // the phone numbered its photo before the fault
  // The phone's photo during the fault: the same code, in an answer that names no path; its resend afterwards is taken.
  expect(r.phoneDuring).toEqual({ status: expectedCode === 'ERR_STORAGE_FULL' ? 507 : 500, code: expectedCode, mentionsRoot: false });
  expect(r.phoneAfter).toEqual({ status: 200, code: undefined, mentionsRoot: false });
  expect(r.duringImages).toHaveLength(1); // only A: neither B nor the phone's photo half-exists on the desktop
  // Restart: A is back intact (no damaged-draft notice), B never half-exists.
  expect(r.restored.map((i) => i.id)).toContain(r.idA);
  expect(r.restoredNotices.filter((n) => /corrupt|damaged|unreadable/i.test(n))).toEqual([]);
  expect(r.final.every((i) => i.status === 'committed')).toBe(true);
  expect(r.final.length).toBe(2); // A and the phone's photo (B was refused above)
  expect(r.imagesLeft).toEqual([]);
  expect(r.logHasPath).toBe(false);
  // At ALEX: every image of this probe exactly once, on ZZZ0024.
  for (const img of r.final) {
    const media = w.sandbox.store.listMedia({ identifierValue: img.id });
    expect(media).toHaveLength(1);
    expect(media[0]?.patientId).toBe(w.patient('ZZZ0024').id);
    expect(w.sandbox.store.listDocumentReferences({ identifierValue: img.id })).toHaveLength(1);
  }
}

describe('storage faults through the companion core (D3)', () => {
  it.skipIf(!canUnshare)('disk full: ERR_STORAGE_FULL, nothing half-saved, everything commits once after space is back and a restart', async () => {
    const { code } = await w.devices.issueEnrolmentCode(FACILITY, 'Test Practice', 1);
    const { result, stderr, status } = await runProbe('full', code);
    expect(status, stderr).toBe(0);
    checkOutcome('full', result, 'ERR_STORAGE_FULL');
  }, 240_000);

  it.skipIf(!hasFiu)('fsync fails with EIO: ERR_STORAGE_IO, nothing acknowledged, everything commits once after recovery and a restart', async () => {
    const { code } = await w.devices.issueEnrolmentCode(FACILITY, 'Test Practice', 1);
    const { result, stderr, status } = await runProbe('fsync', code);
    expect(status, stderr.slice(-2000)).toBe(0);
    checkOutcome('fsync', result, 'ERR_STORAGE_IO');
  }, 240_000);
});
