/**
 * `/_sandbox/*`: the inspection and fault-injection interface integrators' tests use. Stable: change it only by
 * adding (README). Loopback only, no auth, never counted or faulted; a refused input throws an AppError (app.ts answers it).
 */
import type { FastifyInstance } from 'fastify';
import { AppError } from '../../../shared/errors';
import { ASSUMPTIONS, parseAssumptions } from './assumptions';
import type { SandboxContext } from './context';
import { parseFaultRule } from './faults';
import type { LaunchInput, StoredResource } from './types';

const summary = ({ id, facilityId, patientId, identifier, contentType, size, createdAt }: StoredResource): Record<string, unknown> => {
  return { id, facilityId, patientId, identifier, contentType, bytes: size, createdAt: new Date(createdAt).toISOString() };
};

function registerFaultControl(app: FastifyInstance, ctx: SandboxContext): void {
  app.get('/_sandbox/faults', async () => ({ rules: ctx.faults.list() }));
  app.post('/_sandbox/faults', async (request, reply) => {
    const rules = (Array.isArray(request.body) ? request.body : [request.body]).map(parseFaultRule);
    return reply.code(201).send({ ids: rules.map((r) => ctx.faults.add(r)) });
  });
  app.delete('/_sandbox/faults', async (_request, reply) => {
    ctx.faults.clear();
    return reply.code(204).send();
  });
  app.delete('/_sandbox/faults/:id', async (request, reply) => {
    const { id } = request.params as { id: string };
    if (!ctx.faults.remove(id)) throw new AppError('ERR_NOT_FOUND');
    return reply.code(204).send();
  });
}

export function registerControlRoutes(app: FastifyInstance, ctx: SandboxContext): void {
  registerFaultControl(app, ctx);
  app.get('/_sandbox/assumptions', async () => ({ assumptions: ctx.assumptions, meaning: ASSUMPTIONS }));
  app.post('/_sandbox/assumptions', async (request) => {
    Object.assign(ctx.assumptions, parseAssumptions(request.body));
    return { assumptions: ctx.assumptions };
  });
  app.post('/_sandbox/launch', async (request, reply) => {
    const body = (typeof request.body === 'object' && request.body !== null ? request.body : {}) as Record<string, unknown>;
    const input: LaunchInput = { patientId: body.patientId as string | null, facilityCode: body.facilityCode as string, providerId: body.providerId as string | null | undefined };
    if (body.createdTime !== undefined) {
      if (typeof body.createdTime !== 'string') throw new AppError('ERR_REQUEST_INVALID', { detail: 'createdTime must be an ISO date-time' });
      input.createdTime = new Date(body.createdTime);
    }
    return reply.code(201).send(ctx.issueLaunch(input));
  });
  app.get('/_sandbox/state', async () => ({
    facilities: ctx.facilities,
    tokenPath: ctx.tokenPath,
    counters: ctx.store.counters,
    activeTokens: [...ctx.store.tokens.values()].filter((t) => t.expiresAt > ctx.clock()).length,
    media: ctx.store.listMedia().map(summary),
    documentReferences: ctx.store.listDocumentReferences().map(summary),
    faults: ctx.faults.list(),
    assumptions: ctx.assumptions,
    patients: ctx.patients,
    practitioners: ctx.practitioners,
  }));
  app.post('/_sandbox/reset', async (_request, reply) => {
    ctx.store.reset();
    return reply.code(204).send();
  });
  app.post('/_sandbox/tokens/revoke', async (_request, reply) => {
    ctx.store.tokens.clear();
    return reply.code(204).send();
  });
}
