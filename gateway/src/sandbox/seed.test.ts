import { describe, expect, it } from 'vitest';
import { PatientSummary } from '../../../shared/contracts/common';
import { isTestNhi, isValidNhi } from '../../../shared/nhi';
import { Value } from '@sinclair/typebox/value';
import { DEFAULT_CREDENTIALS, DEFAULT_FACILITIES, SEED_PATIENTS, SEED_PRACTITIONERS } from './seed';

describe('seed data', () => {
  it('uses only valid Z-prefixed test NHIs, including ZZZ0016 and one new-format NHI', () => {
    for (const p of SEED_PATIENTS) {
      expect(isValidNhi(p.nhi), p.nhi).toBe(true);
      expect(isTestNhi(p.nhi), p.nhi).toBe(true);
    }
    expect(SEED_PATIENTS.map((p) => p.nhi)).toContain('ZZZ0016');
    expect(SEED_PATIENTS.some((p) => /^[A-Z]{3}\d{2}[A-Z]{2}$/.test(p.nhi))).toBe(true);
  });

  it('fits the banner contract (PatientSummary) and has unique ids', () => {
    for (const p of SEED_PATIENTS) {
      const { facilities: _f, ...summary } = p;
      expect(Value.Check(PatientSummary, summary), p.nhi).toBe(true);
    }
    expect(new Set(SEED_PATIENTS.map((p) => p.id)).size).toBe(SEED_PATIENTS.length);
    expect(new Set(SEED_PRACTITIONERS.map((p) => p.id)).size).toBe(SEED_PRACTITIONERS.length);
  });

  it('names the validated facilities and an api://…/.default scope', () => {
    expect(DEFAULT_FACILITIES).toEqual(['F2N060-E', 'F99669-C']);
    expect(DEFAULT_CREDENTIALS.scope).toMatch(/^api:\/\/[0-9a-f-]{36}\/\.default$/);
  });
});
