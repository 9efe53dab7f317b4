/**
 * Device credentials and enrolment codes. A device is `dev_` + 22 url-safe chars (128 bits) and a
 * 256-bit secret (43 url-safe chars); only sha256(secret) is stored. Enrolment codes are
 * `XXXX-XXXX-XXXX` from a 32-letter alphabet without look-alikes (60 bits), stored as sha256.
 */
import { DEVICE_AUTH_SCHEME } from '../../../shared/contracts/gateway';
import type { Random } from '../deps';
import { sha256Hex } from '../crypto';

const CODE_ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789'; // 32: no I, O, 0, 1

export function newDeviceCredentials(random: Random): { deviceId: string; deviceSecret: string; secretHash: string } {
  const deviceId = `dev_${random.bytes(16).toString('base64url')}`;
  const deviceSecret = random.bytes(32).toString('base64url');
  return { deviceId, deviceSecret, secretHash: hashSecret(deviceSecret) };
}

export function hashSecret(secret: string): string {
  return sha256Hex(`clinicpro-images/device-secret\n${secret}`);
}

export function newEnrolmentCode(random: Random): string {
  const bytes = random.bytes(12);
  let out = '';
  for (let i = 0; i < 12; i++) {
    out += CODE_ALPHABET.charAt((bytes[i] ?? 0) & 31);
    if (i === 3 || i === 7) out += '-';
  }
  return out;
}

/** Upper-case, without spaces and dashes, so `k7qd 9xwp-m3ta` and `K7QD-9XWP-M3TA` are one code. */
export function hashEnrolmentCode(code: string): string {
  return sha256Hex(`clinicpro-images/enrolment-code\n${code.toUpperCase().replace(/[\s-]/g, '')}`);
}

const AUTH_RE = new RegExp(`^${DEVICE_AUTH_SCHEME} (dev_[A-Za-z0-9_-]{22})\\.([A-Za-z0-9_-]{32,128})$`);

/** Parse `Authorization: Device <deviceId>.<secret>`; null when absent or malformed. */
export function parseDeviceAuthorization(header: string | undefined): { deviceId: string; secret: string } | null {
  if (header === undefined || header.length > 300) return null;
  const m = AUTH_RE.exec(header.trim());
  if (!m?.[1] || !m[2]) return null;
  return { deviceId: m[1], secret: m[2] };
}
