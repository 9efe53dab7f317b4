/** Plain formatting for the phone page (no locale data needed, same output on every phone). */
const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];

/** `1985-03-14` → `14 March 1985` (the date is shown as the PC sent it; no time zone shifts). */
export function formatBirthDate(iso: string): string {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(iso);
  if (m === null) return iso;
  const month = MONTHS[Number(m[2]) - 1];
  return month === undefined ? iso : `${Number(m[3])} ${month} ${m[1]}`;
}

export function photos(n: number): string {
  return n === 1 ? '1 photo' : `${n} photos`;
}
