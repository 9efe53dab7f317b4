/**
 * The core's side of an outcome Medtech has not confirmed (electron/README.md "Medtech has not confirmed it"): what
 * the desktop sees of it, and a person's two answers (`images.confirmArrived`, `images.sendAgain`).
 */
import type { BridgeHandlers, ImageView } from '../../shared/contracts/bridge';
import { AppError } from '../../shared/errors/app-error';
import { takenAt, unconfirmedReason } from '../outbox/view';
import type { OutboxItemView as OutboxItem } from '../outbox/types';
import type { ImageRecord } from './image-record';
import type { CoreParts } from './ports';

export class MedtechOutcomes {
  /** Each image's latest outbox item, and the words for it while it is unconfirmed. */
  private readonly seen = new Map<string, { item: OutboxItem; unconfirmed?: string }>();

  constructor(private readonly deps: Pick<CoreParts, 'outbox' | 'log' | 'notices' | 'changed'>) {}

  /** Called with every outbox change of an image (and at restart, for each restored one). */
  observe(item: OutboxItem, image: Pick<ImageRecord, 'id' | 'label' | 'patient' | 'capturedAt'>, previousStatus: string): void {
    // Names the patient and the photo as the GP knows it (its name on the card).
    const unconfirmed = item.state === 'unconfirmed' ? unconfirmedReason(image.patient, `“${image.label}” (taken ${takenAt(image.capturedAt)})`) : undefined;
    if (unconfirmed !== undefined && previousStatus !== 'unconfirmed') this.deps.notices.notify('info', 'warning', unconfirmed, image.patient.id);
    this.seen.set(image.id, { item, unconfirmed });
  }

  /** What the view adds while the outcome is not known, once unconfirmed, or once a person confirmed it. */
  decorateImage(v: ImageView): void {
    const { item, unconfirmed } = this.seen.get(v.id) ?? {};
    if (item === undefined) return;
    if (v.status === 'waiting' && item.state === 'waiting' && item.waitingFor === 'medtech-confirmation') {
      v.waitingFor = 'medtech-confirmation';
      if (item.nextAttemptAt !== undefined) v.nextCheckAt = item.nextAttemptAt;
    }
    if (unconfirmed !== undefined && v.status === 'unconfirmed') v.error = new AppError('ERR_COMMIT_UNCONFIRMED', { message: unconfirmed }).toBody();
    if (item.committed?.confirmedBy === 'person' && v.committed !== undefined) v.committed = { ...v.committed, confirmedBy: 'person' };
  }

  handlers(): Pick<BridgeHandlers, 'images.confirmArrived' | 'images.sendAgain'> {
    return {
      'images.confirmArrived': async ({ id }) => {
        await this.deps.outbox.confirmArrived(id);
        this.deps.log.info({ imageId: id }, 'a person confirmed the image is in Medtech');
        this.deps.changed();
        return { ok: true };
      },
      'images.sendAgain': async ({ id }) => {
        if (!this.deps.outbox.sendAgain(id)) throw new AppError('ERR_NOT_FOUND', { message: 'This image is not waiting for anyone to check Medtech.', detail: 'not unconfirmed' });
        this.deps.log.info({ imageId: id }, 'a person asked to send the image again');
        this.deps.changed();
        return { ok: true };
      },
    };
  }
}
