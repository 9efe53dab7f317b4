/**
 * Each device's own NHI-lookup budget (`RATE_LIMIT_LOOKUPS_PER_HOUR`, a burst of at most 10), checked before
 * ALEX is asked, so a stolen credential cannot walk the NHI space.
 */
import { AppError } from '../../../shared/errors';
import type { Clock } from '../deps';
import type { GatewayStore } from '../store/types';
import type { LaunchInput, LaunchSubject, LaunchVerifier, VerifiedLaunch } from './verifier';

export class BudgetedLookupVerifier implements LaunchVerifier {
  readonly kind: LaunchVerifier['kind'];

  constructor(
    private readonly inner: LaunchVerifier,
    private readonly store: GatewayStore,
    private readonly clock: Clock,
    private readonly perHour: number,
  ) {
    this.kind = inner.kind;
  }

  async verify(input: LaunchInput, subject: LaunchSubject): Promise<VerifiedLaunch> {
    const spec = { capacity: Math.min(10, this.perHour), refillPerSecond: this.perHour / 3600 };
    const r = await this.store.takeToken(`lookup:${subject.deviceId}`, spec, 1, this.clock.now());
    if (!r.allowed) throw new AppError('ERR_RATE_LIMITED', { retryAfterSeconds: r.retryAfterSeconds, detail: 'patient lookups' });
    return this.inner.verify(input, subject);
  }
}
