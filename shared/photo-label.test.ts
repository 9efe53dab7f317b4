import { describe, expect, it } from 'vitest';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { PhotoLabel } from './contracts/gateway';
import { photoLabelForWire } from './photo-label';

const fitsContract = TypeCompiler.Compile(PhotoLabel);

describe('photoLabelForWire', () => {
  it('keeps a phone number and a desktop file name as they are', () => {
    expect(photoLabelForWire('Photo 2')).toBe('Photo 2');
    expect(photoLabelForWire('IMG_0412 (1).HEIC')).toBe('IMG_0412 (1).HEIC');
  });

  it('turns separators and control characters into spaces, so a name can never be a path', () => {
    expect(photoLabelForWire('scans/left\\arm\u0000.jpg')).toBe('scans left arm .jpg');
    expect(photoLabelForWire('line\none\t two')).toBe('line one two');
  });

  it('gives nothing when nothing readable is left', () => {
    for (const s of ['', '   ', '///', '\u0000\u0001']) expect(photoLabelForWire(s)).toBeUndefined();
  });

  it('cuts a long name to the contract limit with "…", never splitting a character, and always fits the contract', () => {
    const long = photoLabelForWire(`${'wound-photo-'.repeat(10)}.jpg`)!;
    expect(long.length).toBe(80);
    expect(long.endsWith('…')).toBe(true);
    const emoji = photoLabelForWire('📷'.repeat(60))!;
    expect(emoji.length).toBeLessThanOrEqual(80);
    expect(emoji).toBe(`${'📷'.repeat(39)}…`);
    for (const s of ['Photo 1', long, emoji, 'a/b', ' x ', 'é'.repeat(200)]) expect(fitsContract.Check(photoLabelForWire(s))).toBe(true);
  });
});
