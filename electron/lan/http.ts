/** The LAN server's Fastify instance: limits, no proxy trust, security headers, a URL-free request log, coded errors. */
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import multipart from '@fastify/multipart';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { AppError } from '../../shared/errors';
import { toLanError } from './errors';
import { PAGE_CSP } from './page';
import type { LanLimits } from './server';

export function createLanFastify(limits: LanLimits, log: Logger): FastifyInstance {
  const app = Fastify({
    loggerInstance: log as FastifyBaseLogger,
    logController: new QuietLogController(),
    bodyLimit: limits.jsonBodyBytes,
    requestTimeout: limits.requestTimeoutMs,
    connectionTimeout: limits.requestTimeoutMs,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    forceCloseConnections: true,
    return503OnClosing: true,
    trustProxy: false,
    routerOptions: { maxParamLength: 200 },
    genReqId: () => randomUUID(),
    serverFactory: (handler) =>
      createServer(
        {
          headersTimeout: limits.headersTimeoutMs,
          requestTimeout: limits.requestTimeoutMs,
          keepAliveTimeout: limits.keepAliveTimeoutMs,
          connectionsCheckingInterval: limits.connectionsCheckingIntervalMs,
          maxHeaderSize: 16 * 1024,
        },
        handler,
      ),
  });
  app.removeContentTypeParser(['text/plain']);
  void app.register(multipart, { throwFileSizeLimit: true });
  installSecurityHeaders(app);
  app.addHook('onResponse', async (req, reply) => {
    log.info({ method: req.method, route: req.routeOptions.url ?? '(unmatched)', status: reply.statusCode }, 'LAN request');
  });
  installErrorHandlers(app, log);
  return app;
}

function installSecurityHeaders(app: FastifyInstance): void {
  app.addHook('onSend', async (req, reply, payload) => {
    reply.header('referrer-policy', 'no-referrer');
    reply.header('cache-control', 'no-store');
    reply.header('x-content-type-options', 'nosniff');
    reply.header('content-security-policy', PAGE_CSP);
    reply.header('x-frame-options', 'DENY');
    reply.header('cross-origin-resource-policy', 'same-origin');
    reply.header('cross-origin-opener-policy', 'same-origin');
    if (reply.statusCode >= 400 && req.method === 'POST') reply.header('connection', 'close');
    return payload;
  });
}

/** 5xx: a correlation id and the error's kind in the log, the plain message to the phone. */
function installErrorHandlers(app: FastifyInstance, log: Logger): void {
  app.setErrorHandler((err, req, reply) => {
    const appErr = toLanError(err);
    if (appErr.status >= 500) {
      const correlationId = randomUUID();
      const cause = appErr.code === 'ERR_INTERNAL' ? err : (appErr.cause ?? err);
      const c = cause as { name?: unknown; code?: unknown };
      log.error({ correlationId, code: appErr.code, errName: String(c.name ?? ''), errCode: String(c.code ?? ''), route: req.routeOptions.url }, 'LAN request failed');
      void reply.code(appErr.status).send({ error: new AppError(appErr.code, { correlationId, detail: appErr.detail }).toBody() });
      return;
    }
    log.info({ code: appErr.code, status: appErr.status, route: req.routeOptions.url ?? '(unmatched)' }, 'LAN request refused');
    if (appErr.code === 'ERR_RATE_LIMITED') reply.header('retry-after', String(appErr.retryAfterSeconds ?? 60));
    void reply.code(appErr.status).send({ error: appErr.toBody() });
  });
  app.setNotFoundHandler((_req, reply) => {
    void reply.code(404).send({ error: new AppError('ERR_NOT_FOUND').toBody() });
  });
}

/** Fastify's own request log lines carry the raw URL and headers: a token or credential must never reach a log. */
class QuietLogController extends LogController {
  constructor() {
    super({ disableRequestLogging: true });
  }
  override incomingRequest(): void {}
  override requestCompleted(): void {}
  override routeNotFound(): void {}
  override defaultErrorLog(): void {}
  override streamError(): void {}
  override writeHeadError(): void {}
}
