/**
 * The plain words an outbox item shows for why it is not (yet) committed. Words naming the patient are made when
 * the item is viewed, from its sealed fields: the database keeps no names in the clear.
 */
import type { PatientSummary } from '../../shared/contracts/common';

/** Reason shown on items whose launch grant ended. */
export const GRANT_REASON = 'Launch again from Evolution for this patient.';

/** Stored reason while the gateway waits for Medtech to confirm a create that may have reached it. */
export const WAITING_FOR_CONFIRMATION = 'Sent to Medtech — waiting for Medtech to confirm';

/** "Sent to Medtech — waiting for Medtech to confirm (next check in 40 s)". */
export function waitingForConfirmationReason(nextAttemptAt: number | null, now: number): string {
  if (nextAttemptAt === null) return WAITING_FOR_CONFIRMATION;
  const s = Math.max(0, Math.ceil((nextAttemptAt - now) / 1000));
  return `${WAITING_FOR_CONFIRMATION} (next check in ${s} s)`;
}

/** How a patient is named to the GP: "CANARY, Testpatient". */
export function patientName(p: PatientSummary): string {
  return `${p.familyName.toUpperCase()}, ${p.givenName}`;
}

/** "23 Nov 2026, 9:00 am": when the photo was taken, in the words a GP would look for it by. */
export function takenAt(capturedAt: string): string {
  const d = new Date(capturedAt);
  if (Number.isNaN(d.getTime())) return capturedAt;
  return d.toLocaleString('en-NZ', { day: 'numeric', month: 'short', year: 'numeric', hour: 'numeric', minute: '2-digit' });
}

/** The photo is named by the caller (the desktop knows its name); the outbox names it by when it was taken. */
export function unconfirmedReason(patient: PatientSummary | undefined, photo: string): string {
  const inbox = patient === undefined ? "the patient's Inbox" : `${patientName(patient)}'s Inbox`;
  return `Sent to Medtech, not yet confirmed — look in ${inbox} in Medtech for ${photo} before sending again.`;
}
