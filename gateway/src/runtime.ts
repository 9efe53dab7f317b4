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

export async function createRuntime(options: RuntimeOptions) {
  const { config } = options;
  const logger = options.logger ?? createLogger({ level: config.logLevel });
  const clock = options.clock ?? systemClock;
  const random = options.random ?? cryptoRandom;

  let sandbox: RunningSandbox | null = null;
  let alexOptions: Pick<AlexClientOptions, 'fhirBaseUrl' | 'tokenUrl' | 'clientId' | 'clientSecret' | 'secondaryClientSecret' | 'scope'>;
  if (config.alex) {
    alexOptions = {
      fhirBaseUrl: config.alex.baseUrl,
      tokenUrl: config.alex.tokenUrl,
      clientId: config.alex.clientId,
      clientSecret: config.alex.clientSecrets[0] ?? '',
      secondaryClientSecret: config.alex.clientSecrets[1],
      scope: config.alex.scope,
    };
  } else {
    sandbox = await startSandbox({ host: '127.0.0.1', port: 0, maxAttachmentBytes: config.alexMaxAttachmentBytes, ...options.sandbox });
    logger.warn({ sandboxUrl: sandbox.url }, 'ALEX_BASE_URL is not set: using the in-process ALEX sandbox (no real Medtech data)');
    alexOptions = {
      fhirBaseUrl: sandbox.fhirBaseUrl,
      tokenUrl: sandbox.tokenUrl,
      clientId: sandbox.credentials.clientId,
      clientSecret: sandbox.credentials.clientSecret,
      scope: sandbox.credentials.scope,
    };
  }

  const alex = createAlexClient({
    ...alexOptions,
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
    random,
    logger,
    ...(metrics ? { metrics } : {}),
    builders: { buildMedia, buildDocumentReference },
    alexFhirBaseUrl: alexOptions.fhirBaseUrl,
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
