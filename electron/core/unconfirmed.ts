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

/** What an image's view adds while its outcome is not known, or once a person confirmed it. */
interface Extra {
  waitingFor?: 'medtech-confirmation';
  nextCheckAt?: string;
  unconfirmed?: string;
  confirmedBy?: 'person';
}

export class MedtechOutcomes {
  private readonly extras = new Map<string, Extra>();

  constructor(private readonly deps: Pick<CoreParts, 'outbox' | 'log' | 'notices' | 'changed'>) {}

  /** Called with every outbox change of an image (and at restart, for each restored one). */
  observe(item: OutboxItem, image: Pick<ImageRecord, 'id' | 'label' | 'patient' | 'capturedAt'>, previousStatus: string): void {
    const extra: Extra = {};
    if (item.state === 'waiting' && item.waitingFor === 'medtech-confirmation') {
      extra.waitingFor = 'medtech-confirmation';
      if (item.nextAttemptAt !== undefined) extra.nextCheckAt = item.nextAttemptAt;
    }
    if (item.state === 'unconfirmed') {
      // Names the patient and the photo as the GP knows it (its name on the card).
      extra.unconfirmed = unconfirmedReason(image.patient, `“${image.label}” (taken ${takenAt(image.capturedAt)})`);
      if (previousStatus !== 'unconfirmed') this.deps.notices.notify('info', 'warning', extra.unconfirmed, image.patient.id);
    }
    if (item.committed?.confirmedBy === 'person') extra.confirmedBy = 'person';
    if (Object.keys(extra).length > 0) this.extras.set(image.id, extra);
    else this.extras.delete(image.id);
  }

  decorateImage(v: ImageView): void {
    const extra = this.extras.get(v.id);
    if (extra === undefined) return;
    if (extra.waitingFor !== undefined && v.status === 'waiting') v.waitingFor = extra.waitingFor;
    if (extra.nextCheckAt !== undefined && v.status === 'waiting') v.nextCheckAt = extra.nextCheckAt;
    if (extra.unconfirmed !== undefined && v.status === 'unconfirmed') v.error = new AppError('ERR_COMMIT_UNCONFIRMED', { message: extra.unconfirmed }).toBody();
    if (extra.confirmedBy !== undefined && v.committed !== undefined) v.committed = { ...v.committed, confirmedBy: extra.confirmedBy };
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
