/**
 * What the UI sees of an item (never image bytes) and its reason in plain words, the counts per state, the item events.
 * Words naming the patient are made when viewed: the database keeps no names.
 */
import type { PatientSummary } from '../../shared/contracts/common';
import type { ErrorCode } from '../../shared/errors';
import type { CommitTarget } from '../../shared/contracts/gateway';
import { openFields, type OutboxContext } from './context';
import type { CommitResult, Fields, Row } from './queries';
import type { OutboxActionView, OutboxEvents, OutboxItemView, OutboxProgress } from './types';

const iso = (ms: number): string => new Date(ms).toISOString();

export const GRANT_REASON = 'Launch again from Evolution for this patient.';

/** "Sent to Medtech — waiting for Medtech to confirm (next check in 40 s)". */
function waitingForConfirmationReason(nextAttemptAt: number | null, now: number): string {
  const reason = 'Sent to Medtech — waiting for Medtech to confirm';
  return nextAttemptAt === null ? reason : `${reason} (next check in ${Math.max(0, Math.ceil((nextAttemptAt - now) / 1000))} s)`;
}

/** "CANARY, Testpatient". */
export function patientName(p: PatientSummary): string {
  return `${p.familyName.toUpperCase()}, ${p.givenName}`;
}

/** "23 Nov 2026, 9:00 am". */
export function takenAt(capturedAt: string): string {
  const d = new Date(capturedAt);
  if (Number.isNaN(d.getTime())) return capturedAt;
  return d.toLocaleString('en-NZ', { day: 'numeric', month: 'short', year: 'numeric', hour: 'numeric', minute: '2-digit' });
}

/** `photo`: the desktop names it by its name, the outbox by when it was taken. */
export function unconfirmedReason(patient: PatientSummary | undefined, photo: string): string {
  const inbox = patient === undefined ? "the patient's Inbox" : `${patientName(patient)}'s Inbox`;
  return `Sent to Medtech, not yet confirmed — look in ${inbox} in Medtech for ${photo} before sending again.`;
}

function fieldsOf(ctx: OutboxContext, row: Row): Fields | undefined {
  try {
    return openFields(ctx, row);
  } catch {
    return undefined;
  }
}

function actionsOf(ctx: OutboxContext, imageId: string): OutboxActionView[] {
  return ctx.q.actionsOf.all(imageId).map((a) => {
    const v: OutboxActionView = { action: a.action, at: iso(a.at) };
    if (a.correlation_id !== null) v.correlationId = a.correlation_id;
    return v;
  });
}

/** With what only the sealed fields or the clock can add (the patient's name, "next check in"). */
function reasonOf(ctx: OutboxContext, row: Row, fields: Fields | undefined): string | undefined {
  if (row.state === 'waiting' && row.error_code === 'ERR_ALEX_OUTCOME_UNKNOWN') return waitingForConfirmationReason(row.next_attempt_at, ctx.clock.now());
  if (row.state === 'unconfirmed') return unconfirmedReason(fields?.v === 'live' ? fields.patient : undefined, `the photo taken ${takenAt(row.captured_at)}`);
  return row.reason ?? undefined;
}

export function toView(ctx: OutboxContext, row: Row): OutboxItemView {
  const fields = fieldsOf(ctx, row);
  const v: OutboxItemView = {
    imageId: row.image_id,
    patientId: fields === undefined ? '' : fields.v === 'live' ? fields.patient.id : fields.patientId,
    facilityId: row.facility_id,
    capturedAt: row.captured_at,
    targets: JSON.parse(row.targets) as CommitTarget[],
    state: row.state,
    attempts: row.attempts,
    updatedAt: iso(row.updated_at),
  };
  if (fields?.v === 'live') v.patient = fields.patient;
  if (fields?.v === 'history') v.nhi = fields.nhi;
  if (row.next_attempt_at !== null) v.nextAttemptAt = iso(row.next_attempt_at);
  const reason = reasonOf(ctx, row, fields);
  if (reason !== undefined) v.reason = reason;
  if (row.error_code !== null) v.lastError = { code: row.error_code as ErrorCode, message: row.error_message ?? '' };
  if (row.state === 'waiting' && row.error_code === 'ERR_ALEX_OUTCOME_UNKNOWN') v.waitingFor = 'medtech-confirmation';
  if (row.resend_after_check === 1) v.resendAfterCheck = true;
  const actions = actionsOf(ctx, row.image_id);
  if (actions.length > 0) v.actions = actions;
  if (row.state === 'committed' && row.result !== null && row.committed_at !== null) {
    v.committed = { ...(JSON.parse(row.result) as CommitResult), at: iso(row.committed_at) };
  }
  return v;
}

export function progressOf(ctx: OutboxContext): OutboxProgress {
  const p: OutboxProgress = { queued: 0, sending: 0, waiting: 0, failed: 0, committed: 0, unconfirmed: 0 };
  for (const { state, n } of ctx.q.counts.all()) p[state] = n;
  return p;
}

export function emitItem(ctx: OutboxContext, event: Exclude<keyof OutboxEvents, 'progress'>, imageId: string): void {
  const row = ctx.q.get.get(imageId);
  if (row) ctx.events.emit(event, toView(ctx, row));
  ctx.events.emit('progress', progressOf(ctx));
}
