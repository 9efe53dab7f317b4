/**
 * Find a patient by NHI: a search answers a PENDING candidate; only the GP's "Yes" after the gateway's confirm makes it
 * the working patient, by the launch's rules (electron/README.md "Find patient by NHI"). Kept in memory only.
 */
import { randomBytes } from 'node:crypto';
import type { BridgeRequest, LaunchView, PendingLookupView } from '../../shared/contracts/bridge';
import type { LaunchGrant } from '../../shared/contracts/gateway';
import { AppError, toAppError } from '../../shared/errors/app-error';
import { isValidNhi, normaliseNhi } from '../../shared/nhi';
import type { CoreParts } from './ports';

/** Its grant is used for nothing until the GP and the gateway confirmed it. */
interface PendingLookup {
  id: string;
  grant: LaunchGrant;
  /** Epoch ms: the grant's expiry. */
  expiresAt: number;
  /** The GP's "Yes" is with the gateway. */
  confirming?: Promise<LaunchView> | undefined;
}

export type LookupEndReason = 'launch' | 'replaced' | 'cancelled' | 'closed';

export class PatientLookup {
  private pending: PendingLookup | null = null;
  /** The search (or confirmation) still with the gateway. */
  private call: AbortController | null = null;

  constructor(private readonly deps: Pick<CoreParts, 'working' | 'access' | 'launch' | 'clock' | 'iso' | 'changed' | 'log'>) {}

  /** None once expired. */
  view(): PendingLookupView | undefined {
    const p = this.pending;
    if (p === null || p.expiresAt <= this.deps.clock.now()) return undefined;
    return this.viewOf(p);
  }

  private viewOf(p: PendingLookup): PendingLookupView {
    return { lookupId: p.id, patient: p.grant.patient, expiresAt: this.deps.iso(p.expiresAt) };
  }

  /** Forget the candidate, abort a search still running. True when there was one. */
  end(reason: LookupEndReason): boolean {
    const had = this.pending !== null || this.call !== null;
    this.call?.abort();
    this.call = null;
    if (this.pending !== null) this.deps.log.info({ reason }, 'patient search closed');
    this.pending = null;
    return had;
  }

  async lookup({ nhi }: BridgeRequest<'patient.lookup'>): Promise<PendingLookupView> {
    const { deps } = this;
    if (this.end('replaced')) deps.changed();
    const value = normaliseNhi(nhi.replace(/\s+/g, ''));
    if (!isValidNhi(value)) throw new AppError('ERR_LOOKUP_NHI_INVALID');
    if (!(await deps.access.ready())) throw new AppError('ERR_NOT_ENROLLED');
    if (deps.launch.busy) throw new AppError('ERR_REQUEST_CANCELLED', { detail: 'a launch is being checked' });
    const grant = await this.withGateway('patient search refused', (signal) => deps.access.gateway().lookupPatientByNhi(value, { signal }));
    const expiresAt = Date.parse(grant.expiresAt);
    if (!(expiresAt > deps.clock.now())) throw new AppError('ERR_LOOKUP_EXPIRED');
    this.pending = { id: `lk_${randomBytes(16).toString('base64url')}`, grant, expiresAt };
    deps.log.info('patient found by NHI; waiting for the GP to confirm');
    deps.changed();
    return this.viewOf(this.pending);
  }

  /** A gateway call that a launch, a cancel or a new search may overtake (then ERR_REQUEST_CANCELLED, shown nothing). */
  private async withGateway<T>(what: string, send: (signal: AbortSignal) => Promise<T>, refused?: (e: AppError) => void): Promise<T> {
    const call = new AbortController();
    this.call = call;
    let answer: T;
    try {
      answer = await send(call.signal);
    } catch (err) {
      const e = toAppError(err);
      if (call.signal.aborted) throw new AppError('ERR_REQUEST_CANCELLED', { cause: err });
      this.deps.log.warn({ code: e.code, correlationId: e.correlationId }, what);
      refused?.(e);
      throw e;
    } finally {
      if (this.call === call) this.call = null;
    }
    // Cancelled, replaced or overtaken by a launch while the answer was on its way: it shows nothing.
    if (call.signal.aborted || this.deps.launch.busy) throw new AppError('ERR_REQUEST_CANCELLED');
    return answer;
  }

  /** The GP's "Yes, this patient". A second "Yes" while the first is with the gateway shares its answer. */
  async confirm({ lookupId }: BridgeRequest<'patient.confirm'>): Promise<LaunchView> {
    const p = this.pending;
    if (p === null || p.id !== lookupId) throw new AppError('ERR_LOOKUP_ENDED');
    if (p.confirming !== undefined) return p.confirming;
    if (p.expiresAt <= this.deps.clock.now()) {
      this.pending = null;
      this.deps.log.info('patient search expired before it was confirmed');
      this.deps.changed();
      throw new AppError('ERR_LOOKUP_EXPIRED');
    }
    p.confirming = this.confirmWithGateway(p).finally(() => {
      p.confirming = undefined;
    });
    return p.confirming;
  }

  /**
   * Only the grant the gateway answers (confirmed, new expiry) becomes the working patient's. A final refusal ends
   * the search; a passing one keeps the candidate for another "Yes" (confirming twice is safe).
   */
  private async confirmWithGateway(p: PendingLookup): Promise<LaunchView> {
    const { deps } = this;
    const grant = await this.withGateway(
      'patient confirmation refused',
      (signal) => deps.access.gateway().confirmLookup(p.grant.grantId, { signal }),
      (e) => {
        if (!e.retryable && this.pending === p) {
          this.pending = null;
          deps.changed();
        }
      },
    );
    if (this.pending !== p) throw new AppError('ERR_REQUEST_CANCELLED');
    this.pending = null;
    if (grant.patient.id !== p.grant.patient.id) {
      deps.changed();
      throw new AppError('ERR_INTERNAL', { detail: 'the gateway confirmed another patient' });
    }
    // Confirmed by the GP and the gateway: from here on it is a grant like any verified launch's.
    const attempt = deps.working.begin();
    await deps.launch.applyVerified(attempt, grant);
    deps.log.info({ session: deps.working.current()?.id }, 'patient confirmed from an NHI search');
    deps.changed();
    return deps.working.view();
  }
}
