/**
 * Scale-out acceptance: two gateway PROCESSES (the production bundle, `node dist/gateway/server.mjs`,
 * exactly what the Dockerfile and the systemd unit run) share one real redis-server and one ALEX sandbox
 * (over HTTP on loopback). One device commits round-robin over both:
 *  - idempotency holds across processes: a repeat on the other instance answers the first outcome, replayed;
 *  - SIGKILL of one instance under load loses no accepted commit: every commit answered 201 is at ALEX
 *    exactly once, and the ones the dead instance never answered complete exactly once through the other;
 *  - each instance's metrics listener shows its own counters moving.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CommitRequest, CommitResponse, EnrolResponse, LaunchGrant } from '../../shared/contracts/gateway';
import { buildGatewayBundle } from '../../gateway/deploy/build';
import { startSandbox, type RunningSandbox } from '../../gateway/src/sandbox';
import { makeAttachments } from '../../gateway/src/sandbox/test-support';
import { freePort, startRedisServer, type RedisServerHandle } from '../gateway/helpers/redis-server';
import { dockerHealthcheckArgs } from './helpers/deploy-files';
import { metricValue } from './helpers/prometheus';

const ROOT = join(import.meta.dirname, '..', '..');
const FACILITY = 'F2N060-E';

interface Instance {
  name: string;
  child: ChildProcess;
  base: string;
  metricsUrl: string;
  out: () => string;
}

let redis: RedisServerHandle;
let sandbox: RunningSandbox;
let dataDir: string;
let env: Record<string, string>;
let a: Instance;
let b: Instance;
let device: EnrolResponse;
let grant: LaunchGrant;
let jpeg: string;

function startInstance(name: string, port: number): Promise<Instance> {
  const child = spawn(process.execPath, ['--enable-source-maps', 'dist/gateway/server.mjs'], {
    cwd: ROOT,
    env: { ...env, GATEWAY_PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  return new Promise((resolve, reject) => {
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      const metrics = /"metricsUrl":"(http:\/\/127\.0\.0\.1:\d+\/metrics)"/.exec(out);
      if (out.includes('gateway listening') && metrics?.[1]) {
        resolve({ name, child, base: `http://127.0.0.1:${port}`, metricsUrl: metrics[1], out: () => out });
      }
    });
    child.once('exit', (code) => reject(new Error(`${name} exited ${String(code)}: ${out.slice(-600)}`)));
  });
}

function runAdmin(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['dist/gateway/admin.mjs', ...args], { cwd: ROOT, env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

const post = (url: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
const auth = () => ({ authorization: `Device ${device.deviceId}.${device.deviceSecret}` });

function body(imageId = randomUUID()): CommitRequest {
  return {
    imageId,
    grantId: grant.grantId,
    patientId: grant.patient.id,
    capturedAt: new Date().toISOString(),
    metadata: { caption: 'Left forearm wound' },
    media: { contentType: 'image/jpeg', data: jpeg },
  };
}
const commit = (on: Instance, b: CommitRequest) => post(`${on.base}/v1/commits`, b, { ...auth(), 'idempotency-key': b.imageId });
const atAlex = (imageId: string) => sandbox.store.listMedia({ identifierValue: imageId }).length;

/** Through the surviving instance until it answers 201, honouring Retry-After (the dead one's lease). */
async function commitUntilDone(on: Instance, b: CommitRequest): Promise<CommitResponse> {
  for (let attempt = 0; attempt < 60; attempt++) {
    const res = await commit(on, b);
    if (res.status === 201) return (await res.json()) as CommitResponse;
    const err = (await res.json()) as { error: { code: string; retryable: boolean; retryAfterSeconds?: number } };
    expect(err.error.retryable, `${err.error.code} is not retryable`).toBe(true);
    await new Promise((r) => setTimeout(r, (err.error.retryAfterSeconds ?? 1) * 1000));
  }
  throw new Error('commit did not complete through the surviving instance');
}

beforeAll(async () => {
  await buildGatewayBundle(join(ROOT, 'dist', 'gateway'));
  redis = await startRedisServer();
  // Real time here: no search lag (it is tested on the injected clock in test/gateway/exactly-once.test.ts).
  sandbox = await startSandbox({ host: '127.0.0.1', port: 0, tokenThrottle: false, searchLagSeconds: 0 });
  dataDir = mkdtempSync(join(tmpdir(), 'ship-gw-'));
  jpeg = (await makeAttachments()).jpeg.toString('base64');
  env = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    ALEX_BASE_URL: sandbox.fhirBaseUrl,
    ALEX_TOKEN_URL: sandbox.tokenUrl,
    ALEX_CLIENT_ID: sandbox.credentials.clientId,
    ALEX_CLIENT_SECRET: sandbox.credentials.clientSecret,
    ALEX_SCOPE: sandbox.credentials.scope,
    REDIS_URL: redis.url,
    GATEWAY_HOST: '127.0.0.1',
    GATEWAY_DATA_DIR: dataDir,
    LOG_LEVEL: 'info',
    METRICS_HOST: '127.0.0.1',
    METRICS_PORT: '0',
    // The shortest lease: how long a commit the dead instance held blocks its retry on the other one.
    IDEMPOTENCY_LEASE_SECONDS: '5',
    // A create cut off by the kill is proven absent after the shortest allowed wait, then sent again.
    ALEX_MAX_PROCESSING_SECONDS: '30',
    ALEX_UNCONFIRMED_AFTER_SECONDS: '60',
    RATE_LIMIT_DEVICE_BURST: '10000',
    RATE_LIMIT_DEVICE_PER_MINUTE: '100000',
  };
  [a, b] = await Promise.all([startInstance('A', await freePort()), startInstance('B', await freePort())]);

  const code = await runAdmin(['enrol-code', '--facility', FACILITY, '--practice', 'Kauri Health']);
  expect(code.code).toBe(0);
  const enrolled = await post(`${a.base}/v1/devices/enrol`, { enrolmentCode: code.stdout.trim(), deviceName: 'Room 1' });
  expect(enrolled.status).toBe(201);
  device = (await enrolled.json()) as EnrolResponse;
  const patient = sandbox.patients.find((p) => p.nhi === 'ZZZ0016');
  const pair = sandbox.issueLaunch({ patientId: patient?.id ?? '', facilityCode: FACILITY });
  const launched = await post(`${b.base}/v1/launch/verify`, pair, auth());
  expect(launched.status).toBe(200);
  grant = (await launched.json()) as LaunchGrant;
});

afterAll(async () => {
  for (const i of [a, b]) if (i && i.child.exitCode === null && i.child.signalCode === null) i.child.kill('SIGKILL');
  await sandbox?.close();
  await redis?.kill();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

describe('two gateway processes, one Redis, one ALEX', () => {
  it('the device enrolled on A and launched on B is known to both; commits round-robin replay across instances', async () => {
    const bodies = Array.from({ length: 6 }, () => body());
    const first: CommitResponse[] = [];
    for (const [i, c] of bodies.entries()) {
      const res = await commit(i % 2 ? b : a, c);
      expect(res.status).toBe(201);
      const json = (await res.json()) as CommitResponse;
      expect(json.replayed).toBe(false);
      first.push(json);
    }
    // The repeat goes to the OTHER instance: the first outcome, replayed, and nothing new at ALEX.
    for (const [i, c] of bodies.entries()) {
      const res = await commit(i % 2 ? a : b, c);
      expect(res.status).toBe(201);
      expect(await res.json()).toMatchObject({ replayed: true, imageId: c.imageId, media: first[i]?.media });
      expect(atAlex(c.imageId)).toBe(1);
    }
    // A different payload under a used key is refused on either instance.
    const changed = { ...bodies[0], metadata: { caption: 'changed' } } as CommitRequest;
    const mismatch = await commit(b, changed);
    expect(mismatch.status).toBe(422);
    expect(((await mismatch.json()) as { error: { code: string } }).error.code).toBe('ERR_IDEMPOTENCY_MISMATCH');
  });

  it('each instance’s metrics port shows its own commits, replays and failures by code', async () => {
    const text = await (await fetch(b.metricsUrl)).text();
    expect(metricValue(text, 'clinicpro_gateway_commits_total', { outcome: 'committed', code: '' })).toBe(3);
    expect(metricValue(text, 'clinicpro_gateway_commits_total', { outcome: 'replayed', code: '' })).toBe(3);
    expect(metricValue(text, 'clinicpro_gateway_idempotency_replays_total')).toBe(3);
    expect(metricValue(text, 'clinicpro_gateway_commits_total', { outcome: 'failed', code: 'ERR_IDEMPOTENCY_MISMATCH' })).toBe(1);
    expect(metricValue(text, 'clinicpro_gateway_alex_calls_total', { facility: FACILITY, operation: 'createMedia', outcome: 'ok' })).toBe(3);
    expect(metricValue(text, 'clinicpro_gateway_alex_circuit_state', { facility: FACILITY })).toBe(0);
    expect(metricValue(text, 'clinicpro_gateway_alex_token_requests_total')).toBeGreaterThanOrEqual(1);
    expect(metricValue(text, 'clinicpro_gateway_http_requests_total', { route: '/v1/commits', method: 'POST', status: '201' })).toBe(6);
    // Served only on the metrics port, never on the API port; and nothing but /metrics there.
    expect((await fetch(`${b.base}/metrics`)).status).toBe(404);
    expect((await fetch(b.metricsUrl.replace('/metrics', '/healthz'))).status).toBe(404);
    expect(text).not.toContain(grant.patient.id);
    expect(text).not.toContain(device.deviceId);
  });

  it('SIGKILL of one instance mid-load loses no accepted commit and posts nothing twice', async () => {
    // Every Media create waits at ALEX, so instance A is killed with creates in flight and more queued.
    sandbox.faults.add({ kind: 'latency', latencyMs: 300, method: 'POST', pathPrefix: '/FHIR/Media' });
    const bodies = Array.from({ length: 20 }, () => body());
    const onA = bodies.filter((_, i) => i % 2 === 0);
    let firstAccepted!: () => void;
    const oneAcceptedOnA = new Promise<void>((resolve) => (firstAccepted = resolve));
    const results = bodies.map((c, i) => {
      const target = i % 2 === 0 ? a : b;
      return commit(target, c).then(
        async (res) => {
          const status = res.status;
          const json = (await res.json()) as CommitResponse;
          if (target === a && status === 201) firstAccepted();
          return { c, target, status, json };
        },
        () => ({ c, target, status: 0, json: null }),
      );
    });
    await oneAcceptedOnA;
    const exited = new Promise((resolve) => a.child.once('exit', resolve));
    a.child.kill('SIGKILL');
    await exited;
    const settled = await Promise.all(results);
    sandbox.faults.clear();

    const accepted = settled.filter((r) => r.status === 201);
    const lost = settled.filter((r) => r.status !== 201);
    expect(accepted.filter((r) => r.target === a).length).toBeGreaterThanOrEqual(1);
    expect(lost.length).toBeGreaterThanOrEqual(1); // the kill really interrupted A's work
    expect(lost.every((r) => r.target === a)).toBe(true); // B was unaffected
    // Every accepted commit is at ALEX exactly once, with the id the gateway answered.
    for (const r of accepted) {
      expect(atAlex(r.c.imageId)).toBe(1);
      expect(sandbox.store.listMedia({ identifierValue: r.c.imageId })[0]?.id).toBe(r.json?.media?.id);
    }
    // What A never answered is retried through B (as the companion's outbox would) and completes once.
    for (const r of lost) {
      const done = await commitUntilDone(b, r.c);
      expect(done.imageId).toBe(r.c.imageId);
      expect(atAlex(r.c.imageId)).toBe(1);
    }
    // And a repeat of any of A's commits on B replays the stored outcome.
    for (const c of onA) {
      const res = await commit(b, c);
      expect(res.status).toBe(201);
      expect(((await res.json()) as CommitResponse).replayed).toBe(true);
    }
    for (const c of bodies) expect(atAlex(c.imageId)).toBe(1);
  }, 150_000);

  it('the Docker HEALTHCHECK command passes against the live instance and fails against the dead one', async () => {
    const probe = (port: string) =>
      new Promise<number | null>((resolve) => {
        const child = spawn(process.execPath, dockerHealthcheckArgs(), { env: { PATH: env.PATH, GATEWAY_PORT: port }, stdio: 'ignore' });
        child.on('exit', (code) => resolve(code));
      });
    expect(await probe(new URL(b.base).port)).toBe(0);
    expect(await probe(new URL(a.base).port)).toBe(1);
  });
});
