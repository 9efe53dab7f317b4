/**
 * The production bundle on the embedded store (no REDIS_URL): `npm run gateway:build` output run with
 * plain `node`, no TypeScript loader, as the Dockerfile and the systemd unit run it. The admin CLI issues
 * a code, the server enrols a device with it while this test holds the SQLite write lock (the write waits
 * for it, as it would for the CLI's), reports ready, stops on SIGTERM, and the CLI reads the device.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EnrolResponse } from '../../shared/contracts/gateway';
import { buildGatewayBundle } from '../../gateway/deploy/build';
import { freePort } from '../gateway/helpers/redis-server';

const ROOT = join(import.meta.dirname, '..', '..');

let out: string;
let dataDir: string;
let env: Record<string, string>;
let server: ChildProcess | null = null;

function run(entry: string, args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(out, entry), ...args], { cwd: ROOT, env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

beforeAll(async () => {
  // Its own output folder (under the repository, so the external npm packages resolve), not dist/gateway,
  // which two-gateways.test.ts builds at the same time.
  mkdirSync(join(ROOT, 'dist'), { recursive: true });
  out = mkdtempSync(join(ROOT, 'dist', 'ship-bundle-'));
  await buildGatewayBundle(out);
  dataDir = mkdtempSync(join(tmpdir(), 'ship-bundle-data-'));
  // Only what the gateway needs: no NODE_OPTIONS, so no TypeScript loader can help the bundle.
  env = { PATH: process.env.PATH ?? '/usr/bin:/bin', GATEWAY_DATA_DIR: dataDir, GATEWAY_HOST: '127.0.0.1', LOG_LEVEL: 'info', METRICS_HOST: '127.0.0.1', METRICS_PORT: '0' };
});
afterAll(() => {
  if (server && server.exitCode === null && server.signalCode === null) server.kill('SIGKILL');
  if (out) rmSync(out, { recursive: true, force: true });
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

describe('production bundle on the embedded store', () => {
  it('emits the server and the CLI, free of any TypeScript loader', () => {
    for (const file of ['server.mjs', 'admin.mjs']) {
      expect(existsSync(join(out, file)), file).toBe(true);
      expect(readFileSync(join(out, file), 'utf8')).not.toMatch(/tsx/);
    }
  });

  it('the CLI issues a code; the server enrols with it once the lock held meanwhile is let go; the CLI lists the device', async () => {
    const issued = await run('admin.mjs', ['enrol-code', '--facility', 'F2N060-E', '--practice', 'Kauri Health']);
    expect(issued.code, issued.stderr).toBe(0);
    const code = issued.stdout.trim();
    expect(code).toMatch(/^[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4}$/);

    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    let log = '';
    server = spawn(process.execPath, ['--enable-source-maps', join(out, 'server.mjs')], { cwd: ROOT, env: { ...env, GATEWAY_PORT: String(port) } });
    const stopped = new Promise<number | null>((resolve) => server?.once('exit', resolve));
    await new Promise<void>((resolve, reject) => {
      server?.stdout?.on('data', (d: Buffer) => {
        log += d.toString();
        if (log.includes('gateway listening')) resolve();
      });
      server?.stderr?.on('data', (d: Buffer) => (log += d.toString()));
      void stopped.then((c) => reject(new Error(`server exited ${String(c)}: ${log.slice(-600)}`)));
    });
    expect(log).toContain('"store":"sqlite"');

    // The lock taken: the server's write waits for it (busy timeout 5 s); it is let go after 300 ms.
    const holder = new Database(join(dataDir, 'gateway.sqlite'));
    holder.exec('BEGIN IMMEDIATE');
    const letGo = setTimeout(() => holder.exec('ROLLBACK'), 300);
    let enrolled: Response;
    const sent = Date.now();
    try {
      enrolled = await fetch(`${base}/v1/devices/enrol`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ enrolmentCode: code, deviceName: 'Room 1' }) });
    } finally {
      clearTimeout(letGo);
      if (holder.inTransaction) holder.exec('ROLLBACK');
      holder.close();
    }
    expect(enrolled.status, log.slice(-600)).toBe(201);
    // Answered only once the lock was let go: the write waited for it.
    expect(Date.now() - sent).toBeGreaterThanOrEqual(290);
    const device = (await enrolled.json()) as EnrolResponse;
    expect((await fetch(`${base}/readyz`)).status).toBe(200);

    server.kill('SIGTERM');
    expect(await stopped).toBe(0);
    const listed = await run('admin.mjs', ['devices', 'list']);
    expect(listed.code, listed.stderr).toBe(0);
    expect(listed.stdout).toContain(device.deviceId);
  });
});
