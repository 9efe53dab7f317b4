/** Recognise attachment types from their first bytes, as ALEX must before it files them. */

export type AttachmentType = 'image/jpeg' | 'image/png' | 'image/tiff' | 'application/pdf';

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** The type the bytes really are, or null when none of the four. */
export function sniffAttachmentType(bytes: Buffer): AttachmentType | null {
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'image/jpeg';
  if (bytes.length >= 8 && bytes.subarray(0, 8).equals(PNG_SIGNATURE)) return 'image/png';
  const tiff = bytes.subarray(0, 4).toString('latin1');
  if (tiff === 'II*\0' || tiff === 'MM\0*') return 'image/tiff';
  if (bytes.length >= 5 && bytes.subarray(0, 5).toString('latin1') === '%PDF-') return 'application/pdf';
  return null;
}

/**
 * Strict standard base64 (no whitespace, no URL alphabet, padded, zero bits under the padding), decoded; null when
 * not. Node's decoder skips what is not base64, so the text is strict exactly when it is the re-encoding of its bytes.
 */
export function decodeStrictBase64(data: string): Buffer | null {
  const bytes = Buffer.from(data, 'base64');
  return data.length > 0 && bytes.toString('base64') === data ? bytes : null;
}

/** Decoded size of a strict base64 string, without decoding it. */
export function base64DecodedLength(data: string): number {
  const pad = data.endsWith('==') ? 2 : data.endsWith('=') ? 1 : 0;
  return (data.length / 4) * 3 - pad;
}
