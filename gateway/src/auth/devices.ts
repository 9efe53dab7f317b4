/**
 * Device enrolment and authentication. A one-time code from the operator CLI is exchanged for a
 * device id and a 256-bit secret; the gateway keeps sha256(secret) only and compares in constant
 * time. A device may enrol with a DPoP public key (its thumbprint is kept); from then on every call
 * must also carry a proof made with that key (dpop.ts). Failed attempts are limited (failureKey) and
 * audited as `auth.rejected`; every authenticated device has its own bucket.
 */
import type { EnrolRequest, EnrolResponse } from '../../../shared/contracts/gateway';
import { AppError } from '../../../shared/errors';
import type { Auditor } from '../audit';
import { hexEqual } from '../crypto';
import type { Clock, Random } from '../deps';
import type { DeviceRecord, GatewayStore } from '../store/types';
import { hashEnrolmentCode, hashSecret, newDeviceCredentials, newEnrolmentCode, parseDeviceAuthorization } from './credentials';
import { DpopProofError, dpopThumbprint, parseDpopPublicJwk, verifyDpopProof, type DeviceProofMode } from './dpop';
import { MemoryProofReplayCache, type ProofReplayCache } from './replay';

export interface RateLimitConfig {
  deviceBurst: number;
  devicePerMinute: number;
  authFailuresPerMinute: number;
}

/**
 * The failure budgets, each `RATE_LIMIT_AUTH_FAILURES_PER_MINUTE`: refused enrolments and refused
 * credentials per client address; refusals of a known device's valid secret (revoked, bad proof) per
 * device; unknown routes per address in a budget of their own, so probing never spends the budget
 * that enrolment and credential checks use.
 */
export const failureKey = {
  address: (ip: string): string => `authfail:${ip}`,
  device: (deviceId: string): string => `authfail-device:${deviceId}`,
  notFound: (ip: string): string => `notfound:${ip}`,
};

export interface DeviceProofOptions {
  /** GATEWAY_DEVICE_PROOF. */
  mode: DeviceProofMode;
  replayCache: ProofReplayCache;
}

/** One authenticated call, as the auth hook sees it. */
export interface AuthRequest {
  /** The Authorization header. */
  authorization: string | undefined;
  /** The DPoP header (an array when sent more than once). */
  proof: string | string[] | undefined;
  method: string;
  /** The URL the proof must be signed for (dpop.ts requestHtu). */
  htu: string;
  ip: string;
  correlationId: string;
}

/**
 * Enrolment: refuse a bad `dpopJwk` with its own code before the body is validated against the schema
 * (which would only say ERR_REQUEST_INVALID). Run as the enrol route's preValidation hook.
 */
export function checkEnrolmentKey(body: unknown): void {
  if (typeof body === 'object' && body !== null && Object.prototype.hasOwnProperty.call(body, 'dpopJwk')) {
    parseDpopPublicJwk((body as { dpopJwk: unknown }).dpopJwk);
  }
}

export class DeviceService {
  private readonly proof: DeviceProofOptions;

  constructor(
    private readonly store: GatewayStore,
    private readonly clock: Clock,
    private readonly random: Random,
    private readonly limits: RateLimitConfig,
    private readonly auditor: Auditor,
    proof?: DeviceProofOptions,
  ) {
    this.proof = proof ?? { mode: 'if-bound', replayCache: new MemoryProofReplayCache() };
  }

  /** Operator: a one-time enrolment code for a practice facility. Returns the code (shown once). */
  async issueEnrolmentCode(facilityId: string, practiceName: string, ttlHours: number): Promise<{ code: string; expiresAt: number }> {
    const now = this.clock.now();
    const code = newEnrolmentCode(this.random);
    const expiresAt = now + ttlHours * 3600 * 1000;
    await this.store.putEnrolmentCode({
      codeHash: hashEnrolmentCode(code),
      facilityId,
      practiceName,
      createdAt: now,
      expiresAt,
      usedAt: null,
      usedByDeviceId: null,
    });
    return { code, expiresAt };
  }

  /** A failure budget: `authFailuresPerMinute` refused attempts per minute per key. */
  private failureSpec(): { capacity: number; refillPerSecond: number } {
    const n = this.limits.authFailuresPerMinute;
    return { capacity: n, refillPerSecond: n / 60 };
  }

  /** Throws ERR_RATE_LIMITED when this budget is used up. Keys: failureKey.* */
  async checkFailureBudget(key: string): Promise<void> {
    const r = await this.store.takeToken(key, this.failureSpec(), 0, this.clock.now());
    if (!r.allowed) throw new AppError('ERR_RATE_LIMITED', { retryAfterSeconds: r.retryAfterSeconds });
  }

  /** Counts one refused attempt against this budget. */
  async recordFailure(key: string): Promise<void> {
    await this.store.takeToken(key, this.failureSpec(), 1, this.clock.now());
  }

  async enrol(req: EnrolRequest, ip: string, correlationId: string): Promise<EnrolResponse> {
    await this.checkFailureBudget(failureKey.address(ip));
    // The key is checked before the code is spent, so a refused key leaves the code usable.
    let dpopJkt: string | undefined;
    if (req.dpopJwk !== undefined) dpopJkt = await dpopThumbprint(parseDpopPublicJwk(req.dpopJwk));
    else if (this.proof.mode === 'required') throw new AppError('ERR_ENROL_KEY_REQUIRED');
    const now = this.clock.now();
    const creds = newDeviceCredentials(this.random);
    const result = await this.store.consumeEnrolmentCode(hashEnrolmentCode(req.enrolmentCode), creds.deviceId, now);
    if (!result.ok) {
      await this.recordFailure(failureKey.address(ip));
      await this.auditor.record({ deviceId: null, facilityId: null, action: 'device.enrol', outcome: 'rejected', errorCode: `code-${result.reason}`, correlationId });
      const code = result.reason === 'used' ? 'ERR_ENROL_CODE_USED' : result.reason === 'expired' ? 'ERR_ENROL_CODE_EXPIRED' : 'ERR_ENROL_CODE_INVALID';
      throw new AppError(code);
    }
    const device: DeviceRecord = {
      deviceId: creds.deviceId,
      secretHash: creds.secretHash,
      deviceName: req.deviceName,
      facilityId: result.code.facilityId,
      practiceName: result.code.practiceName,
      platform: req.platform ?? null,
      appVersion: req.appVersion ?? null,
      createdAt: now,
      revokedAt: null,
      ...(dpopJkt === undefined ? {} : { dpopJkt }),
    };
    await this.store.putDevice(device);
    await this.auditor.record({ deviceId: device.deviceId, facilityId: device.facilityId, action: 'device.enrol', outcome: 'enrolled', correlationId });
    return { deviceId: device.deviceId, deviceSecret: creds.deviceSecret, facilityId: device.facilityId, practiceName: device.practiceName };
  }

  /**
   * Authenticate `Authorization: Device <id>.<secret>` (+ `DPoP` for a key-bound device) and take one
   * token from the device's bucket. Missing → ERR_AUTH_DEVICE_MISSING; malformed, unknown or wrong
   * secret → ERR_AUTH_DEVICE_UNKNOWN; revoked → ERR_AUTH_DEVICE_REVOKED; no key while proofs are
   * required → ERR_AUTH_DEVICE_KEY_REQUIRED; over the limit → ERR_RATE_LIMITED (Retry-After); a missing
   * or bad proof → ERR_AUTH_PROOF_* (dpop.ts). Every refusal is audited as `auth.rejected` with its code.
   *
   * The credential is checked first. A caller without a valid secret spends its address's failure
   * budget; a valid secret never looks at the address, so a device behind a practice's shared public IP
   * never pays for a stranger's failures there. The refusals that need the secret (revoked, no key, a bad
   * proof) spend that device's own failure budget.
   */
  async authenticate(req: AuthRequest): Promise<DeviceRecord> {
    const device = await this.deviceForSecret(req.authorization);
    if (device === null) {
      await this.checkFailureBudget(failureKey.address(req.ip));
      const missing = req.authorization === undefined || req.authorization === '';
      return this.reject(req, null, new AppError(missing ? 'ERR_AUTH_DEVICE_MISSING' : 'ERR_AUTH_DEVICE_UNKNOWN'));
    }
    await this.checkFailureBudget(failureKey.device(device.deviceId));
    if (device.revokedAt !== null) return this.reject(req, device, new AppError('ERR_AUTH_DEVICE_REVOKED'));
    if (device.dpopJkt === undefined && this.proof.mode === 'required') return this.reject(req, device, new AppError('ERR_AUTH_DEVICE_KEY_REQUIRED'));
    const r = await this.store.takeToken(
      `device:${device.deviceId}`,
      { capacity: this.limits.deviceBurst, refillPerSecond: this.limits.devicePerMinute / 60 },
      1,
      this.clock.now(),
    );
    if (!r.allowed) throw new AppError('ERR_RATE_LIMITED', { retryAfterSeconds: r.retryAfterSeconds });
    if (device.dpopJkt !== undefined) {
      try {
        await verifyDpopProof({ proof: req.proof, method: req.method, htu: req.htu, jkt: device.dpopJkt, now: this.clock.now() }, this.proof.replayCache);
      } catch (err) {
        if (err instanceof DpopProofError) return this.reject(req, device, err);
        throw err;
      }
    }
    return device;
  }

  /** The device whose secret this Authorization header carries, or null (missing, malformed, unknown, wrong). */
  private async deviceForSecret(authorization: string | undefined): Promise<DeviceRecord | null> {
    if (authorization === undefined || authorization === '') return null;
    const parsed = parseDeviceAuthorization(authorization);
    const device = parsed ? await this.store.getDevice(parsed.deviceId) : null;
    // Hash even when the device is unknown, so timing does not tell which ids exist.
    const presented = hashSecret(parsed?.secret ?? '');
    return parsed && device && hexEqual(presented, device.secretHash) ? device : null;
  }

  private async reject(req: AuthRequest, device: DeviceRecord | null, err: AppError): Promise<never> {
    await this.recordFailure(device === null ? failureKey.address(req.ip) : failureKey.device(device.deviceId));
    const errorCode = err instanceof DpopProofError ? `${err.code}:${err.reason}` : err.code;
    await this.auditor.record({
      deviceId: device?.deviceId ?? null,
      facilityId: device?.facilityId ?? null,
      action: 'auth.rejected',
      outcome: 'rejected',
      errorCode,
      correlationId: req.correlationId,
    });
    throw err;
  }
}
