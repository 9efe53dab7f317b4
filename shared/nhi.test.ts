import { describe, expect, it } from 'vitest';
import { isTestNhi, isValidNhi, normaliseNhi } from './nhi';

// Check characters worked by hand from the Ministry of Health NHI algorithm (letters A–Z without I and O, A=1).
describe('NHI validation', () => {
  it('accepts old-format NHIs with a correct mod-11 check digit', () => {
    expect(isValidNhi('ZZZ0016')).toBe(true); // the ALEX UAT test patient
    expect(isValidNhi('ZZZ0024')).toBe(true);
    expect(isValidNhi('zzz0016')).toBe(true);
  });

  it('rejects a wrong check digit, the letters I and O, and bad shapes', () => {
    expect(isValidNhi('ZZZ0017')).toBe(false);
    expect(isValidNhi('ZZI0016')).toBe(false);
    expect(isValidNhi('ZZO0016')).toBe(false);
    expect(isValidNhi('ZZ00016')).toBe(false);
    expect(isValidNhi('ZZZ001')).toBe(false);
    expect(isValidNhi('')).toBe(false);
    expect(isValidNhi('ZZZ0016X')).toBe(false);
  });

  it('accepts new-format NHIs with a correct mod-23 check letter and rejects others', () => {
    // ZZZ00A?: Z=24 → 24·7+24·6+24·5 + 0·4 + 0·3 + A(1)·2 = 434; 434 mod 23 = 20; 23−20 = 3 → C
    expect(isValidNhi('ZZZ00AC')).toBe(true);
    expect(isValidNhi('ZZZ00AB')).toBe(false);
    expect(isValidNhi('ZZZ00AZ')).toBe(false);
  });

  it('knows test NHIs and normalises case and spaces', () => {
    expect(isTestNhi('ZZZ0016')).toBe(true);
    expect(isTestNhi('ABC1235')).toBe(false);
    expect(normaliseNhi(' zzz0016 ')).toBe('ZZZ0016');
  });
});
