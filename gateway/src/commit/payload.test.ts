import { describe, expect, it } from 'vitest';
import { AppError } from '../../../shared/errors';
import { canonicalJson } from './fingerprint.testkit';
import { base64Size } from '../base64';
import { checkAttachmentData } from './payload';

/** The smallest well-formed JPEG the checks take: SOI, JFIF APP0, one scan, EOI (image-check.ts). */
const JPEG = Buffer.from([
  0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 0x4a, 0x46, 0x49, 0x46, 0x00, 0x01, 0x01, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00,
  0xff, 0xda, 0x00, 0x08, 0x01, 0x01, 0x00, 0x00, 0x3f, 0x00, 0x12, 0x34, 0xff, 0xd9,
]);
const codeOf = (fn: () => unknown): string => {
  try {
    fn();
  } catch (e) {
    if (e instanceof AppError) return e.code;
    throw e;
  }
  return 'none';
};

describe('attachment checks', () => {
  it('accepts canonical base64 only', () => {
    expect(base64Size(JPEG.toString('base64'), true)).toBe(JPEG.length);
    for (const bad of ['', 'abc', '####', 'ab=c', '_-8A', 'QQ==QQ==', 'QR==']) expect(base64Size(bad, true)).toBeNull();
  });

  it('gives each bad attachment its own code', () => {
    expect(checkAttachmentData('media', JPEG.toString('base64'), 'image/jpeg', 100)).toBe(JPEG.length);
    expect(codeOf(() => checkAttachmentData('media', JPEG.toString('base64'), 'image/png', 100))).toBe('ERR_COMMIT_IMAGE_TYPE');
    expect(codeOf(() => checkAttachmentData('document', JPEG.toString('base64'), 'application/pdf', 100))).toBe('ERR_COMMIT_IMAGE_TYPE');
    expect(codeOf(() => checkAttachmentData('media', JPEG.toString('base64'), 'image/jpeg', 7))).toBe('ERR_COMMIT_IMAGE_TOO_LARGE');
    expect(codeOf(() => checkAttachmentData('media', 'A'.repeat(4000), 'image/jpeg', 100))).toBe('ERR_COMMIT_IMAGE_TOO_LARGE');
    expect(codeOf(() => checkAttachmentData('media', '!!!!', 'image/jpeg', 100))).toBe('ERR_REQUEST_INVALID');
  });

  it('accepts both TIFF byte orders and PDF', () => {
    for (const [bytes, type] of [
      // Header, then an empty directory (0 entries, no next): the smallest well-formed TIFF.
      [[0x49, 0x49, 0x2a, 0x00, 8, 0, 0, 0, 0, 0, 0, 0, 0, 0], 'image/tiff'],
      [[0x4d, 0x4d, 0x00, 0x2a, 0, 0, 0, 8, 0, 0, 0, 0, 0, 0], 'image/tiff'],
      [[...Buffer.from('%PDF-1.7\nstartxref\n0\n%%EOF\n')], 'application/pdf'],
    ] as const) {
      expect(checkAttachmentData('document', Buffer.from(bytes).toString('base64'), type, 100)).toBe(bytes.length);
    }
  });
});

describe('canonicalJson', () => {
  it('does not depend on key order', () => {
    expect(canonicalJson({ b: 1, a: { d: [1, { y: 2, x: 1 }], c: null } })).toBe(canonicalJson({ a: { c: null, d: [1, { x: 1, y: 2 }] }, b: 1 }));
    expect(canonicalJson({ a: 1 })).not.toBe(canonicalJson({ a: 2 }));
  });
});
