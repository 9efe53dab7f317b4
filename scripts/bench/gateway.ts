/**
 * Gateway benchmark: ~1 MB commits (Media) from 1, 10 and 100 concurrent devices, over real HTTP on
 * loopback, against the ALEX sandbox.
 *
 * Three processes, so each measures only itself: this one (orchestrator and load generator), the
 * gateway (the real app, embedded SQLite store, ALEX client) and the ALEX sandbox (`attachments:
 * 'digest'`, so it does not hold every image). The sandbox never shares the gateway's event loop.
 *
 * - overhead = the device's round trip minus the time the gateway's ALEX client awaited the create
 *   (matched by correlation id): everything the gateway adds, as the device sees it.
 * - upper = the round trip minus the sandbox's own time for that create (its onRequest → onResponse).
 *   An upper bound: waits in the sandbox's socket before it reads the request count as gateway time.
 * - in-gw = the gateway's own span for the request (onRequest → onResponse) minus the ALEX await.
 *   A lower bound: a wait before the gateway reads the request is not in it. It includes receiving
 *   the body: at 100 devices the 100 uploads share the loopback and the CPUs and end together.
 * - post-body = from the parsed body (preValidation) to the answer, minus the ALEX await: the
 *   gateway's processing once it has the request.
 * - gw CPU/commit, sb CPU/commit = process CPU (user + system) over the round / commits: what
 *   queueing at N concurrent devices is made of (N × CPU/commit of work arrives at once).
 * - writes/fsync = store writes per committed SQLite transaction (group commit).
 * - direct = the same Media posted straight to the sandbox at the same concurrency (baseline).
 * - gw RSS = peak RSS of the gateway process alone during the round (sampled every 5 ms).
 *
 * The ALEX write limit is raised (1000 per facility) so creates are not queued by policy; a last round
 * runs 100 devices with the product default (2 per facility) to show memory while commits wait.
 * Goal: overhead p99 < 15 ms at 100 devices, gateway RSS < 300 MB.
 * Run alone: `npx tsx scripts/bench/gateway.ts`, or `npm run bench -- gateway`.
 * `GW_BENCH_CPU_PROF=<dir>` writes a CPU profile of the gateway process there.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AlexClient } from '../../gateway/src/alex/types';
import type { CommitRequest, EnrolResponse, LaunchGrant } from '../../shared/contracts/gateway';
import { printTable, summarise, trackPeakRss } from './_stats';

const IMAGE_BYTES = 999_000;
const ROUNDS = [
  { devices: 1, commitsPerDevice: 30, writeLimit: 1000 },
  { devices: 10, commitsPerDevice: 5, writeLimit: 1000 },
  { devices: 100, commitsPerDevice: 1, writeLimit: 1000 },
  { devices: 100, commitsPerDevice: 1, writeLimit: 2 },
];
const FACILITY = 'F2N060-E';
const THIS_FILE = fileURLToPath(import.meta.url);

// ---------------------------------------------------------------------------------------------------
// IPC between the parts: request/answer by id.

type Msg = { id: number; op: string; args?: unknown };
type Answer = { id: number; ok: boolean; value?: unknown; error?: string };

function serve(handlers: Record<string, (args: unknown) => unknown>): void {
  process.on('message', (m: Msg) => {
    void (async () => {
      try {
        const handler = handlers[m.op];
        if (!handler) throw new Error(`unknown op ${m.op}`);
        process.send?.({ id: m.id, ok: true, value: await handler(m.args) } satisfies Answer);
      } catch (err) {
        process.send?.({ id: m.id, ok: false, error: err instanceof Error ? err.message : String(err) } satisfies Answer);
      }
    })();
  });
}

class Part {
  private next = 1;
  private readonly waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  constructor(readonly child: ChildProcess) {
    child.on('message', (a: Answer) => {
      const w = this.waiting.get(a.id);
      if (!w) return;
      this.waiting.delete(a.id);
      if (a.ok) w.resolve(a.value);
      else w.reject(new Error(a.error));
    });
    child.on('exit', (code) => {
      for (const w of this.waiting.values()) w.reject(new Error(`part exited ${code}`));
      this.waiting.clear();
    });
  }
  call<T>(op: string, args?: unknown): Promise<T> {
    const id = this.next++;
    return new Promise<T>((resolve, reject) => {
      this.waiting.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.child.send({ id, op, args } satisfies Msg);
    });
  }
}

function startPart(role: 'sandbox' | 'gateway', env: Record<string, string>, execArgv: string[] = []): Part {
  const child = fork(THIS_FILE, [], { env: { ...process.env, ...env, GW_BENCH_ROLE: role }, execArgv: ['--import', 'tsx', ...execArgv], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  return new Part(child);
}


// ---------------------------------------------------------------------------------------------------
// The sandbox process.

async function sandboxPart(): Promise<void> {
  const { buildSandboxApp } = await import('../../gateway/src/sandbox');
  const app = buildSandboxApp({ tokenThrottle: false, attachments: 'digest' });
  const started = new WeakMap<object, number>();
  const timings = new Map<string, number>();
  app.addHook('onRequest', async (req) => {
    started.set(req, performance.now());
  });
  app.addHook('onResponse', async (req) => {
    const t0 = started.get(req);
    const cid = req.headers['mt-correlationid'];
    if (t0 !== undefined && typeof cid === 'string' && req.method === 'POST') timings.set(cid, performance.now() - t0);
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  const url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  const rss = trackPeakRss(5);
  let cpu = process.cpuUsage();
  serve({
    info: () => ({ url, fhirBaseUrl: `${url}/FHIR`, tokenUrl: `${url}${app.sandbox.tokenPath}`, credentials: app.sandbox.credentials, patientId: app.sandbox.patients.find((p) => p.nhi === 'ZZZ0016')?.id }),
    launch: (patientId) => app.sandbox.issueLaunch({ patientId: patientId as string, facilityCode: FACILITY }),
    reset: () => {
      // The store is kept (with 'digest' it holds no images; a reset would also drop the gateway's token).
      timings.clear();
      rss.take();
      cpu = process.cpuUsage();
      return null;
    },
    take: () => {
      const used = process.cpuUsage(cpu);
      const out = { timings: [...timings], peakRssMb: rss.take(), cpuMs: (used.user + used.system) / 1000 };
      timings.clear();
      return out;
    },
    close: async () => {
      await app.close();
      setImmediate(() => process.exit(0));
      return null;
    },
  });
  process.send?.({ id: 0, ok: true, value: 'ready' } satisfies Answer);
}

// ---------------------------------------------------------------------------------------------------
// The gateway process: the real app and store, the real ALEX client pointed at the sandbox.

async function gatewayPart(): Promise<void> {
  const { createAlexClient } = await import('../../gateway/src/alex/client');
  const { buildGateway } = await import('../../gateway/src/app');
  const { Auditor } = await import('../../gateway/src/audit');
  const { DeviceService } = await import('../../gateway/src/auth/devices');
  const { loadConfig } = await import('../../gateway/src/config');
  const { cryptoRandom, systemClock } = await import('../../gateway/src/deps');
  const { buildDocumentReference, buildMedia } = await import('../../gateway/src/fhir/builders');
  const { createLogger } = await import('../../gateway/src/logger');
  const { SqliteStore } = await import('../../gateway/src/store/sqlite');

  const env = process.env;
  const dir = env.GW_BENCH_DIR ?? '';
  const silent = createLogger({ level: 'silent' });
  const config = loadConfig({ GATEWAY_DATA_DIR: dir, LOG_LEVEL: 'silent', RATE_LIMIT_DEVICE_BURST: '100000', RATE_LIMIT_DEVICE_PER_MINUTE: '1000000' });
  const store = new SqliteStore(join(dir, 'gateway.sqlite'));
  const client = createAlexClient({
    fhirBaseUrl: env.GW_BENCH_FHIR ?? '',
    tokenUrl: env.GW_BENCH_TOKEN_URL ?? '',
    clientId: env.GW_BENCH_CLIENT_ID ?? '',
    clientSecret: env.GW_BENCH_CLIENT_SECRET ?? '',
    scope: env.GW_BENCH_SCOPE ?? '',
    logger: silent,
    maxConcurrentWritesPerFacility: Number(env.GW_BENCH_WRITE_LIMIT ?? '1000'),
  });
  const alexMs = new Map<string, number>();
  const alex: AlexClient = {
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
    alex,
    store,
    clock: systemClock,
    random: cryptoRandom,
    logger: silent,
    builders: { buildMedia, buildDocumentReference },
    alexFhirBaseUrl: env.GW_BENCH_FHIR ?? '',
  });
  const started = new WeakMap<object, number>();
  const parsed = new WeakMap<object, number>();
  const spans = new Map<string, number>();
  const afterBody = new Map<string, number>();
  app.addHook('onRequest', async (req) => {
    started.set(req, performance.now());
  });
  app.addHook('preValidation', async (req) => {
    parsed.set(req, performance.now());
  });
  app.addHook('onResponse', async (req) => {
    const t0 = started.get(req);
    const t1 = parsed.get(req);
    if (t0 === undefined || req.method !== 'POST' || req.url !== '/v1/commits') return;
    spans.set(req.id, performance.now() - t0);
    if (t1 !== undefined) afterBody.set(req.id, performance.now() - t1);
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  const url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  const devices = new DeviceService(store, systemClock, cryptoRandom, config.rateLimit, new Auditor(store, systemClock, cryptoRandom));
  const rss = trackPeakRss(5);
  let cpu = process.cpuUsage();
  serve({
    info: () => ({ url }),
    enrolmentCode: async () => (await devices.issueEnrolmentCode(FACILITY, 'Bench Practice', 1)).code,
    reset: () => {
      spans.clear();
      afterBody.clear();
      alexMs.clear();
      rss.take();
      cpu = process.cpuUsage();
      return null;
    },
    take: () => {
      const used = process.cpuUsage(cpu);
      const inGateway = [...spans].map(([cid, ms]) => [cid, ms - (alexMs.get(cid) ?? 0)] as const);
      const processing = [...afterBody].map(([cid, ms]) => [cid, ms - (alexMs.get(cid) ?? 0)] as const);
      const out = { inGateway, processing, alexMs: [...alexMs], peakRssMb: rss.take(), cpuMs: (used.user + used.system) / 1000, writes: store.writeStats() };
      spans.clear();
      afterBody.clear();
      alexMs.clear();
      return out;
    },
    close: async () => {
      await app.close();
      client.close();
      await store.close();
      setImmediate(() => process.exit(0));
      return null;
    },
  });
  process.send?.({ id: 0, ok: true, value: 'ready' } satisfies Answer);
}

// ---------------------------------------------------------------------------------------------------
// The orchestrator and load generator.

function ready(part: Part): Promise<void> {
  return new Promise((resolve, reject) => {
    const onMsg = (a: Answer) => {
      if (a.id === 0) {
        part.child.off('message', onMsg);
        resolve();
      }
    };
    part.child.on('message', onMsg);
    part.child.once('exit', (code) => reject(new Error(`part exited ${code} before it was ready`)));
  });
}

/** A JPEG-headed buffer of ~1 MB of noise: what the gateway handles is size and magic bytes, not pixels. */
function fakeJpeg(bytes: number): Buffer {
  const b = randomBytes(bytes);
  b[0] = 0xff;
  b[1] = 0xd8;
  b[2] = 0xff;
  b[3] = 0xe0;
  return b;
}

interface HttpAnswer {
  status: number;
  body: string;
}

function post(agent: http.Agent, url: string, body: Buffer, headers: Record<string, string>): Promise<HttpAnswer> {
  return new Promise((resolve) => {
    const req = http.request(url, { method: 'POST', agent, headers: { ...headers, 'content-length': String(body.length) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
      res.on('error', () => resolve({ status: 0, body: '' }));
    });
    req.on('error', (e) => resolve({ status: 0, body: e.message }));
    req.end(body);
  });
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

export async function runGatewayBench(): Promise<void> {
  const { buildMedia } = await import('../../gateway/src/fhir/builders');
  const dir = mkdtempSync(join(tmpdir(), 'gw-bench-'));
  const sandbox = startPart('sandbox', {});
  await ready(sandbox);
  const sb = await sandbox.call<{ url: string; fhirBaseUrl: string; tokenUrl: string; credentials: { clientId: string; clientSecret: string; scope: string }; patientId: string }>('info');
  const agent = new http.Agent({ keepAlive: true, maxSockets: 200 });
  const image = fakeJpeg(IMAGE_BYTES).toString('base64');
  const rows: Record<string, string | number>[] = [];
  const failures = new Map<string, number>();
  const fail = (why: string): void => {
    failures.set(why, (failures.get(why) ?? 0) + 1);
  };
  const json = (v: unknown) => Buffer.from(JSON.stringify(v));
  const profDir = process.env.GW_BENCH_CPU_PROF;
  let gateway: Part | null = null;

  try {
    const form = new URLSearchParams({ grant_type: 'client_credentials', client_id: sb.credentials.clientId, client_secret: sb.credentials.clientSecret, scope: sb.credentials.scope });
    const token = (JSON.parse((await post(agent, sb.tokenUrl, Buffer.from(form.toString()), { 'content-type': 'application/x-www-form-urlencoded' })).body) as { access_token: string }).access_token;

    for (const round of ROUNDS) {
      // A fresh gateway per write limit (the limit is fixed when the ALEX client is made).
      if (!gateway || round.writeLimit !== ROUNDS[ROUNDS.indexOf(round) - 1]?.writeLimit) {
        if (gateway) await gateway.call('close');
        gateway = startPart(
          'gateway',
          {
            GW_BENCH_DIR: join(dir, `gw-${round.writeLimit}`),
            GW_BENCH_FHIR: sb.fhirBaseUrl,
            GW_BENCH_TOKEN_URL: sb.tokenUrl,
            GW_BENCH_CLIENT_ID: sb.credentials.clientId,
            GW_BENCH_CLIENT_SECRET: sb.credentials.clientSecret,
            GW_BENCH_SCOPE: sb.credentials.scope,
            GW_BENCH_WRITE_LIMIT: String(round.writeLimit),
          },
          profDir ? ['--cpu-prof', `--cpu-prof-dir=${profDir}`] : [],
        );
        await ready(gateway);
      }
      const gw = gateway;
      const base = (await gw.call<{ url: string }>('info')).url;
      const device = async (i: number): Promise<{ auth: string; grant: LaunchGrant }> => {
        const code = await gw.call<string>('enrolmentCode');
        const e = JSON.parse((await post(agent, `${base}/v1/devices/enrol`, json({ enrolmentCode: code, deviceName: `Bench ${i}` }), { 'content-type': 'application/json' })).body) as EnrolResponse;
        const auth = `Device ${e.deviceId}.${e.deviceSecret}`;
        const pair = await sandbox.call<{ context: string; signature: string }>('launch', sb.patientId);
        const grant = JSON.parse((await post(agent, `${base}/v1/launch/verify`, json(pair), { 'content-type': 'application/json', authorization: auth })).body) as LaunchGrant;
        return { auth, grant };
      };
      const commit = async (d: { auth: string; grant: LaunchGrant }): Promise<{ status: number; ms: number; correlationId: string; body: string }> => {
        const body = commitBody(d.grant, image);
        const payload = json(body);
        const correlationId = randomUUID();
        const s = performance.now();
        const res = await post(agent, `${base}/v1/commits`, payload, { 'content-type': 'application/json', authorization: d.auth, 'idempotency-key': body.imageId, 'x-correlation-id': correlationId });
        return { status: res.status, ms: performance.now() - s, correlationId, body: res.body };
      };

      // Warm-up: token, connections, JIT.
      const warm = await device(0);
      for (let i = 0; i < 5; i++) await commit(warm);
      const devs = await Promise.all(Array.from({ length: round.devices }, (_, i) => device(i + 1)));
      await Promise.all([sandbox.call('reset'), gw.call('reset')]);

      const rtt = new Map<string, number>();
      const t0 = performance.now();
      await Promise.all(
        devs.map(async (d) => {
          for (let k = 0; k < round.commitsPerDevice; k++) {
            const r = await commit(d);
            if (r.status !== 201) {
              fail(`gateway ${r.status} ${(JSON.parse(r.body || '{}') as { error?: { code?: string } }).error?.code ?? ''}`);
              continue;
            }
            rtt.set(r.correlationId, r.ms);
          }
        }),
      );
      const seconds = (performance.now() - t0) / 1000;
      const sbTake = await sandbox.call<{ timings: [string, number][]; peakRssMb: number; cpuMs: number }>('take');
      const gwTake = await gw.call<{ inGateway: [string, number][]; processing: [string, number][]; alexMs: [string, number][]; peakRssMb: number; cpuMs: number; writes: { transactions: number; writes: number } }>('take');
      const sandboxMs = new Map(sbTake.timings);
      const awaited = new Map(gwTake.alexMs);
      const overhead = [...rtt].map(([cid, ms]) => ms - (awaited.get(cid) ?? 0));
      const upper = [...rtt].map(([cid, ms]) => ms - (sandboxMs.get(cid) ?? 0));
      const inGateway = gwTake.inGateway.filter(([cid]) => rtt.has(cid)).map(([, ms]) => ms);
      const processing = gwTake.processing.filter(([cid]) => rtt.has(cid)).map(([, ms]) => ms);

      // Baseline: the same Media straight to the sandbox at the same concurrency.
      await sandbox.call('reset');
      const directMs: number[] = [];
      await Promise.all(
        devs.map(async (d) => {
          for (let k = 0; k < round.commitsPerDevice; k++) {
            const body = commitBody(d.grant, image);
            const media = buildMedia(
              { imageId: body.imageId, patient: d.grant.patient, facilityId: FACILITY, providerId: null, capturedAt: body.capturedAt, metadata: body.metadata, device: { id: 'bench', name: 'bench' }, alexFhirBaseUrl: sb.fhirBaseUrl },
              body.media!,
            );
            const payload = json(media);
            const s = performance.now();
            const res = await post(agent, `${sb.fhirBaseUrl}/Media`, payload, {
              authorization: `Bearer ${token}`,
              'mt-facilityid': FACILITY,
              'mt-correlationid': randomUUID(),
              'content-type': 'application/fhir+json',
              accept: 'application/fhir+json',
            });
            if (res.status === 201) directMs.push(performance.now() - s);
            else fail(`direct ${res.status}`);
          }
        }),
      );
      await sandbox.call('reset');

      const o = summarise(overhead);
      const u = summarise(upper);
      const g = summarise(inGateway);
      const pr = summarise(processing);
      const r = summarise([...rtt.values()]);
      const b = summarise(directMs);
      rows.push({
        devices: round.devices,
        'ALEX writes': round.writeLimit === 1000 ? 'unbounded' : `${round.writeLimit}/facility`,
        commits: rtt.size,
        'commits/s': rtt.size / seconds,
        'rtt p50': r.median,
        'rtt p99': r.p99,
        'overhead p50': o.median,
        'overhead p99': o.p99,
        'upper p99': u.p99,
        'in-gw p50': g.median,
        'in-gw p99': g.p99,
        'post-body p50': pr.median,
        'post-body p99': pr.p99,
        'gw CPU/commit': gwTake.cpuMs / Math.max(1, rtt.size),
        'sb CPU/commit': sbTake.cpuMs / Math.max(1, rtt.size),
        'writes/fsync': gwTake.writes.writes / Math.max(1, gwTake.writes.transactions),
        'direct p50': b.median,
        'direct p99': b.p99,
        'gw RSS MB': gwTake.peakRssMb,
        'sandbox RSS MB': sbTake.peakRssMb,
      });
    }
  } finally {
    printTable(
      `Gateway commits of ${IMAGE_BYTES.toLocaleString()} B (Media), ms — overhead = round trip − ALEX await; upper = round trip − sandbox's own time; in-gw = gateway span − ALEX await; direct = same Media straight to the sandbox`,
      rows,
    );
    console.log(`failures: ${failures.size === 0 ? 'none' : [...failures].map(([k, v]) => `${k} ×${v}`).join(', ')}`);
    if (gateway) await gateway.call('close').catch(() => null);
    await sandbox.call('close').catch(() => null);
    agent.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
}

const role = process.env.GW_BENCH_ROLE;
if (role === 'sandbox') await sandboxPart();
else if (role === 'gateway') await gatewayPart();
else if (process.argv[1] === THIS_FILE) await runGatewayBench();
