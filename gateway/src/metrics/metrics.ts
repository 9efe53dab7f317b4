/**
 * The gateway's Prometheus metrics (prom-client), on a registry of their own per runtime.
 * Labels are bounded and carry no patient data: route templates (never raw URLs), HTTP status,
 * mt-facilityid (a practice, not a person), ALEX operation names and ERR_* codes.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { ERROR_CODES } from '../../../shared/errors';
import { GATEWAY_ROUTES } from '../../../shared/contracts/gateway';
import type { AlexClientHandle } from '../alex/client';
import type { AlexCallContext, AlexClient } from '../alex/types';

export const METRIC_PREFIX = 'clinicpro_gateway_';

/** Breaker state as a number, so alerts can compare: closed 0, half-open 1, open 2. */
export const BREAKER_STATE_VALUE: Record<string, number> = { closed: 0, 'half-open': 1, open: 2 };

/** The ALEX calls that are timed (AlexClient's methods). */
export const ALEX_OPERATIONS = [
  'decodeLaunch',
  'getPatient',
  'findPatientByNhi',
  'createMedia',
  'createDocumentReference',
  'findMediaByIdentifier',
  'getDocumentReference',
] as const;
type AlexOperation = (typeof ALEX_OPERATIONS)[number];

/** What the ALEX client reports about itself (AlexClientHandle.stats / breakerState). */
export type AlexStatsSource = Pick<AlexClientHandle, 'stats' | 'breakerState'>;

export interface GatewayMetricsOptions {
  /** Node process metrics (CPU, memory, event loop lag, GC). Default true. */
  processMetrics?: boolean;
  /** Distinct facilities tracked as labels before the rest are counted as "other". Default 1000. */
  maxFacilities?: number;
}

const KNOWN_CODES = new Set(Object.keys(ERROR_CODES));
function parseBody(payload: unknown): { replayed?: unknown; error?: { code?: unknown } } | null {
  if (typeof payload !== 'string') return null;
  try {
    const parsed: unknown = JSON.parse(payload);
    return typeof parsed === 'object' && parsed !== null ? (parsed as { replayed?: unknown; error?: { code?: unknown } }) : null;
  } catch {
    return null;
  }
}
const codeLabel = (code: unknown): string => (typeof code === 'string' && KNOWN_CODES.has(code) ? code : 'ERR_UNKNOWN');

export class GatewayMetrics {
  readonly registry = new Registry();
  readonly httpRequests: Counter<'route' | 'method' | 'status'>;
  readonly httpDuration: Histogram<'route' | 'method'>;
  readonly alexCalls: Counter<'facility' | 'operation' | 'outcome'>;
  readonly alexDuration: Histogram<'facility' | 'operation' | 'outcome'>;
  readonly tokenRefreshes: Counter;
  readonly alexAttempts: Counter;
  readonly breakerRejections: Counter;
  readonly breakerState: Gauge<'facility'>;
  readonly alexConnections: Gauge<'pool' | 'state'>;
  readonly alexCreatesWaiting: Gauge;
  readonly idempotencyReplays: Counter;
  readonly commits: Counter<'outcome' | 'code'>;
  private readonly facilities = new Set<string>();
  private readonly maxFacilities: number;
  private alexSource: AlexStatsSource | null = null;
  private last = { tokenRequests: 0, attempts: 0, breakerRejections: 0 };

  constructor(options: GatewayMetricsOptions = {}) {
    this.maxFacilities = options.maxFacilities ?? 1000;
    const registers = [this.registry];
    if (options.processMetrics !== false) collectDefaultMetrics({ register: this.registry, prefix: METRIC_PREFIX });

    this.httpRequests = new Counter({
      name: `${METRIC_PREFIX}http_requests_total`,
      help: 'HTTP requests answered, by route template, method and status.',
      labelNames: ['route', 'method', 'status'],
      registers,
    });
    this.httpDuration = new Histogram({
      name: `${METRIC_PREFIX}http_request_duration_seconds`,
      help: 'Time to answer an HTTP request, by route template and method.',
      labelNames: ['route', 'method'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers,
    });
    this.alexCalls = new Counter({
      name: `${METRIC_PREFIX}alex_calls_total`,
      help: 'ALEX calls (after retries), by facility, operation and outcome (ok or the ERR_* code).',
      labelNames: ['facility', 'operation', 'outcome'],
      registers,
    });
    this.alexDuration = new Histogram({
      name: `${METRIC_PREFIX}alex_call_duration_seconds`,
      help: 'ALEX call latency including retries and backoff, by facility, operation and outcome.',
      labelNames: ['facility', 'operation', 'outcome'],
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 40, 80],
      registers,
    });
    this.tokenRefreshes = new Counter({
      name: `${METRIC_PREFIX}alex_token_requests_total`,
      help: 'Requests to the Azure AD token endpoint (ALEX token refreshes).',
      registers,
    });
    this.alexAttempts = new Counter({ name: `${METRIC_PREFIX}alex_http_attempts_total`, help: 'HTTP attempts sent to ALEX, retries included.', registers });
    this.breakerRejections = new Counter({ name: `${METRIC_PREFIX}alex_breaker_rejections_total`, help: 'ALEX calls refused locally by an open circuit breaker.', registers });
    this.breakerState = new Gauge({
      name: `${METRIC_PREFIX}alex_circuit_state`,
      help: 'Circuit breaker per facility: 0 closed, 1 half-open, 2 open.',
      labelNames: ['facility'],
      registers,
      collect: () => this.collectAlex(),
    });
    this.alexConnections = new Gauge({
      name: `${METRIC_PREFIX}alex_connections`,
      help: 'Connections to ALEX now, by pool (create: Media and DocumentReference creates; read: everything else) and state (active, idle, waiting: requests queued for a connection; see ALEX_MAX_SOCKETS).',
      labelNames: ['pool', 'state'],
      registers,
      collect: () => this.collectConnections(),
    });
    this.alexCreatesWaiting = new Gauge({
      name: `${METRIC_PREFIX}alex_creates_waiting`,
      help: "Creates waiting now for a write slot at their practice (ALEX_WRITES_PER_FACILITY): normal while a practice uploads a batch.",
      registers,
      collect: () => {
        if (this.alexSource) this.alexCreatesWaiting.set(this.alexSource.stats().createsWaiting);
      },
    });
    this.idempotencyReplays = new Counter({
      name: `${METRIC_PREFIX}idempotency_replays_total`,
      help: 'Commits answered with the stored outcome of an earlier identical request (replayed: true).',
      registers,
    });
    this.commits = new Counter({
      name: `${METRIC_PREFIX}commits_total`,
      help: 'Commit answers by outcome (committed, replayed, failed) and ERR_* code (what the companion outbox shows).',
      labelNames: ['outcome', 'code'],
      registers,
    });
  }

  /** The ALEX client's connections per pool and state, at scrape time. */
  private collectConnections(): void {
    const pools = this.alexSource?.stats().connections;
    if (!pools) return;
    for (const pool of ['create', 'read'] as const) {
      for (const state of ['active', 'idle', 'waiting'] as const) this.alexConnections.set({ pool, state }, pools[pool][state]);
    }
  }

  /** A facility as a label value: its mt-facilityid, up to maxFacilities distinct ones. */
  facilityLabel(facilityId: string | undefined): string {
    if (!facilityId) return 'none';
    if (this.facilities.has(facilityId)) return facilityId;
    if (this.facilities.size >= this.maxFacilities) return 'other';
    this.facilities.add(facilityId);
    return facilityId;
  }

  /** Token refreshes, attempts and breaker state are read from the client at scrape time. */
  trackAlexStats(source: AlexStatsSource): void {
    this.alexSource = source;
    this.last = { tokenRequests: 0, attempts: 0, breakerRejections: 0 };
  }

  private collectAlex(): void {
    const source = this.alexSource;
    if (!source) return;
    const s = source.stats();
    const step = (counter: Counter, key: keyof GatewayMetrics['last'], now: number): void => {
      if (now > this.last[key]) counter.inc(now - this.last[key]);
      this.last[key] = now;
    };
    step(this.tokenRefreshes, 'tokenRequests', s.token.requests);
    step(this.alexAttempts, 'attempts', s.attempts);
    step(this.breakerRejections, 'breakerRejections', s.breakerRejections);
    for (const facility of this.facilities) this.breakerState.set({ facility }, BREAKER_STATE_VALUE[source.breakerState(facility)] ?? -1);
  }

  /**
   * Wraps an ALEX client so every call is timed and counted by facility, operation and outcome.
   * The wrapper is transparent: same arguments, same results, same errors.
   */
  instrumentAlex<T extends AlexClient>(client: T): T {
    const record = (operation: AlexOperation, ctx: AlexCallContext, started: number, outcome: string): void => {
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
    app.addHook('onSend', async (req: FastifyRequest, reply: FastifyReply, payload: unknown) => {
      if (req.routeOptions.url === GATEWAY_ROUTES.commit && req.method === 'POST') this.recordCommit(reply.statusCode, payload);
      return payload;
    });
    app.addHook('onResponse', async (req: FastifyRequest, reply: FastifyReply) => {
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
