/** The working patient and its capture sessions, one verified patient each (electron/README.md "Rules of the core"). */
import { AppError, type ErrorBody } from '../../shared/errors/app-error';
import type { LaunchGrant } from '../../shared/contracts/gateway';
import type { PatientSummary } from '../../shared/contracts/common';
import type { LaunchView } from '../../shared/contracts/bridge';

export interface CaptureSession {
  readonly id: string;
  readonly patient: PatientSummary;
  /** Replaced on a same-patient relaunch. */
  grant: LaunchGrant;
  readonly startedAt: number;
  endedAt: number | undefined;
}

export type LaunchApplied =
  | { kind: 'started'; session: CaptureSession }
  | { kind: 'same-patient'; session: CaptureSession; previousGrantId: string }
  | { kind: 'switched'; session: CaptureSession; previous: CaptureSession }
  /** A newer launch began meanwhile: this result changes nothing. */
  | { kind: 'stale' };

export interface LaunchAttempt {
  readonly seq: number;
}

export class WorkingPatient {
  private seq = 0;
  private verifying = false;
  private lastError: ErrorBody | undefined;
  /** Working only while no launch is being verified or has failed since (view() is 'ready'). */
  private latest: CaptureSession | undefined;
  private readonly all: CaptureSession[] = [];
  private readonly grants = new Map<string, LaunchGrant>();

  constructor(private readonly opts: { now: () => number; newSessionId: () => string }) {}

  /** A launch arrived: hide the working patient until it is verified. */
  begin(): LaunchAttempt {
    this.seq += 1;
    this.verifying = true;
    this.lastError = undefined;
    return { seq: this.seq };
  }

  verified(attempt: LaunchAttempt, grant: LaunchGrant): LaunchApplied {
    if (attempt.seq !== this.seq) return { kind: 'stale' };
    this.verifying = false;
    this.lastError = undefined;
    this.grants.set(grant.patient.id, grant);
    const prev = this.latest;
    if (prev?.patient.id === grant.patient.id) {
      const previousGrantId = prev.grant.grantId;
      prev.grant = grant;
      return { kind: 'same-patient', session: prev, previousGrantId };
    }
    const session: CaptureSession = { id: this.opts.newSessionId(), patient: grant.patient, grant, startedAt: this.opts.now(), endedAt: undefined };
    this.all.push(session);
    this.latest = session;
    if (prev !== undefined) {
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
    return true;
  }

  /** Null when nothing is verified (none yet, verifying, failed, or grant expired). */
  current(): CaptureSession | null {
    return this.view().status === 'ready' ? (this.latest ?? null) : null;
  }

  requireCurrent(): CaptureSession {
    const cur = this.current();
    if (cur === null) throw new AppError('ERR_NO_PATIENT');
    return cur;
  }

  view(): LaunchView {
    if (this.verifying) return { status: 'verifying' };
    if (this.lastError !== undefined) return { status: 'error', error: this.lastError };
    if (this.latest === undefined) return { status: 'none' };
    if (Date.parse(this.latest.grant.expiresAt) <= this.opts.now()) return { status: 'error', error: new AppError('ERR_LAUNCH_GRANT_EXPIRED').toBody() };
    return { status: 'ready' };
  }

  /** To commit that patient's images, even after a switch. */
  grantFor(patientId: string): LaunchGrant | undefined {
    return this.grants.get(patientId);
  }

  session(id: string): CaptureSession | undefined {
    return this.all.find((s) => s.id === id);
  }
}

/** "SMITH, Jane" — how the GP sees a patient in notices and labels. */
export function patientDisplayName(p: PatientSummary): string {
  return `${p.familyName.toUpperCase()}, ${p.givenName}`;
}

export function patientSwitchMessage(previous: PatientSummary, next: PatientSummary, imagesStaying: number, photosComing = 0): string {
  const parts = [`Now working on ${patientDisplayName(next)}.`];
  if (imagesStaying > 0) parts.push(`${imagesStaying === 1 ? '1 image stays' : `${imagesStaying} images stay`} with ${patientDisplayName(previous)} and can still be sent to their record only.`);
  if (photosComing > 0) {
    const coming = `${photosComing === 1 ? '1 photo' : `${photosComing} photos`} still coming from the phone`;
    parts.push(imagesStaying > 0 ? `${coming} will wait with them.` : `${coming} will wait with ${patientDisplayName(previous)}, to be sent to their record only.`);
  }
  return parts.join(' ');
}
