import { describe, expect, it } from 'vitest';
import { ageInYears, formatBytes, formatCountdown, formatDob, formatPatientName, formatRelative, formatSex, plural } from './format';

describe('formatters', () => {
  it('shows names as "FAMILY, Given"', () => {
    expect(formatPatientName({ familyName: 'Testpatient', givenName: 'Aroha' })).toBe('TESTPATIENT, Aroha');
    expect(formatPatientName({ familyName: ' smith ', givenName: '' })).toBe('SMITH');
    expect(formatPatientName({ familyName: '', givenName: 'Mere' })).toBe('Mere');
    expect(formatPatientName({ familyName: '', givenName: '' })).toBe('Unnamed patient');
  });

  it('shows the date of birth with the age on the day, birthday or not', () => {
    expect(formatDob('1956-03-12', new Date(2024, 5, 1))).toBe('12 Mar 1956 (68 y)');
    expect(formatDob('1956-03-12', new Date(2025, 2, 11))).toBe('12 Mar 1956 (68 y)');
    expect(formatDob('1956-03-12', new Date(2025, 2, 12))).toBe('12 Mar 1956 (69 y)');
    expect(ageInYears('2000-02-29', new Date(2001, 1, 28))).toBe(0);
    expect(ageInYears('2000-02-29', new Date(2001, 2, 1))).toBe(1);
  });

  it('gives babies their age in months', () => {
    expect(formatDob('2025-01-03', new Date(2025, 10, 2))).toBe('3 Jan 2025 (9 m)');
    expect(formatDob('2025-01-03', new Date(2025, 10, 3))).toBe('3 Jan 2025 (10 m)');
  });

  it('leaves a malformed or future date readable without an age', () => {
    expect(formatDob('1956-13-01', new Date(2024, 0, 1))).toBe('1956-13-01');
    expect(formatDob('2030-01-01', new Date(2024, 0, 1))).toBe('1 Jan 2030');
  });

  it('words sex, countdowns, relative times, sizes and counts', () => {
    expect(formatSex('female')).toBe('Female');
    expect(formatSex('unknown')).toBe('Unknown');
    expect(formatCountdown(600_000)).toBe('10:00');
    expect(formatCountdown(59_001)).toBe('1:00');
    expect(formatCountdown(-5)).toBe('0:00');
    expect(formatCountdown(3_725_000)).toBe('1:02:05');
    const now = new Date(2026, 0, 1, 12, 0, 0);
    expect(formatRelative(new Date(now.getTime() + 2_000), now)).toBe('now');
    expect(formatRelative(new Date(now.getTime() + 40_000), now)).toBe('in 40 s');
    expect(formatRelative(new Date(now.getTime() + 180_000), now)).toBe('in 3 min');
    expect(formatRelative(new Date(now.getTime() - 300_000), now)).toBe('5 min ago');
    expect(formatRelative(new Date(now.getTime() + 7_200_000), now)).toBe('in 2 h');
    expect(formatBytes(999)).toBe('999 bytes');
    expect(formatBytes(340_000)).toBe('340 KB');
    expect(formatBytes(1_250_000)).toBe('1.3 MB');
    expect(plural(1, 'image')).toBe('1 image');
    expect(plural(3, 'image')).toBe('3 images');
  });
});
