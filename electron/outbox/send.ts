/** One post of one item, with its OWN patient and grant and Idempotency-Key = imageId (a resend never creates twice). */
import { randomUUID } from 'node:crypto';
import { AppError, toAppError } from '../../shared/errors';
import type { CommitRequest, CommitResponse, CommitTarget } from '../../shared/contracts/gateway';
import { openFields, type OutboxContext } from './context';
import { storageError } from './durable-fs';
import { finishAttempt, markCommitted, type Rebound } from './outcome';
import { readPayloads, type ReadPayloads } from './payloads';
import type { LiveFields, Row } from './queries';
import { emitItem } from './view';

/** Gateway answers given before a commit is looked at (who is asking, for which grant, how often). */
const REFUSED_UNSEEN: ReadonlySet<string> = new Set(['ERR_NOT_ENROLLED', 'ERR_REQUEST_INVALID', 'ERR_RATE_LIMITED', 'ERR_LAUNCH_GRANT_EXPIRED', 'ERR_LAUNCH_GRANT_INVALID']);

/**
 * A person's "Send again" is used at most once: kept only after a failure that proves the post never reached the
 * gateway's commit (README.md "States"). Any other outcome asks again without it: never a second create.
 */
function keepsResendFlag(e: AppError): boolean {
  if (e.code === 'ERR_GATEWAY_UNREACHABLE') return e.detail === 'network: ECONNREFUSED';
  return REFUSED_UNSEEN.has(e.code) || e.code.startsWith('ERR_AUTH_');
}

/** Sent as JSON: what is undefined leaves no key. */
function buildRequest(row: Row, fields: LiveFields, payloads: ReadPayloads): CommitRequest {
  const media = payloads.get('media');
  const doc = payloads.get('document');
  return {
    imageId: row.image_id,
    grantId: fields.grantId,
    patientId: fields.patient.id,
    capturedAt: row.captured_at,
    metadata: fields.metadata,
    source: fields.source,
    label: fields.label,
    media: media && { contentType: media.meta.contentType as 'image/jpeg' | 'image/png', data: media.bytes.toString('base64'), width: media.meta.width, height: media.meta.height },
    document: doc && { contentType: doc.meta.contentType as 'image/tiff' | 'application/pdf', data: doc.bytes.toString('base64') },
    resendAfterCheck: row.resend_after_check === 1 ? true : undefined,
  };
}

/** The live fields and payloads of a row, or null once recorded as failed (corrupt, I/O): never sent. */
async function readItem(ctx: OutboxContext, rebound: Rebound, row: Row): Promise<{ fields: LiveFields; payloads: ReadPayloads } | null> {
  try {
    const fields = openFields(ctx, row);
    if (fields.v !== 'live') throw new AppError('ERR_STORAGE_CORRUPT', { detail: 'item has no live fields' });
    return { fields, payloads: await readPayloads(ctx, row) };
  } catch (err) {
    const e = storageError(err);
    ctx.logger.error({ imageId: row.image_id, code: e.code, detail: e.detail }, 'outbox item unreadable; not sent');
    finishAttempt(ctx, rebound, row, e, undefined);
    return null;
  }
}

/** What the gateway's answer proves: every target created, or a person confirmed it. Anything less is not believed. */
function checkAnswer(row: Row, res: CommitResponse, correlationId: string): void {
  const targets = JSON.parse(row.targets) as CommitTarget[];
  if (res.confirmedBy === 'person') return;
  if ((targets.includes('media') && !res.media) || (targets.includes('documentReference') && !res.documentReference)) {
    throw new AppError('ERR_INTERNAL', { detail: 'gateway did not confirm every target', correlationId });
  }
}

export async function sendOne(ctx: OutboxContext, rebound: Rebound, imageId: string, signal: AbortSignal): Promise<void> {
  const row = ctx.q.get.get(imageId);
  if (!row) return;
  const read = await readItem(ctx, rebound, row);
  if (read === null) return;
  const req = buildRequest(row, read.fields, read.payloads);
  const correlationId = randomUUID();
  try {
    const res = await ctx.gateway.commit(req, { correlationId, signal });
    checkAnswer(row, res, correlationId);
    await markCommitted(ctx, row, read.fields, res);
    ctx.logger.info({ imageId, correlationId, replayed: res.replayed, confirmedBy: res.confirmedBy }, 'image committed');
    emitItem(ctx, 'item-committed', imageId);
  } catch (err) {
    if (signal.aborted) {
      if (req.resendAfterCheck === true) ctx.q.clearResend.run(imageId);
      ctx.q.toQueued.run(ctx.clock.now(), imageId);
      ctx.logger.info({ imageId, correlationId }, 'send interrupted by stop; re-queued');
      return;
    }
    const e = toAppError(err);
    if (req.resendAfterCheck === true && !keepsResendFlag(e)) ctx.q.clearResend.run(imageId);
    finishAttempt(ctx, rebound, row, e, read.fields);
  }
}
