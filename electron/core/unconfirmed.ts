/**
 * The core's side of an outcome Medtech has not confirmed (issue 25): what the desktop sees of it, and the two
 * answers a person gives.
 *   waiting + medtech-confirmation  "Sent to Medtech — waiting for Medtech to confirm (next check in N s)": the
 *                                   outbox asks the gateway again with the same request; nothing is sent twice.
 *   unconfirmed                     "Sent to Medtech, not yet confirmed — look in <patient>'s Inbox in Medtech for
 *                                   <photo> before sending again", with "It is in Medtech" (images.confirmArrived)
 *                                   and "Send again" (images.sendAgain). Never sent again by itself, never wiped.
 * core.ts calls observe() on every outbox change of an image, decorate*() when it builds views, and spreads
 * handlers() into its bridge handlers.
 */
import type { Logger } from 'pino';
import type { BridgeHandlers, ImageView, Notice, OutboxItemView as BridgeOutboxItem } from '../../shared/contracts/bridge';
import type { PatientSummary } from '../../shared/contracts/common';
import { AppError } from '../../shared/errors/app-error';
import type { CommitClient, GatewayClient } from '../gateway-client';
import { takenAt, unconfirmedReason } from '../outbox/reasons';
import type { Outbox, OutboxItemView as OutboxItem } from '../outbox/types';

/** What an image's view adds while its outcome is not yet known, or once a person confirmed it. */
interface Extra {
  waitingFor?: 'medtech-confirmation';
  nextCheckAt?: string;
  /** The plain message for an unconfirmed image, naming its patient and its photo. */
  unconfirmed?: string;
  confirmedBy?: 'person';
}

export interface OutcomeImage {
  id: string;
  label: string;
  patient: PatientSummary;
  capturedAt: string;
}

export interface MedtechOutcomesDeps {
  outbox: Pick<Outbox, 'confirmArrived' | 'sendAgain'>;
  logger: Logger;
  notify: (kind: Notice['kind'], level: Notice['level'], message: string, patientId?: string) => void;
  changed: () => void;
}

/** The message for an unconfirmed image: names the patient and the photo as the GP knows it (its name on the card). */
export function unconfirmedMessage(image: OutcomeImage): string {
  return unconfirmedReason(image.patient, `“${image.label}” (taken ${takenAt(image.capturedAt)})`);
}

/** The outbox's confirm call, through whatever gateway client the core is using now (it follows re-enrolment). */
export function confirmCommitVia(gateway: () => unknown): NonNullable<CommitClient['confirmCommit']> {
  return (imageId, opts) => {
    const confirm = (gateway() as Partial<Pick<GatewayClient, 'confirmCommit'>>).confirmCommit;
    if (confirm === undefined) return Promise.reject(new AppError('ERR_INTERNAL', { detail: 'gateway client cannot confirm' }));
    return confirm(imageId, opts);
  };
}

export class MedtechOutcomes {
  private readonly extras = new Map<string, Extra>();

  constructor(private readonly deps: MedtechOutcomesDeps) {}

  /** Called with every outbox change of an image (and at restart, for each restored one). */
  observe(item: OutboxItem, image: OutcomeImage, previousStatus: string): void {
    const extra: Extra = {};
    if (item.state === 'waiting' && item.waitingFor === 'medtech-confirmation') {
      extra.waitingFor = 'medtech-confirmation';
      if (item.nextAttemptAt !== undefined) extra.nextCheckAt = item.nextAttemptAt;
    }
    if (item.state === 'unconfirmed') {
      extra.unconfirmed = unconfirmedMessage(image);
      if (previousStatus !== 'unconfirmed') this.deps.notify('info', 'warning', extra.unconfirmed, image.patient.id);
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

  decorateOutbox(v: BridgeOutboxItem, item: OutboxItem): void {
    if (item.waitingFor !== undefined) v.waitingFor = item.waitingFor;
    if (item.actions !== undefined) v.history = item.actions.slice(-50).map((a) => ({ action: a.action, at: a.at }));
    if (item.committed?.confirmedBy !== undefined && v.committed !== undefined) v.committed.confirmedBy = item.committed.confirmedBy;
    if (item.state === 'unconfirmed' && item.reason !== undefined) v.error = new AppError('ERR_COMMIT_UNCONFIRMED', { message: item.reason }).toBody();
  }

  handlers(): Pick<BridgeHandlers, 'images.confirmArrived' | 'images.sendAgain'> {
    return {
      'images.confirmArrived': async ({ id }) => {
        await this.deps.outbox.confirmArrived(id);
        this.deps.logger.info({ imageId: id }, 'a person confirmed the image is in Medtech');
        this.deps.changed();
        return { ok: true };
      },
      'images.sendAgain': async ({ id }) => {
        if (!this.deps.outbox.sendAgain(id)) throw new AppError('ERR_NOT_FOUND', { message: 'This image is not waiting for anyone to check Medtech.', detail: 'not unconfirmed' });
        this.deps.logger.info({ imageId: id }, 'a person asked to send the image again');
        this.deps.changed();
        return { ok: true };
      },
    };
  }
}
