/**
 * Fault injection over HTTP: which rules fire for a request (onRequest, before auth) and how each kind answers.
 * Faults that let a create happen first are kept for the create handler (./create-routes.ts).
 */
import { BugIndicatingError } from '../../../shared/errors';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { sendAzureError, type AzureError } from './azure';
import { headerValue, pathOf, type SandboxContext } from './context';
import { sendOutcome } from './outcome';
import type { ActiveFaultRule, FaultKind, SandboxRequestRecord } from './types';

/** Routes whose side effect deferred faults let happen. */
const CREATE_ROUTES = new Set(['/FHIR/Media', '/FHIR/DocumentReference']);

export type DeferredFaults = ReturnType<typeof registerFaultHooks>;

const isDeferred = (rule: ActiveFaultRule): boolean => rule.when === 'after' || rule.kind === 'storedThenDropped' || rule.kind === 'slowCreate';

/** At the token endpoint the status faults answer in Azure AD's shape. */
const TOKEN_FAULTS: Partial<Record<FaultKind, AzureError>> = { status401: 'invalidSecret', status429: 'throttled', status503: 'unavailable', status500: 'serverError' };

export function replyFault(ctx: SandboxContext, request: FastifyRequest, reply: FastifyReply, rule: ActiveFaultRule): FastifyReply {
  const facility = headerValue(request, 'mt-facilityid') ?? 'this facility';
  if (rule.kind === 'status429' || (rule.kind === 'status503' && rule.retryAfterSeconds !== undefined)) reply.header('retry-after', String(rule.retryAfterSeconds ?? 2));
  const azure = TOKEN_FAULTS[rule.kind];
  if (azure !== undefined && pathOf(request.url) === ctx.tokenPath) return sendAzureError(reply, azure, ctx.clock());
  switch (rule.kind) {
    case 'status401':
      reply.header('www-authenticate', 'Bearer error="invalid_token", error_description="The access token is expired"');
      return sendOutcome(reply, 401, 'login', 'Authorization failed: the access token is expired or not valid');
    case 'status403':
      return sendOutcome(reply, 403, 'forbidden', 'Authorization failed');
    case 'status429':
      return sendOutcome(reply, 429, 'throttled', 'Too many requests. Retry later.');
    case 'status503':
      // After the create was stored the connection cannot have lacked a listener: the answer was lost on the way back.
      if (rule.when === 'after') return sendOutcome(reply, 503, 'transient', `The practice connection for facility ${facility} was lost before the answer came back.`);
      return sendOutcome(reply, 503, 'transient', `The practice connection for facility ${facility} is not available: there are no listeners connected for the hybrid connection endpoint.`);
    case 'status500':
      // ALEX's errors are not always FHIR: a 500 arrives as plain text.
      return reply.code(500).type('text/plain; charset=utf-8').send('An error occurred while processing your request.');
    case 'drop':
    case 'storedThenDropped':
      reply.hijack();
      request.raw.socket.destroy();
      return reply;
    case 'timeout':
      // Never answered: closing the sandbox destroys the socket (forceCloseConnections).
      return reply.hijack();
    case 'latency':
    case 'slowCreate':
      throw new BugIndicatingError(`${rule.kind} is not a terminal fault`);
  }
}

/** Registers the request record, route counter and fault hooks. Returns the deferred faults for the create handlers. */
export function registerFaultHooks(app: FastifyInstance, ctx: SandboxContext) {
  const records = new WeakMap<FastifyRequest, SandboxRequestRecord>();
  const deferred = new WeakMap<FastifyRequest, ActiveFaultRule[]>();

  app.addHook('onRequest', async (request, reply) => {
    const path = pathOf(request.url);
    if (path === '/_sandbox' || path.startsWith('/_sandbox/')) return;
    const route = `${request.method} ${request.routeOptions.url ?? '(unmatched)'}`;
    ctx.store.bumpIn('requestsByRoute', route);
    const record: SandboxRequestRecord = { at: ctx.clock(), method: request.method, path, route, facilityId: headerValue(request, 'mt-facilityid'), correlationId: headerValue(request, 'mt-correlationid'), status: null };
    records.set(request, record);
    ctx.store.record(record);
    const isCreate = request.method === 'POST' && CREATE_ROUTES.has(request.routeOptions.url ?? '');
    for (const rule of ctx.faults.take({ method: request.method, path, facilityId: record.facilityId })) {
      ctx.store.bumpIn('faultsApplied', rule.kind);
      if (isDeferred(rule) && isCreate) {
        deferred.set(request, [...(deferred.get(request) ?? []), rule]);
        continue;
      }
      if (rule.kind === 'latency' || rule.kind === 'slowCreate') {
        await ctx.sleep(rule.kind === 'latency' ? (rule.latencyMs ?? 1000) : (rule.storeAfterMs ?? 0));
        continue;
      }
      return replyFault(ctx, request, reply, rule);
    }
    return;
  });

  app.addHook('onResponse', async (request, reply) => {
    const record = records.get(request);
    if (record !== undefined) record.status = reply.statusCode;
  });

  return {
    /** The deferred rules of this create, in order. */
    get: (request: FastifyRequest): readonly ActiveFaultRule[] => deferred.get(request) ?? [],
    /** Applies the answer-taking ones (latency, statuses, drops) after the create. null: none took the answer. */
    async applyAfter(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | null> {
      for (const rule of deferred.get(request) ?? []) {
        if (rule.kind === 'slowCreate') continue;
        if (rule.kind === 'latency') {
          await ctx.sleep(rule.latencyMs ?? 1000);
          continue;
        }
        return replyFault(ctx, request, reply, rule);
      }
      return null;
    },
  };
}
