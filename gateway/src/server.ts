/**
 * `npm run gateway`: read the environment, start the gateway, stop gracefully on SIGTERM/SIGINT.
 * A bad configuration prints one line naming the variable and exits with status 78 (EX_CONFIG).
 */
import { fileURLToPath } from 'node:url';
import { ConfigError, loadConfig } from './config';
import { loadMetricsConfig } from './metrics/server';
import { createRuntime, type GatewayRuntime } from './runtime';

export async function main(env: Record<string, string | undefined> = process.env): Promise<GatewayRuntime> {
  const config = loadConfig(env);
  const metrics = loadMetricsConfig(env);
  const runtime = await createRuntime({ config, metrics });
  const { app, logger } = runtime;
  await app.listen({ port: config.port, host: config.host });
  logger.info({ port: config.port, host: config.host, store: runtime.store.kind, alex: config.alex ? 'configured' : 'sandbox' }, 'gateway listening');

  const purge = setInterval(() => {
    runtime.store.purgeExpired(Date.now(), config.idempotencyRetentionDays * 24 * 3600 * 1000).catch(() => logger.warn('store purge failed'));
  }, 10 * 60 * 1000);
  purge.unref();

  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    clearInterval(purge);
    logger.info({ signal }, 'gateway stopping: finishing in-flight requests');
    const force = setTimeout(() => {
      logger.error('gateway did not stop in time; exiting');
      process.exit(1);
    }, config.shutdownGraceSeconds * 1000);
    force.unref();
    runtime
      .close()
      .then(() => {
        logger.info('gateway stopped');
        logger.flush();
        process.exitCode = 0;
      })
      .catch(() => {
        logger.error('gateway stopped with an error');
        process.exitCode = 1;
      });
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
  return runtime;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  main().catch((err: unknown) => {
    if (err instanceof ConfigError) {
      process.stderr.write(`Gateway configuration error: ${err.message}\n`);
      process.exit(78);
    }
    process.stderr.write(`Gateway failed to start: ${err instanceof Error ? err.name : 'error'}${err instanceof Error && 'code' in err ? ` (${String(err.code)})` : ''}\n`);
    process.exit(1);
  });
}
