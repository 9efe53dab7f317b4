/** Recognise attachment types from their first bytes, as ALEX must before it files them. */

export type AttachmentType = 'image/jpeg' | 'image/png' | 'image/tiff' | 'application/pdf';

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** The type the bytes really are, or null when none of the four. */
export function sniffAttachmentType(bytes: Buffer): AttachmentType | null {
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'image/jpeg';
  if (bytes.length >= 8 && bytes.subarray(0, 8).equals(PNG_SIGNATURE)) return 'image/png';
  if (bytes.length >= 4) {
    const le = bytes[0] === 0x49 && bytes[1] === 0x49 && bytes[2] === 0x2a && bytes[3] === 0x00;
    const be = bytes[0] === 0x4d && bytes[1] === 0x4d && bytes[2] === 0x00 && bytes[3] === 0x2a;
    if (le || be) return 'image/tiff';
  }
  if (bytes.length >= 5 && bytes.subarray(0, 5).toString('latin1') === '%PDF-') return 'application/pdf';
  return null;
}

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

/**
 * Strict standard base64 (no whitespace, no URL alphabet, padded, zero bits under the padding), decoded; null when
 * not. Node's decoder skips characters outside the alphabet, so after refusing URL-safe ones and misplaced padding,
 * every character was in the alphabet exactly when the decoded length is the one the text's length promises.
 */
export function decodeStrictBase64(data: string): Buffer | null {
  const n = data.length;
  if (n === 0 || n % 4 !== 0 || data.includes('-') || data.includes('_')) return null;
  const eq = data.indexOf('=');
  if (eq >= 0 && (eq < n - 2 || (eq === n - 2 && data[n - 1] !== '='))) return null;
  const bytes = Buffer.from(data, 'base64');
  if (bytes.length !== base64DecodedLength(data)) return null;
  const pad = eq < 0 ? 0 : n - eq;
  // Canonical: the bits of the last character that the padding leaves unused are zero.
  if (pad > 0 && (ALPHABET.indexOf(data.charAt(n - pad - 1)) & (pad === 1 ? 0b11 : 0b1111)) !== 0) return null;
  return bytes;
}

/** Decoded size of a strict base64 string, without decoding it. */
export function base64DecodedLength(data: string): number {
  const pad = data.endsWith('==') ? 2 : data.endsWith('=') ? 1 : 0;
  return (data.length / 4) * 3 - pad;
}
