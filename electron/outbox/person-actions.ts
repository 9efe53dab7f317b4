/** A person's two answers for an `unconfirmed` item, each kept in its history (README.md "States"). */
import { AppError, toAppError } from '../../shared/errors';
import { openFields, type OutboxContext } from './context';
import { markCommitted } from './outcome';
import type { CommitResult } from './queries';
import type { OutboxItemView } from './types';
import { emitItem, toView } from './view';

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
    const correlationId = ctx.newCorrelationId();
    this.confirming.add(imageId);
    try {
      const res = await confirm.call(ctx.gateway, imageId, { correlationId });
      const result: CommitResult = { confirmedBy: 'person' };
      if (res.media) result.media = { id: res.media.id };
      if (res.documentReference) result.documentReference = { id: res.documentReference.id };
      const current = ctx.q.get.get(imageId);
      if (current?.state !== 'unconfirmed') throw new AppError('ERR_NOT_FOUND', { detail: 'item changed while confirming' });
      await markCommitted(ctx, current, fields, result, { correlationId });
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
