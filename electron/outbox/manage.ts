/** Looking items up; retry; a patient's items rebound to a new launch grant. */
import { AppError } from '../../shared/errors';
import { openFields, sealFields, type OutboxContext } from './context';
import type { Rebound } from './outcome';
import type { Fields, Row } from './queries';
import type { OutboxItemView, OutboxListFilter } from './types';
import { emitItem, toView } from './view';

export function listItems(ctx: OutboxContext, filter: OutboxListFilter = {}): OutboxItemView[] {
  const where: string[] = [];
  const args: (string | number)[] = [];
  if (filter.states && filter.states.length > 0) {
    where.push(`state IN (${filter.states.map(() => '?').join(',')})`);
    args.push(...filter.states);
  }
  if (filter.patientId !== undefined) {
    where.push('patient_ref = ?');
    args.push(ctx.keys.patientRef(filter.patientId));
  }
  const sql = `SELECT * FROM items ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY created_at, image_id`;
  return ctx.db.prepare<(string | number)[], Row>(sql).all(...args).map((row) => toView(ctx, row));
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
