/**
 * Launch grants: an opaque 256-bit id (base64url) given to the companion, scoped to one device,
 * one facility and one patient, with a TTL. Only sha256(grantId) is stored.
 */
import type { LaunchGrant } from '../../../shared/contracts/gateway';
import { AppError } from '../../../shared/errors';
import { sha256Hex } from '../crypto';
import type { Clock, Random } from '../deps';
import type { GatewayStore, GrantRecord } from '../store/types';
import type { VerifiedLaunch } from './verifier';

export function grantHash(grantId: string): string {
  return sha256Hex(`clinicpro-images/grant\n${grantId}`);
}

export class GrantService {
  constructor(
    private readonly store: GatewayStore,
    private readonly clock: Clock,
    private readonly random: Random,
    private readonly ttlSeconds: number,
  ) {}

  async issue(deviceId: string, facilityId: string, launch: VerifiedLaunch): Promise<LaunchGrant> {
    const grantId = this.random.bytes(32).toString('base64url');
    const issuedAt = this.clock.now();
    const expiresAt = issuedAt + this.ttlSeconds * 1000;
    await this.store.putGrant({
      grantHash: grantHash(grantId),
      deviceId,
      facilityId,
      patient: launch.patient,
      providerId: launch.providerId,
      issuedAt,
      expiresAt,
      requiresConfirmation: launch.requiresConfirmation,
    });
    const grant: LaunchGrant = {
      grantId,
      facilityId,
      patient: launch.patient,
      issuedAt: new Date(issuedAt).toISOString(),
      expiresAt: new Date(expiresAt).toISOString(),
    };
    if (launch.providerId !== null) grant.providerId = launch.providerId;
    if (launch.requiresConfirmation) grant.requiresConfirmation = true;
    return grant;
  }

  /**
   * The live grant for this device and facility, bound to `patientId`:
   * unknown or another device's → ERR_LAUNCH_GRANT_INVALID; past expiry → ERR_LAUNCH_GRANT_EXPIRED;
   * another patient → ERR_COMMIT_PATIENT_MISMATCH.
   */
  async check(grantId: string, device: { deviceId: string; facilityId: string }, patientId: string): Promise<GrantRecord> {
    const grant = await this.store.getGrant(grantHash(grantId));
    if (!grant || grant.deviceId !== device.deviceId || grant.facilityId !== device.facilityId) throw new AppError('ERR_LAUNCH_GRANT_INVALID');
    if (grant.expiresAt <= this.clock.now()) throw new AppError('ERR_LAUNCH_GRANT_EXPIRED');
    if (grant.patient.id !== patientId) throw new AppError('ERR_COMMIT_PATIENT_MISMATCH');
    return grant;
  }
}
