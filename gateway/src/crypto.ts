import { createHash, timingSafeEqual } from 'node:crypto';

export function sha256Hex(input: string | Buffer): string {
  return createHash('sha256').update(input).digest('hex');
}

/** Constant-time comparison of two hex digests of equal length. */
export function hexEqual(a: string, b: string): boolean {
  const ab = Buffer.from(a, 'hex');
  const bb = Buffer.from(b, 'hex');
  return ab.length === bb.length && ab.length > 0 && timingSafeEqual(ab, bb);
}

/** A patient id as it may appear in audit and logs: a purpose-tagged sha256, truncated (correlates records without the id). */
export function patientHash(patientId: string): string {
  return sha256Hex(`clinicpro-images/patient\n${patientId}`).slice(0, 32);
}
