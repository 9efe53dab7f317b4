import { describe, expect, it } from 'vitest';
import { DeviceId } from '../../../shared/contracts/gateway';
import { cryptoRandom } from '../deps';
import { hashEnrolmentCode, hashSecret, newDeviceCredentials, newEnrolmentCode, parseDeviceAuthorization } from './credentials';

describe('device credentials', () => {
  it('mints ids matching the contract and 256-bit secrets, storing only a hash', () => {
    const c = newDeviceCredentials(cryptoRandom);
    expect(c.deviceId).toMatch(new RegExp(DeviceId.pattern as string));
    expect(Buffer.from(c.deviceSecret, 'base64url')).toHaveLength(32);
    expect(c.secretHash).toBe(hashSecret(c.deviceSecret));
    expect(c.secretHash).not.toContain(c.deviceSecret);
    expect(newDeviceCredentials(cryptoRandom).deviceSecret).not.toBe(c.deviceSecret);
  });

  it('parses only well-formed Device authorisations', () => {
    const c = newDeviceCredentials(cryptoRandom);
    expect(parseDeviceAuthorization(`Device ${c.deviceId}.${c.deviceSecret}`)).toEqual({ deviceId: c.deviceId, secret: c.deviceSecret });
    for (const bad of [undefined, '', 'Bearer x', `Device ${c.deviceId}`, `Device ${c.deviceId}.short`, `device ${c.deviceId}.${c.deviceSecret}`, `Device dev_x.${c.deviceSecret}`]) {
      expect(parseDeviceAuthorization(bad)).toBeNull();
    }
  });

  it('makes readable enrolment codes that hash the same however they are typed', () => {
    const code = newEnrolmentCode(cryptoRandom);
    expect(code).toMatch(/^[A-HJ-NP-Z2-9]{4}-[A-HJ-NP-Z2-9]{4}-[A-HJ-NP-Z2-9]{4}$/);
    expect(hashEnrolmentCode(code.toLowerCase().replace(/-/g, ' '))).toBe(hashEnrolmentCode(code));
  });
});
