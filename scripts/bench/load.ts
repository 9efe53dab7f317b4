/**
 * Load benchmark (no pass/fail on time; numbers go in docs/RELIABILITY.md).
 *
 * 1. Gateway: PRACTICES practices × 5 devices (default 100 × 5 = 500 devices, each its own enrolled device with
 *    a launch grant; one ALEX facility per practice) commit small JPEG Media as fast as they get answers for
 *    LOAD_SECONDS (default 60), over real HTTP on 127.0.0.1 against the gateway and the ALEX sandbox (both in this
 *    process). Reports commits/s, latency median/p95/p99, errors by status, peak RSS, and exactly-once at the end
 *    (sandbox Media per identifier).
 * 2. LAN server: 10 phones joined to one capture session upload the 12 MP fixture photo (3.2 MB) at once,
 *    UPLOAD_ROUNDS (default 5) times each. Reports MB/s, per-upload median/p95, peak RSS.
 *
 * Loops are bounded by count and time; loopback only. Run alone: `npx tsx scripts/bench/load.ts`, or
 * `npm run bench -- load`. Env: PRACTICES, LOAD_SECONDS, UPLOAD_ROUNDS.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import sharp from 'sharp';
import type { EnrolResponse, LaunchGrant } from '../../shared/contracts/gateway';
import { Auditor } from '../../gateway/src/audit';
import { DeviceService } from '../../gateway/src/auth/devices';
import { loadConfig } from '../../gateway/src/config';
import { cryptoRandom, systemClock } from '../../gateway/src/deps';
import { createRuntime } from '../../gateway/src/runtime';
import { startSandbox } from '../../gateway/src/sandbox';
import { SqliteStore } from '../../gateway/src/store/sqlite';
import { joinPhone, startHarness, upload } from '../../electron/lan/testing';
import { printTable, summarise, trackPeakRss } from './_stats';

const FIXTURE_12MP = fileURLToPath(new URL('../../../shared/fixtures/photos/photo-12mp-orient6.jpg', import.meta.url));

async function gatewayLoad(practices: number, seconds: number): Promise<void> {
  const facilities = Array.from({ length: practices }, (_, i) => `F${String(i).padStart(5, '0')}-L`);
  const sandbox = await startSandbox({ host: '127.0.0.1', port: 0, tokenThrottle: false, facilities });
  const config = loadConfig({
    LOG_LEVEL: 'silent',
    GATEWAY_DATA_DIR: '/nonexistent-not-used',
    ALEX_BASE_URL: sandbox.fhirBaseUrl,
    ALEX_TOKEN_URL: sandbox.tokenUrl,
    ALEX_CLIENT_ID: sandbox.credentials.clientId,
    ALEX_CLIENT_SECRET: sandbox.credentials.clientSecret,
    ALEX_SCOPE: sandbox.credentials.scope,
    RATE_LIMIT_DEVICE_BURST: '100000',
    RATE_LIMIT_DEVICE_PER_MINUTE: '1000000',
  });
  const store = new SqliteStore(':memory:');
  const gw = await createRuntime({ config, store, logger: pino({ level: 'silent' }) });
  const url = await gw.app.listen({ host: '127.0.0.1', port: 0 });
  const devicesSvc = new DeviceService(store, systemClock, cryptoRandom, config.rateLimit, new Auditor(store, systemClock, cryptoRandom));
  const post = async (path: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> =>
    fetch(`${url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });

  // Set-up (not measured): enrol every device and launch each for a patient.
  const patients = sandbox.patients.filter((p) => !p.facilities);
  const devices: { d: EnrolResponse; g: LaunchGrant; auth: string }[] = [];
  for (const [fi, facility] of facilities.entries()) {
    for (let k = 0; k < 5; k++) {
      const { code } = await devicesSvc.issueEnrolmentCode(facility, `Practice ${fi}`, 1);
      const d = (await (await post('/v1/devices/enrol', { enrolmentCode: code, deviceName: `Room ${k}` })).json()) as EnrolResponse;
      const auth = `Device ${d.deviceId}.${d.deviceSecret}`;
      const pair = sandbox.issueLaunch({ patientId: (patients[(fi + k) % patients.length] as { id: string }).id, facilityCode: facility });
      const g = (await (await post('/v1/launch/verify', pair, { authorization: auth })).json()) as LaunchGrant;
      devices.push({ d, g, auth });
    }
  }
  const jpeg = (await sharp(randomBytes(32 * 24 * 3), { raw: { width: 32, height: 24, channels: 3 } }).jpeg().toBuffer()).toString('base64');

  const latencies: number[] = [];
  const statuses: Record<string, number> = {};
  const sent: string[] = [];
  const rss = trackPeakRss(50);
  const started = performance.now();
  const deadline = started + seconds * 1000;
  const maxPerDevice = 100_000; // a count bound as well as the time bound
  await Promise.all(
    devices.map(async ({ g, auth }) => {
      for (let n = 0; n < maxPerDevice && performance.now() < deadline; n++) {
        const imageId = randomUUID();
        const t0 = performance.now();
        let status = 'network';
        try {
          const res = await post(
            '/v1/commits',
            {
              imageId,
              grantId: g.grantId,
              patientId: g.patient.id,
              capturedAt: '2026-11-23T09:00:00+13:00',
              metadata: { bodySiteCode: '89545001' },
              media: { contentType: 'image/jpeg', data: jpeg },
            },
            { authorization: auth, 'idempotency-key': imageId },
          );
          await res.arrayBuffer();
          status = String(res.status);
          if (res.status === 201) sent.push(imageId);
        } catch {
          // counted as a network error
        }
        latencies.push(performance.now() - t0);
        statuses[status] = (statuses[status] ?? 0) + 1;
      }
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  const peak = rss.stop();
  let dup = 0;
  let missing = 0;
  for (const id of sent) {
    const n = sandbox.store.listMedia({ identifierValue: id }).length;
    if (n === 0) missing++;
    if (n > 1) dup += n - 1;
  }
  const s = summarise(latencies);
  const errors = latencies.length - sent.length;
  printTable(`Gateway + ALEX sandbox: ${practices} practices × 5 devices, ${seconds} s, small JPEG Media commits`, [
    {
      devices: devices.length,
      commits: sent.length,
      'commits/s': sent.length / elapsed,
      'median ms': s.median,
      'p95 ms': s.p95,
      'p99 ms': s.p99,
      'max ms': s.max,
      errors,
      statuses: Object.entries(statuses).map(([k, v]) => `${k}:${v}`).join(' '),
      'missing/dup at ALEX': `${missing}/${dup}`,
      'peak RSS MB': peak,
    },
  ]);
  await gw.close();
  await sandbox.close();
}

async function lanLoad(phones: number, rounds: number): Promise<void> {
  const photo = await readFile(FIXTURE_12MP);
  const h = await startHarness({ limits: { authFailuresPerMinute: 1_000_000, uploadsPerPhonePerMinute: 1_000_000 } });
  const first = await joinPhone(h);
  const creds = [first.credential];
  for (let i = 1; i < phones; i++) creds.push((await joinPhone(h, first.sessionId)).credential);
  const latencies: number[] = [];
  const statuses: Record<number, number> = {};
  const rss = trackPeakRss(20);
  const t0 = performance.now();
  await Promise.all(
    creds.map(async (credential) => {
      for (let r = 0; r < rounds; r++) {
        const s = performance.now();
        const res = await upload(h.port, credential, [
          { name: 'clientUploadId', value: randomUUID() },
          { name: 'file', filename: 'photo.jpg', contentType: 'image/jpeg', data: photo },
        ]);
        latencies.push(performance.now() - s);
        statuses[res.status] = (statuses[res.status] ?? 0) + 1;
      }
    }),
  );
  const elapsed = (performance.now() - t0) / 1000;
  const peak = rss.stop();
  const ok = statuses[200] ?? 0;
  const s = summarise(latencies);
  printTable(`LAN server: ${phones} phones uploading the 12 MP photo (${(photo.length / 1e6).toFixed(1)} MB) at once, ${rounds} each`, [
    {
      uploads: latencies.length,
      ok,
      'MB/s': (ok * photo.length) / 1e6 / elapsed,
      'uploads/s': ok / elapsed,
      'median ms': s.median,
      'p95 ms': s.p95,
      'max ms': s.max,
      statuses: Object.entries(statuses).map(([k, v]) => `${k}:${v}`).join(' '),
      'stored intact': h.sink.files.filter((f) => f.stored.equals(photo)).length,
      'peak RSS MB': peak,
    },
  ]);
  await h.cleanup();
}

export async function runLoadBench(): Promise<void> {
  const practices = Number(process.env.PRACTICES ?? 100);
  const seconds = Number(process.env.LOAD_SECONDS ?? 60);
  const rounds = Number(process.env.UPLOAD_ROUNDS ?? 5);
  await gatewayLoad(practices, seconds);
  await lanLoad(10, rounds);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await runLoadBench();
  process.exit(0);
}
