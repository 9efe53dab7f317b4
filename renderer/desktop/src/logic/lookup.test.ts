import { describe, expect, it } from 'vitest';
import { AppError } from '../../../../shared/errors/app-error';
import { cleanNhi, lookupErrorText, nhiProblem } from './lookup';

describe('NHI field', () => {
  it('accepts both formats, any case, with spaces', () => {
    for (const nhi of ['ZZZ0016', 'zzz0016', ' ZZZ 0016 ', 'ZAA10AX', 'zaa 10ax']) expect(nhiProblem(nhi), nhi).toBeNull();
    expect(cleanNhi(' zaa 10ax ')).toBe('ZAA10AX');
  });

  it('says what is wrong, in plain words', () => {
    expect(nhiProblem('')).toBe("Type the patient's NHI number.");
    expect(nhiProblem('   ')).toBe("Type the patient's NHI number.");
    expect(nhiProblem('ZZZ-0016')).toMatch(/only letters and numbers/);
    expect(nhiProblem('ZZZ001')).toBe('An NHI has 7 characters: 3 letters, then 4 numbers or letters. This has 6.');
    expect(nhiProblem('ZZZ00166')).toMatch(/This has 8\.$/);
    expect(nhiProblem('1ZZ0016')).toMatch(/starts with 3 letters/);
    expect(nhiProblem('ZZZOO16')).toMatch(/never use the letters I or O/);
    expect(nhiProblem('ZZZ0A16')).toMatch(/4 numbers \(ABC1234\) or 2 numbers and 2 letters/);
    // right shape, wrong check character (old mod-11 and new mod-23)
    expect(nhiProblem('ZZZ0017')).toMatch(/last character does not match/);
    expect(nhiProblem('ZAA10AY')).toMatch(/last character does not match/);
  });
});

describe('search failures', () => {
  const body = (code: ConstructorParameters<typeof AppError>[0], correlationId?: string) => new AppError(code, correlationId ? { correlationId } : {}).toBody();

  it('not found names the NHI and says what to do', () => {
    expect(lookupErrorText(body('ERR_ALEX_PATIENT_NOT_FOUND', 'abcdef0123456789'), ' zzz 0059')).toEqual({
      message: 'No patient with NHI ZZZ0059 was found in Medtech for this practice.',
      hint: 'Check the number, or open the patient in Medtech Evolution and launch from there.',
      reference: 'Reference abcdef01',
    });
  });

  it('offline says the patient cannot be looked up, not that images wait', () => {
    for (const code of ['ERR_GATEWAY_UNREACHABLE', 'ERR_ALEX_UNAVAILABLE', 'ERR_ALEX_TIMEOUT', 'ERR_ALEX_THROTTLED'] as const) {
      const t = lookupErrorText(body(code), 'ZZZ0016');
      expect(t.message, code).not.toMatch(/Images wait/);
      expect(t.hint).toBe('Try again in a moment.');
    }
    expect(lookupErrorText(body('ERR_GATEWAY_UNREACHABLE'), 'ZZZ0016').message).toMatch(/cannot reach the internet service/);
  });

  it('not enrolled and revoked say to ask practice IT; others keep their coded message', () => {
    for (const code of ['ERR_NOT_ENROLLED', 'ERR_AUTH_DEVICE_REVOKED'] as const) {
      expect(lookupErrorText(body(code), 'ZZZ0016')).toEqual({ message: new AppError(code).message, hint: 'Ask your practice IT contact to enrol this PC again.' });
    }
    expect(lookupErrorText(body('ERR_LOOKUP_EXPIRED'), 'ZZZ0016')).toEqual({ message: 'That patient search has expired. Find the patient by NHI again.' });
    expect(lookupErrorText(body('ERR_INTERNAL'), 'ZZZ0016').hint).toBe('If this keeps happening, call ClinicPro support.');
  });
});
