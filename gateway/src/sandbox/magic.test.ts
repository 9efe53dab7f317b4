import { describe, expect, it } from 'vitest';
import { base64DecodedLength, decodeStrictBase64, sniffAttachmentType } from './magic';
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

  it.each(['', 'abc', 'ab c', 'ab-_', 'YQ', 'YR==', 'Y===', 'YQ==\n'])('refuses %j', (s) => {
    expect(decodeStrictBase64(s)).toBeNull();
  });
});
