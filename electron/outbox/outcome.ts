/** Where an item goes after the gateway answered, or did not (README.md "States"). */
import type { CommitResponse } from '../../shared/contracts/gateway';
import type { AppError, ErrorCode } from '../../shared/errors';
import { sealFields, type OutboxContext } from './context';
import { removeFiles } from './payloads';
import type { CommitResult, LiveFields, Row, StoredPayload } from './queries';
import { emitItem, GRANT_REASON } from './view';

/** `baseMs`: the step before the 1st retry, before jitter. */
export const defaultBackoff = { baseMs: 2_000, maxMs: 5 * 60_000 };
export type BackoffPolicy = typeof defaultBackoff;

/**
 * Delay before retry `attempt` (1 = first): "equal jitter" (half the step fixed, half random) so retries after an
 * outage spread out but never come back at once. A server's Retry-After is a floor (still capped by maxMs).
 */
export function backoffDelayMs(attempt: number, random: () => number, policy: BackoffPolicy = defaultBackoff, retryAfterSeconds?: number): number {
  const step = Math.min(policy.maxMs, policy.baseMs * 2 ** Math.max(0, Math.min(attempt - 1, 30)));
  const r = Math.min(Math.max(random(), 0), 1);
  const jittered = step / 2 + r * (step / 2);
  const floor = retryAfterSeconds !== undefined ? Math.min(policy.maxMs, retryAfterSeconds * 1000) : 0;
  return Math.round(Math.max(jittered, floor));
}

const GRANT_CODES: ReadonlySet<ErrorCode> = new Set(['ERR_LAUNCH_GRANT_EXPIRED', 'ERR_LAUNCH_GRANT_INVALID']);
/** Nothing is wrong with the image: the PC needs (re-)enrolling. It waits, is tried again, and enrolling resumes it. */
export const DEVICE_CODES: ReadonlySet<ErrorCode> = new Set(['ERR_NOT_ENROLLED', 'ERR_AUTH_DEVICE_MISSING', 'ERR_AUTH_DEVICE_UNKNOWN', 'ERR_AUTH_DEVICE_REVOKED', 'ERR_AUTH_DEVICE_KEY_REQUIRED']);

/** Latest grant given to a patient (by patient ref), for items that were in flight during rebindGrant. */
export type Rebound = Map<string, string>;

/** Committed (with a person's action in the same transaction): history keeps ids, patient id and NHI; files wiped. */
export async function markCommitted(ctx: OutboxContext, row: Row, fields: LiveFields, res: CommitResponse, byPerson?: { correlationId: string }): Promise<void> {
  // Stored as JSON: an absent resource leaves no key.
  const result: CommitResult = { media: res.media && { id: res.media.id }, documentReference: res.documentReference && { id: res.documentReference.id } };
  if (byPerson !== undefined || res.confirmedBy === 'person') result.confirmedBy = 'person';
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
  if (GRANT_CODES.has(err.code) && fields) toGrantWait(ctx, rebound, row, err, fields);
  else if (err.code === 'ERR_COMMIT_UNCONFIRMED') toUnconfirmed(ctx, row.image_id, err);
  else if (err.retryable || DEVICE_CODES.has(err.code)) toRetryWait(ctx, row.image_id, err);
  else {
    ctx.q.toFailed.run(err.code, err.message, err.message, ctx.clock.now(), row.image_id);
    ctx.logger.warn({ imageId: row.image_id, code: err.code, detail: err.detail, correlationId: err.correlationId }, 'send failed');
    emitItem(ctx, 'item-failed', row.image_id);
  }
}
