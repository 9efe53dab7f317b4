/**
 * D1 through the whole companion core: a child process (core-crash-child.ts) runs startCompanion — imaging,
 * sealed drafts, durable outbox, gateway client — launches for patients, adds real photos, tags and commits
 * them against the real gateway + ALEX sandbox on loopback. The test SIGKILLs it at random points (within the measured run time
 * after the core is up: during launch, ingest, draft sealing, rendering, enqueue and posting), restarts it, and
 * at the end lets it finish. At the sandbox, counted by identifier: every acknowledged photo exactly once, 0
 * duplicates, each on the patient it was added for (three patients interleaved); nothing left on the PC.
 * Size: HARD_SCALE=full → 200 kills; default 10.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CoreCrashTodo } from './core-crash-child';
import { scaled } from './helpers/scale';
import { FACILITY, startWorld, type World } from './helpers/world';

const KILLS = scaled(200, 10);
const CHILD_TS = fileURLToPath(new URL('./core-crash-child.ts', import.meta.url));
const CHILD = fileURLToPath(new URL(`../../node_modules/.cache/clinicpro-tests/core-crash-child-${process.pid}.mjs`, import.meta.url));
const NHIS = ['ZZZ0016', 'ZZZ0024', 'ZZZ0032'];

let w: World;
let work: string;

beforeAll(async () => {
  w = await startWorld();
  work = mkdtempSync(join(tmpdir(), 'hard-core-crash-'));
  await build({ entryPoints: [CHILD_TS], bundle: true, platform: 'node', format: 'esm', packages: 'external', outfile: CHILD, logLevel: 'error' });
}, 120_000);
afterAll(async () => {
  await w?.close();
  rmSync(CHILD, { force: true });
  if (work) rmSync(work, { recursive: true, force: true });
});

interface Run {
  lines: string[];
  killed: boolean;
  code: number | null;
  stderr: string;
  /** ms from READY to exit (null when READY never came). */
  activeMs: number | null;
}

/** When to kill: `afterMs` after the first output line starting with `on` (null: never). */
type KillPlan = { on: 'READY' | 'ADDING' | 'QUEUED'; afterMs: number } | null;

function runChild(plan: KillPlan | number | null): Promise<Run> {
  const kill: KillPlan = typeof plan === 'number' ? { on: 'READY', afterMs: plan } : plan;
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CHILD, work, w.gatewayDirectUrl, w.sandbox.url], { stdio: ['ignore', 'pipe', 'pipe'] });
    const lines: string[] = [];
    let stderr = '';
    let killed = false;
    let readyAt: number | null = null;
    let armed = false;
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    createInterface({ input: child.stdout }).on('line', (line) => {
      lines.push(line);
      if (line.startsWith('READY')) readyAt = performance.now();
      if (kill !== null && !armed && line.startsWith(kill.on)) {
        armed = true;
        setTimeout(() => {
          if (child.exitCode === null) killed = child.kill('SIGKILL');
        }, kill.afterMs);
      }
    });
    const guard = setTimeout(() => child.kill('SIGKILL'), 180_000); // a hang is a failure, not a wait
    child.on('close', (code) => {
      clearTimeout(guard);
      resolve({ lines, killed, code, stderr, activeMs: readyAt === null ? null : performance.now() - readyAt });
    });
  });
}

describe('companion core kill -9', () => {
  it(`SIGKILL at ${KILLS} random points across launch, ingest, outbox and commit: nothing acknowledged lost, nothing duplicated or misfiled`, async () => {
    const { code } = await w.devices.issueEnrolmentCode(FACILITY, 'Test Practice', 72);
    writeFileSync(join(work, 'enrol-code.txt'), code);
    mkdirSync(join(work, 'src'));
    const patientOf = new Map<string, string>(); // key → sandbox patient id
    const keys: string[] = [];
    const newKey = async (): Promise<CoreCrashTodo> => {
      const key = `k${String(keys.length).padStart(4, '0')}`;
      const patientId = w.patient(NHIS[keys.length % NHIS.length] as string).id;
      keys.push(key);
      patientOf.set(key, patientId);
      const file = join(work, 'src', `${key}.jpg`);
      // Noise photos (~0.3 MB) so ingest, sealing and rendering take long enough to be interrupted.
      writeFileSync(file, await sharp(randomBytes(640 * 480 * 3), { raw: { width: 640, height: 480, channels: 3 } }).jpeg({ quality: 85 }).toBuffer());
      return { key, patientId, file };
    };

    // First run: enrol, no kill.
    const first = await runChild(null);
    expect(first.code, first.stderr).toBe(0);

    const keyOfId = new Map<string, string>();
    const acked = new Set<string>(); // image ids acknowledged to the GP (added = durable)
    const pending: CoreCrashTodo[] = [];
    const failures: string[] = [];
    let kills = 0;
    const phases = { ingest: 0, queuedNotCommitted: 0, other: 0 };
    const absorb = (r: Run): void => {
      const adding = new Set<string>();
      const queued = new Set<string>();
      for (const line of r.lines) {
        const [kind, a, b] = line.split(' ');
        if (kind === 'KNOWN' && a && b) keyOfId.set(a, b.replace(/\.jpg$/, ''));
        if (kind === 'ADDING' && a) adding.add(a);
        if (kind === 'ADDED' && a && b) {
          adding.delete(a);
          keyOfId.set(b, a);
          acked.add(b);
        }
        if (kind === 'QUEUED' && a) queued.add(a);
        if (kind === 'COMMITTED' && a) queued.delete(a);
        if (kind === 'FAILED') failures.push(`${a} ${b}`);
      }
      if (r.killed) {
        kills++;
        if (adding.size > 0) phases.ingest++;
        else if (queued.size > 0) phases.queuedNotCommitted++;
        else phases.other++;
      } else {
        expect(r.code, r.stderr).toBe(0);
      }
    };
    // Kill points fall inside the time a run really works: measured from runs that finished unkilled
    // (a fixed window lets fast machines finish before the kill and the test stops killing).
    let killWindowMs = 1_500;
    for (let round = 0; kills < KILLS && round < KILLS * 3; round++) {
      // Keys whose photo the core does not hold yet (a kill before the draft was sealed loses nothing acknowledged).
      const known = new Set(keyOfId.values());
      const todo = pending.filter((t) => !known.has(t.key));
      while (todo.length < 2) todo.push(await newKey());
      pending.splice(0, pending.length, ...todo);
      writeFileSync(join(work, 'todo.json'), JSON.stringify(todo));
      // Every third kill is aimed into ingest (just after ADDING) and every third just after a commit was
      // queued, so each phase is hit whatever the machine's speed; the rest fall anywhere in the run.
      const aim = round % 3;
      const run = await runChild(
        aim === 0 ? { on: 'ADDING', afterMs: Math.floor(Math.random() * 40) } : aim === 1 ? { on: 'QUEUED', afterMs: Math.floor(Math.random() * 40) } : Math.floor(Math.random() * killWindowMs),
      );
      absorb(run);
      if (!run.killed && run.activeMs !== null) killWindowMs = Math.max(100, run.activeMs * 0.9);
    }
    // Final run: no kill, everything goes out.
    const known = new Set(keyOfId.values());
    writeFileSync(join(work, 'todo.json'), JSON.stringify(pending.filter((t) => !known.has(t.key))));
    const last = await runChild(null);
    absorb(last);
    expect(last.lines).toContain('DONE');

    // At the sandbox.
    const all = w.sandbox.store.listMedia({ facilityId: FACILITY });
    const byIdentifier = new Map<string, number>();
    for (const m of all) byIdentifier.set(m.identifier.value, (byIdentifier.get(m.identifier.value) ?? 0) + 1);
    const duplicates = [...byIdentifier.values()].reduce((a, n) => a + Math.max(0, n - 1), 0);
    const unknown = all.filter((m) => !keyOfId.has(m.identifier.value)).length;
    const misfiled = all.filter((m) => keyOfId.has(m.identifier.value) && patientOf.get(keyOfId.get(m.identifier.value) as string) !== m.patientId).length;
    const lostAcked = [...acked].filter((id) => !byIdentifier.has(id)).length;
    const committedKeys = new Set(all.map((m) => keyOfId.get(m.identifier.value)));
    const keysNeverCommitted = keys.filter((k) => !committedKeys.has(k)).length;
    const imagesLeft = readdirSync(join(work, 'data', 'images'));
    const payloadsLeft = readdirSync(join(work, 'data', 'outbox', 'payloads'));
    const summary = { kills, phases, photos: keys.length, acked: acked.size, resources: all.length, lostAcked, keysNeverCommitted, duplicates, unknown, misfiled, failures: failures.length, imagesLeft: imagesLeft.length, payloadsLeft: payloadsLeft.length };
    console.log('hard core-crash:', JSON.stringify(summary));

    expect(kills).toBeGreaterThanOrEqual(KILLS);
    expect(phases.ingest).toBeGreaterThan(0);
    expect(phases.queuedNotCommitted).toBeGreaterThan(0);
    expect({ lostAcked, keysNeverCommitted, duplicates, unknown, misfiled }).toEqual({ lostAcked: 0, keysNeverCommitted: 0, duplicates: 0, unknown: 0, misfiled: 0 });
    expect(failures).toEqual([]);
    expect(imagesLeft).toEqual([]);
    expect(payloadsLeft).toEqual([]);
    const log = readFileSync(join(work, 'child.log'), 'utf8');
    for (const nhi of NHIS) {
      const p = w.patient(nhi);
      for (const secret of [nhi, p.id]) expect(log).not.toContain(secret);
    }
    for (const name of ['Aroha', 'Wiremu', 'Mere', 'Testpatient']) expect(log).not.toContain(name);
  }, 1_800_000);
});
