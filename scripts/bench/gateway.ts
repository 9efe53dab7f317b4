/**
 * Gateway benchmark: ~1 MB commits (Media) from 1, 10 and 100 concurrent devices against the
 * in-process ALEX sandbox, over real HTTP on loopback.
 *
 * Gateway-added latency per commit = the device's round trip minus the time the gateway spent waiting
 * on ALEX for that commit (measured by timing the ALEX client's create call, matched by correlation id).
 * A direct-to-sandbox run at the same concurrency (the same Media posted straight to the sandbox) is the
 * baseline. Peak RSS is the whole process: gateway, sandbox (which keeps every image in memory; it is
 * emptied between runs) and the load generator. Goal: p99 overhead < 15 ms at 100 devices,
 * RSS < 300 MB. Run alone: `npx tsx scripts/bench/gateway.ts`, or `npm run bench -- gateway`.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import axios from 'axios';
import http from 'node:http';
import type { CommitRequest, EnrolResponse, LaunchGrant } from '../../shared/contracts/gateway';
import { createAlexClient } from '../../gateway/src/alex/client';
import type { AlexClient } from '../../gateway/src/alex/types';
import { buildGateway } from '../../gateway/src/app';
import { Auditor } from '../../gateway/src/audit';
import { DeviceService } from '../../gateway/src/auth/devices';
import { loadConfig } from '../../gateway/src/config';
import { cryptoRandom, systemClock } from '../../gateway/src/deps';
import { buildDocumentReference, buildMedia } from '../../gateway/src/fhir/builders';
import { createLogger } from '../../gateway/src/logger';
import { startSandbox } from '../../gateway/src/sandbox';
import { SqliteStore } from '../../gateway/src/store/sqlite';
import { printTable, summarise, trackPeakRss } from './_stats';

const IMAGE_BYTES = 999_000;
const ROUNDS = [
  { devices: 1, commitsPerDevice: 30 },
  { devices: 10, commitsPerDevice: 5 },
  { devices: 100, commitsPerDevice: 1 },
];

/** A JPEG-headed buffer of ~1 MB of noise: what the gateway handles is size and magic bytes, not pixels. */
function fakeJpeg(bytes: number): Buffer {
  const b = randomBytes(bytes);
  b[0] = 0xff;
  b[1] = 0xd8;
  b[2] = 0xff;
  b[3] = 0xe0;
  return b;
}

export async function runGatewayBench(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'gw-bench-'));
  const silent = createLogger({ level: 'silent' });
  const sandbox = await startSandbox({ tokenThrottle: false });
  const config = loadConfig({ GATEWAY_DATA_DIR: dir, LOG_LEVEL: 'silent', RATE_LIMIT_DEVICE_BURST: '100000', RATE_LIMIT_DEVICE_PER_MINUTE: '1000000' });
  const store = new SqliteStore(join(dir, 'gateway.sqlite'));
  const client = createAlexClient({
    fhirBaseUrl: sandbox.fhirBaseUrl,
    tokenUrl: sandbox.tokenUrl,
    clientId: sandbox.credentials.clientId,
    clientSecret: sandbox.credentials.clientSecret,
    scope: sandbox.credentials.scope,
    logger: silent,
    maxConcurrentWritesPerFacility: 1000,
  });

  // Time spent waiting on ALEX, per correlation id.
  const alexMs = new Map<string, number>();
  const timed: AlexClient = {
    ...client,
    decodeLaunch: (c, a, b) => client.decodeLaunch(c, a, b),
    getPatient: (c, id) => client.getPatient(c, id),
    findPatientByNhi: (c, n) => client.findPatientByNhi(c, n),
    findMediaByIdentifier: (c, n, i) => client.findMediaByIdentifier(c, n, i),
    getDocumentReference: (c, id) => client.getDocumentReference(c, id),
    createDocumentReference: (c, d, r) => client.createDocumentReference(c, d, r),
    ready: () => client.ready(),
    async createMedia(ctx, media, reconcile) {
      const t0 = performance.now();
      try {
        return await client.createMedia(ctx, media, reconcile);
      } finally {
        alexMs.set(ctx.correlationId, (alexMs.get(ctx.correlationId) ?? 0) + performance.now() - t0);
      }
    },
  };
  const app = buildGateway({
    config,
    alex: timed,
    store,
    clock: systemClock,
    random: cryptoRandom,
    logger: silent,
    builders: { buildMedia, buildDocumentReference },
    alexFhirBaseUrl: sandbox.fhirBaseUrl,
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  const base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  const agent = new http.Agent({ keepAlive: true, maxSockets: 200 });
  const gw = axios.create({ baseURL: base, httpAgent: agent, validateStatus: () => true, maxBodyLength: Infinity, maxContentLength: Infinity });
  const direct = axios.create({ httpAgent: agent, validateStatus: () => true, maxBodyLength: Infinity, maxContentLength: Infinity });

  const devices = new DeviceService(store, systemClock, cryptoRandom, config.rateLimit, new Auditor(store, systemClock, cryptoRandom));
  const patient = sandbox.patients.find((p) => p.nhi === 'ZZZ0016');
  if (!patient) throw new Error('sandbox has no ZZZ0016');
  const image = fakeJpeg(IMAGE_BYTES).toString('base64');


  async function device(i: number): Promise<{ auth: string; grant: LaunchGrant }> {
    const { code } = await devices.issueEnrolmentCode('F2N060-E', 'Bench Practice', 1);
    const e = (await gw.post<EnrolResponse>('/v1/devices/enrol', { enrolmentCode: code, deviceName: `Bench ${i}` })).data;
    const auth = `Device ${e.deviceId}.${e.deviceSecret}`;
    const pair = sandbox.issueLaunch({ patientId: patient!.id, facilityCode: 'F2N060-E' });
    const grant = (await gw.post<LaunchGrant>('/v1/launch/verify', pair, { headers: { authorization: auth } })).data;
    return { auth, grant };
  }

  const rows: Record<string, string | number>[] = [];
  const rss = trackPeakRss(5);
  const failures = new Map<string, number>();
  const fail = (why: string): void => {
    failures.set(why, (failures.get(why) ?? 0) + 1);
  };
  try {
    // Warm-up: token, connections, JIT.
    const warm = await device(0);
    for (let i = 0; i < 5; i++) {
      const body = commitBody(warm.grant, image);
      await gw.post('/v1/commits', body, { headers: { authorization: warm.auth, 'idempotency-key': body.imageId } });
    }
    sandbox.store.reset();

    for (const round of ROUNDS) {
      const devs = await Promise.all(Array.from({ length: round.devices }, (_, i) => device(i + 1)));
      const overhead: number[] = [];
      const roundTrip: number[] = [];
      alexMs.clear();
      const t0 = performance.now();
      await Promise.all(
        devs.map(async (d) => {
          for (let k = 0; k < round.commitsPerDevice; k++) {
            const body = commitBody(d.grant, image);
            const correlationId = randomUUID();
            const s = performance.now();
            const res = await gw
              .post<{ error?: { code: string } }>('/v1/commits', body, { headers: { authorization: d.auth, 'idempotency-key': body.imageId, 'x-correlation-id': correlationId } })
              .catch((e: unknown) => ({ status: 0, data: { error: { code: e instanceof Error ? e.message : 'network' } } }));
            const rt = performance.now() - s;
            if (res.status !== 201) {
              fail(`gateway ${res.status} ${res.data.error?.code ?? ''}`);
              continue;
            }
            roundTrip.push(rt);
            overhead.push(rt - (alexMs.get(correlationId) ?? 0));
          }
        }),
      );
      const seconds = (performance.now() - t0) / 1000;

      // Baseline: the same Media straight to the sandbox at the same concurrency. The sandbox keeps
      // every image in memory: empty it between runs (this also drops its tokens, so warm up again).
      sandbox.store.reset();
      const token = await sandboxToken();
      const directMs: number[] = [];
      await Promise.all(
        devs.map(async (d) => {
          for (let k = 0; k < round.commitsPerDevice; k++) {
            const body = commitBody(d.grant, image);
            const media = buildMedia(
              { imageId: body.imageId, patient: d.grant.patient, facilityId: 'F2N060-E', providerId: null, capturedAt: body.capturedAt, metadata: body.metadata, device: { id: 'bench', name: 'bench' }, alexFhirBaseUrl: sandbox.fhirBaseUrl },
              body.media!,
            );
            const s = performance.now();
            const res = await direct
              .post(`${sandbox.fhirBaseUrl}/Media`, media, {
                headers: { authorization: `Bearer ${token}`, 'mt-facilityid': 'F2N060-E', 'content-type': 'application/fhir+json', accept: 'application/fhir+json' },
              })
              .catch(() => ({ status: 0 }));
            if (res.status === 201) directMs.push(performance.now() - s);
            else fail(`direct ${res.status}`);
          }
        }),
      );
      sandbox.store.reset();
      await client.ready();

      const o = summarise(overhead);
      const r = summarise(roundTrip);
      const b = summarise(directMs);
      rows.push({
        devices: round.devices,
        commits: roundTrip.length,
        'commits/s': roundTrip.length / seconds,
        'rtt p50 ms': r.median,
        'rtt p99 ms': r.p99,
        'overhead p50 ms': o.median,
        'overhead p99 ms': o.p99,
        'direct p50 ms': b.median,
        'direct p99 ms': b.p99,
        'rtt/direct p50': r.median / b.median,
      });
    }
  } finally {
    const peak = rss.stop();
    printTable(`Gateway commits of ${IMAGE_BYTES.toLocaleString()} B (Media) — overhead = round trip − ALEX create time; direct = same Media straight to the sandbox`, rows);
    console.log(`peak RSS ${peak.toFixed(0)} MB (whole process: gateway + sandbox + load generator)`);
    console.log(`failures: ${failures.size === 0 ? 'none' : [...failures].map(([k, v]) => `${k} ×${v}`).join(', ')}`);
    await app.close();
    agent.destroy();
    client.close();
    await store.close();
    await sandbox.close();
    rmSync(dir, { recursive: true, force: true });
  }

  async function sandboxToken(): Promise<string> {
    const form = new URLSearchParams({
      grant_type: 'client_credentials',
      client_id: sandbox.credentials.clientId,
      client_secret: sandbox.credentials.clientSecret,
      scope: sandbox.credentials.scope,
    });
    const res = await direct.post<{ access_token: string }>(sandbox.tokenUrl, form.toString(), { headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    return res.data.access_token;
  }
}

function commitBody(grant: LaunchGrant, data: string): CommitRequest {
  return {
    imageId: randomUUID(),
    grantId: grant.grantId,
    patientId: grant.patient.id,
    capturedAt: new Date().toISOString(),
    metadata: { bodySiteCode: '89545001', laterality: 'left', view: 'close-up', imageType: 'lesion', caption: 'Bench' },
    media: { contentType: 'image/jpeg', data },
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await runGatewayBench();
}
