/** Words for an image Medtech has not confirmed (pure; the caller passes "now"). */
import type { ImageView } from '../../../../shared/contracts/bridge';

const WAITING_FOR_MEDTECH = 'Sent to Medtech — waiting for Medtech to confirm';

/** True while the gateway waits for Medtech to confirm a create that may have reached it. */
export function isWaitingForMedtech(image: Pick<ImageView, 'status' | 'waitingFor'>): boolean {
  return image.status === 'waiting' && image.waitingFor === 'medtech-confirmation';
}

/** "next check in 40 s", "next check in 2 min", or "checking now" once the time has come. */
export function nextCheckText(nextCheckAt: string | undefined, now: number): string | null {
  if (nextCheckAt === undefined) return null;
  const at = Date.parse(nextCheckAt);
  if (Number.isNaN(at)) return null;
  const s = Math.ceil((at - now) / 1000);
  if (s <= 0) return 'checking now';
  if (s < 120) return `next check in ${s} s`;
  return `next check in ${Math.round(s / 60)} min`;
}

export function waitingForMedtechText(image: Pick<ImageView, 'nextCheckAt'>, now: number): string {
  const next = nextCheckText(image.nextCheckAt, now);
  return next === null ? WAITING_FOR_MEDTECH : `${WAITING_FOR_MEDTECH} (${next})`;
}

/** The message for an unconfirmed image: the core's (it names the patient and the photo), else a plain fallback. */
export function unconfirmedText(image: Pick<ImageView, 'error' | 'label'>): string {
  if (image.error?.code === 'ERR_COMMIT_UNCONFIRMED') return image.error.message;
  return `Sent to Medtech, not yet confirmed — look in the patient's Inbox in Medtech for “${image.label}” before sending again.`;
}

/** What "Send again" risks, said before it is done. */
export function sendAgainWarning(image: Pick<ImageView, 'label'>, patientName: string): string {
  return `Only send “${image.label}” again if you looked in ${patientName}'s Inbox in Medtech and it is not there. If it is there after all, Medtech will have two copies of it.`;
}
