/**
 * The real server and admin CLI as processes (npm run gateway / gateway:admin): bad config exits
 * non-zero naming the variable; the CLI and the server share the embedded store; SIGTERM lets an
 * in-flight commit finish before the process exits 0.
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
const TSX = ['--import', 'tsx'];

interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(script: string, args: string[], env: Record<string, string>): Promise<Ran> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [...TSX, script, ...args], { cwd: ROOT, env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

let dir: string;
let server: ChildProcess | null = null;
let serverOut = '';
let base = '';
let sandboxUrl = '';
let env: Record<string, string>;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'gw-proc-'));
  const port = await freePort();
  env = { GATEWAY_DATA_DIR: dir, GATEWAY_PORT: String(port), GATEWAY_HOST: '127.0.0.1', LOG_LEVEL: 'info' };
  base = `http://127.0.0.1:${port}`;
});
afterAll(() => {
  if (server && server.exitCode === null) server.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

function startServer(): Promise<void> {
  serverOut = '';
  server = spawn(process.execPath, [...TSX, 'gateway/src/server.ts'], { cwd: ROOT, env: { ...process.env, ...env } });
  return new Promise((resolve, reject) => {
    server?.stdout?.on('data', (b: Buffer) => {
      serverOut += b.toString();
      const m = /"sandboxUrl":"(http:\/\/127\.0\.0\.1:\d+)"/.exec(serverOut);
      if (m?.[1]) sandboxUrl = m[1];
      if (serverOut.includes('gateway listening')) resolve();
    });
    server?.on('exit', (code) => reject(new Error(`server exited ${String(code)}: ${serverOut.slice(-400)}`)));
  });
}

const admin = (...args: string[]) => run('gateway/src/admin/cli.ts', args, env);
const post = (url: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });

describe('gateway process', () => {
  it('exits 78 naming the variable on bad configuration', async () => {
    const r = await run('gateway/src/server.ts', [], { ...env, GATEWAY_PORT: 'eighty' });
    expect(r.code).toBe(78);
    expect(r.stderr).toContain('GATEWAY_PORT');
    const r2 = await run('gateway/src/server.ts', [], { ...env, ALEX_CLIENT_SECRET: 'canary-secret-value' });
    expect(r2.code).toBe(78);
    expect(r2.stderr).toContain('ALEX_BASE_URL');
    expect(r2.stderr).not.toContain('canary-secret-value');
  });

  it('shares its store with the admin CLI and finishes an in-flight commit on SIGTERM', async () => {
    await startServer();
    expect(serverOut).toContain('in-process ALEX sandbox');
    const code = (await admin('enrol-code', '--facility', 'F2N060-E', '--practice', 'Kauri Health')).stdout.trim();
    expect(code).toMatch(/^[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4}$/);
    const device = (await (await post(`${base}/v1/devices/enrol`, { enrolmentCode: code, deviceName: 'Room 1' })).json()) as EnrolResponse;
    const auth = { authorization: `Device ${device.deviceId}.${device.deviceSecret}` };
    expect((await admin('devices', 'list')).stdout).toContain(device.deviceId);

    const state = (await (await fetch(`${sandboxUrl}/_sandbox/state`)).json()) as { patients: { id: string; nhi: string }[] };
    const patient = state.patients.find((p) => p.nhi === 'ZZZ0016');
    const pair = await (await post(`${sandboxUrl}/_sandbox/launch`, { patientId: patient?.id, facilityCode: 'F2N060-E' })).json();
    const grantRes = await post(`${base}/v1/launch/verify`, pair, auth);
    expect(grantRes.status).toBe(200);
    const grant = (await grantRes.json()) as LaunchGrant;

    // Hold the create at the sandbox, send SIGTERM while it is in flight.
    await post(`${sandboxUrl}/_sandbox/faults`, { kind: 'latency', latencyMs: 1500, method: 'POST', pathPrefix: '/FHIR/Media', times: 1 });
    const { jpeg } = await makeAttachments();
    const imageId = crypto.randomUUID();
    const body = { imageId, grantId: grant.grantId, patientId: grant.patient.id, capturedAt: new Date().toISOString(), metadata: {}, media: { contentType: 'image/jpeg', data: jpeg.toString('base64') } };
    const inFlight = post(`${base}/v1/commits`, body, { ...auth, 'idempotency-key': imageId });
    for (;;) {
      const s = (await (await fetch(`${sandboxUrl}/_sandbox/state`)).json()) as { counters: { faultsApplied: Record<string, number> } };
      if ((s.counters.faultsApplied.latency ?? 0) >= 1) break;
      await new Promise((r) => setImmediate(r));
    }
    const exited = new Promise<number | null>((resolve) => server?.on('exit', (c) => resolve(c)));
    server?.kill('SIGTERM');
    const res = await inFlight;
    expect(res.status).toBe(201);
    expect(((await res.json()) as CommitResponse).media?.resourceType).toBe('Media');
    expect(await exited).toBe(0);
    expect(serverOut).toContain('gateway stopped');
    await expect(fetch(`${base}/healthz`)).rejects.toThrow();

    // The CLI reads what the server wrote; revocation is seen by the next server.
    const audit = await admin('audit', '--device', device.deviceId);
    expect(audit.stdout).toMatch(/device\.enrol\s+enrolled/);
    expect(audit.stdout).toMatch(/launch\.verify\s+granted/);
    expect(audit.stdout).toMatch(new RegExp(`commit\\s+committed.*image ${imageId}`));
    expect(audit.stdout).not.toContain(patient?.id ?? 'x');
    expect((await admin('devices', 'revoke', device.deviceId)).code).toBe(0);
    await startServer();
    const me = await fetch(`${base}/v1/devices/me`, { headers: auth });
    expect(me.status).toBe(401);
    expect(((await me.json()) as { error: { code: string } }).error.code).toBe('ERR_AUTH_DEVICE_REVOKED');
    const stopped = new Promise<number | null>((resolve) => server?.on('exit', (c) => resolve(c)));
    server?.kill('SIGINT');
    expect(await stopped).toBe(0);
  });
});
