/**
 * POST /v1/commits: one image to one patient, as Media and/or Inbox Scan DocumentReference, exactly once
 * (order and rules: gateway/README.md "Commits"). Nothing reaches ALEX before every check has passed and
 * the lease is durable; an unknown outcome keeps its send time, so every later attempt settles it first.
 */
import type { CommitResponse, CommittedResource } from '../../../shared/contracts/gateway';
import { AppError, toAppError, type ErrorBody } from '../../../shared/errors';
import type { AlexCallContext, AlexClient, CreatedResource } from '../alex/types';
import { SerializedResource } from '../fhir/serialize';
import type { AuditEntry, Auditor } from '../audit';
import type { Clock, Random } from '../deps';
import { uuidV4 } from '../deps';
import type { GrantService } from '../launch/grants';
import type { CommitProgress, DeviceRecord, GatewayStore, GrantRecord, IdempotencyRecord, StoredResponse } from '../store/types';
import { commitFingerprint } from './fingerprint';
import { checkAttachmentData, type CommitBody } from './payload';
import type { ResourceBuilders } from './builders';
import { OutcomeResolver, type OutcomePolicy, type Target } from './outcome';

export interface CommitServiceOptions {
  maxAttachmentBytes: number;
  leaseSeconds: number;
  /** FHIR base of ALEX (or the sandbox), for absolute subject references. */
  alexFhirBaseUrl: string;
  /** When a create whose answer was lost counts as absent, or as a person's to settle (./outcome.ts). */
  outcome: OutcomePolicy;
}

export interface CommitCall {
  /** Taken over: its attachments are removed once built into ALEX's bytes (the image is held once). */
  body: CommitBody;
  idempotencyKey: string | undefined;
  device: DeviceRecord;
  correlationId: string;
  signal?: AbortSignal;
}

/** What the route sends: a status and a body (a CommitResponse or `{ error }`). */
export interface CommitAnswer {
  status: number;
  body: CommitResponse | { error: ErrorBody };
}

/** One commit attempt under one lease: what the steps of `run` share. */
interface Attempt {
  call: CommitCall;
  grant: GrantRecord;
  progress: CommitProgress;
  leaseOwner: string;
  leaseMs: number;
  alexCtx: AlexCallContext;
  /** The write of the send marks of the targets leaving now, while it is still open to join. */
  marking?: Promise<void>;
}

function targetName(target: Target): CommittedResource['resourceType'] {
  return target === 'media' ? 'Media' : 'DocumentReference';
}

export class CommitService {
  private readonly resolver: OutcomeResolver;

  constructor(
    private readonly store: GatewayStore,
    private readonly alex: AlexClient,
    private readonly grants: GrantService,
    private readonly auditor: Auditor,
    private readonly builders: ResourceBuilders,
    private readonly clock: Clock,
    private readonly random: Random,
    private readonly options: CommitServiceOptions,
  ) {
    this.resolver = new OutcomeResolver(alex, options.outcome);
  }

  async commit(call: CommitCall): Promise<CommitAnswer> {
    const { body, device, correlationId } = call;
    const key = call.idempotencyKey?.trim();
    if (key === undefined || key === '') throw new AppError('ERR_IDEMPOTENCY_KEY_MISSING');
    if (key !== body.imageId) throw new AppError('ERR_REQUEST_INVALID', { detail: 'Idempotency-Key must equal imageId' });
    const fingerprint = commitFingerprint(body);

    // A finished commit is answered from the store, even after its grant has expired.
    const existing = await this.store.getIdempotency(key);
    if (existing?.state === 'completed') return this.replayOrMismatch(existing, fingerprint, device, correlationId);

    let grant: GrantRecord;
    try {
      grant = await this.grants.check(body.grantId, device, body.patientId);
      this.checkPayload(body);
    } catch (err) {
      const e = toAppError(err);
      await this.auditor.record({
        deviceId: device.deviceId,
        facilityId: device.facilityId,
        action: 'commit.rejected',
        outcome: 'rejected',
        imageId: body.imageId,
        errorCode: e.code,
        correlationId,
      });
      throw e;
    }

    const leaseOwner = uuidV4(this.random);
    const leaseMs = this.options.leaseSeconds * 1000;
    const acquired = await this.store.acquireIdempotency({
      key,
      fingerprint,
      deviceId: device.deviceId,
      facilityId: grant.facilityId,
      patientId: grant.patient.id,
      patientNhi: this.grants.sealNhi(grant.patient.nhi, key), // sealed at rest (launch/patient-seal.ts)
      leaseOwner,
      leaseMs,
      now: this.clock.now(),
    });
    switch (acquired.kind) {
      case 'in-progress':
        throw new AppError('ERR_IDEMPOTENCY_IN_PROGRESS', { retryAfterSeconds: 1 });
      case 'mismatch':
        throw new AppError('ERR_IDEMPOTENCY_MISMATCH');
      case 'completed':
        return this.replayOrMismatch(acquired.record, fingerprint, device, correlationId);
      case 'acquired':
        return this.run(call, grant, acquired.record, leaseOwner, leaseMs);
    }
  }

  private async replayOrMismatch(rec: IdempotencyRecord, fingerprint: string, device: DeviceRecord, correlationId: string): Promise<CommitAnswer> {
    // The same request (same image, patient and details) from another device of the same practice is a
    // repeat: a PC re-enrolled under a new device id re-sends what its outbox held, and a commit that had
    // reached Medtech must not come back as an error. Another practice never shares a key.
    if (rec.fingerprint !== fingerprint || rec.facilityId !== device.facilityId) throw new AppError('ERR_IDEMPOTENCY_MISMATCH');
    const stored = rec.response as StoredResponse;
    await this.auditor.record({
      deviceId: device.deviceId,
      facilityId: rec.facilityId,
      patientId: rec.patientId,
      action: 'commit.replay',
      outcome: stored.status < 300 ? 'replayed' : 'replayed-error',
      imageId: rec.key,
      resourceIds: resourceIds(rec.progress),
      correlationId,
    });
    if (stored.status < 300) return { status: stored.status, body: { ...(stored.body as CommitResponse), replayed: true } };
    return { status: stored.status, body: stored.body as { error: ErrorBody } };
  }

  private checkPayload(body: CommitBody): void {
    if (!body.media && !body.document) throw new AppError('ERR_REQUEST_INVALID', { detail: 'media or document is required' });
    const max = this.options.maxAttachmentBytes;
    if (body.media) checkAttachmentData('media', body.media.data, body.media.contentType, max);
    if (body.document) checkAttachmentData('document', body.document.data, body.document.contentType, max);
  }

  private async run(call: CommitCall, grant: GrantRecord, rec: IdempotencyRecord, leaseOwner: string, leaseMs: number): Promise<CommitAnswer> {
    const { body, correlationId } = call;
    const progress: CommitProgress = { ...rec.progress, sent: { ...rec.progress.sent } };
    const attempt: Attempt = { call, grant, progress, leaseOwner, leaseMs, alexCtx: { facilityId: grant.facilityId, correlationId, signal: call.signal } };
    const targets: Target[] = [];
    if (body.media) targets.push('media');
    if (body.document) targets.push('documentReference');
    const ready = new Map<Target, SerializedResource>();
    try {
      // The lease is what makes a later attempt look before it creates: every store has it on disk by now.
      this.buildPending(attempt, targets, ready);
      // The targets go to ALEX together (each waits for a write slot of the practice, ../alex/limiter.ts);
      // the answer waits for both, so the lease is never let go while a create is in flight.
      const settled = await Promise.allSettled(targets.map((target) => this.commitTarget(attempt, target, targets, ready)));
      const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) throw failed.reason;
    } catch (err) {
      return this.fail(call, grant, progress, leaseOwner, toAppError(err));
    }
    return this.complete(attempt);
  }

  /**
   * One target: an earlier create of it settled first, else created once (its send time durable before it
   * goes); the progress is saved after it while another target is still open.
   */
  private async commitTarget(attempt: Attempt, target: Target, targets: readonly Target[], ready: Map<Target, SerializedResource>): Promise<void> {
    const { progress } = attempt;
    if (progress[target]) return;
    if (await this.settlePending(attempt, target)) return;
    const resource = ready.get(target);
    if (!resource) return;
    progress[target] = await this.createOnce(attempt, target, resource);
    if (targets.some((t) => !progress[t])) await this.saveProgress(attempt);
  }

  /** Each target not yet done as the bytes ALEX receives; then the request lets go of the image (see CommitCall.body). */
  private buildPending(attempt: Attempt, targets: readonly Target[], ready: Map<Target, SerializedResource>): void {
    const { body, device } = attempt.call;
    const buildCtx = {
      imageId: body.imageId,
      patient: attempt.grant.patient,
      facilityId: attempt.grant.facilityId,
      providerId: attempt.grant.providerId,
      capturedAt: body.capturedAt,
      metadata: body.metadata,
      ...(body.label === undefined ? {} : { label: body.label }),
      device: { id: device.deviceId, name: device.deviceName },
      alexFhirBaseUrl: this.options.alexFhirBaseUrl,
    };
    for (const target of targets) {
      if (attempt.progress[target]) continue;
      if (target === 'media' && body.media) ready.set(target, SerializedResource.of(this.builders.buildMedia(buildCtx, body.media)));
      if (target === 'documentReference' && body.document) ready.set(target, SerializedResource.of(this.builders.buildDocumentReference(buildCtx, body.document)));
    }
    delete body.media;
    delete body.document;
  }

  /**
   * An earlier create of this target may have reached ALEX (its send time is in the progress). True when
   * it was found there; false when it may be created (a person checked and asked to send again, or a
   * lookup proved it absent); throws the unknown/unconfirmed error otherwise — nothing is sent.
   */
  private async settlePending(attempt: Attempt, target: Target): Promise<boolean> {
    const { call, grant, progress } = attempt;
    const sentAt = progress.sent?.[target];
    if (sentAt === undefined) return false;
    // A person's "Send again" counts only once the gateway has said a person must look (unconfirmed):
    // a stale flag on a later request never skips the check.
    if (call.body.resendAfterCheck === true && this.clock.now() - sentAt >= this.options.outcome.unconfirmedAfterMs) {
      await this.auditor.record({ ...this.auditBase(attempt), action: 'commit.resend-after-check', outcome: 'resend', resourceIds: [targetName(target)] });
      delete progress.sent?.[target];
      return false;
    }
    const resolution = await this.resolver.resolve({ target, sentAt, now: this.clock.now(), imageId: call.body.imageId, patientNhi: grant.patient.nhi, ctx: attempt.alexCtx });
    if (resolution.kind === 'unknown') throw resolution.error;
    delete progress.sent?.[target];
    if (resolution.kind === 'absent') return false;
    progress[target] = resolution.resource;
    return true;
  }

  /**
   * One create. Its send time is on disk first, so a lost answer, a crash or another replica never sends
   * it again unproven. A failure that proves nothing reached ALEX clears the mark; any other leaves the
   * outcome unknown (one immediate documented lookup may still settle it).
   */
  private async createOnce(attempt: Attempt, target: Target, resource: SerializedResource): Promise<CommittedResource> {
    const { progress } = attempt;
    const sentAt = this.clock.now();
    progress.sent = { ...progress.sent, [target]: sentAt };
    await this.saveMarks(attempt);
    let created: CreatedResource;
    try {
      created = target === 'media' ? await this.alex.createMedia(attempt.alexCtx, resource) : await this.alex.createDocumentReference(attempt.alexCtx, resource);
    } catch (err) {
      if (err instanceof AppError && err.code !== 'ERR_ALEX_OUTCOME_UNKNOWN') {
        delete progress.sent?.[target];
        throw err;
      }
      const resolution = await this.resolver.resolve({ target, sentAt, now: this.clock.now(), imageId: attempt.call.body.imageId, patientNhi: attempt.grant.patient.nhi, ctx: attempt.alexCtx });
      if (resolution.kind !== 'found') throw resolution.kind === 'unknown' ? resolution.error : err;
      created = resolution.resource;
    }
    delete progress.sent?.[target];
    const done: CommittedResource = { resourceType: targetName(target), id: created.id };
    if (created.location !== undefined) done.location = created.location;
    return done;
  }

  /** Targets leaving together have their send marks written once; each create waits for a write made after its mark. */
  private saveMarks(attempt: Attempt): Promise<void> {
    attempt.marking ??= Promise.resolve().then(() => {
      delete attempt.marking;
      return this.saveProgress(attempt);
    });
    return attempt.marking;
  }

  private async saveProgress(attempt: Attempt): Promise<void> {
    const now = this.clock.now();
    if (!(await this.store.saveProgress(attempt.call.body.imageId, attempt.leaseOwner, attempt.progress, now + attempt.leaseMs, now))) {
      // Our lease ran out and another request took over; it settles any create we began before its own.
      throw new AppError('ERR_IDEMPOTENCY_IN_PROGRESS', { retryAfterSeconds: 1 });
    }
  }

  private auditBase(attempt: Attempt): Pick<AuditEntry, 'deviceId' | 'facilityId' | 'patientId' | 'imageId' | 'correlationId'> {
    return {
      deviceId: attempt.call.device.deviceId,
      facilityId: attempt.grant.facilityId,
      patientId: attempt.grant.patient.id,
      imageId: attempt.call.body.imageId,
      correlationId: attempt.call.correlationId,
    };
  }

  private async complete(attempt: Attempt): Promise<CommitAnswer> {
    const { call, progress, leaseOwner } = attempt;
    const response: CommitResponse = {
      imageId: call.body.imageId,
      committedAt: new Date(this.clock.now()).toISOString(),
      correlationId: call.correlationId,
      replayed: false,
    };
    if (progress.media) response.media = progress.media;
    if (progress.documentReference) response.documentReference = progress.documentReference;
    delete progress.sent;
    // The audit record is written with the outcome, atomically, before the answer leaves.
    const audit = this.auditor.build({ ...this.auditBase(attempt), action: 'commit', outcome: 'committed', resourceIds: resourceIds(progress), ...consentOf(call.body) });
    const stored = await this.store.completeIdempotency(call.body.imageId, leaseOwner, { status: 201, body: response }, this.clock.now(), progress, audit);
    if (!stored) throw new AppError('ERR_IDEMPOTENCY_IN_PROGRESS', { retryAfterSeconds: 1 });
    return { status: 201, body: response };
  }

  private async fail(call: CommitCall, grant: GrantRecord, progress: CommitProgress, leaseOwner: string, e: AppError): Promise<never> {
    const { body, device, correlationId } = call;
    const leaseLost = e.code === 'ERR_IDEMPOTENCY_IN_PROGRESS';
    // Unconfirmed is not retryable for the device (a person must look), but it is no final outcome: the
    // record stays open for the person's answer (confirm route, or resendAfterCheck) and for later lookups.
    const unconfirmed = e.code === 'ERR_COMMIT_UNCONFIRMED';
    const final = !e.retryable && !leaseLost && !unconfirmed;
    const audit = this.auditor.build({
      deviceId: device.deviceId,
      facilityId: grant.facilityId,
      patientId: grant.patient.id,
      action: 'commit',
      outcome: final ? 'failed' : e.code === 'ERR_ALEX_OUTCOME_UNKNOWN' ? 'unknown' : unconfirmed ? 'unconfirmed' : 'deferred',
      imageId: body.imageId,
      resourceIds: resourceIds(progress),
      errorCode: e.code,
      correlationId,
    });
    const now = this.clock.now();
    if (final) {
      const errBody = publicErrorBody(e, correlationId);
      await this.store.completeIdempotency(body.imageId, leaseOwner, { status: e.status, body: { error: errBody } }, now, progress, audit);
    } else if (leaseLost) {
      await this.store.appendAudit(audit);
    } else {
      await this.store.releaseIdempotency(body.imageId, leaseOwner, now, progress, audit);
    }
    throw e;
  }
}

/** The consent recorded with the image, for the audit (a kind, never patient data). */
function consentOf(body: CommitBody): Pick<AuditEntry, 'consent'> {
  return body.metadata.consent === undefined ? {} : { consent: body.metadata.consent };
}

function resourceIds(p: CommitProgress): string[] {
  const ids: string[] = [];
  if (p.media) ids.push(`Media/${p.media.id}`);
  if (p.documentReference) ids.push(`DocumentReference/${p.documentReference.id}`);
  return ids;
}

/** The body a user may see: real messages only below 500; no detail above. */
export function publicErrorBody(e: AppError, correlationId: string): ErrorBody {
  const body = e.toBody();
  body.correlationId = correlationId;
  if (e.status >= 500) {
    body.message = new AppError(e.code).message;
    delete body.detail;
  }
  return body;
}
