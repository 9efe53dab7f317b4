/**
 * POST /FHIR/Media and /FHIR/DocumentReference: Content-Type, what ALEX refuses (./resources.ts), then store, with
 * the create faults around it. No deduplication unless an assumption says so.
 */
import { createHash } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { fhirBase, headerValue, type SandboxContext } from './context';
import type { DeferredFaults } from './fault-hooks';
import { FHIR_JSON, sendOutcome } from './outcome';
import { validateCreate, type ValidatedCreate } from './resources';
import { ALEX_ABSOLUTE_BASES } from './seed';
import type { ResourceKind } from './store';
import type { StoredResource } from './types';

/** The resource with `size` in place of its attachment's `data` (the shape was validated before). */
function withoutAttachmentData(kind: ResourceKind, body: Record<string, unknown>): Record<string, unknown> {
  const strip = (att: unknown): unknown => {
    if (typeof att !== 'object' || att === null) return att;
    const { data, ...rest } = att as Record<string, unknown>;
    return typeof data === 'string' ? { ...rest, size: Buffer.byteLength(data, 'base64') } : rest;
  };
  if (kind === 'Media') return { ...body, content: strip(body.content) };
  const content = (body.content as unknown[]).map((c) => (typeof c === 'object' && c !== null ? { ...c, attachment: strip((c as Record<string, unknown>).attachment) } : c));
  return { ...body, content };
}

function validate(ctx: SandboxContext, request: FastifyRequest, kind: ResourceKind): ValidatedCreate {
  const facility = headerValue(request, 'mt-facilityid') ?? '';
  return validateCreate(request.body, kind, {
    undocumentedElements: ctx.assumptions.undocumentedElements,
    findPatient: (id: string) => ctx.findPatient(facility, id),
    findPractitioner: (id: string) => ctx.practitioners.find((p) => p.id === id),
    maxAttachmentBytes: ctx.maxAttachmentBytes,
    absoluteBases: [...ALEX_ABSOLUTE_BASES, fhirBase(request)],
  });
}

/** An earlier resource with this identifier, where an assumption says ALEX would return it instead of creating. */
function existing(ctx: SandboxContext, request: FastifyRequest, kind: ResourceKind, { identifier }: ValidatedCreate): StoredResource | undefined {
  const list = ctx.store.list(kind, { facilityId: headerValue(request, 'mt-facilityid') ?? '' });
  const same = list.find((r) => r.identifier.system === identifier.system && r.identifier.value === identifier.value);
  const condition = headerValue(request, 'if-none-exist');
  const conditional = ctx.assumptions.ifNoneExist && condition === `identifier=${identifier.system}|${identifier.value}`;
  return ctx.assumptions.identifierDeduplication || conditional ? same : undefined;
}

function store(ctx: SandboxContext, request: FastifyRequest, kind: ResourceKind, valid: ValidatedCreate): StoredResource {
  const id = ctx.newId();
  const now = ctx.clock();
  const body = request.body as Record<string, unknown>;
  const stored: StoredResource = {
    id,
    resourceType: kind,
    facilityId: headerValue(request, 'mt-facilityid') ?? '',
    patientId: valid.patientId,
    identifier: valid.identifier,
    contentType: valid.contentType,
    bytes: ctx.keepBytes ? valid.bytes : Buffer.alloc(0),
    size: valid.bytes.length,
    sha256: createHash('sha256').update(valid.bytes).digest('hex'),
    createdAt: now,
    resource: { ...(ctx.keepBytes ? body : withoutAttachmentData(kind, body)), resourceType: kind, id, meta: { versionId: '1', lastUpdated: new Date(now).toISOString() } },
  };
  ctx.store.add(stored);
  request.log.info({ resourceType: kind, id }, 'sandbox created resource');
  return stored;
}

export function registerCreateRoutes(fhir: FastifyInstance, ctx: SandboxContext, faults: DeferredFaults): void {
  const createRoute = (kind: ResourceKind) => async (request: FastifyRequest, reply: FastifyReply) => {
    ctx.store.bump(kind === 'Media' ? 'mediaCreateCalls' : 'documentReferenceCreateCalls');
    const slow = faults.get(request).find((r) => r.kind === 'slowCreate');
    if (slow !== undefined) await ctx.sleep(slow.storeAfterMs ?? 0);
    const type = (headerValue(request, 'content-type') ?? '').split(';')[0]?.trim().toLowerCase();
    let valid: ValidatedCreate;
    try {
      if (type !== 'application/fhir+json' && !(type === 'application/json' && ctx.assumptions.jsonContentType)) {
        return sendOutcome(reply, 415, 'not-supported', 'Content-Type must be application/fhir+json');
      }
      valid = validate(ctx, request, kind);
    } catch (err) {
      const faulted = await faults.applyAfter(request, reply);
      if (faulted !== null) return faulted;
      throw err;
    }
    const earlier = existing(ctx, request, kind, valid);
    const stored = earlier ?? store(ctx, request, kind, valid);
    if (slow !== undefined) {
      if (slow.answerAfterMs === undefined) return reply.hijack();
      await ctx.sleep(slow.answerAfterMs - (slow.storeAfterMs ?? 0));
    }
    const faulted = await faults.applyAfter(request, reply);
    if (faulted !== null) return faulted;
    const location = `${fhirBase(request)}/${stored.resourceType}/${stored.id}/_history/1`;
    reply.headers({ location, etag: 'W/"1"', 'last-modified': new Date(stored.createdAt).toUTCString() });
    return reply.code(earlier === undefined ? 201 : 200).type(FHIR_JSON).send(stored.resource);
  };
  fhir.post('/Media', createRoute('Media'));
  fhir.post('/DocumentReference', createRoute('DocumentReference'));
}
