/**
 * Prometheus metrics: the real gateway runtime (real ALEX sandbox over HTTP, real metrics listener on
 * loopback) is driven through enrolment, launch, commits, a replay, a refused body and an ALEX outage; a
 * scrape after each shows the counters a ClinicPro operator alerts on moving by exactly what happened.
 * Also: METRICS_* configuration errors, the listener serving nothing but /metrics, no patient data in it.
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CommitRequest, EnrolResponse, LaunchGrant } from '../../shared/contracts/gateway';
import { Auditor } from '../../gateway/src/audit';
import { DeviceService } from '../../gateway/src/auth/devices';
import { ConfigError, loadConfig } from '../../gateway/src/config';
import { cryptoRandom } from '../../gateway/src/deps';
import { ManualClock } from '../../gateway/src/deps.testkit';
import { createLogger } from '../../gateway/src/logger';
import { loadMetricsConfig } from '../../gateway/src/metrics/server';
import { createRuntime, type GatewayRuntime } from '../../gateway/src/runtime';
import { makeAttachments } from '../../gateway/src/sandbox/test-support';
import { SqliteStore } from '../../gateway/src/store/sqlite';
import { metricValue } from './helpers/prometheus';

const ROOT = join(import.meta.dirname, '..', '..');
const FACILITY = 'F2N060-E';
const OUTAGE_FACILITY = 'F99669-C';

let runtime: GatewayRuntime;
let logs: string[];
let scrapeUrl: string;
let jpeg: string;
const deviceIds: string[] = [];
const clock = new ManualClock(Date.now());

async function scrape(): Promise<string> {
  const res = await fetch(scrapeUrl);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  return res.text();
}

async function enrolAndLaunch(facility: string): Promise<{ device: EnrolResponse; grant: LaunchGrant; auth: string }> {
  const devices = new DeviceService(runtime.store, clock, cryptoRandom, runtime.config.rateLimit, new Auditor(runtime.store, clock, cryptoRandom));
  const { code } = await devices.issueEnrolmentCode(facility, 'Kauri Health', 72);
  const enrol = await runtime.app.inject({ method: 'POST', url: '/v1/devices/enrol', payload: { enrolmentCode: code, deviceName: 'Room 2' } });
  const device = enrol.json<EnrolResponse>();
  deviceIds.push(device.deviceId);
  const auth = `Device ${device.deviceId}.${device.deviceSecret}`;
  const sandbox = runtime.sandbox;
  const patient = sandbox?.patients.find((p) => p.nhi === 'ZZZ0016');
  const pair = sandbox?.issueLaunch({ patientId: patient?.id ?? '', facilityCode: facility });
  const launch = await runtime.app.inject({ method: 'POST', url: '/v1/launch/verify', headers: { authorization: auth }, payload: pair });
  expect(launch.statusCode).toBe(200);
  return { device, grant: launch.json<LaunchGrant>(), auth };
}

const commitBody = (grant: LaunchGrant): CommitRequest => ({
  imageId: randomUUID(),
  grantId: grant.grantId,
  patientId: grant.patient.id,
  capturedAt: new Date(clock.now()).toISOString(),
  metadata: { caption: 'Canary Testpatient wound' },
  media: { contentType: 'image/jpeg', data: jpeg },
});
const commit = (auth: string, body: unknown, key?: string) =>
  runtime.app.inject({ method: 'POST', url: '/v1/commits', headers: { authorization: auth, 'idempotency-key': key ?? (body as { imageId: string }).imageId }, payload: body as object });

beforeAll(async () => {
  logs = [];
  const sink = new Writable({
    write(chunk: Buffer, _e, cb) {
      logs.push(...chunk.toString().split('\n').filter(Boolean));
      cb();
    },
  });
  runtime = await createRuntime({
    config: loadConfig({ GATEWAY_DATA_DIR: '/nonexistent-not-used', RATE_LIMIT_DEVICE_BURST: '10000' }),
    logger: createLogger({ level: 'info', destination: sink }),
    clock,
    store: new SqliteStore(':memory:'),
    sandbox: { clock: () => clock.now(), sleep: async () => undefined, tokenThrottle: false },
    alexClient: { sleep: async () => undefined, timeoutMs: 2_000, breaker: { windowSize: 4, failureRatio: 0.5, openMs: 60_000 } },
    metrics: { enabled: true, host: '127.0.0.1', port: 0 },
  });
  expect(runtime.metricsUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  scrapeUrl = `${runtime.metricsUrl ?? ''}/metrics`;
  jpeg = (await makeAttachments()).jpeg.toString('base64');
});
afterAll(async () => {
  await runtime?.close();
});

describe('gateway metrics on their own port', () => {
  it('count commits, replays, ALEX calls by facility and the token refresh; the HTTP answers by route and status', async () => {
    const { grant, auth } = await enrolAndLaunch(FACILITY);
    const before = await scrape();
    expect(metricValue(before, 'clinicpro_gateway_alex_calls_total', { facility: FACILITY, operation: 'decodeLaunch', outcome: 'ok' })).toBe(1);
    expect(metricValue(before, 'clinicpro_gateway_alex_calls_total', { facility: FACILITY, operation: 'getPatient', outcome: 'ok' })).toBe(1);
    expect(metricValue(before, 'clinicpro_gateway_alex_token_requests_total')).toBe(1);
    expect(metricValue(before, 'clinicpro_gateway_commits_total', { outcome: 'committed', code: '' })).toBeUndefined();

    const first = commitBody(grant);
    expect((await commit(auth, first)).statusCode).toBe(201);
    expect((await commit(auth, commitBody(grant))).statusCode).toBe(201);
    expect((await commit(auth, first)).json<{ replayed: boolean }>().replayed).toBe(true);

    const after = await scrape();
    expect(metricValue(after, 'clinicpro_gateway_commits_total', { outcome: 'committed', code: '' })).toBe(2);
    expect(metricValue(after, 'clinicpro_gateway_commits_total', { outcome: 'replayed', code: '' })).toBe(1);
    expect(metricValue(after, 'clinicpro_gateway_idempotency_replays_total')).toBe(1);
    expect(metricValue(after, 'clinicpro_gateway_alex_calls_total', { facility: FACILITY, operation: 'createMedia', outcome: 'ok' })).toBe(2);
    expect(metricValue(after, 'clinicpro_gateway_alex_call_duration_seconds_count', { facility: FACILITY, operation: 'createMedia', outcome: 'ok' })).toBe(2);
    expect(metricValue(after, 'clinicpro_gateway_alex_call_duration_seconds_bucket', { facility: FACILITY, operation: 'createMedia', outcome: 'ok', le: '+Inf' })).toBe(2);
    expect(metricValue(after, 'clinicpro_gateway_alex_token_requests_total')).toBe(1); // cached, not refreshed per call
    expect(metricValue(after, 'clinicpro_gateway_alex_circuit_state', { facility: FACILITY })).toBe(0);
    expect(metricValue(after, 'clinicpro_gateway_http_requests_total', { route: '/v1/commits', method: 'POST', status: '201' })).toBe(3);
    expect(metricValue(after, 'clinicpro_gateway_http_requests_total', { route: '/v1/launch/verify', method: 'POST', status: '200' })).toBe(1);
    expect(metricValue(after, 'clinicpro_gateway_process_resident_memory_bytes')).toBeGreaterThan(0);
    // Nothing in flight: the creates' connection kept open for the next, nothing waiting.
    expect(metricValue(after, 'clinicpro_gateway_alex_connections', { pool: 'create', state: 'active' })).toBe(0);
    expect(metricValue(after, 'clinicpro_gateway_alex_connections', { pool: 'create', state: 'idle' })).toBe(1);
    expect(metricValue(after, 'clinicpro_gateway_alex_connections', { pool: 'create', state: 'waiting' })).toBe(0);
    expect(metricValue(after, 'clinicpro_gateway_alex_connections', { pool: 'read', state: 'idle' })).toBeGreaterThanOrEqual(1);
    expect(metricValue(after, 'clinicpro_gateway_alex_creates_waiting')).toBe(0);
  });

  it('a refused body counts as a failure with its code, and nothing reaches ALEX', async () => {
    const { grant, auth } = await enrolAndLaunch(FACILITY);
    const created = runtime.sandbox?.store.counters.mediaCreated;
    const bad = { ...commitBody(grant), media: { contentType: 'image/gif', data: jpeg } };
    const res = await commit(auth, bad);
    expect(res.statusCode).toBe(400);
    const missingKey = await runtime.app.inject({ method: 'POST', url: '/v1/commits', headers: { authorization: auth }, payload: commitBody(grant) });
    expect(missingKey.json<{ error: { code: string } }>().error.code).toBe('ERR_IDEMPOTENCY_KEY_MISSING');
    const text = await scrape();
    expect(metricValue(text, 'clinicpro_gateway_commits_total', { outcome: 'failed', code: res.json<{ error: { code: string } }>().error.code })).toBe(1);
    expect(metricValue(text, 'clinicpro_gateway_commits_total', { outcome: 'failed', code: 'ERR_IDEMPOTENCY_KEY_MISSING' })).toBe(1);
    expect(runtime.sandbox?.store.counters.mediaCreated).toBe(created);
  });

  it('an ALEX outage for one practice shows as that facility’s failed calls, an open breaker and the code the outbox shows', async () => {
    const { grant, auth } = await enrolAndLaunch(OUTAGE_FACILITY);
    runtime.sandbox?.faults.add({ kind: 'status503', facilityId: OUTAGE_FACILITY, method: 'POST', pathPrefix: '/FHIR/Media' });
    const a = await commit(auth, commitBody(grant));
    const b = await commit(auth, commitBody(grant));
    runtime.sandbox?.faults.clear();
    expect(a.json<{ error: { code: string } }>().error.code).toBe('ERR_ALEX_UNAVAILABLE');
    const text = await scrape();
    expect(metricValue(text, 'clinicpro_gateway_commits_total', { outcome: 'failed', code: 'ERR_ALEX_UNAVAILABLE' })).toBe(b.json<{ error: { code: string } }>().error.code === 'ERR_ALEX_UNAVAILABLE' ? 2 : 1);
    expect(metricValue(text, 'clinicpro_gateway_alex_calls_total', { facility: OUTAGE_FACILITY, operation: 'createMedia', outcome: 'ERR_ALEX_UNAVAILABLE' })).toBeGreaterThanOrEqual(1);
    expect(metricValue(text, 'clinicpro_gateway_alex_circuit_state', { facility: OUTAGE_FACILITY })).toBe(2);
    expect(metricValue(text, 'clinicpro_gateway_alex_circuit_state', { facility: FACILITY })).toBe(0);
    expect(metricValue(text, 'clinicpro_gateway_alex_http_attempts_total')).toBeGreaterThan(metricValue(text, 'clinicpro_gateway_alex_calls_total', { facility: OUTAGE_FACILITY, operation: 'createMedia', outcome: 'ERR_ALEX_UNAVAILABLE' }) ?? 0);
  });

  it('serves nothing but GET /metrics, and the text holds no patient data, device ids or secrets', async () => {
    const base = runtime.metricsUrl ?? '';
    expect((await fetch(`${base}/`)).status).toBe(404);
    expect((await fetch(`${base}/healthz`)).status).toBe(404);
    expect((await fetch(`${base}/metrics`, { method: 'POST' })).status).toBe(404);
    expect((await runtime.app.inject({ method: 'GET', url: '/metrics' })).statusCode).toBe(404);
    const text = await scrape();
    const patient = runtime.sandbox?.patients.find((p) => p.nhi === 'ZZZ0016');
    expect(deviceIds.length).toBeGreaterThan(0);
    for (const secret of ['ZZZ0016', patient?.id ?? 'x', 'Canary', ...deviceIds, runtime.sandbox?.credentials.clientSecret ?? 'x']) expect(text).not.toContain(secret);
    expect(logs.some((l) => l.includes('"metricsUrl"'))).toBe(true);
  });
});

describe('metrics configuration', () => {
  it('defaults to 127.0.0.1:9464 and reads METRICS_*; a bad value names its variable', () => {
    expect(loadMetricsConfig({})).toEqual({ enabled: true, host: '127.0.0.1', port: 9464 });
    expect(loadMetricsConfig({ METRICS_HOST: '10.0.0.5', METRICS_PORT: '9100', METRICS_ENABLED: 'false' })).toEqual({ enabled: false, host: '10.0.0.5', port: 9100 });
    for (const [variable, value] of [
      ['METRICS_PORT', 'ninety'],
      ['METRICS_PORT', '70000'],
      ['METRICS_HOST', 'a b'],
      ['METRICS_ENABLED', 'maybe'],
    ] as const) {
      expect(() => loadMetricsConfig({ [variable]: value })).toThrow(ConfigError);
      expect(() => loadMetricsConfig({ [variable]: value })).toThrow(new RegExp(`^${variable}:`));
    }
  });

  it('the server process exits 78 naming METRICS_PORT on a bad value', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'gateway/src/server.ts'], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', GATEWAY_PORT: '0', GATEWAY_DATA_DIR: '/nonexistent-not-used', METRICS_PORT: 'ninety' },
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(code).toBe(78);
    expect(stderr).toContain('METRICS_PORT');
  });

  it('a metrics port already in use is logged and the gateway still serves; METRICS_ENABLED=false opens no port', async () => {
    const holder: Server = createServer();
    await new Promise<void>((r) => holder.listen(0, '127.0.0.1', r));
    const port = (holder.address() as { port: number }).port;
    const lines: string[] = [];
    const sink = new Writable({ write: (c: Buffer, _e, cb) => (lines.push(c.toString()), cb()) });
    const second = await createRuntime({
      config: loadConfig({ GATEWAY_DATA_DIR: '/nonexistent-not-used' }),
      logger: createLogger({ level: 'info', destination: sink }),
      store: new SqliteStore(':memory:'),
      sandbox: { tokenThrottle: false },
      metrics: { enabled: true, host: '127.0.0.1', port },
    });
    try {
      expect(second.metricsUrl).toBeNull();
      expect(lines.join('')).toContain('metrics port unavailable');
      expect((await second.app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
    } finally {
      await second.close();
      holder.close();
    }
    const off = await createRuntime({
      config: loadConfig({ GATEWAY_DATA_DIR: '/nonexistent-not-used' }),
      logger: createLogger({ level: 'silent' }),
      store: new SqliteStore(':memory:'),
      sandbox: { tokenThrottle: false },
      metrics: { enabled: false, host: '127.0.0.1', port: 0 },
    });
    expect(off.metricsUrl).toBeNull();
    await off.close();
  });
});
