import { describe, expect, it } from 'vitest';
import { sniffType } from './sniff';

const b = (...parts: Array<string | number[]>): Buffer =>
  Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'latin1') : Buffer.from(p))));
const ftyp = (major: string, ...compatible: string[]): Buffer => {
  const size = 16 + 4 * compatible.length;
  return b([0, 0, 0, size], 'ftyp', major, [0, 0, 0, 0], ...compatible);
};

describe('sniffType (from bytes only)', () => {
  it.each([
    ['JPEG', b([0xff, 0xd8, 0xff, 0xe1]), 'jpeg'],
    ['PNG', b([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), 'png'],
    ['WebP', b('RIFF', [1, 2, 3, 4], 'WEBPVP8 '), 'webp'],
    ['TIFF little-endian', b('II', [0x2a, 0]), 'tiff'],
    ['TIFF big-endian', b('MM', [0, 0x2a]), 'tiff'],
    ['BigTIFF', b('II', [0x2b, 0]), 'tiff'],
    ['PDF', b('%PDF-1.7\n'), 'pdf'],
    ['HEIC (heic brand)', ftyp('heic', 'mif1', 'heic'), 'heic'],
    ['HEIC (heix brand)', ftyp('heix', 'mif1'), 'heic'],
    ['HEIF (mif1 with heic compatible)', ftyp('mif1', 'heic', 'miaf'), 'heic'],
    ['HEIF sequence (msf1)', ftyp('msf1', 'hevc'), 'heic'],
    ['HEVC brand', ftyp('hevc', 'msf1'), 'heic'],
  ] as const)('%s', (_name, bytes, expected) => {
    expect(sniffType(bytes)).toBe(expected);
  });

  it.each([
    ['GIF', b('GIF89a')],
    ['SVG', b('<svg xmlns="http://www.w3.org/2000/svg">')],
    ['AVIF', ftyp('avif', 'mif1', 'miaf')],
    ['AVIF under mif1', ftyp('mif1', 'avif', 'miaf')],
    ['MP4', ftyp('isom', 'mp41')],
    ['BMP', b('BM', [0, 0, 0, 0])],
    ['ZIP', b('PK', [3, 4])],
    ['HTML', b('<!doctype html>')],
    ['PDF not at the start', b(' %PDF-1.7')],
    ['empty', b()],
    ['short JPEG prefix', b([0xff, 0xd8])],
    ['RIFF but WAVE', b('RIFF', [1, 2, 3, 4], 'WAVEfmt ')],
  ])('%s → not accepted', (_name, bytes) => {
    expect(sniffType(bytes)).toBeNull();
  });
});
