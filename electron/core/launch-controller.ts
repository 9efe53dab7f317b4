/**
 * The working patient from a launch: parse strictly, the gateway verifies, and only a verified grant changes the
 * working patient (`applyVerified`, shared with a confirmed NHI search): started, same patient, or switched.
 */
import type { LaunchView } from '../../shared/contracts/bridge';
import type { LaunchGrant } from '../../shared/contracts/gateway';
import { parseLaunchUrl } from '../launch/parse';
import { LaunchOpener, launchRefusedKeepingMessage } from '../launch/open-launch';
import { patientDisplayName, patientSwitchMessage, type LaunchAttempt, type LaunchApplied } from '../session';
import type { CoreParts } from './ports';

export type LaunchControllerDeps = Pick<CoreParts, 'working' | 'access' | 'library' | 'outbox' | 'phone' | 'notices' | 'changed' | 'log'> & {
  /** When the http form of launch is enabled. */
  loopbackLaunchPort?: number;
};

export class LaunchController {
  private inFlight = 0;
  /** A refused launch leaves the patient on screen (../launch/open-launch). */
  private readonly opener: LaunchOpener;

  constructor(private readonly deps: LaunchControllerDeps) {
    this.opener = new LaunchOpener({
      working: deps.working,
      parse: (url) => parseLaunchUrl(url, deps.loopbackLaunchPort === undefined ? {} : { loopbackPort: deps.loopbackLaunchPort }),
      enrolled: () => deps.access.ready(),
      verify: (ticket) => deps.access.gateway().verifyLaunch({ context: ticket.context, signature: ticket.signature }),
      apply: (attempt, grant) => this.applyVerified(attempt, grant),
      refusedKeeping: (kept, error) => deps.notices.notify('info', 'warning', launchRefusedKeepingMessage(patientDisplayName(kept), error), kept.id),
      changed: () => deps.changed(),
      log: deps.log,
    });
  }

  /** A launch is being verified: it wins over every NHI search. */
  get busy(): boolean {
    return this.inFlight > 0;
  }

  async open(url: string): Promise<LaunchView> {
    this.inFlight += 1;
    try {
      return await this.opener.open(url);
    } finally {
      this.inFlight -= 1;
    }
  }

  /**
   * A verified grant (a launch, or an NHI search the GP confirmed). Photos of this patient still waiting for a grant
   * (after a restart, a re-enrolment or a relaunch) get this one.
   */
  async applyVerified(attempt: LaunchAttempt, grant: LaunchGrant): Promise<void> {
    const { deps } = this;
    const outcome = deps.working.verified(attempt, grant);
    if (outcome.kind === 'stale') return;
    if (outcome.kind === 'same-patient') {
      for (const rec of deps.library.all()) if (rec.patient.id === grant.patient.id) rec.grant = grant;
    }
    const rebound = deps.outbox.rebindGrant(grant.patient.id, grant.grantId);
    if (outcome.kind === 'switched') await this.switched(outcome);
    else deps.log.info({ session: outcome.session.id, rebound }, outcome.kind === 'started' ? 'patient session started' : 'same patient relaunched');
  }

  private async switched(outcome: Extract<LaunchApplied, { kind: 'switched' }>): Promise<void> {
    const { deps } = this;
    const previous = outcome.previous.patient;
    // Photos the phone had numbered for the previous patient still arrive, and wait with them.
    const coming = deps.phone.lanSessionOf(outcome.previous.id) === undefined ? 0 : (deps.phone.view()?.photosComing ?? 0);
    await deps.phone.endFor(outcome.previous.id, 'patient-changed');
    const staying = deps.library.all().filter((r) => r.patient.id === previous.id && r.status !== 'committed').length;
    deps.notices.notify('patient-switched', staying + coming > 0 ? 'warning' : 'info', patientSwitchMessage(previous, outcome.session.patient, staying, coming), previous.id);
    deps.log.info({ session: outcome.session.id, staying, coming }, 'patient switched');
  }
}
