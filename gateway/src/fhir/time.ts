/** New Zealand wall-clock time for FHIR dates and plain-language titles (Pacific/Auckland, DST-aware via Intl). */

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

const partsFormat = new Intl.DateTimeFormat('en-NZ', {
  timeZone: 'Pacific/Auckland',
  year: 'numeric',
  month: 'numeric',
  day: 'numeric',
  hour: 'numeric',
  minute: 'numeric',
  second: 'numeric',
  hourCycle: 'h23',
});

/** The New Zealand wall clock at `ms`, and its offset in minutes east of UTC. */
function wallClock(ms: number) {
  const get = (parts: Intl.DateTimeFormatPart[], type: string) => Number(parts.find((p) => p.type === type)?.value);
  const parts = partsFormat.formatToParts(new Date(ms));
  const w = {
    year: get(parts, 'year'),
    month: get(parts, 'month'),
    day: get(parts, 'day'),
    hour: get(parts, 'hour') % 24,
    minute: get(parts, 'minute'),
    second: get(parts, 'second'),
  };
  const asUtc = Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second);
  const wholeSecondMs = Math.floor(ms / 1000) * 1000;
  return { ...w, offsetMinutes: Math.round((asUtc - wholeSecondMs) / 60_000) };
}

const pad = (n: number, width = 2) => String(Math.abs(n)).padStart(width, '0');

/** Parses an ISO-8601 date-time; throws RangeError when it is not one. */
export function parseInstant(iso: string): number {
  const ms = Date.parse(iso);
  if (typeof iso !== 'string' || !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/.test(iso) || Number.isNaN(ms)) {
    throw new RangeError('Expected an ISO-8601 date-time');
  }
  return ms;
}

/** `2026-11-23T10:42:05+13:00`: the instant as New Zealand local time with its offset (NZDT +13, NZST +12). */
export function toNzDateTime(iso: string): string {
  const w = wallClock(parseInstant(iso));
  const sign = w.offsetMinutes >= 0 ? '+' : '-';
  const off = `${sign}${pad(Math.floor(Math.abs(w.offsetMinutes) / 60))}:${pad(Math.abs(w.offsetMinutes) % 60)}`;
  return `${pad(w.year, 4)}-${pad(w.month)}-${pad(w.day)}T${pad(w.hour)}:${pad(w.minute)}:${pad(w.second)}${off}`;
}

/** `23 Nov 2026 10:42` in New Zealand time. */
export function formatNzForPeople(iso: string): string {
  const w = wallClock(parseInstant(iso));
  return `${w.day} ${MONTHS[w.month - 1] ?? ''} ${w.year} ${pad(w.hour)}:${pad(w.minute)}`;
}
