import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { base64DecodedLength, decodeStrictBase64, sniffAttachmentType } from './magic';
import { nearlyBase64 } from '../base64.testkit';
import { makeAttachments } from './test-support';

describe('attachment type sniffing (real files made with sharp and pdf-lib)', () => {
  it('recognises JPEG, PNG, TIFF and PDF by their bytes', async () => {
    const f = await makeAttachments();
    expect(sniffAttachmentType(f.jpeg)).toBe('image/jpeg');
    expect(sniffAttachmentType(f.png)).toBe('image/png');
    expect(sniffAttachmentType(f.tiff)).toBe('image/tiff');
    expect(sniffAttachmentType(f.pdf)).toBe('application/pdf');
  });

  it('recognises big-endian TIFF and nothing else', () => {
    expect(sniffAttachmentType(Buffer.from([0x4d, 0x4d, 0x00, 0x2a, 0, 0, 0, 8]))).toBe('image/tiff');
    expect(sniffAttachmentType(Buffer.from('GIF89a....'))).toBeNull();
    expect(sniffAttachmentType(Buffer.from('<html><script>'))).toBeNull();
    expect(sniffAttachmentType(Buffer.from([0xff, 0xd8]))).toBeNull();
    expect(sniffAttachmentType(Buffer.alloc(0))).toBeNull();
  });
});

describe('strict base64', () => {
  it('decodes canonical base64 and measures it without decoding', () => {
    for (const s of ['', 'a', 'ab', 'abc', 'abcd']) {
      const b64 = Buffer.from(s).toString('base64');
      if (s === '') continue;
      expect(decodeStrictBase64(b64)?.toString()).toBe(s);
      expect(base64DecodedLength(b64)).toBe(s.length);
    }
  });

  it.each(['', 'abc', 'ab c', 'ab-_', 'YQ', 'YR==', 'Y===', 'YQ==\n', 'YW*j', 'YWJé', 'YQ==YQ==', '=YWJ', 'YW=j', 'YWJ='])('refuses %j', (s) => {
    expect(decodeStrictBase64(s)).toBeNull();
  });

  it('agrees with the strict regex and a re-encode on 20,000 near-base64 strings', () => {
    /** The plain definition: the alphabet, padding at the end only, and exactly what encoding the bytes gives. */
    const reference = (s: string): string | null => {
      if (s.length === 0 || s.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(s)) return null;
      const bytes = Buffer.from(s, 'base64');
      return bytes.toString('base64') === s ? bytes.toString('hex') : null;
    };
    fc.assert(
      fc.property(nearlyBase64(48), (s) => {
        expect(decodeStrictBase64(s)?.toString('hex') ?? null).toBe(reference(s));
      }),
      { numRuns: 20_000 },
    );
  });

  it('finds one bad character anywhere in a megabyte', () => {
    const text = Buffer.alloc(999_000, 7).toString('base64');
    expect(decodeStrictBase64(text)?.length).toBe(999_000);
    for (const at of [0, 500_000, text.length - 3]) {
      for (const ch of ['!', ' ', 'é', '-', '=']) expect(decodeStrictBase64(text.slice(0, at) + ch + text.slice(at + 1)), `${ch} at ${at}`).toBeNull();
    }
  });
});
