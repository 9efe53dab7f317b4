/**
 * Launch verification: what the companion forwards → a verified patient, or a coded error. The raw pair is
 * never logged or stored; the replay cache keeps sha256(context + '\n' + signature).
 */
import type { PatientSummary } from '../../../shared/contracts/common';
import { LIMITS } from '../../../shared/limits';
import { isValidNhi, normaliseNhi } from '../../../shared/nhi';
import { AppError } from '../../../shared/errors';
import type { AlexClient } from '../alex/types';
import { sha256Hex } from '../crypto';
import type { Clock } from '../deps';
import type { GatewayStore } from '../store/types';

export type LaunchInput = { kind: 'evolution'; context: string; signature: string } | { kind: 'nhi'; nhi: string };

/** Who is asking: the authenticated device. */
export interface LaunchSubject {
  deviceId: string;
  facilityId: string;
  correlationId: string;
  signal?: AbortSignal;
}

export interface VerifiedLaunch {
  patient: PatientSummary;
  providerId: string | null;
  /** true: the patient was not handed over by Evolution; the GP must confirm it on screen. */
  requiresConfirmation: boolean;
}

export interface LaunchVerifier {
  readonly kind: LaunchInput['kind'];
  verify(input: LaunchInput, subject: LaunchSubject): Promise<VerifiedLaunch>;
}

/** Opaque strings as Evolution may send them: base64, base64url, URL-encoded. */
const OPAQUE_RE = /^[A-Za-z0-9+/=%._~-]+$/;

function checkOpaque(value: unknown): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > LIMITS.launchParamMaxChars || !OPAQUE_RE.test(value)) {
    throw new AppError('ERR_LAUNCH_MALFORMED');
  }
  return value;
}

/** ALEX errors on the decode call that mean "this pair is not genuine". */
const SIGNATURE_REJECTIONS = new Set(['ERR_ALEX_REJECTED', 'ERR_ALEX_NOT_FOUND', 'ERR_LAUNCH_SIGNATURE', 'ERR_REQUEST_INVALID']);

export class AlexLaunchVerifier implements LaunchVerifier {
  readonly kind = 'evolution' as const;

  constructor(
    private readonly alex: AlexClient,
    private readonly store: GatewayStore,
    private readonly clock: Clock,
    private readonly options: { maxAgeSeconds: number; clockSkewSeconds: number },
  ) {}

  async verify(input: LaunchInput, subject: LaunchSubject): Promise<VerifiedLaunch> {
    if (input.kind !== 'evolution') throw new AppError('ERR_LAUNCH_MALFORMED');
    const context = checkOpaque(input.context);
    const signature = checkOpaque(input.signature);
    const ctx = { facilityId: subject.facilityId, correlationId: subject.correlationId, signal: subject.signal };

    let decoded;
    try {
      decoded = await this.alex.decodeLaunch(ctx, context, signature);
    } catch (err) {
      if (err instanceof AppError && SIGNATURE_REJECTIONS.has(err.code)) throw new AppError('ERR_LAUNCH_SIGNATURE', { cause: err });
      // The decode call carries the device's mt-facilityid; ALEX (and the sandbox) refuse a pair made
      // in another facility with 403. An unmapped facility has its own code (ERR_ALEX_FACILITY_NOT_FOUND).
      if (err instanceof AppError && err.code === 'ERR_ALEX_FORBIDDEN') throw new AppError('ERR_LAUNCH_FACILITY_MISMATCH', { cause: err });
      throw err;
    }

    const now = this.clock.now();
    const created = Date.parse(decoded.createdTime);
    if (!Number.isFinite(created)) throw new AppError('ERR_LAUNCH_MALFORMED');
    const skewMs = this.options.clockSkewSeconds * 1000;
    const maxAgeMs = this.options.maxAgeSeconds * 1000;
    if (now - created > maxAgeMs + skewMs || created - now > skewMs) throw new AppError('ERR_LAUNCH_EXPIRED');

    // Single use: the cache entry outlives the pair's own validity window.
    const first = await this.store.markLaunchUsed(sha256Hex(`${context}\n${signature}`), created + maxAgeMs + 2 * skewMs + 60_000, now);
    if (!first) throw new AppError('ERR_LAUNCH_REPLAYED');

    if (decoded.facilityCode !== subject.facilityId) throw new AppError('ERR_LAUNCH_FACILITY_MISMATCH');
    if (decoded.patientId === null || decoded.patientId === '') throw new AppError('ERR_LAUNCH_NO_PATIENT');

    const patient = await this.alex.getPatient(ctx, decoded.patientId);
    return { patient, providerId: decoded.providerId, requiresConfirmation: false };
  }
}

/**
 * Fallback: find the patient by NHI in the device's facility; the GP must confirm who it is (the grant is
 * unusable until then: see GrantService.confirm). A bad NHI → ERR_LOOKUP_NHI_INVALID before ALEX is asked.
 */
export class NhiLookupVerifier implements LaunchVerifier {
  readonly kind = 'nhi' as const;

  constructor(private readonly alex: AlexClient) {}

  async verify(input: LaunchInput, subject: LaunchSubject): Promise<VerifiedLaunch> {
    if (input.kind !== 'nhi') throw new AppError('ERR_LAUNCH_MALFORMED');
    // The detail never carries the value (it identifies a patient).
    if (!isValidNhi(input.nhi)) throw new AppError('ERR_LOOKUP_NHI_INVALID');
    const ctx = { facilityId: subject.facilityId, correlationId: subject.correlationId, signal: subject.signal };
    const patient = await this.alex.findPatientByNhi(ctx, normaliseNhi(input.nhi));
    if (!patient) throw new AppError('ERR_ALEX_PATIENT_NOT_FOUND');
    return { patient, providerId: null, requiresConfirmation: true };
  }
}
