/**
 * Where an item goes after the gateway answered (or did not):
 *   committed    the gateway confirmed every target, or a person did → payload files wiped, history only
 *   waiting      retryable (network, 5xx, throttled, ERR_ALEX_OUTCOME_UNKNOWN: same key, same request, later),
 *                a PC to (re-)enrol, or a launch grant that ended (no next attempt until rebindGrant)
 *   unconfirmed  ERR_COMMIT_UNCONFIRMED: never sent again by itself; a person must look in Medtech
 *   failed       final
 */
import type { AppError, ErrorCode } from '../../shared/errors';
import { backoffDelayMs } from './backoff';
import { sealFields, type OutboxContext } from './context';
import { removeFiles } from './payloads';
import type { CommitResult, LiveFields, Row, StoredPayload } from './queries';
import { GRANT_REASON } from './reasons';
import { emitItem } from './view';

const GRANT_CODES: ReadonlySet<ErrorCode> = new Set(['ERR_LAUNCH_GRANT_EXPIRED', 'ERR_LAUNCH_GRANT_INVALID']);
/** Nothing is wrong with the image: the PC needs (re-)enrolling. Keep it waiting and keep trying (cheap: no credential, no request). */
const DEVICE_CODES: ReadonlySet<ErrorCode> = new Set(['ERR_NOT_ENROLLED', 'ERR_AUTH_DEVICE_MISSING', 'ERR_AUTH_DEVICE_UNKNOWN', 'ERR_AUTH_DEVICE_REVOKED', 'ERR_AUTH_DEVICE_KEY_REQUIRED']);

/** Latest grant given to a patient (by patient ref), for items that were in flight during rebindGrant. */
export type Rebound = Map<string, string>;

/**
 * Commits the row (with the person's action, when a person confirmed it, in the same transaction): the history keeps
 * ids, patient id and NHI only; then the payload files are wiped.
 */
export async function markCommitted(ctx: OutboxContext, row: Row, fields: LiveFields, result: CommitResult, byPerson?: { correlationId: string }): Promise<void> {
  const stored = JSON.parse(row.payloads) as StoredPayload[];
  const now = ctx.clock.now();
  ctx.db.transaction(() => {
    ctx.q.toCommitted.run(
      sealFields(ctx, row.image_id, { v: 'history', patientId: fields.patient.id, nhi: fields.patient.nhi }),
      JSON.stringify(stored.map((p) => ({ ...p, file: '' }))),
      JSON.stringify(result),
      now,
      now,
      row.image_id,
    );
    if (byPerson) ctx.q.addAction.run(row.image_id, 'person-confirmed', now, byPerson.correlationId);
  })();
  await removeFiles(ctx, stored.map((p) => p.file));
}

function toGrantWait(ctx: OutboxContext, rebound: Rebound, row: Row, err: AppError, fields: LiveFields): void {
  const imageId = row.image_id;
  const now = ctx.clock.now();
  const newer = rebound.get(row.patient_ref);
  if (newer !== undefined && newer !== fields.grantId) {
    ctx.q.rebind.run(sealFields(ctx, imageId, { ...fields, grantId: newer }), now, imageId);
    emitItem(ctx, 'item-queued', imageId);
    return;
  }
  ctx.q.toWaiting.run(null, err.code, err.message, GRANT_REASON, now, imageId);
  ctx.logger.info({ imageId, code: err.code }, 'waiting for a new launch grant');
  emitItem(ctx, 'item-waiting', imageId);
}

function toRetryWait(ctx: OutboxContext, imageId: string, err: AppError): void {
  const now = ctx.clock.now();
  const attempts = ctx.q.get.get(imageId)?.attempts ?? 1;
  const next = now + backoffDelayMs(attempts, ctx.random, ctx.backoff, err.retryAfterSeconds);
  ctx.q.toWaiting.run(next, err.code, err.message, err.message, now, imageId);
  ctx.logger.info({ imageId, code: err.code, detail: err.detail, correlationId: err.correlationId, attempts, inMs: next - now }, 'send will be retried');
  emitItem(ctx, 'item-waiting', imageId);
}

function toUnconfirmed(ctx: OutboxContext, imageId: string, err: AppError): void {
  const now = ctx.clock.now();
  ctx.db.transaction(() => {
    ctx.q.toUnconfirmed.run(err.code, err.message, err.message, now, imageId);
    ctx.q.addAction.run(imageId, 'unconfirmed', now, err.correlationId ?? null);
  })();
  ctx.logger.warn({ imageId, code: err.code, correlationId: err.correlationId }, 'Medtech has not confirmed the image; a person must check');
  emitItem(ctx, 'item-unconfirmed', imageId);
}

/** After a failed attempt: waiting (retryable, or grant ended), unconfirmed (a person must look) or failed (final). */
export function finishAttempt(ctx: OutboxContext, rebound: Rebound, row: Row, err: AppError, fields: LiveFields | undefined): void {
  if (GRANT_CODES.has(err.code) && fields) {
    toGrantWait(ctx, rebound, row, err, fields);
    return;
  }
  if (err.code === 'ERR_COMMIT_UNCONFIRMED') {
    toUnconfirmed(ctx, row.image_id, err);
    return;
  }
  if (err.retryable || DEVICE_CODES.has(err.code)) {
    toRetryWait(ctx, row.image_id, err);
    return;
  }
  ctx.q.toFailed.run(err.code, err.message, err.message, ctx.clock.now(), row.image_id);
  ctx.logger.warn({ imageId: row.image_id, code: err.code, detail: err.detail, correlationId: err.correlationId }, 'send failed');
  emitItem(ctx, 'item-failed', row.image_id);
}
