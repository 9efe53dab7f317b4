/** Looking items up, and the moves asked for: retry, a new launch grant, a person's answers for an `unconfirmed` item. */
import { randomUUID } from 'node:crypto';
import { AppError, toAppError } from '../../shared/errors';
import { openFields, sealFields, type OutboxContext } from './context';
import { markCommitted, type Rebound } from './outcome';
import type { Fields } from './queries';
import type { OutboxItemView, OutboxListFilter } from './types';
import { emitItem, toView } from './view';

export function listItems(ctx: OutboxContext, filter: OutboxListFilter = {}): OutboxItemView[] {
  const states = filter.states && filter.states.length > 0 ? JSON.stringify(filter.states) : null;
  const ref = filter.patientId === undefined ? null : ctx.keys.patientRef(filter.patientId);
  return ctx.q.list.all({ states, ref }).map((row) => toView(ctx, row));
}

export function getItem(ctx: OutboxContext, imageId: string): OutboxItemView | undefined {
  const row = ctx.q.get.get(imageId);
  return row ? toView(ctx, row) : undefined;
}

/** Never an unconfirmed one: only a person moves those. */
export function retryItem(ctx: OutboxContext, imageId: string): boolean {
  if (ctx.q.retry.run(ctx.clock.now(), imageId).changes !== 1) return false;
  emitItem(ctx, 'item-queued', imageId);
  return true;
}

export function rebindGrant(ctx: OutboxContext, rebound: Rebound, patientId: string, grantId: string): number {
  if (typeof grantId !== 'string' || grantId.length < 16 || grantId.length > 128) throw new AppError('ERR_LAUNCH_GRANT_INVALID', { detail: 'grantId malformed' });
  const ref = ctx.keys.patientRef(patientId);
  rebound.set(ref, grantId);
  const changed: string[] = [];
  ctx.db.transaction(() => {
    for (const row of ctx.q.byPatient.all(ref)) {
      let fields: Fields;
      try {
        fields = openFields(ctx, row);
      } catch {
        continue;
      }
      if (fields.v !== 'live' || fields.patient.id !== patientId) continue; // same patient only
      ctx.q.rebind.run(sealFields(ctx, row.image_id, { ...fields, grantId }), ctx.clock.now(), row.image_id);
      changed.push(row.image_id);
    }
  })();
  for (const id of changed) emitItem(ctx, 'item-queued', id);
  ctx.logger.info({ items: changed.length }, 'launch grant rebound');
  return changed.length;
}

/** Each answer is kept in the item's history (README.md "States"). */
export class PersonActions {
  /** Confirmations on their way: a second click sends nothing. */
  private readonly confirming = new Set<string>();

  constructor(
    private readonly ctx: OutboxContext,
    private readonly kick: () => void,
  ) {}

  async confirmArrived(imageId: string): Promise<OutboxItemView> {
    const { ctx } = this;
    const row = ctx.q.get.get(imageId);
    if (row?.state !== 'unconfirmed') throw new AppError('ERR_NOT_FOUND', { message: 'This image is not waiting for anyone to check Medtech.', detail: 'not unconfirmed' });
    if (this.confirming.has(imageId)) throw new AppError('ERR_IDEMPOTENCY_IN_PROGRESS', { detail: 'already confirming' });
    const confirm = ctx.gateway.confirmCommit;
    if (confirm === undefined) throw new AppError('ERR_INTERNAL', { detail: 'this gateway client cannot confirm' });
    const fields = openFields(ctx, row);
    if (fields.v !== 'live') throw new AppError('ERR_STORAGE_CORRUPT', { detail: 'item has no live fields' });
    const correlationId = randomUUID();
    this.confirming.add(imageId);
    try {
      const res = await confirm.call(ctx.gateway, imageId, { correlationId });
      const current = ctx.q.get.get(imageId);
      if (current?.state !== 'unconfirmed') throw new AppError('ERR_NOT_FOUND', { detail: 'item changed while confirming' });
      await markCommitted(ctx, current, fields, res, { correlationId });
    } catch (err) {
      const e = toAppError(err);
      ctx.logger.warn({ imageId, code: e.code, correlationId }, 'confirmation that the image is in Medtech not recorded');
      throw e;
    } finally {
      this.confirming.delete(imageId);
    }
    ctx.logger.info({ imageId, correlationId }, 'a person confirmed the image is in Medtech');
    emitItem(ctx, 'item-committed', imageId);
    const after = ctx.q.get.get(imageId);
    if (!after) throw new AppError('ERR_NOT_FOUND', { detail: 'item purged' });
    return toView(ctx, after);
  }

  sendAgain(imageId: string): boolean {
    const { ctx } = this;
    if (this.confirming.has(imageId)) return false;
    const now = ctx.clock.now();
    const changed = ctx.db.transaction(() => {
      if (ctx.q.sendAgain.run(now, imageId).changes !== 1) return false;
      ctx.q.addAction.run(imageId, 'person-send-again', now, null);
      return true;
    })();
    if (!changed) return false;
    ctx.logger.info({ imageId }, 'a person checked Medtech and asked to send the image again');
    emitItem(ctx, 'item-queued', imageId);
    this.kick();
    return true;
  }
}
