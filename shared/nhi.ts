/**
 * New Zealand National Health Index numbers.
 * Old format AAANNNC (mod-11 numeric check digit), new format AAANNAC (mod-23 alphabetic check letter).
 * Letters I and O are never used. NHIs starting with Z are test NHIs.
 */
const ALPHA = 'ABCDEFGHJKLMNPQRSTUVWXYZ'; // 24 letters, no I or O

export function normaliseNhi(input: string): string {
  return input.trim().toUpperCase();
}

export function isValidNhi(input: string): boolean {
  const nhi = normaliseNhi(input);
  const oldFormat = /^[A-HJ-NP-Z]{3}[0-9]{4}$/.test(nhi);
  if (!oldFormat && !/^[A-HJ-NP-Z]{3}[0-9]{2}[A-HJ-NP-Z]{2}$/.test(nhi)) return false;
  let sum = 0;
  for (let i = 0; i < 6; i++) {
    const ch = nhi.charAt(i);
    sum += (/[A-Z]/.test(ch) ? ALPHA.indexOf(ch) + 1 : Number(ch)) * (7 - i);
  }
  // Old: a check value of 10 matches no digit, so such an NHI is invalid. New: the check letter is ALPHA[22 - sum mod 23].
  if (oldFormat) return (11 - (sum % 11)) % 11 === Number(nhi.charAt(6));
  return ALPHA.charAt(22 - (sum % 23)) === nhi.charAt(6);
}

export function isTestNhi(input: string): boolean {
  return normaliseNhi(input).startsWith('Z');
}

export const NHI_SYSTEM = 'https://standards.digital.health.nz/ns/nhi-id';
