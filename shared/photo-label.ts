/**
 * A photo's name made fit for the wire (gateway contract `PhotoLabel`): control characters and path separators
 * become spaces, whitespace runs one space, and a long name is cut to `LIMITS.maxPhotoLabelChars` with "…".
 * Undefined when nothing readable is left.
 */
import { LIMITS } from './limits';

export function photoLabelForWire(label: string): string | undefined {
  const plain = label
    .replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029/\\]+/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  if (plain === '') return undefined;
  if (plain.length <= LIMITS.maxPhotoLabelChars) return plain;
  // Cut whole characters (never half of a surrogate pair) until the name and "…" fit in UTF-16 units.
  let cut = '';
  for (const ch of plain) {
    if (cut.length + ch.length > LIMITS.maxPhotoLabelChars - 1) break;
    cut += ch;
  }
  return `${cut.trimEnd()}…`;
}
