/**
 * At rest: AES-256-GCM for payloads and patient fields, an HMAC to find items by patient without the id in clear.
 * The master key lives in the SecretStore ('outbox-key'); HKDF sub-keys keep the cipher and lookup keys apart.
 */
import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes } from 'node:crypto';
import { AppError } from '../../shared/errors';
import type { SecretStore } from '../secrets';

export const OUTBOX_KEY_ACCOUNT = 'outbox-key';
const MAGIC = Buffer.from('CPO1');
const IV_BYTES = 12;
const TAG_BYTES = 16;
const HEADER = MAGIC.length + IV_BYTES + TAG_BYTES;

export interface OutboxKeys {
  seal(plain: Uint8Array, aad: string): Buffer;
  /** Throws ERR_STORAGE_CORRUPT when the data was altered, truncated or sealed under another key or label. */
  open(sealed: Uint8Array, aad: string): Buffer;
  /** Keyed, one-way: finds a patient's rows. */
  patientRef(patientId: string): string;
}

/** The master key, made at random on first use. */
export async function loadOrCreateKeys(secrets: SecretStore): Promise<OutboxKeys> {
  let stored = await secrets.get(OUTBOX_KEY_ACCOUNT);
  if (stored === null) {
    await secrets.set(OUTBOX_KEY_ACCOUNT, randomBytes(32).toString('base64'));
    stored = await secrets.get(OUTBOX_KEY_ACCOUNT);
  }
  const master = stored === null ? Buffer.alloc(0) : Buffer.from(stored, 'base64');
  if (master.length !== 32) {
    throw new AppError('ERR_STORAGE_CORRUPT', { message: 'The key that protects images saved on this PC is damaged. Call support.', detail: 'outbox key is not 256 bits' });
  }
  return keysFrom(master);
}

export function keysFrom(master: Buffer): OutboxKeys {
  const encKey = Buffer.from(hkdfSync('sha256', master, Buffer.alloc(0), 'clinicpro-outbox/v1/aes-256-gcm', 32));
  const macKey = Buffer.from(hkdfSync('sha256', master, Buffer.alloc(0), 'clinicpro-outbox/v1/patient-ref', 32));
  return {
    seal(plain, aad) {
      const iv = randomBytes(IV_BYTES);
      const c = createCipheriv('aes-256-gcm', encKey, iv);
      c.setAAD(Buffer.from(aad, 'utf8'));
      const body = Buffer.concat([c.update(plain), c.final()]);
      return Buffer.concat([MAGIC, iv, c.getAuthTag(), body]);
    },
    open(sealed, aad) {
      const buf = Buffer.from(sealed.buffer, sealed.byteOffset, sealed.byteLength);
      if (buf.length < HEADER || !buf.subarray(0, MAGIC.length).equals(MAGIC)) {
        throw new AppError('ERR_STORAGE_CORRUPT', { detail: 'sealed data has no valid header' });
      }
      const iv = buf.subarray(MAGIC.length, MAGIC.length + IV_BYTES);
      const tag = buf.subarray(MAGIC.length + IV_BYTES, HEADER);
      try {
        const d = createDecipheriv('aes-256-gcm', encKey, iv);
        d.setAAD(Buffer.from(aad, 'utf8'));
        d.setAuthTag(tag);
        return Buffer.concat([d.update(buf.subarray(HEADER)), d.final()]);
      } catch (err) {
        throw new AppError('ERR_STORAGE_CORRUPT', { detail: 'sealed data failed authentication', cause: err });
      }
    },
    patientRef(patientId) {
      return createHmac('sha256', macKey).update(patientId, 'utf8').digest('base64url');
    },
  };
}
