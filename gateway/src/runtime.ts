/**
 * The gateway's composition root: config → store, ALEX client (or the in-process sandbox), logger → app.
 * Used by server.ts, the tests and the benchmark, so all three run the same wiring.
 */
import type { Logger } from 'pino';
import { createAlexClient, type AlexClientOptions } from './alex/client';
import { buildGateway } from './app';
import { openProofReplayCache, type ProofReplayCache } from './auth/replay';
import type { GatewayConfig } from './config';
import { cryptoRandom, systemClock, type Clock, type Random } from './deps';
import { buildDocumentReference, buildMedia } from './fhir/builders';
import { createLogger } from './logger';
import { GatewayMetrics } from './metrics/metrics';
import { startMetricsServer, type MetricsConfig } from './metrics/server';
import { startSandbox, type RunningSandbox, type SandboxOptions } from './sandbox';
import { openStore } from './store';
import type { GatewayStore } from './store/types';

/** Absent options get the production choice (store and replay cache: Redis when REDIS_URL); `metrics` absent: none. */
export interface RuntimeOptions {
  config: GatewayConfig;
  logger?: Logger;
  clock?: Clock;
  random?: Random;
  store?: GatewayStore;
  /** Closed by close(). */
  proofReplayCache?: ProofReplayCache;
  /** For the in-process sandbox, used when config.alex is null. */
  sandbox?: SandboxOptions;
  /** Retry timings, sleep: tests and benchmarks. */
  alexClient?: Partial<AlexClientOptions>;
  metrics?: MetricsConfig;
}

export type GatewayRuntime = Awaited<ReturnType<typeof createRuntime>>;

type AlexTarget = Pick<AlexClientOptions, 'fhirBaseUrl' | 'tokenUrl' | 'clientId' | 'clientSecret' | 'secondaryClientSecret' | 'scope'>;

/** ALEX as configured, else the in-process sandbox (closed with the runtime). */
async function alexTarget(options: RuntimeOptions, logger: Logger): Promise<{ target: AlexTarget; sandbox: RunningSandbox | null }> {
  const { alex, alexMaxAttachmentBytes } = options.config;
  if (alex) {
    const [clientSecret = '', secondaryClientSecret] = alex.clientSecrets;
    return { sandbox: null, target: { fhirBaseUrl: alex.baseUrl, tokenUrl: alex.tokenUrl, clientId: alex.clientId, clientSecret, secondaryClientSecret, scope: alex.scope } };
  }
  const sandbox = await startSandbox({ host: '127.0.0.1', port: 0, maxAttachmentBytes: alexMaxAttachmentBytes, ...options.sandbox });
  logger.warn({ sandboxUrl: sandbox.url }, 'ALEX_BASE_URL is not set: using the in-process ALEX sandbox (no real Medtech data)');
  return { sandbox, target: { fhirBaseUrl: sandbox.fhirBaseUrl, tokenUrl: sandbox.tokenUrl, ...sandbox.credentials } };
}

export async function createRuntime(options: RuntimeOptions) {
  const { config } = options;
  const logger = options.logger ?? createLogger({ level: config.logLevel });
  const clock = options.clock ?? systemClock;
  const { target, sandbox } = await alexTarget(options, logger);
  const alex = createAlexClient({
    ...target,
    maxConcurrentWritesPerFacility: config.alexConnections.writesPerFacility,
    maxSockets: config.alexConnections.maxSockets,
    logger: logger.child({ component: 'alex' }),
    clock: () => clock.now(),
    ...options.alexClient,
  });
  const store = options.store ?? openStore(config);
  const proofReplayCache = options.proofReplayCache ?? openProofReplayCache(config);
  const metrics: GatewayMetrics | null = options.metrics ? new GatewayMetrics() : null;
  metrics?.trackAlexStats(alex);
  const app = buildGateway({
    config,
    alex: metrics ? metrics.instrumentAlex(alex) : alex,
    store,
    proofReplayCache,
    clock,
    random: options.random ?? cryptoRandom,
    logger,
    ...(metrics ? { metrics } : {}),
    builders: { buildMedia, buildDocumentReference },
    alexFhirBaseUrl: target.fhirBaseUrl,
  });
  const metricsServer = metrics && options.metrics ? await startMetricsServer(metrics, options.metrics, logger) : null;

  let closing: Promise<void> | null = null;
  return {
    app,
    config,
    store,
    proofReplayCache,
    alex,
    sandbox,
    logger,
    metrics,
    metricsUrl: metricsServer?.url ?? null,
    /** Stop accepting, finish in-flight requests, then close the ALEX client, the store, the replay cache and the sandbox. */
    close(): Promise<void> {
      closing ??= (async () => {
        await app.close();
        if (metricsServer) await metricsServer.close();
        alex.close();
        await store.close();
        await proofReplayCache.close();
        if (sandbox) await sandbox.close();
      })();
      return closing;
    },
  };
}
