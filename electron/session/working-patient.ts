/**
 * The working-patient model: which verified patient the GP is working on, and the capture sessions.
 *
 * Rules (PRODUCT.md flow 2, ARCHITECTURE.md "patient binding is structural"):
 *   - A capture session belongs to exactly ONE verified patient (a launch grant from the gateway).
 *   - Nothing verified, nothing shown: while a launch is being verified, or after it failed, there is no
 *     working patient (`current()` is null) — new captures are refused rather than given to the previous one.
 *   - A verified launch for the SAME patient resumes that patient's session with the new grant (the caller
 *     rebinds waiting outbox items to it).
 *   - A verified launch for ANOTHER patient ends the old session and starts a new one. Images already
 *     taken keep the patient (and grant) they were taken for; the caller ends the phone session with
 *     reason 'patient-changed' and tells the GP.
 *   - Launches can overlap (two toolbar clicks): only the latest one may change the working patient.
 *
 * Pure logic over an injected clock and id source; no I/O.
 */
import type { ErrorBody } from '../../shared/errors/app-error';
import { AppError } from '../../shared/errors/app-error';
import type { LaunchGrant } from '../../shared/contracts/gateway';
import type { PatientSummary } from '../../shared/contracts/common';
import type { LaunchView } from '../../shared/contracts/bridge';

export interface CaptureSession {
  readonly id: string;
  readonly patient: PatientSummary;
  /** The newest verified grant for this patient (replaced on a same-patient relaunch). */
  grant: LaunchGrant;
  /** Epoch ms. */
  readonly startedAt: number;
  endedAt: number | undefined;
}

export type LaunchApplied =
  | { kind: 'started'; session: CaptureSession }
  | { kind: 'same-patient'; session: CaptureSession; previousGrantId: string }
  | { kind: 'switched'; session: CaptureSession; previous: CaptureSession }
  /** A newer launch began meanwhile: this result changes nothing. */
  | { kind: 'stale' };

export interface WorkingPatientOptions {
  /** Epoch ms. */
  now: () => number;
  newSessionId: () => string;
}

/** A handle for one launch in flight. */
export interface LaunchAttempt {
  readonly seq: number;
}

export class WorkingPatient {
  private seq = 0;
  private verifying = false;
  private lastError: ErrorBody | undefined;
  /** The latest session (working, or suspended while a launch is verified / after it failed). */
  private latest: CaptureSession | undefined;
  private suspended = false;
  private readonly all: CaptureSession[] = [];
  private readonly grants = new Map<string, LaunchGrant>();

  constructor(private readonly opts: WorkingPatientOptions) {}

  /** A launch arrived: hide the working patient until it is verified. */
  begin(): LaunchAttempt {
    this.seq += 1;
    this.verifying = true;
    this.lastError = undefined;
    this.suspended = true;
    return { seq: this.seq };
  }

  /** The gateway verified the launch. */
  verified(attempt: LaunchAttempt, grant: LaunchGrant): LaunchApplied {
    if (attempt.seq !== this.seq) return { kind: 'stale' };
    this.verifying = false;
    this.suspended = false;
    this.lastError = undefined;
    this.grants.set(grant.patient.id, grant);
    const prev = this.latest;
    if (prev !== undefined && prev.endedAt === undefined && prev.patient.id === grant.patient.id) {
      const previousGrantId = prev.grant.grantId;
      prev.grant = grant;
      return { kind: 'same-patient', session: prev, previousGrantId };
    }
    const session: CaptureSession = { id: this.opts.newSessionId(), patient: grant.patient, grant, startedAt: this.opts.now(), endedAt: undefined };
    this.all.push(session);
    this.latest = session;
    if (prev !== undefined && prev.endedAt === undefined) {
      prev.endedAt = this.opts.now();
      return { kind: 'switched', session, previous: prev };
    }
    return { kind: 'started', session };
  }

  /** The launch could not be read or verified: nothing new is shown, and the previous patient stays hidden. */
  failed(attempt: LaunchAttempt, error: ErrorBody): boolean {
    if (attempt.seq !== this.seq) return false;
    this.verifying = false;
    this.lastError = error;
    this.suspended = true;
    return true;
  }

  /** The working session, or null when nothing is verified (none yet, verifying, failed, or grant expired). */
  current(): CaptureSession | null {
    const s = this.latest;
    if (s === undefined || this.suspended || s.endedAt !== undefined) return null;
    if (Date.parse(s.grant.expiresAt) <= this.opts.now()) return null;
    return s;
  }

  /** The working patient's session; refused with ERR_NO_PATIENT when there is none (nothing verified, nothing shown). */
  requireCurrent(): CaptureSession {
    const cur = this.current();
    if (cur === null) throw new AppError('ERR_NO_PATIENT');
    return cur;
  }

  /** The launch status the banner shows. */
  view(): LaunchView {
    if (this.verifying) return { status: 'verifying' };
    if (this.lastError !== undefined) return { status: 'error', error: this.lastError };
    const s = this.latest;
    if (s === undefined || this.suspended) return { status: 'none' };
    if (Date.parse(s.grant.expiresAt) <= this.opts.now()) return { status: 'error', error: new AppError('ERR_LAUNCH_GRANT_EXPIRED').toBody() };
    return { status: 'ready' };
  }

  /** The newest grant for a patient (to commit that patient's images, even after a switch). */
  grantFor(patientId: string): LaunchGrant | undefined {
    return this.grants.get(patientId);
  }

  session(id: string): CaptureSession | undefined {
    return this.all.find((s) => s.id === id);
  }

  sessions(): readonly CaptureSession[] {
    return this.all;
  }
}

/** "SMITH, Jane" — how the GP sees a patient in notices and labels. */
export function patientDisplayName(p: PatientSummary): string {
  return `${p.familyName.toUpperCase()}, ${p.givenName}`;
}

/** The notice a GP gets when the working patient changes while images of the previous one remain. */
export function patientSwitchMessage(previous: PatientSummary, next: PatientSummary, imagesStaying: number): string {
  const now = `Now working on ${patientDisplayName(next)}.`;
  if (imagesStaying === 0) return now;
  const n = imagesStaying === 1 ? '1 image stays' : `${imagesStaying} images stay`;
  return `${now} ${n} with ${patientDisplayName(previous)} and can still be sent to their record only.`;
}
