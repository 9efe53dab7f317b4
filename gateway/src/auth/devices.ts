/**
 * Device enrolment and authentication. A one-time code from the operator CLI is exchanged for a
 * device id and a 256-bit secret; the gateway keeps sha256(secret) only and compares in constant
 * time. Failed attempts are limited per client IP; every authenticated device has its own bucket.
 */
import type { EnrolRequest, EnrolResponse } from '../../../shared/contracts/gateway';
import { AppError } from '../../../shared/errors';
import type { Auditor } from '../audit';
import { hexEqual } from '../crypto';
import type { Clock, Random } from '../deps';
import type { DeviceRecord, GatewayStore } from '../store/types';
import { hashEnrolmentCode, hashSecret, newDeviceCredentials, newEnrolmentCode, parseDeviceAuthorization } from './credentials';

export interface RateLimitConfig {
  deviceBurst: number;
  devicePerMinute: number;
  authFailuresPerMinute: number;
}

export class DeviceService {
  constructor(
    private readonly store: GatewayStore,
    private readonly clock: Clock,
    private readonly random: Random,
    private readonly limits: RateLimitConfig,
    private readonly auditor: Auditor,
  ) {}

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

  private failureBucket(ip: string): [string, { capacity: number; refillPerSecond: number }] {
    const n = this.limits.authFailuresPerMinute;
    return [`authfail:${ip}`, { capacity: n, refillPerSecond: n / 60 }];
  }

  /** Throws ERR_RATE_LIMITED when this IP has used up its failed attempts. */
  async checkFailureBudget(ip: string): Promise<void> {
    const [key, spec] = this.failureBucket(ip);
    const r = await this.store.takeToken(key, spec, 0, this.clock.now());
    if (!r.allowed) throw new AppError('ERR_RATE_LIMITED', { retryAfterSeconds: r.retryAfterSeconds });
  }

  /** Counts one failed attempt from this IP. */
  async recordFailure(ip: string): Promise<void> {
    const [key, spec] = this.failureBucket(ip);
    await this.store.takeToken(key, spec, 1, this.clock.now());
  }

  async enrol(req: EnrolRequest, ip: string, correlationId: string): Promise<EnrolResponse> {
    await this.checkFailureBudget(ip);
    const now = this.clock.now();
    const creds = newDeviceCredentials(this.random);
    const result = await this.store.consumeEnrolmentCode(hashEnrolmentCode(req.enrolmentCode), creds.deviceId, now);
    if (!result.ok) {
      await this.recordFailure(ip);
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
    };
    await this.store.putDevice(device);
    await this.auditor.record({ deviceId: device.deviceId, facilityId: device.facilityId, action: 'device.enrol', outcome: 'enrolled', correlationId });
    return { deviceId: device.deviceId, deviceSecret: creds.deviceSecret, facilityId: device.facilityId, practiceName: device.practiceName };
  }

  /**
   * Authenticate `Authorization: Device <id>.<secret>` and take one token from the device's bucket.
   * Missing → ERR_AUTH_DEVICE_MISSING; malformed, unknown or wrong secret → ERR_AUTH_DEVICE_UNKNOWN;
   * revoked → ERR_AUTH_DEVICE_REVOKED; over the limit → ERR_RATE_LIMITED (Retry-After).
   */
  async authenticate(header: string | undefined, ip: string): Promise<DeviceRecord> {
    await this.checkFailureBudget(ip);
    if (header === undefined || header === '') {
      await this.recordFailure(ip);
      throw new AppError('ERR_AUTH_DEVICE_MISSING');
    }
    const parsed = parseDeviceAuthorization(header);
    const device = parsed ? await this.store.getDevice(parsed.deviceId) : null;
    // Hash even when the device is unknown, so timing does not tell which ids exist.
    const presented = hashSecret(parsed?.secret ?? '');
    if (!parsed || !device || !hexEqual(presented, device.secretHash)) {
      await this.recordFailure(ip);
      throw new AppError('ERR_AUTH_DEVICE_UNKNOWN');
    }
    if (device.revokedAt !== null) {
      await this.recordFailure(ip);
      throw new AppError('ERR_AUTH_DEVICE_REVOKED');
    }
    const r = await this.store.takeToken(
      `device:${device.deviceId}`,
      { capacity: this.limits.deviceBurst, refillPerSecond: this.limits.devicePerMinute / 60 },
      1,
      this.clock.now(),
    );
    if (!r.allowed) throw new AppError('ERR_RATE_LIMITED', { retryAfterSeconds: r.retryAfterSeconds });
    return device;
  }
}
