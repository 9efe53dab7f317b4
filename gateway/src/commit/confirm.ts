/**
 * POST /v1/commits/:imageId/confirm: a person saw in Medtech the image whose outcome the gateway could not
 * prove. Stored as `confirmedBy: 'person'` with its audit record in one step; confirming again replays it.
 */
import type { CommitResponse } from '../../../shared/contracts/gateway';
import { AppError } from '../../../shared/errors';
import type { Auditor } from '../audit';
import type { Clock, Random } from '../deps';
import { uuidV4 } from '../deps';
import type { CommitProgress, DeviceRecord, GatewayStore, IdempotencyRecord, StoredResponse } from '../store/types';
import type { CommitAnswer } from './service';

export interface ConfirmDeps {
  store: GatewayStore;
  auditor: Auditor;
  clock: Clock;
  random: Random;
  leaseSeconds: number;
}

function hasUnknown(progress: CommitProgress): boolean {
  return progress.sent?.media !== undefined || progress.sent?.documentReference !== undefined;
}

function replayConfirmation(rec: IdempotencyRecord): CommitAnswer {
  const stored = rec.response as StoredResponse | null;
  const body = stored?.body as CommitResponse | undefined;
  if (stored === null || stored.status >= 300 || body?.confirmedBy !== 'person') {
    throw new AppError('ERR_REQUEST_INVALID', { detail: 'this image is not waiting for a person to confirm it' });
  }
  return { status: 200, body: { ...body, replayed: true } };
}

export async function confirmByPerson(deps: ConfirmDeps, imageId: string, device: DeviceRecord, correlationId: string): Promise<CommitAnswer> {
  const rec = await deps.store.getIdempotency(imageId);
  // Another practice's image is not ours to know about.
  if (rec === null || rec.facilityId !== device.facilityId) throw new AppError('ERR_NOT_FOUND');
  if (rec.state === 'completed') return replayConfirmation(rec);
  if (!hasUnknown(rec.progress)) throw new AppError('ERR_REQUEST_INVALID', { detail: 'this image is not waiting for a person to confirm it' });
  const leaseOwner = uuidV4(deps.random);
  const now = deps.clock.now();
  const acquired = await deps.store.acquireIdempotency({
    key: rec.key,
    fingerprint: rec.fingerprint,
    deviceId: device.deviceId,
    facilityId: rec.facilityId,
    patientId: rec.patientId,
    patientNhi: rec.patientNhi,
    leaseOwner,
    leaseMs: deps.leaseSeconds * 1000,
    now,
  });
  if (acquired.kind === 'completed') return replayConfirmation(acquired.record);
  if (acquired.kind !== 'acquired') throw new AppError('ERR_IDEMPOTENCY_IN_PROGRESS', { retryAfterSeconds: 1 });
  const progress: CommitProgress = { ...acquired.record.progress };
  const confirmed = Object.keys(progress.sent ?? {}).map((t) => (t === 'media' ? 'Media' : 'DocumentReference'));
  delete progress.sent;
  const body: CommitResponse = { imageId, committedAt: new Date(now).toISOString(), correlationId, replayed: false, confirmedBy: 'person' };
  if (progress.media) body.media = progress.media;
  if (progress.documentReference) body.documentReference = progress.documentReference;
  const audit = deps.auditor.build({
    deviceId: device.deviceId,
    facilityId: rec.facilityId,
    patientId: rec.patientId,
    action: 'commit.confirmed-by-person',
    outcome: 'confirmed',
    imageId,
    resourceIds: confirmed,
    correlationId,
  });
  const stored = await deps.store.completeIdempotency(imageId, leaseOwner, { status: 201, body }, deps.clock.now(), progress, audit);
  if (!stored) throw new AppError('ERR_IDEMPOTENCY_IN_PROGRESS', { retryAfterSeconds: 1 });
  return { status: 200, body };
}
