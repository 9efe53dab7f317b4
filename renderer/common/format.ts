/**
 * Plain formatters shared by the desktop window and the phone page. Pure functions, no DOM, no React:
 * every date is formatted from explicit inputs (the caller passes "now"), so they are tested without a clock.
 */
import type { PatientSummary } from '../../shared/contracts/common';

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'] as const;

/** "FAMILY, Given" — the way NZ clinical systems show a patient. */
export function formatPatientName(p: Pick<PatientSummary, 'familyName' | 'givenName'>): string {
  const family = p.familyName.trim().toUpperCase();
  const given = p.givenName.trim();
  if (!family) return given || 'Unnamed patient';
  return given ? `${family}, ${given}` : family;
}

function parseYmd(ymd: string): { y: number; m: number; d: number } | null {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(ymd);
  if (!match) return null;
  const [y, m, d] = match.slice(1).map(Number) as [number, number, number];
  if (m < 1 || m > 12 || d < 1 || d > 31) return null;
  return { y, m, d };
}

/** Whole years between a YYYY-MM-DD birth date and `now` (local calendar date). */
export function ageInYears(birthDate: string, now: Date): number | null {
  const b = parseYmd(birthDate);
  if (!b) return null;
  let age = now.getFullYear() - b.y;
  const beforeBirthday = now.getMonth() + 1 < b.m || (now.getMonth() + 1 === b.m && now.getDate() < b.d);
  if (beforeBirthday) age -= 1;
  return age < 0 ? null : age;
}

/** "12 Mar 1956 (68 y)"; babies under two get months: "3 Jan 2025 (10 m)". */
export function formatDob(birthDate: string, now: Date): string {
  const b = parseYmd(birthDate);
  if (!b) return birthDate;
  const text = `${b.d} ${MONTHS[b.m - 1]} ${b.y}`;
  const age = ageInYears(birthDate, now);
  if (age === null) return text;
  if (age < 2) {
    let months = (now.getFullYear() - b.y) * 12 + (now.getMonth() + 1 - b.m);
    if (now.getDate() < b.d) months -= 1;
    return `${text} (${Math.max(0, months)} m)`;
  }
  return `${text} (${age} y)`;
}

/** "Male", "Female", "Other", "Unknown". */
export function formatSex(sex: PatientSummary['sex']): string {
  return sex.charAt(0).toUpperCase() + sex.slice(1);
}

/** A countdown as "m:ss" ("0:00" once passed); hours as "h:mm:ss". */
export function formatCountdown(msLeft: number): string {
  const total = Math.max(0, Math.ceil(msLeft / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const ss = String(s).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}

/** "14:05" in the PC's local time. */
export function formatClock(at: Date): string {
  return `${String(at.getHours()).padStart(2, '0')}:${String(at.getMinutes()).padStart(2, '0')}`;
}

/** "now", "in 40 s", "in 3 min", "in 2 h" (future) or "12 s ago", "5 min ago" (past). */
export function formatRelative(at: Date, now: Date): string {
  const diff = at.getTime() - now.getTime();
  const secs = Math.round(Math.abs(diff) / 1000);
  if (secs < 5) return 'now';
  let text: string;
  if (secs < 60) text = `${secs} s`;
  else if (secs < 3600) text = `${Math.round(secs / 60)} min`;
  else if (secs < 48 * 3600) text = `${Math.round(secs / 3600)} h`;
  else text = `${Math.round(secs / 86400)} days`;
  return diff > 0 ? `in ${text}` : `${text} ago`;
}

/** "1.2 MB", "340 KB", "12 bytes" (decimal units, as Medtech's 1 MB limit is meant). */
export function formatBytes(bytes: number): string {
  if (bytes < 1000) return `${bytes} bytes`;
  if (bytes < 1_000_000) return `${Math.round(bytes / 1000)} KB`;
  return `${(bytes / 1_000_000).toFixed(1)} MB`;
}

export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}
