/**
 * The gateway's Prometheus metrics (prom-client), on a registry of their own per runtime.
 * Labels are bounded and carry no patient data: route templates (never raw URLs), HTTP status,
 * mt-facilityid (a practice, not a person), ALEX operation names and ERR_* codes.
 */
import type { FastifyInstance } from 'fastify';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { ERROR_CODES } from '../../../shared/errors';
import { GATEWAY_ROUTES } from '../../../shared/contracts/gateway';
import type { AlexClientHandle, AlexClientStats } from '../alex/client';
import type { AlexCallContext, AlexClient } from '../alex/types';

const PREFIX = 'clinicpro_gateway_';
/** Distinct facilities tracked as labels before the rest are counted as "other". */
const MAX_FACILITIES = 1000;
/** Breaker state as a number, so alerts can compare. */
const BREAKER_STATE_VALUE: Record<string, number> = { closed: 0, 'half-open': 1, open: 2 };
const ALEX_OPERATIONS = ['decodeLaunch', 'getPatient', 'findPatientByNhi', 'createMedia', 'createDocumentReference', 'findMediaByIdentifier', 'getDocumentReference'] as const;

/** Counters the ALEX client already keeps (stats()), copied at scrape time: name → help, reader. */
const ALEX_STAT_COUNTERS: Record<string, [string, (s: AlexClientStats) => number]> = {
  alex_token_requests_total: ['Requests to the Azure AD token endpoint (ALEX token refreshes).', (s) => s.token.requests],
  alex_http_attempts_total: ['HTTP attempts sent to ALEX, retries included.', (s) => s.attempts],
  alex_breaker_rejections_total: ['ALEX calls refused locally by an open circuit breaker.', (s) => s.breakerRejections],
};

const CONNECTIONS_HELP =
  'Connections to ALEX now, by pool (create: Media and DocumentReference creates; read: everything else) and state (active, idle, waiting: requests queued for a connection; see ALEX_MAX_SOCKETS).';
const WAITING_HELP = 'Creates waiting now for a write slot at their practice (ALEX_WRITES_PER_FACILITY): normal while a practice uploads a batch.';

type AlexStatsSource = Pick<AlexClientHandle, 'stats' | 'breakerState'>;

const HTTP_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
const ALEX_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 40, 80];
const KNOWN_CODES = new Set(Object.keys(ERROR_CODES));
const codeLabel = (code: unknown): string => (typeof code === 'string' && KNOWN_CODES.has(code) ? code : 'ERR_UNKNOWN');

function parseBody(payload: unknown): { replayed?: unknown; error?: { code?: unknown } } | null {
  if (typeof payload !== 'string') return null;
  try {
    const parsed: unknown = JSON.parse(payload);
    return typeof parsed === 'object' && parsed !== null ? (parsed as { replayed?: unknown; error?: { code?: unknown } }) : null;
  } catch {
    return null;
  }
}

export class GatewayMetrics {
  readonly registry = new Registry();
  private readonly facilities = new Set<string>();
  private alexSource: AlexStatsSource | null = null;
  private lastStats = new Map<string, number>();
  private readonly httpRequests = this.counter('http_requests_total', 'HTTP requests answered, by route template, method and status.', ['route', 'method', 'status']);
  private readonly httpDuration = this.histogram('http_request_duration_seconds', 'Time to answer an HTTP request, by route template and method.', ['route', 'method'], HTTP_BUCKETS);
  private readonly alexCalls = this.counter('alex_calls_total', 'ALEX calls (after retries), by facility, operation and outcome (ok or the ERR_* code).', ['facility', 'operation', 'outcome']);
  private readonly alexDuration = this.histogram('alex_call_duration_seconds', 'ALEX call latency including retries and backoff, by facility, operation and outcome.', ['facility', 'operation', 'outcome'], ALEX_BUCKETS);
  private readonly idempotencyReplays = this.counter('idempotency_replays_total', 'Commits answered with the stored outcome of an earlier identical request (replayed: true).');
  private readonly commits = this.counter('commits_total', 'Commit answers by outcome (committed, replayed, failed) and ERR_* code (what the companion outbox shows).', ['outcome', 'code']);

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: PREFIX });
    for (const [name, [help, read]] of Object.entries(ALEX_STAT_COUNTERS)) {
      const counter: Counter = this.counter(name, help, [], () => {
        const now = this.alexSource ? read(this.alexSource.stats()) : 0;
        const last = this.lastStats.get(name) ?? 0;
        if (now > last) counter.inc(now - last);
        this.lastStats.set(name, now);
      });
    }
    const breakerState = this.gauge('alex_circuit_state', 'Circuit breaker per facility: 0 closed, 1 half-open, 2 open.', ['facility'], (source) => {
      for (const facility of this.facilities) breakerState.set({ facility }, BREAKER_STATE_VALUE[source.breakerState(facility)] ?? -1);
    });
    const connections = this.gauge('alex_connections', CONNECTIONS_HELP, ['pool', 'state'], (source) => setConnections(connections, source.stats().connections));
    const waiting = this.gauge('alex_creates_waiting', WAITING_HELP, [], (source) => waiting.set(source.stats().createsWaiting));
  }

  private counter<L extends string>(name: string, help: string, labelNames: readonly L[] = [], collect?: () => void): Counter<L> {
    return new Counter({ name: PREFIX + name, help, labelNames, registers: [this.registry], ...(collect ? { collect } : {}) });
  }

  private histogram<L extends string>(name: string, help: string, labelNames: readonly L[], buckets: number[]): Histogram<L> {
    return new Histogram({ name: PREFIX + name, help, labelNames, buckets, registers: [this.registry] });
  }

  /** A gauge set at scrape time from the ALEX client, once one is tracked. */
  private gauge<L extends string>(name: string, help: string, labelNames: readonly L[], collect: (source: AlexStatsSource) => void): Gauge<L> {
    const onScrape = (): void => {
      if (this.alexSource) collect(this.alexSource);
    };
    return new Gauge({ name: PREFIX + name, help, labelNames, registers: [this.registry], collect: onScrape });
  }

  /** A facility as a label value: its mt-facilityid, up to MAX_FACILITIES distinct ones. */
  private facilityLabel(facilityId: string | undefined): string {
    if (!facilityId) return 'none';
    if (this.facilities.has(facilityId)) return facilityId;
    if (this.facilities.size >= MAX_FACILITIES) return 'other';
    this.facilities.add(facilityId);
    return facilityId;
  }

  /** Token refreshes, attempts, connections and breaker state are read from the client at scrape time. */
  trackAlexStats(source: AlexStatsSource): void {
    this.alexSource = source;
    this.lastStats = new Map();
  }

  /** Wraps an ALEX client so every call is timed and counted by facility, operation and outcome: same arguments, results and errors. */
  instrumentAlex<T extends AlexClient>(client: T): T {
    const record = (operation: string, ctx: AlexCallContext, started: number, outcome: string): void => {
      const labels = { facility: this.facilityLabel(ctx.facilityId), operation, outcome };
      this.alexCalls.inc(labels);
      this.alexDuration.observe(labels, (performance.now() - started) / 1000);
    };
    const wrapped = Object.create(client) as T;
    for (const operation of ALEX_OPERATIONS) {
      const original = client[operation] as ((ctx: AlexCallContext, ...rest: unknown[]) => Promise<unknown>) | undefined;
      if (typeof original !== 'function') continue;
      Object.defineProperty(wrapped, operation, {
        value: async (ctx: AlexCallContext, ...rest: unknown[]): Promise<unknown> => {
          const started = performance.now();
          try {
            const result = await original.call(client, ctx, ...rest);
            record(operation, ctx, started, 'ok');
            return result;
          } catch (err) {
            record(operation, ctx, started, codeLabel((err as { code?: unknown }).code));
            throw err;
          }
        },
      });
    }
    return wrapped;
  }

  /** Counts every HTTP answer; for commits also the outcome and code the companion will see. */
  registerHttpHooks(app: FastifyInstance): void {
    app.addHook('onSend', async (req, reply, payload) => {
      if (req.routeOptions.url === GATEWAY_ROUTES.commit && req.method === 'POST') this.recordCommit(reply.statusCode, payload);
      return payload;
    });
    app.addHook('onResponse', async (req, reply) => {
      const route = req.routeOptions.url ?? 'unmatched';
      this.httpRequests.inc({ route, method: req.method, status: String(reply.statusCode) });
      this.httpDuration.observe({ route, method: req.method }, reply.elapsedTime / 1000);
    });
  }

  private recordCommit(status: number, payload: unknown): void {
    const body = parseBody(payload);
    if (status < 300) {
      const replayed = body?.replayed === true;
      if (replayed) this.idempotencyReplays.inc();
      this.commits.inc({ outcome: replayed ? 'replayed' : 'committed', code: '' });
      return;
    }
    this.commits.inc({ outcome: 'failed', code: codeLabel(body?.error?.code) });
  }

  /** The exposition text, as served on /metrics. */
  async text(): Promise<string> {
    return this.registry.metrics();
  }
}

function setConnections(gauge: Gauge<'pool' | 'state'>, pools: AlexClientStats['connections']): void {
  for (const pool of ['create', 'read'] as const) {
    for (const state of ['active', 'idle', 'waiting'] as const) gauge.set({ pool, state }, pools[pool][state]);
  }
}
