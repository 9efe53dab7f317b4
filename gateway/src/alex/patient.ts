/**
 * FHIR R4 Patient (as ALEX returns it) → the banner summary every image is bound to.
 * A patient without a valid NHI or a full date of birth cannot be used: ClinicPro needs the NHI to find
 * an image again in Medtech, and the banner needs both so the GP can check it is the right person.
 */
import type { PatientSummary } from '../../../shared/contracts/common';
import { AppError } from '../../../shared/errors';
import { NHI_SYSTEM, isValidNhi, normaliseNhi } from '../../../shared/nhi';
import { rec } from './types';

type Json = Record<string, unknown>;

const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const str = (v: unknown): string | undefined => (typeof v === 'string' && v.trim() !== '' ? v.trim() : undefined);

const PATIENT_ID = /^[A-Za-z0-9\-.]{1,64}$/;

function pickName(names: unknown[]): { family: string; given: string } {
  const all = names.map(rec).filter((n): n is Json => n !== null);
  const byUse = (use: string) => all.find((n) => n.use === use && !rec(n.period)?.end);
  const chosen = byUse('official') ?? byUse('usual') ?? all.find((n) => n.use !== 'old' && n.use !== 'maiden') ?? all[0];
  if (!chosen) return { family: '', given: '' };
  let family = str(chosen.family) ?? '';
  let given = arr(chosen.given).map(str).filter((g): g is string => g !== undefined).join(' ');
  if (!family && !given) {
    // Some systems send only the text form.
    const text = str(chosen.text) ?? '';
    const parts = text.split(/\s+/).filter(Boolean);
    family = parts.length > 1 ? (parts.pop() ?? '') : text;
    given = parts.join(' ');
  }
  return { family: family.slice(0, 100), given: given.slice(0, 100) };
}

/** The NHI on the Patient, or undefined. Prefers an `official` identifier when there are several. */
export function patientNhi(patient: Json): string | undefined {
  const nhis = arr(patient.identifier)
    .map(rec)
    .filter((i): i is Json => i !== null && i.system === NHI_SYSTEM && typeof i.value === 'string' && isValidNhi(i.value));
  const chosen = nhis.find((i) => i.use === 'official') ?? nhis.find((i) => i.use !== 'old') ?? nhis[0];
  return chosen ? normaliseNhi(String(chosen.value)) : undefined;
}

/** Maps a FHIR Patient to PatientSummary, or throws ERR_ALEX_PATIENT_NOT_FOUND (with a safe detail) if it is unusable. */
export function toPatientSummary(resource: unknown): PatientSummary {
  const p = rec(resource);
  if (!p || p.resourceType !== 'Patient') throw new AppError('ERR_ALEX_PATIENT_NOT_FOUND', { detail: 'ALEX did not return a Patient' });
  const id = str(p.id);
  if (!id || !PATIENT_ID.test(id)) throw new AppError('ERR_ALEX_PATIENT_NOT_FOUND', { detail: 'Patient has no usable id' });
  const nhi = patientNhi(p);
  if (!nhi) throw new AppError('ERR_ALEX_PATIENT_NOT_FOUND', { detail: 'Patient record has no valid NHI' });
  const birthDate = str(p.birthDate);
  if (!birthDate || !/^\d{4}-\d{2}-\d{2}$/.test(birthDate)) {
    throw new AppError('ERR_ALEX_PATIENT_NOT_FOUND', { detail: 'Patient record has no full date of birth' });
  }
  const { family, given } = pickName(arr(p.name));
  if (!family && !given) throw new AppError('ERR_ALEX_PATIENT_NOT_FOUND', { detail: 'Patient record has no name' });
  const g = p.gender;
  const sex: PatientSummary['sex'] = g === 'male' || g === 'female' || g === 'other' ? g : 'unknown';
  return { id, nhi, familyName: family, givenName: given, birthDate, sex };
}
