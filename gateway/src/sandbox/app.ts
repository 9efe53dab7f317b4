/** The ALEX sandbox as a Fastify app, composed of its units (README "Adding the next thing"); for `inject()` or listening. */
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { AppError } from '../../../shared/errors';
import { registerTokenRoute, sendAzureError } from './azure';
import { ASSUMPTION_NAMES } from './assumptions';
import { createSandboxContext, pathOf, type SandboxContext } from './context';
import { registerControlRoutes } from './control-routes';
import { registerCreateRoutes } from './create-routes';
import { registerFaultHooks } from './fault-hooks';
import { registerFhirRoutes } from './fhir-routes';
import { OutcomeError, sendApimError, sendOutcome } from './outcome';
import type { SandboxHandle, SandboxOptions } from './types';

export type SandboxApp = FastifyInstance & { sandbox: SandboxHandle };

/** Large enough for an 8 MB Inbox Scan as base64, so size rules answer as ALEX does (413 OperationOutcome). */
const BODY_LIMIT_BYTES = 16 * 1024 * 1024;

function registerParsers(app: FastifyInstance): void {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser(['application/json', 'application/fhir+json'], { parseAs: 'string', bodyLimit: BODY_LIMIT_BYTES }, (_req, body, done) => {
    try {
      done(null, JSON.parse(body as string) as unknown);
    } catch {
      done(new OutcomeError(400, 'structure', 'The request body is not valid JSON'), undefined);
    }
  });
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: 64 * 1024 }, (_req, body, done) => {
    done(null, Object.fromEntries(new URLSearchParams(body as string)));
  });
}

function registerErrorHandlers(app: FastifyInstance, ctx: SandboxContext): void {
  app.setNotFoundHandler((_request, reply) => sendApimError(reply, 404, 'Resource not found'));
  app.setErrorHandler((error: unknown, request, reply) => {
    if (error instanceof OutcomeError) return sendOutcome(reply, error.status, error.issueCode, error.diagnostics, error.expression);
    if (error instanceof AppError) return reply.code(error.status).send(error.toBody());
    const status = typeof (error as { statusCode?: unknown }).statusCode === 'number' ? (error as { statusCode: number }).statusCode : 500;
    if (pathOf(request.url) === ctx.tokenPath) {
      return sendAzureError(reply, status >= 500 ? 'serverError' : 'malformed', ctx.clock());
    }
    if (status === 413) return sendOutcome(reply, 413, 'too-long', 'The request body is too large');
    if (status === 415) return sendOutcome(reply, 415, 'not-supported', 'Content-Type must be application/fhir+json');
    if (status >= 400 && status < 500) return sendOutcome(reply, status, 'structure', 'The request could not be read');
    request.log.error({ code: (error as { code?: unknown }).code }, 'sandbox handler failed');
    return sendOutcome(reply, 500, 'exception', 'An unexpected error occurred');
  });
}

function handleOf(ctx: SandboxContext): SandboxHandle {
  return {
    tenantId: ctx.tenantId,
    tokenPath: ctx.tokenPath,
    credentials: ctx.credentials,
    faults: ctx.faults,
    store: ctx.store,
    patients: ctx.patients,
    practitioners: ctx.practitioners,
    facilities: ctx.facilities,
    issueLaunch: (input) => ctx.issueLaunch(input),
    revokeTokens: () => ctx.store.tokens.clear(),
    assumptions: {
      get: () => ({ ...ctx.assumptions }),
      set(change) {
        for (const name of ASSUMPTION_NAMES) if (change[name] !== undefined) ctx.assumptions[name] = change[name];
      },
    },
  };
}

export function buildSandboxApp(options: SandboxOptions = {}): SandboxApp {
  const ctx = createSandboxContext(options);
  const app: FastifyInstance = Fastify({
    loggerInstance: ctx.logger as FastifyBaseLogger,
    // No request logging: URLs carry NHIs. The sandbox logs only what it chooses to.
    logController: new LogController({ disableRequestLogging: true }),
    // Also destroys the sockets that `timeout` and slow-create faults never answer.
    forceCloseConnections: true,
    bodyLimit: BODY_LIMIT_BYTES,
  });
  registerParsers(app);
  const faults = registerFaultHooks(app, ctx);
  registerErrorHandlers(app, ctx);
  registerTokenRoute(app, ctx);
  // Azure API Management: operations ALEX does not expose (non-FHIR error shape).
  app.all('/FHIR/Encounter', (_request, reply) => sendApimError(reply, 404, 'Resource not found'));
  app.all('/FHIR/Encounter/*', (_request, reply) => sendApimError(reply, 404, 'Resource not found'));
  registerFhirRoutes(app, ctx, (fhir) => registerCreateRoutes(fhir, ctx, faults));
  registerControlRoutes(app, ctx);
  const sandboxApp = app as unknown as SandboxApp;
  sandboxApp.decorate('sandbox', handleOf(ctx));
  return sandboxApp;
}
