import { describe, expect, it } from 'vitest';
import { SNIFF_BYTES, sniffType } from './sniff';

const pad = (head: number[] | string): Buffer => {
  const b = Buffer.alloc(32);
  (typeof head === 'string' ? Buffer.from(head, 'latin1') : Buffer.from(head)).copy(b);
  return b;
};

describe('sniffType', () => {
  it.each([
    ['image/jpeg', pad([0xff, 0xd8, 0xff, 0xe1])],
    ['image/png', pad([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])],
    ['image/webp', pad('RIFF\x10\x00\x00\x00WEBPVP8 ')],
    ['image/tiff', pad('II*\x00')],
    ['image/tiff', pad('MM\x00*')],
    ['application/pdf', pad('%PDF-1.7')],
    ['image/heic', pad('\x00\x00\x00\x18ftypheic')],
    ['image/heic', pad('\x00\x00\x00\x18ftypmif1')],
  ])('recognises %s from its bytes', (type, head) => {
    expect(sniffType(head)).toBe(type);
  });

  it.each([
    ['HTML', '<!doctype html>'],
    ['SVG', '<svg xmlns="'],
    ['GIF', 'GIF89a'],
    ['ZIP', 'PK\x03\x04'],
    ['AVIF', '\x00\x00\x00\x18ftypavif'],
    ['MP4', '\x00\x00\x00\x18ftypisom'],
    ['RIFF WAV', 'RIFF\x10\x00\x00\x00WAVE'],
    ['a truncated PNG signature', '\x89PNG'],
  ])('refuses %s', (_label, head) => {
    expect(sniffType(pad(head))).toBeUndefined();
  });

  it('needs no more than SNIFF_BYTES and copes with fewer', () => {
    const heic = Buffer.from('\x00\x00\x00\x18ftypheic', 'latin1');
    expect(heic.length).toBe(SNIFF_BYTES);
    expect(sniffType(heic)).toBe('image/heic');
    expect(sniffType(heic.subarray(0, 11))).toBeUndefined();
    expect(sniffType(Buffer.alloc(0))).toBeUndefined();
  });
});
