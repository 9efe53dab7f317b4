/**
 * kill -9 of the gateway mid-commit (CHECKS G3): the sandbox runs as its own process (so it outlives
 * the gateway) and holds the create long enough for the gateway to be killed while waiting on ALEX.
 * The restarted gateway refuses the companion's retry (409) while the dead process's lease lasts, then
 * takes over: the create's send time was saved before it went out, so it looks with ALEX's documented
 * search (found → done; not found → 409 "outcome unknown" until ALEX_MAX_PROCESSING_SECONDS, set to its
 * minimum of 30 s here, then sent again) and ends with exactly one Media. The lease is real time across processes (IDEMPOTENCY_LEASE_SECONDS=5, the minimum),
 * so this test polls until it ends; it asserts no durations.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CommitResponse, EnrolResponse, LaunchGrant } from '../../shared/contracts/gateway';
import { makeAttachments } from '../../gateway/src/sandbox/test-support';
import { freePort } from './helpers/redis-server';

const ROOT = join(import.meta.dirname, '..', '..');
const procs: ChildProcess[] = [];

function start(script: string, env: Record<string, string>, ready: RegExp): Promise<{ proc: ChildProcess; out: () => string }> {
  const proc = spawn(process.execPath, ['--import', 'tsx', script], { cwd: ROOT, env: { ...process.env, ...env } });
  procs.push(proc);
  let out = '';
  return new Promise((resolve, reject) => {
    proc.stdout?.on('data', (b: Buffer) => {
      out += b.toString();
      if (ready.test(out)) resolve({ proc, out: () => out });
    });
    proc.on('exit', (code) => reject(new Error(`${script} exited ${String(code)}: ${out.slice(-300)}`)));
  });
}

let dir: string;
afterAll(() => {
  for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('gateway killed mid-commit', () => {
  let sandboxUrl = '';
  let gatewayEnv: Record<string, string> = {};
  let base = '';

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gw-crash-'));
    const sandboxPort = await freePort();
    // Search lag 0: this test is about the kill, and its clock is real (the lag is tested in exactly-once.test.ts).
    const sb = await start('gateway/src/sandbox/cli.ts', { SANDBOX_PORT: String(sandboxPort), SANDBOX_LOG_LEVEL: 'warn', SANDBOX_SEARCH_LAG_SECONDS: '0' }, /state\s+http/);
    sandboxUrl = `http://127.0.0.1:${sandboxPort}`;
    const field = (name: string): string => new RegExp(`${name}\\s+(\\S+)`).exec(sb.out())?.[1] ?? '';
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    gatewayEnv = {
      GATEWAY_PORT: String(port),
      GATEWAY_DATA_DIR: dir,
      LOG_LEVEL: 'warn',
      ALEX_BASE_URL: field('FHIR base'),
      ALEX_TOKEN_URL: field('token URL'),
      ALEX_CLIENT_ID: field('client_id'),
      ALEX_CLIENT_SECRET: field('client_secret'),
      ALEX_SCOPE: field('scope'),
      IDEMPOTENCY_LEASE_SECONDS: '5',
      // Real time here: the shortest allowed wait before an empty search proves the create absent.
      ALEX_MAX_PROCESSING_SECONDS: '30',
      ALEX_UNCONFIRMED_AFTER_SECONDS: '60',
    };
  });

  const startGateway = () => start('gateway/src/server.ts', { ...gatewayEnv, LOG_LEVEL: 'info' }, /gateway listening/);
  const post = (url: string, body: unknown, headers: Record<string, string> = {}) =>
    fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
  const sandboxState = async () =>
    (await (await fetch(`${sandboxUrl}/_sandbox/state`)).json()) as {
      patients: { id: string; nhi: string }[];
      media: { identifier: { value: string } }[];
      counters: { faultsApplied: Record<string, number>; mediaCreated: number };
    };

  it('commits exactly once after a restart', async () => {
    let gw = await startGateway();
    const code = await new Promise<string>((resolve) => {
      const cli = spawn(process.execPath, ['--import', 'tsx', 'gateway/src/admin/cli.ts', 'enrol-code', '--facility', 'F2N060-E', '--practice', 'P'], { cwd: ROOT, env: { ...process.env, ...gatewayEnv } });
      let out = '';
      cli.stdout.on('data', (b: Buffer) => (out += b.toString()));
      cli.on('exit', () => resolve(out.trim()));
    });
    const device = (await (await post(`${base}/v1/devices/enrol`, { enrolmentCode: code, deviceName: 'Room 1' })).json()) as EnrolResponse;
    const auth = { authorization: `Device ${device.deviceId}.${device.deviceSecret}` };
    const patient = (await sandboxState()).patients.find((p) => p.nhi === 'ZZZ0016');
    const pair = await (await post(`${sandboxUrl}/_sandbox/launch`, { patientId: patient?.id, facilityCode: 'F2N060-E' })).json();
    const grant = (await (await post(`${base}/v1/launch/verify`, pair, auth)).json()) as LaunchGrant;

    // The create is held at ALEX and the gateway dies while waiting for it. Whether or not ALEX went on
    // to store it, the retry must end with exactly one Media.
    await post(`${sandboxUrl}/_sandbox/faults`, { kind: 'latency', latencyMs: 1500, method: 'POST', pathPrefix: '/FHIR/Media', times: 1 });
    const { jpeg } = await makeAttachments();
    const imageId = crypto.randomUUID();
    const body = { imageId, grantId: grant.grantId, patientId: grant.patient.id, capturedAt: new Date().toISOString(), metadata: {}, media: { contentType: 'image/jpeg', data: jpeg.toString('base64') } };
    const headers = { ...auth, 'idempotency-key': imageId };
    const lost = post(`${base}/v1/commits`, body, headers).then(
      () => 'answered',
      () => 'connection lost',
    );
    while (((await sandboxState()).counters.faultsApplied.latency ?? 0) < 1) await new Promise((r) => setImmediate(r));
    const killed = new Promise((r) => gw.proc.on('exit', r));
    gw.proc.kill('SIGKILL');
    await killed;
    expect(await lost).toBe('connection lost');

    gw = await startGateway();
    const statuses: number[] = [];
    let final: Response;
    for (;;) {
      final = await post(`${base}/v1/commits`, body, headers);
      statuses.push(final.status);
      if (final.status !== 409) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    expect(statuses[0]).toBe(409);
    expect(final.status).toBe(201);
    const out = (await final.json()) as CommitResponse;
    const stored = (await sandboxState()).media.filter((m) => m.identifier.value === imageId);
    expect(stored).toHaveLength(1);
    expect(out.media?.id).toBe((stored[0] as unknown as { id: string }).id);
    expect((await sandboxState()).counters.mediaCreated).toBe(1);
    gw.proc.kill('SIGTERM');
  }, 120_000);
});
