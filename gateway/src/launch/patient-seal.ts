/**
 * AES-256-GCM under `GATEWAY_DATA_KEY` for the patient data the store keeps (gateway/README.md "Patient data
 * at rest"). The record's key is the additional data, so a sealed value copied onto another record does not open.
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import type { PatientSummary } from '../../../shared/contracts/common';
import { AppError } from '../../../shared/errors';

const VERSION = 'v1';
const IV_BYTES = 12;
const TAG_BYTES = 16;

/** Sandbox only (no real patient): what `GATEWAY_DATA_KEY` defaults to when ALEX is not configured. */
export const DEVELOPMENT_DATA_KEY = createHash('sha256').update('clinicpro-images gateway development data key (sandbox patients only)').digest();

/** A grant's patient as stored: the id in clear, everything that identifies a person sealed. */
export type StoredPatient = Pick<PatientSummary, 'id'> & { sealed: string };

export class PatientSeal {
  constructor(private readonly key: Buffer) {
    if (key.length !== 32) throw new Error('GATEWAY_DATA_KEY must be 32 bytes');
  }

  sealText(text: string, purpose: string, bindTo: string): string {
    const iv = randomBytes(IV_BYTES);
    const c = createCipheriv('aes-256-gcm', this.key, iv);
    c.setAAD(Buffer.from(`${purpose}\n${bindTo}`, 'utf8'));
    const body = Buffer.concat([c.update(text, 'utf8'), c.final()]);
    return `${VERSION}.${Buffer.concat([iv, c.getAuthTag(), body]).toString('base64')}`;
  }

  /** Throws ERR_INTERNAL (never the value) when the text is not sealed under this key for this record. */
  openText(sealed: string, purpose: string, bindTo: string): string {
    const raw = sealed.startsWith(`${VERSION}.`) ? Buffer.from(sealed.slice(VERSION.length + 1), 'base64') : Buffer.alloc(0);
    if (raw.length < IV_BYTES + TAG_BYTES) throw new AppError('ERR_INTERNAL', { detail: 'stored patient data is not sealed' });
    try {
      const d = createDecipheriv('aes-256-gcm', this.key, raw.subarray(0, IV_BYTES));
      d.setAAD(Buffer.from(`${purpose}\n${bindTo}`, 'utf8'));
      d.setAuthTag(raw.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
      return Buffer.concat([d.update(raw.subarray(IV_BYTES + TAG_BYTES)), d.final()]).toString('utf8');
    } catch (err) {
      throw new AppError('ERR_INTERNAL', { detail: 'stored patient data does not open with GATEWAY_DATA_KEY', cause: err });
    }
  }

  sealPatient(patient: PatientSummary, grantHash: string): StoredPatient {
    return { id: patient.id, sealed: this.sealText(JSON.stringify(patient), 'grant-patient', grantHash) };
  }

  openPatient(stored: StoredPatient, grantHash: string): PatientSummary {
    const patient = JSON.parse(this.openText(stored.sealed, 'grant-patient', grantHash)) as PatientSummary;
    if (patient.id !== stored.id) throw new AppError('ERR_INTERNAL', { detail: 'stored patient id does not match' });
    return patient;
  }
}
