/**
 * New Zealand National Health Index numbers.
 * Old format AAANNNC (mod-11 numeric check digit), new format AAANNAC (mod-23 alphabetic check letter).
 * Letters I and O are never used. NHIs starting with Z are test NHIs.
 */
const ALPHA = 'ABCDEFGHJKLMNPQRSTUVWXYZ'; // 24 letters, no I or O

function letterValue(ch: string): number {
  const i = ALPHA.indexOf(ch);
  return i < 0 ? -1 : i + 1;
}

export function normaliseNhi(input: string): string {
  return input.trim().toUpperCase();
}

export function isValidNhi(input: string): boolean {
  const nhi = normaliseNhi(input);
  if (/^[A-HJ-NP-Z]{3}[0-9]{3}[0-9]$/.test(nhi)) {
    let sum = 0;
    for (let i = 0; i < 6; i++) {
      const ch = nhi.charAt(i);
      const v = i < 3 ? letterValue(ch) : Number(ch);
      sum += v * (7 - i);
    }
    const check = (11 - (sum % 11)) % 11;
    if (check === 10) return false;
    return check === Number(nhi.charAt(6));
  }
  if (/^[A-HJ-NP-Z]{3}[0-9]{2}[A-HJ-NP-Z]{2}$/.test(nhi)) {
    let sum = 0;
    for (let i = 0; i < 6; i++) {
      const ch = nhi.charAt(i);
      const v = i < 3 || i === 5 ? letterValue(ch) : Number(ch);
      sum += v * (7 - i);
    }
    const check = 23 - (sum % 23);
    return ALPHA.charAt(check - 1) === nhi.charAt(6);
  }
  return false;
}

export function isTestNhi(input: string): boolean {
  return normaliseNhi(input).startsWith('Z');
}

export const NHI_SYSTEM = 'https://standards.digital.health.nz/ns/nhi-id';
