/**
 * Launch grants: an opaque 256-bit id scoped to one device, facility and patient, with a TTL; only its
 * sha256 is stored, and the patient sealed (patient-seal.ts). An NHI-lookup grant is unusable until confirmed.
 */
import type { LaunchGrant } from '../../../shared/contracts/gateway';
import { AppError } from '../../../shared/errors';
import { DEFAULT_LOOKUP_GRANT_TTL_SECONDS } from '../config';
import { sha256Hex } from '../crypto';
import type { Clock, Random } from '../deps';
import type { GatewayStore, GrantRecord } from '../store/types';
import { DEVELOPMENT_DATA_KEY, PatientSeal, type StoredPatient } from './patient-seal';
import type { VerifiedLaunch } from './verifier';

export function grantHash(grantId: string): string {
  return sha256Hex(`clinicpro-images/grant\n${grantId}`);
}

type GrantHolder = Pick<GrantRecord, 'deviceId' | 'facilityId'>;

export class GrantService {
  constructor(
    private readonly store: GatewayStore,
    private readonly clock: Clock,
    private readonly random: Random,
    /** Launch grants, and NHI-lookup grants once confirmed (from the time of confirmation). */
    private readonly ttlSeconds: number,
    /** NHI-lookup grants until the GP confirms them. */
    private readonly lookupTtlSeconds: number = Math.min(DEFAULT_LOOKUP_GRANT_TTL_SECONDS, ttlSeconds),
    /** GATEWAY_DATA_KEY's seal (default: the sandbox's development key). */
    private readonly seal: PatientSeal = new PatientSeal(DEVELOPMENT_DATA_KEY),
  ) {}

  /** A commit record's NHI as stored (sealed, bound to the image id), and back. */
  sealNhi(nhi: string, imageId: string): string {
    return this.seal.sealText(nhi, 'commit-nhi', imageId);
  }

  openNhi(stored: string, imageId: string): string {
    // A commit record stored before sealing existed holds the NHI in clear (it never starts with the version).
    return stored.startsWith('v1.') ? this.seal.openText(stored, 'commit-nhi', imageId) : stored;
  }

  private async put(record: GrantRecord): Promise<void> {
    const stored = { ...record, patient: this.seal.sealPatient(record.patient, record.grantHash) as unknown as GrantRecord['patient'] };
    await this.store.putGrant(stored);
  }

  private async get(hash: string): Promise<GrantRecord | null> {
    const stored = await this.store.getGrant(hash);
    if (!stored) return null;
    // A grant stored in clear before sealing existed is used as it is until it expires (at most a day).
    if (typeof (stored.patient as unknown as Partial<StoredPatient>).sealed !== 'string') return stored;
    return { ...stored, patient: this.seal.openPatient(stored.patient as unknown as StoredPatient, hash) };
  }

  async issue(deviceId: string, facilityId: string, launch: VerifiedLaunch): Promise<LaunchGrant> {
    const grantId = this.random.bytes(32).toString('base64url');
    const issuedAt = this.clock.now();
    const expiresAt = issuedAt + (launch.requiresConfirmation ? this.lookupTtlSeconds : this.ttlSeconds) * 1000;
    const { patient, providerId, requiresConfirmation } = launch;
    const record: GrantRecord = { grantHash: grantHash(grantId), deviceId, facilityId, patient, providerId, issuedAt, expiresAt, requiresConfirmation };
    await this.put(record);
    return wireGrant(grantId, record);
  }

  /**
   * The GP confirmed the patient of this device's NHI-lookup grant: usable from now, for the normal lifetime.
   * Confirming again answers it unchanged (a retry after a lost answer); nothing is written unless it takes effect.
   */
  async confirm(grantId: string, holder: GrantHolder): Promise<{ grant: LaunchGrant; record: GrantRecord; alreadyConfirmed: boolean }> {
    const found = await this.get(grantHash(grantId));
    if (!found || found.deviceId !== holder.deviceId || found.facilityId !== holder.facilityId) {
      throw new AppError('ERR_LOOKUP_ENDED', { detail: 'no such patient search for this device' });
    }
    if (!found.requiresConfirmation && found.confirmedAt === undefined) throw new AppError('ERR_LOOKUP_ENDED', { detail: 'not a patient search' });
    const now = this.clock.now();
    if (found.expiresAt <= now) throw new AppError('ERR_LOOKUP_EXPIRED');
    if (!found.requiresConfirmation) return { grant: wireGrant(grantId, found), record: found, alreadyConfirmed: true };
    // putGrant is an upsert in every store: the same record, confirmed, with its new expiry.
    const record: GrantRecord = { ...found, requiresConfirmation: false, confirmedAt: now, expiresAt: now + this.ttlSeconds * 1000 };
    await this.put(record);
    return { grant: wireGrant(grantId, record), record, alreadyConfirmed: false };
  }

  /** The live, confirmed grant for this device and facility, bound to `patientId`. */
  async check(grantId: string, device: GrantHolder, patientId: string): Promise<GrantRecord> {
    const grant = await this.get(grantHash(grantId));
    if (!grant || grant.deviceId !== device.deviceId || grant.facilityId !== device.facilityId) throw new AppError('ERR_LAUNCH_GRANT_INVALID');
    if (grant.expiresAt <= this.clock.now()) throw new AppError('ERR_LAUNCH_GRANT_EXPIRED');
    // `!== false`: a record without the flag is treated as unconfirmed, never as usable.
    if (grant.requiresConfirmation !== false) throw new AppError('ERR_LOOKUP_UNCONFIRMED');
    if (grant.patient.id !== patientId) throw new AppError('ERR_COMMIT_PATIENT_MISMATCH');
    return grant;
  }
}

function wireGrant(grantId: string, { facilityId, patient, issuedAt, expiresAt, providerId, requiresConfirmation }: GrantRecord): LaunchGrant {
  const grant: LaunchGrant = { grantId, facilityId, patient, issuedAt: new Date(issuedAt).toISOString(), expiresAt: new Date(expiresAt).toISOString() };
  if (providerId !== null) grant.providerId = providerId;
  if (requiresConfirmation) grant.requiresConfirmation = true;
  return grant;
}
