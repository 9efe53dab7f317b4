/**
 * The outbox's events turned into what the desktop shows: each image's status (sending, waiting, failed,
 * committed) and error, a notice when an image fails, and after a confirmed commit the local master wiped and
 * Medtech read back ("in Medtech ✓"). Also the bridge's view of outbox items.
 */
import type { Logger } from 'pino';
import type { CommitTargets, ImageStatus, OutboxItemView as BridgeOutboxItem } from '../../shared/contracts/bridge';
import { AppError, toAppError, type ErrorBody } from '../../shared/errors/app-error';
import { isErrorCode } from '../../shared/errors/codes';
import type { OutboxItemView as OutboxItem, OutboxState } from '../outbox/types';
import { patientDisplayName } from '../session';
import type { ImageFiles } from './image-files';
import type { ImageLibrary } from './image-library';
import type { ImageRecord } from './image-record';
import type { NoticeBoard } from './notices';
import type { OutboxPort } from './ports';

export function outboxToImageStatus(state: OutboxState): ImageStatus {
  switch (state) {
    case 'queued':
    case 'sending':
      return 'sending';
    case 'waiting':
      return 'waiting';
    case 'failed':
      return 'failed';
    case 'committed':
      return 'committed';
    case 'unconfirmed':
      return 'unconfirmed';
  }
}

/** The item's last error as a bridge error body (codes this companion does not know are left out). */
export function errorBodyOf(item: OutboxItem): ErrorBody | undefined {
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
  }
  return v;
}

const OUTBOX_EVENTS = ['item-queued', 'item-sending', 'item-waiting', 'item-failed', 'item-committed', 'item-unconfirmed'] as const;

export interface OutboxSyncDeps {
  outbox: OutboxPort;
  library: ImageLibrary;
  files: ImageFiles;
  notices: NoticeBoard;
  /** Starts reading Medtech back after a commit ("in Medtech ✓", verify.ts); absent: no read-back. */
  verify?: (imageId: string) => void;
  /** Sees every outbox change of an image, after its status is set (the unconfirmed state: unconfirmed.ts). */
  observe?: (item: OutboxItem, rec: ImageRecord, previous: ImageStatus) => void;
  track: <T>(p: Promise<T>) => Promise<T>;
  changed: () => void;
  log: Logger;
}

export class OutboxSync {
  constructor(private readonly deps: OutboxSyncDeps) {}

  /** Follow the outbox's events; answers the unsubscribers. */
  subscribe(): (() => void)[] {
    return OUTBOX_EVENTS.map((ev) => this.deps.outbox.on(ev, (item) => this.apply(item)));
  }

  /** Bring the image of this outbox item up to date with it. */
  apply(item: OutboxItem): void {
    const rec = this.deps.library.find(item.imageId);
    if (rec !== undefined) {
      const previous = rec.status;
      rec.status = outboxToImageStatus(item.state);
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

  /** Confirmed by the gateway: note the resources, wipe the local copy, read Medtech back. */
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
