/**
 * POST /v1/commits: one image to one patient, as Media and/or Inbox Scan DocumentReference, exactly once.
 *
 * Order: Idempotency-Key = imageId → a completed record is replayed → grant live, this device's, this
 * patient's → payload checks (base64, size, magic bytes) → lease → per target: build, create at ALEX
 * (with reconcile), save progress → audit → store the outcome → answer. Nothing reaches ALEX before
 * every check has passed. A retryable ALEX failure releases the lease (progress kept); a final one is
 * stored as the outcome. A lease left by a crashed gateway expires and is taken over; the client then
 * looks at ALEX first (`checkFirst`) before creating again. The lease may settle before it is on disk
 * (the file store's `durable`): the image is sent meanwhile, but its last byte waits for it, so ALEX can
 * store nothing that a lease lost to a power cut would hide from the next attempt.
 */
import type { CommitResponse, CommittedResource } from '../../../shared/contracts/gateway';
import { AppError, toAppError, type ErrorBody } from '../../../shared/errors';
import type { CreatedResource, ReconcileOptions } from '../alex/types';
import { SerializedResource, alexRequestBytes } from '../fhir/serialize';
import type { AlexClient } from '../alex/types';
import type { Auditor } from '../audit';
import type { Clock, Random } from '../deps';
import { uuidV4 } from '../deps';
import type { GrantService } from '../launch/grants';
import type { CommitProgress, DeviceRecord, GatewayStore, GrantRecord, IdempotencyRecord, StoredResponse } from '../store/types';
import { commitFingerprint } from './fingerprint';
import { checkAttachmentData, type CommitBody } from './payload';
import type { ResourceBuilders } from './builders';

export interface CommitServiceOptions {
  maxAttachmentBytes: number;
  leaseSeconds: number;
  /** FHIR base of ALEX (or the sandbox), for absolute subject references. */
  alexFhirBaseUrl: string;
}

export interface CommitCall {
  /**
   * Taken over by the service: once its attachments are built into the bytes ALEX receives, they are
   * removed from this object, so a commit waiting on ALEX holds its image once rather than twice.
   */
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

type Target = 'media' | 'documentReference';

export class CommitService {
  constructor(
    private readonly store: GatewayStore,
    private readonly alex: AlexClient,
    private readonly grants: GrantService,
    private readonly auditor: Auditor,
    private readonly builders: ResourceBuilders,
    private readonly clock: Clock,
    private readonly random: Random,
    private readonly options: CommitServiceOptions,
  ) {}

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
        return this.run(call, grant, acquired.record, leaseOwner, leaseMs, acquired.durable);
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

  private async run(call: CommitCall, grant: GrantRecord, rec: IdempotencyRecord, leaseOwner: string, leaseMs: number, leaseDurable?: Promise<void>): Promise<CommitAnswer> {
    const { body, device, correlationId } = call;
    const progress: CommitProgress = { ...rec.progress };
    // The lease may still be reaching the disk: ALEX gets the image meanwhile, but not its last byte.
    const alexCtx = { facilityId: grant.facilityId, correlationId, signal: call.signal, ...(leaseDurable ? { finishBodyAfter: leaseDurable } : {}) };
    // An earlier attempt may have reached ALEX without us learning the outcome: look before creating.
    const reconcile: ReconcileOptions = { patientNhi: grant.patient.nhi, checkFirst: rec.attempts > 1 };
    const buildCtx = {
      imageId: body.imageId,
      patient: grant.patient,
      facilityId: grant.facilityId,
      providerId: grant.providerId,
      capturedAt: body.capturedAt,
      metadata: body.metadata,
      device: { id: device.deviceId, name: device.deviceName },
      alexFhirBaseUrl: this.options.alexFhirBaseUrl,
    };
    const targets: Target[] = [];
    if (body.media) targets.push('media');
    if (body.document) targets.push('documentReference');

    const pending = targets.filter((t) => !progress[t]);
    const ready = new Map<Target, SerializedResource>();
    try {
      // Each pending target as the bytes ALEX receives, made now, in pooled buffers given back once the
      // ALEX client is done with them; then the request lets go of the image (see CommitCall.body).
      for (const target of pending) {
        if (target === 'media' && body.media) ready.set(target, SerializedResource.of(this.builders.buildMedia(buildCtx, body.media), alexRequestBytes));
        if (target === 'documentReference' && body.document) ready.set(target, SerializedResource.of(this.builders.buildDocumentReference(buildCtx, body.document), alexRequestBytes));
      }
      delete body.media;
      delete body.document;
      for (const [i, target] of pending.entries()) {
        const resource = ready.get(target);
        if (!resource) continue;
        let created: CreatedResource;
        try {
          created = target === 'media' ? await this.alex.createMedia(alexCtx, resource, reconcile) : await this.alex.createDocumentReference(alexCtx, resource, reconcile);
        } finally {
          resource.release();
          ready.delete(target);
        }
        const done: CommittedResource = { resourceType: target === 'media' ? 'Media' : 'DocumentReference', id: created.id };
        if (created.location !== undefined) done.location = created.location;
        progress[target] = done;
        // Between targets, persist what is done (a retry never re-creates it). The last target's
        // result is stored with the outcome below; a crash before that is caught by reconciliation.
        if (i < pending.length - 1) {
          const now = this.clock.now();
          if (!(await this.store.saveProgress(body.imageId, leaseOwner, progress, now + leaseMs, now))) {
            // Our lease ran out and another request took over; it reconciles with ALEX before creating.
            throw new AppError('ERR_IDEMPOTENCY_IN_PROGRESS', { retryAfterSeconds: 1 });
          }
        }
      }
    } catch (err) {
      return this.fail(call, grant, progress, leaseOwner, toAppError(err));
    } finally {
      for (const resource of ready.values()) resource.release();
    }

    const response: CommitResponse = {
      imageId: body.imageId,
      committedAt: new Date(this.clock.now()).toISOString(),
      correlationId,
      replayed: false,
    };
    if (progress.media) response.media = progress.media;
    if (progress.documentReference) response.documentReference = progress.documentReference;
    // The audit record is written with the outcome, atomically, before the answer leaves.
    const audit = this.auditor.build({
      deviceId: device.deviceId,
      facilityId: grant.facilityId,
      patientId: grant.patient.id,
      action: 'commit',
      outcome: 'committed',
      imageId: body.imageId,
      resourceIds: resourceIds(progress),
      correlationId,
    });
    const stored = await this.store.completeIdempotency(body.imageId, leaseOwner, { status: 201, body: response }, this.clock.now(), progress, audit);
    if (!stored) throw new AppError('ERR_IDEMPOTENCY_IN_PROGRESS', { retryAfterSeconds: 1 });
    return { status: 201, body: response };
  }

  private async fail(call: CommitCall, grant: GrantRecord, progress: CommitProgress, leaseOwner: string, e: AppError): Promise<never> {
    const { body, device, correlationId } = call;
    const leaseLost = e.code === 'ERR_IDEMPOTENCY_IN_PROGRESS';
    const final = !e.retryable && !leaseLost;
    const audit = this.auditor.build({
      deviceId: device.deviceId,
      facilityId: grant.facilityId,
      patientId: grant.patient.id,
      action: 'commit',
      outcome: final ? 'failed' : 'deferred',
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
