/** Parse → verify → only then switch, so a hostile or broken launch never hides the GP's patient (electron/README.md). */
import type { LaunchView } from '../../shared/contracts/bridge';
import type { PatientSummary } from '../../shared/contracts/common';
import type { LaunchGrant } from '../../shared/contracts/gateway';
import { AppError, toAppError, type ErrorBody } from '../../shared/errors/app-error';
import type { LaunchAttempt, WorkingPatient } from '../session';
import type { LaunchParseResult, LaunchTicket } from './parse';

export interface LaunchOpenerDeps {
  working: WorkingPatient;
  parse(url: string): LaunchParseResult;
  enrolled(): Promise<boolean>;
  verify(ticket: LaunchTicket): Promise<LaunchGrant>;
  /** A verified grant becomes the working patient (switch, same patient, start). */
  apply(attempt: LaunchAttempt, grant: LaunchGrant): Promise<void>;
  /** Tell the GP: a launch was refused while `kept` stays the working patient. */
  refusedKeeping(kept: PatientSummary, error: ErrorBody): void;
  changed(): void;
  log: { warn(obj: object, msg: string): void };
}

export class LaunchOpener {
  private newest = 0;

  constructor(private readonly deps: LaunchOpenerDeps) {}

  async open(url: string): Promise<LaunchView> {
    const { working } = this.deps;
    const seq = ++this.newest;
    // Only when nothing is on screen does the banner say "checking"; a shown patient stays until a new one is verified.
    const attempt = working.current() === null ? working.begin() : null;
    if (attempt !== null) this.deps.changed();
    let grant: LaunchGrant;
    try {
      grant = await this.verified(url);
    } catch (err) {
      return this.refused(seq, attempt, toAppError(err).toBody());
    }
    if (seq !== this.newest) return working.view();
    await this.deps.apply(attempt ?? working.begin(), grant);
    this.deps.changed();
    return working.view();
  }

  private async verified(url: string): Promise<LaunchGrant> {
    const parsed = this.deps.parse(url);
    if (!parsed.ok) {
      this.deps.log.warn({ reason: parsed.reason }, 'launch URL refused');
      throw AppError.fromBody(parsed.error);
    }
    if (!(await this.deps.enrolled())) throw new AppError('ERR_NOT_ENROLLED');
    const grant = await this.deps.verify(parsed.ticket);
    // A grant that needs the GP's confirmation only comes through patient.lookup → patient.confirm; here it shows nothing.
    if (grant.requiresConfirmation === true) throw new AppError('ERR_LAUNCH_SIGNATURE', { detail: 'patient needs confirmation' });
    return grant;
  }

  private refused(seq: number, attempt: LaunchAttempt | null, error: ErrorBody): LaunchView {
    const { working } = this.deps;
    if (seq !== this.newest) return working.view();
    this.deps.log.warn({ code: error.code }, 'launch not verified');
    if (attempt !== null) {
      if (working.failed(attempt, error)) this.deps.changed();
      return working.view();
    }
    const kept = working.current();
    if (kept !== null) this.deps.refusedKeeping(kept.patient, error);
    this.deps.changed();
    return { status: 'error', error };
  }
}

/** What the GP reads when a launch was refused and the patient on screen stays. */
export function launchRefusedKeepingMessage(keptName: string, error: ErrorBody): string {
  return `A launch from Medtech Evolution was not accepted: ${error.message} You are still working on ${keptName}.`;
}
