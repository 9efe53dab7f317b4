/**
 * Device enrolment (a one-time code for a device id and secret, optionally bound to a DPoP key) and
 * authentication (secret, then the proof: dpop.ts). Refusals are limited (failureKey) and audited.
 */
import type { EnrolRequest, EnrolResponse } from '../../../shared/contracts/gateway';
import { AppError } from '../../../shared/errors';
import type { Auditor } from '../audit';
import type { GatewayConfig } from '../config';
import { hexEqual } from '../crypto';
import type { Clock, Random } from '../deps';
import type { DeviceRecord, GatewayStore } from '../store/types';
import { hashEnrolmentCode, hashSecret, newDeviceCredentials, newEnrolmentCode, parseDeviceAuthorization } from './credentials';
import { DpopProofError, dpopThumbprint, parseDpopPublicJwk, verifyDpopProof, type DeviceProofMode } from './dpop';
import { MemoryProofReplayCache, type ProofReplayCache } from './replay';

/** The failure budgets (RATE_LIMIT_AUTH_FAILURES_PER_MINUTE each): unknown routes have their own, so probing never spends the others. */
export const failureKey = {
  address: (ip: string): string => `authfail:${ip}`,
  device: (deviceId: string): string => `authfail-device:${deviceId}`,
  notFound: (ip: string): string => `notfound:${ip}`,
};

interface DeviceProofOptions {
  mode: DeviceProofMode;
  replayCache: ProofReplayCache;
}

/** One authenticated call, as the auth hook sees it: its Authorization and DPoP headers, and the URL the proof must be signed for. */
interface AuthRequest {
  authorization: string | undefined;
  proof: string | string[] | undefined;
  method: string;
  htu: string;
  ip: string;
  correlationId: string;
}

/** The enrol route's preValidation: a bad `dpopJwk` gets its own code, not the schema's ERR_REQUEST_INVALID. */
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
    private readonly limits: GatewayConfig['rateLimit'],
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
    const record = { codeHash: hashEnrolmentCode(code), facilityId, practiceName, createdAt: now, expiresAt, usedAt: null, usedByDeviceId: null };
    await this.store.putEnrolmentCode(record);
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
   * `Authorization: Device <id>.<secret>` (+ `DPoP` for a key-bound device), then one token of the device's
   * bucket. The credential is checked first: a valid secret never looks at the address's failure budget,
   * so a device behind a practice's shared public IP never pays for a stranger's failures there.
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
    const bucket = { capacity: this.limits.deviceBurst, refillPerSecond: this.limits.devicePerMinute / 60 };
    const r = await this.store.takeToken(`device:${device.deviceId}`, bucket, 1, this.clock.now());
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
    const who = { deviceId: device?.deviceId ?? null, facilityId: device?.facilityId ?? null };
    await this.auditor.record({ ...who, action: 'auth.rejected', outcome: 'rejected', errorCode, correlationId: req.correlationId });
    throw err;
  }
}
