/**
 * Strict base64 for attachments: the standard alphabet, a length that is a multiple of 4, `=` only as the
 * last one or two characters. One regex search for a character outside the alphabet, then one for `=`.
 */

/**
 * `=` is in the class on purpose: V8 (Node 20) searches 1.3 MB with this class in ~1 ms, and with the same
 * class without `=` in ~35 ms (docs/PERFORMANCE.md). Where `=` may stand is checked apart.
 */
const OUTSIDE_ALPHABET = /[^A-Za-z0-9+/=]/;
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

/**
 * The decoded size of `data` when it is standard, padded base64, else null. With `canonical`, the unused
 * bits before the padding must also be zero (the text is exactly what encoding the bytes gives).
 */
export function base64Size(data: string, canonical = false): number | null {
  if (typeof data !== 'string') return null;
  const n = data.length;
  if (n === 0 || n % 4 !== 0) return null;
  const pad = data.endsWith('==') ? 2 : data.endsWith('=') ? 1 : 0;
  if (OUTSIDE_ALPHABET.test(data)) return null;
  const firstPad = data.indexOf('=');
  if (firstPad !== -1 && firstPad < n - pad) return null;
  if (canonical && pad > 0 && (ALPHABET.indexOf(data.charAt(n - pad - 1)) & (pad === 1 ? 0b11 : 0b1111)) !== 0) return null;
  return (n / 4) * 3 - pad;
}

/** The first `count` decoded bytes of base64 text already checked by base64Size. */
export function base64Head(data: string, count: number): Buffer {
  return Buffer.from(data.slice(0, Math.ceil(count / 3) * 4), 'base64').subarray(0, count);
}
