/**
 * The metrics listener: GET /metrics on its own port (METRICS_PORT, default 9464) and interface
 * (METRICS_HOST, default 127.0.0.1), apart from the API so the load balancer never exposes it.
 * Anything else gets 404; nothing but the exposition text is ever served.
 */
import { createServer, type Server } from 'node:http';
import type { Logger } from 'pino';
import { ConfigError } from '../config';
import type { GatewayMetrics } from './metrics';

/** `port` 0 picks a free port (tests); the bound URL is logged. */
export interface MetricsConfig {
  enabled: boolean;
  host: string;
  port: number;
}

/** METRICS_ENABLED, METRICS_HOST, METRICS_PORT from the environment; ConfigError names a bad one. */
export function loadMetricsConfig(env: Record<string, string | undefined>): MetricsConfig {
  const [enabled, host, port] = [env.METRICS_ENABLED, env.METRICS_HOST, env.METRICS_PORT].map((v) => (v?.trim() === '' ? undefined : v?.trim()));
  if (enabled !== undefined && !/^(true|false|1|0)$/.test(enabled)) throw new ConfigError('METRICS_ENABLED', 'must be true or false');
  if (host !== undefined && !/^[A-Za-z0-9.:-]{1,255}$/.test(host)) throw new ConfigError('METRICS_HOST', `must be an interface address or host name (got "${host}")`);
  if (port !== undefined && (!/^[0-9]+$/.test(port) || Number(port) > 65535)) {
    throw new ConfigError('METRICS_PORT', `must be a port number from 0 to 65535 (got "${port}")`);
  }
  return { enabled: enabled === undefined || enabled === 'true' || enabled === '1', host: host ?? '127.0.0.1', port: port === undefined ? 9464 : Number(port) };
}

/**
 * Starts the listener; `url` (http://host:port) is null when not listening. A port already in use is logged
 * as an error and the gateway carries on without metrics (serving practices matters more; the scrape target
 * shows as down, which alerts).
 */
export async function startMetricsServer(metrics: GatewayMetrics, config: MetricsConfig, logger: Logger): Promise<{ url: string | null; close(): Promise<void> }> {
  if (!config.enabled) return { url: null, close: async () => undefined };
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0];
    if (req.method !== 'GET' || path !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('Not found\n');
      return;
    }
    metrics.registry.metrics().then(
      (text) => res.writeHead(200, { 'content-type': metrics.registry.contentType, 'cache-control': 'no-store' }).end(text),
      () => res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' }).end('Metrics unavailable\n'),
    );
  });
  server.requestTimeout = 10_000;
  server.headersTimeout = 5_000;
  const listening = await new Promise<boolean>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EADDRINUSE' || err.code === 'EADDRNOTAVAIL') {
        logger.error({ code: err.code, port: config.port, host: config.host }, 'metrics port unavailable: metrics are not served');
        resolve(false);
      } else reject(err);
    });
    server.listen(config.port, config.host, () => resolve(true));
  });
  if (!listening) return { url: null, close: async () => undefined };
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : config.port;
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  const url = `http://${host}:${port}`;
  logger.info({ metricsUrl: `${url}/metrics` }, 'metrics listening');
  return {
    url,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
