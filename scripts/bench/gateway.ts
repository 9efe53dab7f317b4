/**
 * Gateway benchmark: ~1 MB commits (Media) from 1, 10 and 100 concurrent devices, over real HTTP on
 * loopback, against the ALEX sandbox.
 *
 * Three processes, so each measures only itself: this one (orchestrator and load generator), the
 * gateway (the real app, embedded SQLite store, ALEX client with the product's default of 2 concurrent
 * writes per facility; bundled by the production build and run on plain Node, as deployed) and the ALEX sandbox (`attachments: 'digest'`, so it does not hold every image).
 * The sandbox never shares the gateway's event loop.
 *
 * Load: devices belong to practices of 5 (100 devices = 20 practices, each its own ALEX facility). Each
 * device commits back to back with no pause — a closed loop, the heaviest use a device can make — for a
 * warm-up, then a measured window; a commit counts when it starts inside the window. A last round is a
 * burst: 100 devices press Commit at the same instant, once each (its latency is mostly the queue of
 * 100 megabyte uploads arriving together; see the note printed with the table).
 *
 * - overhead = the device's round trip minus the time the gateway's ALEX client awaited the create
 *   (matched by correlation id): everything the gateway adds, as the device sees it. ALEX's time
 *   includes waiting for a write slot at that practice and for the sandbox to take the request.
 * - upper = the round trip minus the sandbox's own time for that create (its onRequest → onResponse).
 *   An upper bound: a wait for a write slot or in the sandbox's socket counts as gateway time.
 * - in-gw = the gateway's own span for the request (onRequest → onResponse) minus the ALEX await.
 * - post-body = from the parsed body (preValidation) to the answer, minus the ALEX await.
 * - gw CPU/commit, sb CPU/commit = process CPU (user + system, all threads) over the round / commits.
 * - loop delay = the gateway's event-loop delay over the round (monitorEventLoopDelay, 1 ms resolution):
 *   how long anything ready to run had to wait for the loop (GC pauses and synchronous work show here).
 * - direct = the same Media posted straight to the sandbox by the same number of devices (baseline).
 * - gw RSS = peak RSS of the gateway process during the round (the kernel's own peak on Linux, see trackPeakRss).
 * - write p50/p99/max = a commit's two store writes (its lease and its outcome), each from the call until
 *   it is durable (SQL and fsync, on the event loop).
 * - rtt = what a user waits: the device's whole round trip for a commit, ALEX's time included.
 * - devices loop delay = this process's event-loop delay (the devices' side: a late timer here is counted
 *   as overhead, though no gateway caused it).
 * - host steal ms = CPU time the hypervisor gave elsewhere while this machine wanted it, over the round
 *   (Linux /proc/stat; USER_HZ taken as 100): a round with steal was slowed by its host, not the gateway.
 * - full GCs, GC ms = the gateway's mark-compacts in the round, and its time in every GC pause.
 * - A second table takes the slowest 1% of commits by overhead and shows, as medians, where their time
 *   went: outside the gateway (the device's send and receive, loopback), receiving and parsing the body,
 *   before ALEX (checks, store reads, the lease write, building the request), after ALEX (the outcome
 *   write and the answer; split into the wait before the outcome write, the write until durable, and
 *   the answer), and how much of their time in the gateway was its GC pauses.
 * - Under the tables: the conditions (image size, store, ALEX's time per write, window, rounds, Node, CPUs)
 *   and the host's load average before and after each round. `GW_BENCH_REPEAT=<n>` runs every round n
 *   times and adds a row per round with the median of each column across its runs: report that, not the
 *   best run; on a shared host the spread between runs is larger than most changes.
 *   `GW_BENCH_DUMP_SLOWEST=1` also prints each of those commits' stages as a JSON line on stderr.
 *
 * The sandbox stands for ALEX, machines elsewhere, so on a small shared box it yields the CPU to the gateway
 * and to the devices that time the round trips: its threads run as SCHED_IDLE (`chrt --idle`), taking a
 * core only when nothing else wants it (its ~9 ms of CPU per 1 MB create would otherwise compete with the
 * gateway on 2 cores). GW_BENCH_SANDBOX=nice: nice 10 only (the earlier default); =same: neither.
 *
 * ALEX's own time: by default the sandbox answers as fast as it can on this box, so at 100 devices the
 * gateway, not ALEX, limits the rate and the round measures the gateway at its capacity.
 * `GW_BENCH_ALEX_MS=<ms>` makes the sandbox take that long over each write (its `latency` fault, after
 * the write), as a real ALEX behind a Hybrid Connection does; with 2 writes per practice at once, that
 * sets the rate of a round instead.
 *
 * A regression guard, not a goal: ALEX's own 1–3.5 s per write is what a user waits for; this shows what
 * the gateway adds to it, and its CPU and memory per commit, under stated conditions.
 * Run alone: `npx tsx scripts/bench/gateway.ts`, or `npm run bench -- gateway`.
 * `GW_BENCH_PROCESSES=<n>` runs n gateway processes on one SQLite file, as several processes on one host do in
 * production; each practice's devices talk to one of them (a sticky load balancer). gw RSS is then the
 * largest process's peak, and `gw RSS MB, all` their sum.
 * `GW_BENCH_CPU_PROF=<dir>` writes a CPU profile of the gateway process there;
 * `GW_BENCH_ROUNDS=1,10,100,burst` picks rounds; `GW_BENCH_MEASURE_MS` sets the measured window per round
 * (default 12000); the gateway process runs with production's Node flags (GATEWAY_NODE_FLAGS in
 * gateway/deploy/build.ts: its V8 heap settings), `GW_BENCH_V8_DEFAULTS=1` without them; `GW_BENCH_NODE_ARGS`
 * adds Node flags to it (e.g. `--trace-gc`); `GW_BENCH_STORE=memory` puts the gateway's store in
 * memory (to tell the store's share of the latency from the rest). `GW_BENCH_GATEWAY_NODE=<path>` runs the
 * gateway on that Node binary instead of this one (another Node major, as a production image may carry);
 * this tree's better-sqlite3 must be built for it (docs/PERFORMANCE.md, "On another Node major", says how).
 * `GW_BENCH_GATEWAY=floor` answers commits with a bare pass-through instead of the gateway's commit route
 * (`floorServer`): the least any gateway could add on this host, for reference. Nothing is checked, stored
 * or made durable; the tables say so.
 */
import { fork, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import { constants as perfConstants, monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';
import { cpus, loadavg, setPriority, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AlexClient } from '../../gateway/src/alex/types';
import type { CommitRequest, EnrolResponse, LaunchGrant } from '../../shared/contracts/gateway';
import { printTable, summarise, trackPeakRss } from './_stats';

const IMAGE_BYTES = 999_000;
const DEVICES_PER_PRACTICE = 5;
const PRACTICES = 20;
/** One ALEX facility per practice. */
const FACILITIES = Array.from({ length: PRACTICES }, (_, i) => `F${String(70_001 + i)}-B`);
const WARM_MS = 3_000;
const MEASURE_MS = Number(process.env.GW_BENCH_MEASURE_MS ?? '12000');
const REPEAT = Math.max(1, Number(process.env.GW_BENCH_REPEAT ?? '1'));
type Round = { devices: number; kind: 'steady' } | { devices: number; kind: 'burst' };
const ALL_ROUNDS: Round[] = [
  { devices: 1, kind: 'steady' },
  { devices: 10, kind: 'steady' },
  { devices: 100, kind: 'steady' },
  { devices: 100, kind: 'burst' },
];
const roundName = (r: Round): string => (r.kind === 'burst' ? 'burst' : String(r.devices));
const ROUNDS = process.env.GW_BENCH_ROUNDS ? ALL_ROUNDS.filter((r) => process.env.GW_BENCH_ROUNDS?.split(',').includes(roundName(r))) : ALL_ROUNDS;
const THIS_FILE = fileURLToPath(import.meta.url);

/** Moments of one commit in the gateway: request headers, body parsed, ALEX call, outcome write, answer sent. */
type Stage = 'request' | 'parsed' | 'alexStart' | 'alexEnd' | 'outcomeWrite' | 'outcomeDone' | 'answered';

interface GatewayTake {
  inGateway: (readonly [string, number])[];
  processing: (readonly [string, number])[];
  alexMs: [string, number][];
  marks: [string, Partial<Record<Stage, number>>][];
  peakRssMb: number;
  cpuMs: number;
  loopDelay: { p99: number; max: number };
  gc: { full: number; pauseMs: number };
  /** Every GC pause of the round: start and end (performance.now() of the gateway process). */
  gcPauses: [number, number][];
  /** Every lease and outcome write of the round, until durable (SQL and fsync). */
  writeMs: number[];
  /** With several gateway processes (mergeTakes): the sum of their peaks; peakRssMb is the largest. */
  peakRssMbAll?: number;
}

/** Several gateway processes as one: their commits together, CPU, writes and GC summed, the worst loop delay. */
function mergeTakes(takes: GatewayTake[]): GatewayTake {
  const sum = (f: (t: GatewayTake) => number): number => takes.reduce((n, t) => n + f(t), 0);
  const max = (f: (t: GatewayTake) => number): number => Math.max(...takes.map(f));
  return {
    inGateway: takes.flatMap((t) => t.inGateway),
    processing: takes.flatMap((t) => t.processing),
    alexMs: takes.flatMap((t) => t.alexMs),
    marks: takes.flatMap((t) => t.marks),
    peakRssMb: max((t) => t.peakRssMb),
    peakRssMbAll: sum((t) => t.peakRssMb),
    cpuMs: sum((t) => t.cpuMs),
    loopDelay: { p99: max((t) => t.loopDelay.p99), max: max((t) => t.loopDelay.max) },
    gc: { full: sum((t) => t.gc.full), pauseMs: sum((t) => t.gc.pauseMs) },
    gcPauses: takes.length === 1 ? (takes[0]?.gcPauses ?? []) : [],
    writeMs: takes.flatMap((t) => t.writeMs),
  };
}

// ---------------------------------------------------------------------------------------------------
// IPC between the parts: request/answer by id.

type Msg = { id: number; op: string; args?: unknown };
type Answer = { id: number; ok: boolean; value?: unknown; error?: string };

function serve(handlers: Record<string, (args: unknown) => unknown>): void {
  // A part lives only as long as the run that started it: if the orchestrator is stopped (Ctrl-C, a kill),
  // its channel closes and the part goes too, rather than staying behind and taking the CPU of the next run.
  process.on('disconnect', () => process.exit(1));
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

/** `file`: the script to run (default this one, under tsx); the gateway runs from a production-style bundle. */
function startPart(role: 'sandbox' | 'gateway', env: Record<string, string>, execArgv: string[] = [], file = THIS_FILE, execPath = process.execPath): Part {
  const loader = file.endsWith('.ts') ? ['--import', 'tsx'] : [];
  const child = fork(file, [], { env: { ...process.env, ...env, GW_BENCH_ROLE: role }, execArgv: [...loader, ...execArgv], execPath, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  return new Part(child);
}

/**
 * The Node binary the gateway runs on: this one, or `GW_BENCH_GATEWAY_NODE`. Another binary is checked first:
 * a better-sqlite3 built for another Node major would only fail inside the gateway, as a bare dlopen error.
 */
function gatewayNode(): { execPath: string; version: string } {
  const execPath = process.env.GW_BENCH_GATEWAY_NODE || process.execPath;
  if (execPath === process.execPath) return { execPath, version: process.version };
  const probe = spawnSync(execPath, ['-e', "new (require('better-sqlite3'))(':memory:').close(); process.stdout.write(process.version)"], { cwd: join(dirname(THIS_FILE), '../..'), encoding: 'utf8' });
  if (probe.error) throw new Error(`GW_BENCH_GATEWAY_NODE=${execPath}: cannot run it (${probe.error.message})`);
  if (probe.status !== 0) {
    throw new Error(`GW_BENCH_GATEWAY_NODE=${execPath}: this tree's better-sqlite3 does not load on it; build it for that Node first (docs/PERFORMANCE.md, "On another Node major")`);
  }
  return { execPath, version: probe.stdout };
}

/**
 * The gateway process runs as production does: bundled by the production build (our TypeScript in one
 * file, npm packages external) on plain Node, no TypeScript loader
 * (which alone adds ~75 MB of RSS). Built into dist/bench-gateway/.
 */
async function bundleGatewayPart(): Promise<string> {
  const { buildGatewayBundle } = await import('../../gateway/deploy/build');
  const outdir = join(dirname(THIS_FILE), '../../dist/bench-gateway');
  await buildGatewayBundle(outdir, { 'gateway-part': THIS_FILE });
  return join(outdir, 'gateway-part.mjs');
}


// ---------------------------------------------------------------------------------------------------
// The sandbox process.

async function sandboxPart(): Promise<void> {
  const { buildSandboxApp } = await import('../../gateway/src/sandbox');
  const alexWriteMs = Number(process.env.GW_BENCH_ALEX_MS ?? '0');
  const app = buildSandboxApp({
    tokenThrottle: false,
    attachments: 'digest',
    facilities: FACILITIES,
    faults: alexWriteMs > 0 ? [{ kind: 'latency', method: 'POST', pathPrefix: '/FHIR/Media', latencyMs: alexWriteMs, when: 'after' }] : [],
  });
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
    launch: (args) => {
      const { patientId, facility } = args as { patientId: string; facility: string };
      return app.sandbox.issueLaunch({ patientId, facilityCode: facility });
    },
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
  const store = new SqliteStore(env.GW_BENCH_STORE === 'memory' ? ':memory:' : join(dir, 'gateway.sqlite'));
  const client = createAlexClient({
    fhirBaseUrl: env.GW_BENCH_FHIR ?? '',
    tokenUrl: env.GW_BENCH_TOKEN_URL ?? '',
    clientId: env.GW_BENCH_CLIENT_ID ?? '',
    clientSecret: env.GW_BENCH_CLIENT_SECRET ?? '',
    scope: env.GW_BENCH_SCOPE ?? '',
    logger: silent,
  });
  // Each lease and outcome write until durable (SQL and fsync): its percentiles in the round.
  let writeMs: number[] = [];
  const acquireIdempotency = store.acquireIdempotency.bind(store);
  store.acquireIdempotency = async (claim) => {
    const t0 = performance.now();
    try {
      return await acquireIdempotency(claim);
    } finally {
      writeMs.push(performance.now() - t0);
    }
  };
  const alexMs = new Map<string, number>();
  /** Per correlation id: when each stage of a commit was reached (see the stage table). */
  const marks = new Map<string, Partial<Record<Stage, number>>>();
  const mark = (cid: string, stage: Stage): void => {
    const m = marks.get(cid) ?? {};
    m[stage] = performance.now();
    marks.set(cid, m);
  };
  const completeIdempotency = store.completeIdempotency.bind(store);
  store.completeIdempotency = async (...args) => {
    const cid = args[5]?.correlationId ?? '';
    mark(cid, 'outcomeWrite');
    const t0 = performance.now();
    try {
      return await completeIdempotency(...args);
    } finally {
      writeMs.push(performance.now() - t0);
      mark(cid, 'outcomeDone');
    }
  };
  const alex: AlexClient = {
    decodeLaunch: (c, a, b) => client.decodeLaunch(c, a, b),
    getPatient: (c, id) => client.getPatient(c, id),
    findPatientByNhi: (c, n) => client.findPatientByNhi(c, n),
    findMediaByIdentifier: (c, n, i) => client.findMediaByIdentifier(c, n, i),
    getDocumentReference: (c, id) => client.getDocumentReference(c, id),
    createDocumentReference: (c, d) => client.createDocumentReference(c, d),
    ready: () => client.ready(),
    async createMedia(ctx, media) {
      const t0 = performance.now();
      mark(ctx.correlationId, 'alexStart');
      try {
        return await client.createMedia(ctx, media);
      } finally {
        mark(ctx.correlationId, 'alexEnd');
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
    mark(req.id, 'request');
  });
  app.addHook('preValidation', async (req) => {
    parsed.set(req, performance.now());
    mark(req.id, 'parsed');
  });
  app.addHook('onResponse', async (req) => {
    const t0 = started.get(req);
    const t1 = parsed.get(req);
    if (t0 === undefined || req.method !== 'POST' || req.url !== '/v1/commits') return;
    spans.set(req.id, performance.now() - t0);
    mark(req.id, 'answered');
    if (t1 !== undefined) afterBody.set(req.id, performance.now() - t1);
  });
  let url: string;
  if (env.GW_BENCH_GATEWAY === 'floor') {
    const grants = new Map<string, LaunchGrant>();
    app.addHook('onSend', async (req, _reply, payload) => {
      if (req.url === '/v1/launch/verify' && typeof payload === 'string') {
        const g = JSON.parse(payload) as LaunchGrant;
        if (g.grantId) grants.set(g.grantId, g);
      }
      return payload;
    });
    await app.ready();
    const jsonBytes = (v: unknown): Buffer => Buffer.from(JSON.stringify(v));
    const { DEFAULT_ALEX_MAX_SOCKETS, DEFAULT_ALEX_WRITES_PER_FACILITY, KeyedLimiter } = await import('../../gateway/src/alex/limiter');
    const alexAgent = new http.Agent({ keepAlive: true, maxSockets: DEFAULT_ALEX_MAX_SOCKETS });
    url = await floorServer(app.server, grants, { buildMedia, jsonBytes }, alexAgent, new KeyedLimiter(DEFAULT_ALEX_WRITES_PER_FACILITY), { alexMs, mark, spans });
  } else {
    await app.listen({ host: '127.0.0.1', port: 0 });
    const address = app.server.address();
    url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  }
  const devices = new DeviceService(store, systemClock, cryptoRandom, config.rateLimit, new Auditor(store, systemClock, cryptoRandom));
  const rss = trackPeakRss(5);
  let cpu = process.cpuUsage();
  const loop = monitorEventLoopDelay({ resolution: 1 });
  loop.enable();
  const gc = { full: 0, pauseMs: 0 };
  let gcPauses: [number, number][] = [];
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      gc.pauseMs += e.duration;
      gcPauses.push([e.startTime, e.startTime + e.duration]);
      if (((e as { detail?: unknown }).detail as { kind?: number } | undefined)?.kind === perfConstants.NODE_PERFORMANCE_GC_MAJOR) gc.full++;
    }
  }).observe({ entryTypes: ['gc'] });
  serve({
    info: () => ({ url }),
    enrolmentCode: async (facility) => (await devices.issueEnrolmentCode(facility as string, 'Bench Practice', 1)).code,
    reset: () => {
      spans.clear();
      afterBody.clear();
      alexMs.clear();
      marks.clear();
      rss.take();
      cpu = process.cpuUsage();
      loop.reset();
      gc.full = 0;
      gc.pauseMs = 0;
      gcPauses = [];
      writeMs = [];
      return null;
    },
    take: () => {
      const used = process.cpuUsage(cpu);
      const loopDelay = { p99: loop.percentile(99) / 1e6, max: loop.max / 1e6 };
      const inGateway = [...spans].map(([cid, ms]) => [cid, ms - (alexMs.get(cid) ?? 0)] as const);
      const processing = [...afterBody].map(([cid, ms]) => [cid, ms - (alexMs.get(cid) ?? 0)] as const);
      const out: GatewayTake = { inGateway, processing, alexMs: [...alexMs], marks: [...marks], peakRssMb: rss.take(), cpuMs: (used.user + used.system) / 1000, loopDelay, gc: { ...gc }, gcPauses, writeMs };
      writeMs = [];
      spans.clear();
      afterBody.clear();
      alexMs.clear();
      marks.clear();
      gcPauses = [];
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

/**
 * GW_BENCH_GATEWAY=floor: the least a gateway could do for a commit, for a reference on this host. The
 * commit route is a bare node:http pass-through: the body's chunks kept as they came, the small fields
 * parsed, a Media built around the image (its views, never joined) and posted to the sandbox with the
 * ALEX client's write limit and socket pool size, 201 answered when ALEX answers. No store, no checks, no
 * hashing, no Fastify. Every other route (enrolment, launch) goes to the real app. Not a gateway: nothing
 * is durable or checked.
 */
async function floorServer(
  appServer: http.Server,
  grants: Map<string, LaunchGrant>,
  fhir: { buildMedia: (ctx: never, payload: never) => unknown; jsonBytes: (v: unknown) => Buffer },
  alexAgent: http.Agent,
  writes: { run: <T>(key: string, fn: () => Promise<T>) => Promise<T> },
  measure: { alexMs: Map<string, number>; mark: (cid: string, stage: Stage) => void; spans: Map<string, number> },
): Promise<string> {
  const env = process.env;
  const fhirBase = env.GW_BENCH_FHIR ?? '';
  const token = await sandboxToken(alexAgent, env.GW_BENCH_TOKEN_URL ?? '', { clientId: env.GW_BENCH_CLIENT_ID ?? '', clientSecret: env.GW_BENCH_CLIENT_SECRET ?? '', scope: env.GW_BENCH_SCOPE ?? '' });
  const PLACEHOLDER = '/9j/4AAQ';
  const marker = Buffer.from('"data":"');
  const handleCommit = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    const t0 = performance.now();
    const cid = String(req.headers['x-correlation-id'] ?? randomUUID());
    measure.mark(cid, 'request');
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('error', () => res.destroy());
    req.on('end', () => {
      void (async () => {
        measure.mark(cid, 'parsed');
        const first = chunks[0] ?? Buffer.alloc(0);
        const at = first.indexOf(marker);
        const head = JSON.parse(`${first.subarray(0, at).toString()}"data":""}}`) as Omit<CommitRequest, 'media'>;
        const grant = grants.get(head.grantId);
        if (!grant) {
          res.writeHead(403).end();
          return;
        }
        // The image: from after the marker to before the closing `"}}`, as views of the chunks.
        const image: Buffer[] = [];
        const tail = 3;
        const total = chunks.reduce((n, c) => n + c.length, 0);
        let pos = 0;
        const from = at + marker.length;
        const to = total - tail;
        for (const c of chunks) {
          const a = Math.max(from - pos, 0);
          const b = Math.min(to - pos, c.length);
          if (b > a) image.push(c.subarray(a, b));
          pos += c.length;
        }
        const media = fhir.buildMedia(
          { imageId: head.imageId, patient: grant.patient, facilityId: grant.facilityId, providerId: null, capturedAt: head.capturedAt, metadata: head.metadata, device: { id: 'bench', name: 'bench' }, alexFhirBaseUrl: fhirBase } as never,
          { contentType: 'image/jpeg', data: PLACEHOLDER } as never,
        );
        const text = fhir.jsonBytes(media);
        const p = text.indexOf(PLACEHOLDER);
        const parts = [text.subarray(0, p), ...image, text.subarray(p + PLACEHOLDER.length)];
        const a0 = performance.now();
        measure.mark(cid, 'alexStart');
        const answer = await writes.run(grant.facilityId, () =>
          post(alexAgent, `${fhirBase}/Media`, parts, {
            authorization: `Bearer ${token}`,
            'mt-facilityid': grant.facilityId,
            'mt-correlationid': cid,
            'content-type': 'application/fhir+json',
            accept: 'application/fhir+json',
          }),
        );
        measure.mark(cid, 'alexEnd');
        measure.alexMs.set(cid, performance.now() - a0);
        const id = answer.status === 201 ? ((JSON.parse(answer.body) as { id?: string }).id ?? '') : '';
        const body = JSON.stringify(answer.status === 201 ? { imageId: head.imageId, status: 'committed', media: { id } } : { error: { code: 'ERR_ALEX' } });
        res.on('finish', () => {
          measure.mark(cid, 'answered');
          measure.spans.set(cid, performance.now() - t0);
        });
        res.writeHead(answer.status === 201 ? 201 : 502, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }).end(body);
      })().catch(() => res.destroy());
    });
  };
  const server = http.createServer((req, res) => {
    if (req.method === 'POST' && req.url === '/v1/commits') handleCommit(req, res);
    else appServer.emit('request', req, res);
  });
  server.keepAliveTimeout = 72_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  return `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
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
/** A JPEG of exactly `bytes` that the gateway's image checks accept: JFIF header, one scan of random data, end marker. */
function fakeJpeg(bytes: number): Buffer {
  const head = [0xff, 0xd8, 0xff, 0xe0, 0, 16, 0x4a, 0x46, 0x49, 0x46, 0, 1, 1, 0, 0, 1, 0, 1, 0, 0, 0xff, 0xda, 0, 8, 1, 1, 0, 0, 0x3f, 0];
  const b = randomBytes(bytes);
  Buffer.from(head).copy(b);
  // Inside a scan a 0xFF byte starts a marker: none in the random data.
  for (let i = head.length; i < bytes - 2; i++) if (b[i] === 0xff) b[i] = 0xfe;
  b[bytes - 2] = 0xff;
  b[bytes - 1] = 0xd9;
  return b;
}

interface HttpAnswer {
  status: number;
  body: string;
}

/** `body` may come in parts (sent one after another, never joined). */
function post(agent: http.Agent, url: string, body: Buffer | readonly Buffer[], headers: Record<string, string>): Promise<HttpAnswer> {
  const parts = Buffer.isBuffer(body) ? [body] : body;
  const length = parts.reduce((n, p) => n + p.length, 0);
  return new Promise((resolve) => {
    const req = http.request(url, { method: 'POST', agent, headers: { ...headers, 'content-length': String(length) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
      res.on('error', () => resolve({ status: 0, body: '' }));
    });
    req.on('error', (e) => resolve({ status: 0, body: e.message }));
    for (const part of parts) req.write(part);
    req.end();
  });
}

/** An access token from the sandbox's token endpoint (client credentials, form-encoded). */
async function sandboxToken(agent: http.Agent, tokenUrl: string, c: { clientId: string; clientSecret: string; scope: string }): Promise<string> {
  const form = new URLSearchParams({ grant_type: 'client_credentials', client_id: c.clientId, client_secret: c.clientSecret, scope: c.scope });
  const answer = await post(agent, tokenUrl, Buffer.from(form.toString()), { 'content-type': 'application/x-www-form-urlencoded' });
  return (JSON.parse(answer.body) as { access_token: string }).access_token;
}

interface Device {
  auth: string;
  grant: LaunchGrant;
  facility: string;
  /** The gateway process this device's practice talks to. */
  base: string;
}

/**
 * A commit body as bytes, in three parts: the small fields as JSON around the shared image text, which is
 * sent as it is. Making one costs the load generator no megabyte copy or allocation, so its own garbage
 * collections (100 devices share this process; a real device is a PC of its own) stay out of the round trips.
 */
function commitBytes(d: Device, imageId: string, data: Buffer): Buffer[] {
  const body: Omit<CommitRequest, 'media'> = {
    imageId,
    grantId: d.grant.grantId,
    patientId: d.grant.patient.id,
    capturedAt: new Date().toISOString(),
    metadata: { bodySiteCode: '89545001', laterality: 'left', view: 'close-up', imageType: 'lesion', caption: 'Bench' },
  };
  const head = JSON.stringify(body).slice(0, -1);
  return [Buffer.from(`${head},"media":{"contentType":"image/jpeg","data":"`), data, Buffer.from('"}}')];
}

/** Devices loop until `stopAt`; what starts at or after `from` is kept. Burst: one commit each, all at once. */
async function drive<T>(devs: Device[], round: Round, one: (d: Device) => Promise<T | null>): Promise<{ kept: T[]; seconds: number }> {
  const kept: T[] = [];
  if (round.kind === 'burst') {
    const t0 = performance.now();
    const out = await Promise.all(devs.map((d) => one(d)));
    for (const r of out) if (r !== null) kept.push(r);
    return { kept, seconds: (performance.now() - t0) / 1000 };
  }
  const from = performance.now() + WARM_MS;
  const stopAt = from + MEASURE_MS;
  await Promise.all(
    devs.map(async (d) => {
      while (performance.now() < stopAt) {
        const started = performance.now();
        const r = await one(d);
        if (r !== null && started >= from) kept.push(r);
      }
    }),
  );
  return { kept, seconds: MEASURE_MS / 1000 };
}

/** Medians, over the slowest 1% of commits by overhead, of the time each spent in each stage. */
function slowestStages(rtt: Map<string, number>, marks: Map<string, Partial<Record<Stage, number>>>, gcPauses: readonly [number, number][]): Record<string, number> {
  /** The gateway's GC pause time inside [from, to] outside the ALEX await. */
  const gcIn = (from: number, to: number, skip: [number, number]): number =>
    gcPauses.reduce((n, [a, b]) => n + Math.max(0, Math.min(b, to) - Math.max(a, from)) - Math.max(0, Math.min(b, to, skip[1]) - Math.max(a, from, skip[0])), 0);
  const all = [...rtt].flatMap(([cid, ms]) => {
    const m = marks.get(cid);
    if (m?.request === undefined || m.parsed === undefined || m.alexStart === undefined || m.alexEnd === undefined || m.answered === undefined) return [];
    const outcome = m.outcomeWrite ?? m.answered;
    return [
      {
        overhead: ms - (m.alexEnd - m.alexStart),
        outside: ms - (m.answered - m.request),
        body: m.parsed - m.request,
        'before ALEX': m.alexStart - m.parsed,
        'after ALEX': m.answered - m.alexEnd,
        'outcome write': m.answered - outcome,
        'to the write': outcome - m.alexEnd,
        'write durable': (m.outcomeDone ?? outcome) - outcome,
        answer: m.answered - (m.outcomeDone ?? outcome),
        gc: gcIn(m.request, m.answered, [m.alexStart, m.alexEnd]),
      },
    ];
  });
  const slowest = all.sort((a, b) => b.overhead - a.overhead).slice(0, Math.max(1, Math.ceil(all.length / 100)));
  if (process.env.GW_BENCH_DUMP_SLOWEST) {
    const tenths = (r: (typeof all)[number]): Record<string, number> => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, Math.round(v * 10) / 10]));
    for (const r of slowest) console.error(JSON.stringify(tenths(r)));
  }
  const median = (k: keyof (typeof all)[number]): number => summarise(slowest.map((r) => r[k])).median;
  return { commits: slowest.length, overhead: median('overhead'), outside: median('outside'), body: median('body'), 'before ALEX': median('before ALEX'), 'after ALEX': median('after ALEX'), 'of which outcome write + answer': median('outcome write'), 'to the write': median('to the write'), 'write durable': median('write durable'), answer: median('answer'), 'GC pauses in it': median('gc') };
}

/**
 * CPU time the hypervisor gave to other guests while this machine's vCPUs wanted it (Linux /proc/stat
 * "steal", all CPUs, ms), or null where there is none to read. A round with steal was slowed by its host.
 */
function stolenMs(): number | null {
  try {
    const cpu = readFileSync('/proc/stat', 'utf8').split('\n')[0]?.trim().split(/\s+/) ?? [];
    const ticks = Number(cpu[8]);
    return Number.isFinite(ticks) ? (ticks * 1000) / 100 : null;
  } catch {
    return null;
  }
}

/** Per round, a row with the median of each numeric column across its runs (GW_BENCH_REPEAT). */
function medianRows(rows: readonly Record<string, string | number>[]): Record<string, string | number>[] {
  return ROUNDS.map((round) => {
    const runs = rows.filter((r) => r.devices === roundName(round));
    const out: Record<string, string | number> = { devices: roundName(round), run: `median of ${runs.length}` };
    for (const key of Object.keys(runs[0] ?? {})) {
      if (key in out) continue;
      const values = runs.map((r) => r[key]).filter((v): v is number => typeof v === 'number');
      out[key] = values.length === runs.length ? summarise(values).median : '';
    }
    return out;
  });
}

/** The conditions of the run, printed under the tables with every figure taken from them. */
function conditions(): string {
  const alexMs = Number(process.env.GW_BENCH_ALEX_MS ?? '0');
  return [
    `conditions: image ${IMAGE_BYTES.toLocaleString()} B (Media, ~1.33 MB as base64)`,
    `store ${process.env.GW_BENCH_STORE === 'memory' ? 'SQLite in memory' : 'SQLite file (WAL, synchronous=FULL)'}`,
    `ALEX ${alexMs > 0 ? `${alexMs} ms per write` : 'as fast as the sandbox can'}`,
    `warm-up ${WARM_MS / 1000} s, window ${MEASURE_MS / 1000} s`,
    `rounds ${ROUNDS.map(roundName).join(', ')} × ${REPEAT}`,
    `${cpus().length} CPUs, host load now ${loadavg().map((l) => l.toFixed(2)).join(' ')} (1/5/15 min)`,
  ].join('; ');
}

/** How the sandbox shares the CPU (GW_BENCH_SANDBOX), as printed under the tables. */
let sandboxPriority = 'same priority as the gateway';

/**
 * GW_BENCH_SANDBOX=idle (the default): every sandbox thread SCHED_IDLE (`chrt --idle`, util-linux), so it
 * runs only on a core nothing else wants — the nearest a process on this box comes to a machine elsewhere;
 * without chrt, nice 10. `nice`: nice 10 only (its weight still takes ~10% of a contended core, and a
 * woken gateway thread can wait out its time slice). `same`: neither.
 */
function prioritiseSandbox(pid: number | undefined): string {
  const mode = process.env.GW_BENCH_SANDBOX ?? 'idle';
  if (pid === undefined || mode === 'same') return 'same priority as the gateway';
  setPriority(pid, 10);
  if (mode === 'nice') return 'nice 10';
  const idle = spawnSync('chrt', ['--idle', '-a', '-p', '0', String(pid)], { stdio: 'ignore' });
  return idle.status === 0 ? 'SCHED_IDLE (runs only on an otherwise idle core)' : 'nice 10 (chrt not found: SCHED_IDLE not set)';
}

export async function runGatewayBench(): Promise<void> {
  const node = gatewayNode();
  const { buildMedia } = await import('../../gateway/src/fhir/builders');
  const dir = mkdtempSync(join(tmpdir(), 'gw-bench-'));
  const sandbox = startPart('sandbox', {});
  await ready(sandbox);
  const sb = await sandbox.call<{ url: string; fhirBaseUrl: string; tokenUrl: string; credentials: { clientId: string; clientSecret: string; scope: string }; patientId: string }>('info');
  const agent = new http.Agent({ keepAlive: true, maxSockets: 200 });
  const imageText = fakeJpeg(IMAGE_BYTES).toString('base64');
  const image = Buffer.from(imageText, 'latin1');
  const rows: Record<string, string | number>[] = [];
  const stageRows: Record<string, string | number>[] = [];
  const failures = new Map<string, number>();
  const fail = (why: string): void => {
    failures.set(why, (failures.get(why) ?? 0) + 1);
  };
  const json = (v: unknown) => Buffer.from(JSON.stringify(v));
  const profDir = process.env.GW_BENCH_CPU_PROF;
  const gatewayFile = await bundleGatewayPart();
  // GW_BENCH_PROCESSES=N: N gateway processes on the same SQLite file, as several processes on one host
  // run in production; each practice's devices go to one of them (a sticky load balancer).
  const processes = Math.max(1, Number(process.env.GW_BENCH_PROCESSES ?? '1'));
  // The gateway process runs with production's Node flags (GATEWAY_NODE_FLAGS: its V8 heap settings), unless
  // GW_BENCH_V8_DEFAULTS=1 asks for V8's defaults (to see what the flags do).
  const { GATEWAY_NODE_FLAGS } = await import('../../gateway/deploy/build');
  const productionFlags = process.env.GW_BENCH_V8_DEFAULTS === '1' ? ['--enable-source-maps'] : [...GATEWAY_NODE_FLAGS];
  const startGateway = (): Part => startPart(
    'gateway',
    {
      GW_BENCH_DIR: join(dir, 'gw'),
      GW_BENCH_FHIR: sb.fhirBaseUrl,
      GW_BENCH_TOKEN_URL: sb.tokenUrl,
      GW_BENCH_CLIENT_ID: sb.credentials.clientId,
      GW_BENCH_CLIENT_SECRET: sb.credentials.clientSecret,
      GW_BENCH_SCOPE: sb.credentials.scope,
    },
    [...productionFlags, ...(profDir ? ['--cpu-prof', `--cpu-prof-dir=${profDir}`] : []), ...(process.env.GW_BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean)],
    gatewayFile,
    node.execPath,
  );
  const first = startGateway();
  const gateways = [first];

  try {
    // The first creates the file and its schema; the others open it.
    await ready(first);
    const more = Array.from({ length: processes - 1 }, () => startGateway());
    gateways.push(...more);
    await Promise.all(more.map((g) => ready(g)));
    // ALEX stands for machines elsewhere: on a small shared box the sandbox yields the CPU to the gateway and
    // to the devices (this process, which times the round trips), so the gateway's numbers are its own work
    // and not waits behind the sandbox for a core (see the header: GW_BENCH_SANDBOX).
    sandboxPriority = prioritiseSandbox(sandbox.child.pid);
    const token = await sandboxToken(agent, sb.tokenUrl, sb.credentials);
    const bases = await Promise.all(gateways.map(async (g) => (await g.call<{ url: string }>('info')).url));

    const enrolDevice = async (i: number): Promise<Device> => {
      const practice = Math.floor(i / DEVICES_PER_PRACTICE);
      const facility = FACILITIES[practice % FACILITIES.length] ?? '';
      const gateway = gateways[practice % gateways.length]!;
      const base = bases[practice % bases.length]!;
      const code = await gateway.call<string>('enrolmentCode', facility);
      const e = JSON.parse((await post(agent, `${base}/v1/devices/enrol`, json({ enrolmentCode: code, deviceName: `Bench ${i}` }), { 'content-type': 'application/json' })).body) as EnrolResponse;
      const auth = `Device ${e.deviceId}.${e.deviceSecret}`;
      const pair = await sandbox.call<{ context: string; signature: string }>('launch', { patientId: sb.patientId, facility });
      const grant = JSON.parse((await post(agent, `${base}/v1/launch/verify`, json(pair), { 'content-type': 'application/json', authorization: auth })).body) as LaunchGrant;
      return { auth, grant, facility, base };
    };
    const commit = async (d: Device): Promise<{ ms: number; correlationId: string } | null> => {
      const imageId = randomUUID();
      const payload = commitBytes(d, imageId, image);
      const correlationId = randomUUID();
      const s = performance.now();
      const res = await post(agent, `${d.base}/v1/commits`, payload, { 'content-type': 'application/json', authorization: d.auth, 'idempotency-key': imageId, 'x-correlation-id': correlationId });
      const ms = performance.now() - s;
      if (res.status !== 201) {
        fail(`gateway ${res.status} ${(JSON.parse(res.body || '{}') as { error?: { code?: string } }).error?.code ?? ''}`);
        return null;
      }
      return { ms, correlationId };
    };
    const direct = async (d: Device): Promise<number | null> => {
      const imageId = randomUUID();
      const media = buildMedia(
        { imageId, patient: d.grant.patient, facilityId: d.facility, providerId: null, capturedAt: new Date().toISOString(), metadata: { bodySiteCode: '89545001', laterality: 'left', view: 'close-up', imageType: 'lesion', caption: 'Bench' }, device: { id: 'bench', name: 'bench' }, alexFhirBaseUrl: sb.fhirBaseUrl },
        { contentType: 'image/jpeg', data: imageText },
      );
      const s = performance.now();
      const res = await post(agent, `${sb.fhirBaseUrl}/Media`, json(media), {
        authorization: `Bearer ${token}`,
        'mt-facilityid': d.facility,
        'mt-correlationid': randomUUID(),
        'content-type': 'application/fhir+json',
        accept: 'application/fhir+json',
      });
      if (res.status === 201) return performance.now() - s;
      fail(`direct ${res.status}`);
      return null;
    };

    // Warm-up: token, connections, JIT.
    const warm = await enrolDevice(0);
    for (let i = 0; i < 5; i++) await commit(warm);
    const all: Device[] = [];
    for (let i = 0; i < 100; i++) all.push(await enrolDevice(i));
    const devicesLoop = monitorEventLoopDelay({ resolution: 1 });
    devicesLoop.enable();

    for (const [run, round] of Array.from({ length: REPEAT }, (_, i) => ROUNDS.map((r) => [i + 1, r] as const)).flat()) {
      const devs = all.slice(0, round.devices);
      const loadBefore = loadavg()[0] ?? Number.NaN;
      await Promise.all([sandbox.call('reset'), ...gateways.map((g) => g.call('reset'))]);
      devicesLoop.reset();
      const stealBefore = stolenMs();
      const { kept, seconds } = await drive(devs, round, commit);
      const devicesLoopP99 = devicesLoop.percentile(99) / 1e6;
      const steal = stealBefore === null ? null : (stolenMs() ?? stealBefore) - stealBefore;
      const loadAfter = loadavg()[0] ?? Number.NaN;
      const sbTake = await sandbox.call<{ timings: [string, number][]; peakRssMb: number; cpuMs: number }>('take');
      const gwTake = mergeTakes(await Promise.all(gateways.map((g) => g.call<GatewayTake>('take'))));
      // CPU per commit over every commit of the round (warm-up included: CPU is counted over the whole round).
      const cpuCommits = gwTake.alexMs.length;
      const rtt = new Map(kept.map((k) => [k.correlationId, k.ms]));
      const sandboxMs = new Map(sbTake.timings);
      const awaited = new Map(gwTake.alexMs);
      const overhead = [...rtt].map(([cid, ms]) => ms - (awaited.get(cid) ?? 0));
      const upper = [...rtt].map(([cid, ms]) => ms - (sandboxMs.get(cid) ?? 0));
      const inGateway = gwTake.inGateway.filter(([cid]) => rtt.has(cid)).map(([, ms]) => ms);
      const processing = gwTake.processing.filter(([cid]) => rtt.has(cid)).map(([, ms]) => ms);

      // Baseline: the same Media straight to the sandbox by the same devices.
      await sandbox.call('reset');
      const base = await drive(devs, round.kind === 'burst' ? round : { ...round }, direct);
      await sandbox.call('reset');

      stageRows.push({ devices: roundName(round), run, ...slowestStages(rtt, new Map(gwTake.marks), gwTake.gcPauses) });
      const o = summarise(overhead);
      const u = summarise(upper);
      const g = summarise(inGateway);
      const pr = summarise(processing);
      const r = summarise([...rtt.values()]);
      const b = summarise(base.kept);
      rows.push({
        devices: roundName(round),
        run,
        'host load 1 min, before/after': `${loadBefore.toFixed(1)} / ${loadAfter.toFixed(1)}`,
        load: round.kind === 'burst' ? 'burst (1 each, at once)' : `closed loop, ${Math.ceil(round.devices / DEVICES_PER_PRACTICE)} practice(s)`,
        commits: rtt.size,
        'commits/s': rtt.size / seconds,
        'rtt p50': r.median,
        'rtt p95': r.p95,
        'rtt p99': r.p99,
        'overhead p50': o.median,
        'overhead p99': o.p99,
        'upper p99': u.p99,
        'in-gw p50': g.median,
        'in-gw p99': g.p99,
        'post-body p99': pr.p99,
        'gw CPU/commit': gwTake.cpuMs / Math.max(1, cpuCommits),
        'sb CPU/commit': sbTake.cpuMs / Math.max(1, cpuCommits),
        'loop delay p99': gwTake.loopDelay.p99,
        'loop delay max': gwTake.loopDelay.max,
        'write p50': summarise(gwTake.writeMs).median,
        'write p99': summarise(gwTake.writeMs).p99,
        'write max': summarise(gwTake.writeMs).max,
        'devices loop delay p99': devicesLoopP99,
        ...(steal === null ? {} : { 'host steal ms': steal }),
        'full GCs': gwTake.gc.full,
        'GC ms': gwTake.gc.pauseMs,
        'direct p50': b.median,
        'direct p99': b.p99,
        'direct/s': base.kept.length / base.seconds,
        'gw RSS MB': gwTake.peakRssMb,
        ...(processes > 1 ? { 'gw RSS MB, all': gwTake.peakRssMbAll } : {}),
        'sandbox RSS MB': sbTake.peakRssMb,
      });
    }
  } finally {
    printTable(
      `Gateway commits of ${IMAGE_BYTES.toLocaleString()} B (Media), ms — rtt = what a user waits (round trip); overhead = round trip − ALEX await; upper = round trip − sandbox's own time; in-gw = gateway span − ALEX await; direct = same Media straight to the sandbox`,
      REPEAT > 1 ? [...rows, ...medianRows(rows)] : rows,
    );
    printTable('The slowest 1% of commits by overhead: median ms in each stage', stageRows);
    console.log(
      'burst: 100 uploads of 1.33 MB arrive in the same instant; each waits for the ones before it to be received and checked on 2 cores, so its p99 is the queue, not per-commit work.',
    );
    console.log(conditions());
    console.log(`gateway: Node ${node.version}${node.execPath === process.execPath ? '' : ` (${node.execPath})`}`);
    console.log(`sandbox (ALEX): ${sandboxPriority}`);
    if (process.env.GW_BENCH_GATEWAY === 'floor') console.log('commits: FLOOR, a bare pass-through for reference (GW_BENCH_GATEWAY=floor), not the gateway');
    console.log(`failures: ${failures.size === 0 ? 'none' : [...failures].map(([k, v]) => `${k} ×${v}`).join(', ')}`);
    for (const g of gateways) await g.call('close').catch(() => null);
    await sandbox.call('close').catch(() => null);
    agent.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
}

const role = process.env.GW_BENCH_ROLE;
if (role === 'sandbox') await sandboxPart();
else if (role === 'gateway') await gatewayPart();
else if (process.argv[1] === THIS_FILE) await runGatewayBench();
