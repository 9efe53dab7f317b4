/**
 * Opaque launch pairs as Evolution's ALEX Apps hand them to a vendor: context = base64 (with + / =) of
 * iv ‖ tag ‖ AES-256-GCM(JSON), signature = base64 HMAC-SHA256 of the context; both keys from one secret.
 * No freshness or single-use check here: the gateway does that.
 */
import { createCipheriv, createDecipheriv, createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { LaunchPair } from './types';

export interface LaunchClaims {
  patientId: string | null;
  facilityCode: string;
  providerId: string | null;
  createdTime: string;
}

export type LaunchDecodeResult = { ok: true; claims: LaunchClaims } | { ok: false; reason: 'malformed' | 'signature' };

const IV_BYTES = 12;
const TAG_BYTES = 16;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;
/** Longest context/signature the decode endpoint reads (a real pair is a few hundred characters). */
export const MAX_LAUNCH_SEGMENT_CHARS = 4096;

const orNull = (v: unknown): string | null => (typeof v === 'string' ? v : null);

function derive(secret: Buffer, label: string): Buffer {
  return createHash('sha256').update(label).update(secret).digest();
}

export function createLaunchCodec(secret: Buffer, randomBytes: (size: number) => Buffer) {
  const encKey = derive(secret, 'clinicpro-sandbox-launch-enc\0');
  const macKey = derive(secret, 'clinicpro-sandbox-launch-mac\0');
  const mac = (context: string): Buffer => createHmac('sha256', macKey).update(context, 'utf8').digest();

  return {
    issue(claims: LaunchClaims): LaunchPair {
      let json = JSON.stringify(claims);
      // Pad so the base64 always ends in '=' (the real strings' padding is part of what we must carry).
      while ((IV_BYTES + TAG_BYTES + Buffer.byteLength(json)) % 3 === 0) json += ' ';
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv('aes-256-gcm', encKey, iv);
      const ciphertext = Buffer.concat([cipher.update(json, 'utf8'), cipher.final()]);
      const context = Buffer.concat([iv, cipher.getAuthTag(), ciphertext]).toString('base64');
      return { context, signature: mac(context).toString('base64') };
    },
    decode(context: string, signature: string): LaunchDecodeResult {
      const readable = (segment: string): boolean => segment.length <= MAX_LAUNCH_SEGMENT_CHARS && BASE64.test(segment);
      if (!readable(context) || !readable(signature)) return { ok: false, reason: 'malformed' };
      const given = Buffer.from(signature, 'base64');
      const expected = mac(context);
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) return { ok: false, reason: 'signature' };
      const raw = Buffer.from(context, 'base64');
      if (raw.length <= IV_BYTES + TAG_BYTES) return { ok: false, reason: 'malformed' };
      try {
        const decipher = createDecipheriv('aes-256-gcm', encKey, raw.subarray(0, IV_BYTES));
        decipher.setAuthTag(raw.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
        const json = Buffer.concat([decipher.update(raw.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]).toString('utf8');
        const parsed = JSON.parse(json) as Partial<LaunchClaims>;
        if (typeof parsed.facilityCode !== 'string' || typeof parsed.createdTime !== 'string') return { ok: false, reason: 'malformed' };
        const claims = { patientId: orNull(parsed.patientId), facilityCode: parsed.facilityCode, providerId: orNull(parsed.providerId), createdTime: parsed.createdTime };
        return { ok: true, claims };
      } catch {
        return { ok: false, reason: 'malformed' };
      }
    },
  };
}
