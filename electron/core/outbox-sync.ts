/**
 * The outbox's events as the desktop shows them: each image's status and error, a notice when one fails, and after a
 * confirmed commit the master wiped and Medtech read back. Also the bridge's view of outbox items.
 */
import type { CommitTargets, ImageStatus, OutboxItemView as BridgeOutboxItem } from '../../shared/contracts/bridge';
import { AppError, toAppError, type ErrorBody } from '../../shared/errors/app-error';
import { isErrorCode } from '../../shared/errors/codes';
import type { OutboxItemView as OutboxItem, OutboxState } from '../outbox/types';
import { patientDisplayName } from '../session';
import type { ImageRecord } from './image-record';
import type { CoreParts } from './ports';

export const IMAGE_STATUS: Record<OutboxState, ImageStatus> = { queued: 'sending', sending: 'sending', waiting: 'waiting', failed: 'failed', committed: 'committed', unconfirmed: 'unconfirmed' };

/** Codes this companion does not know are left out. An unconfirmed item says what to look for in Medtech. */
function errorBodyOf(item: OutboxItem): ErrorBody | undefined {
  if (item.state === 'unconfirmed' && item.reason !== undefined) return new AppError('ERR_COMMIT_UNCONFIRMED', { message: item.reason }).toBody();
  const e = item.lastError;
  if (e === undefined || !isErrorCode(e.code)) return undefined;
  return new AppError(e.code, { message: e.message }).toBody();
}

export function outboxView(item: OutboxItem): BridgeOutboxItem {
  const targets: CommitTargets = { media: item.targets.includes('media'), inboxScan: item.targets.includes('documentReference') };
  const v: BridgeOutboxItem = { imageId: item.imageId, patientId: item.patientId, targets, status: item.state, attempts: item.attempts, updatedAt: item.updatedAt };
  if (item.patient !== undefined) v.patient = item.patient;
  if (item.nhi !== undefined) v.nhi = item.nhi;
  if (item.nextAttemptAt !== undefined) v.nextAttemptAt = item.nextAttemptAt;
  const err = errorBodyOf(item);
  if (err !== undefined) v.error = err;
  if (item.committed !== undefined) {
    v.committed = {};
    if (item.committed.media) v.committed.media = { id: item.committed.media.id };
    if (item.committed.documentReference) v.committed.documentReference = { id: item.committed.documentReference.id };
    if (item.committed.confirmedBy !== undefined) v.committed.confirmedBy = item.committed.confirmedBy;
  }
  if (item.waitingFor !== undefined) v.waitingFor = item.waitingFor;
  if (item.actions !== undefined) v.history = item.actions.slice(-50).map((a) => ({ action: a.action, at: a.at }));
  return v;
}

const OUTBOX_EVENTS = ['item-queued', 'item-sending', 'item-waiting', 'item-failed', 'item-committed', 'item-unconfirmed'] as const;

export type OutboxSyncDeps = Pick<CoreParts, 'outbox' | 'library' | 'files' | 'notices' | 'track' | 'changed' | 'log'> & {
  /** Reads Medtech back after a commit (verify.ts); absent: no read-back. */
  verify?: (imageId: string) => void;
  /** Sees every outbox change of an image, after its status is set (unconfirmed.ts). */
  observe?: (item: OutboxItem, rec: ImageRecord, previous: ImageStatus) => void;
};

export class OutboxSync {
  constructor(private readonly deps: OutboxSyncDeps) {}

  subscribe(): (() => void)[] {
    return OUTBOX_EVENTS.map((ev) => this.deps.outbox.on(ev, (item) => this.apply(item)));
  }

  apply(item: OutboxItem): void {
    const rec = this.deps.library.find(item.imageId);
    if (rec !== undefined) {
      const previous = rec.status;
      rec.status = IMAGE_STATUS[item.state];
      this.deps.observe?.(item, rec, previous);
      this.applyError(rec, item, previous);
      if (item.state === 'committed') this.committed(rec, item);
    }
    this.deps.changed();
  }

  private applyError(rec: ImageRecord, item: OutboxItem, previous: ImageStatus): void {
    if (item.state !== 'waiting' && item.state !== 'failed') {
      delete rec.error;
      return;
    }
    const err = errorBodyOf(item);
    if (err !== undefined) rec.error = err;
    if (item.state === 'failed' && previous !== 'failed') {
      this.deps.notices.notify('commit-failed', 'error', `An image for ${patientDisplayName(rec.patient)} was not sent: ${err?.message ?? 'unknown reason'}`, rec.patient.id);
    }
  }

  private committed(rec: ImageRecord, item: OutboxItem): void {
    const { deps } = this;
    rec.committed = {};
    if (item.committed?.media) rec.committed.media = { id: item.committed.media.id };
    if (item.committed?.documentReference) rec.committed.documentReference = { id: item.committed.documentReference.id };
    delete rec.progress;
    const master = rec.master;
    delete rec.master;
    void deps.track(deps.files.remove(rec.id)).catch((e: unknown) => deps.log.warn({ imageId: rec.id, err: toAppError(e).code }, 'could not wipe master'));
    if (master !== undefined) deps.log.info({ imageId: rec.id }, 'committed; local copy wiped');
    deps.verify?.(rec.id);
  }
}
