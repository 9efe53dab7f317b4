import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { makeIccProfile, nclxColour } from './icc';
import { PIXELS_AT, rawToTaggedTiff, TAIL_ROOM } from './raw-tiff';

const p3 = nclxColour({ primaries: 12, transfer: 13 });
if (p3 === null) throw new Error('Display P3 must not read as sRGB');
const P3 = makeIccProfile(p3, 'Display P3');

/** 64×48 RGBA pixels (a gradient, opaque), placed `before` bytes into a buffer with `after` bytes behind them. */
function pixels(before: number, after: number, width = 64, height = 48): Buffer {
  const buf = Buffer.alloc(before + width * height * 4 + after, 0xee);
  const px = buf.subarray(before, before + width * height * 4);
  for (let i = 0; i < width * height; i++) px.set([i % 256, (i * 3) % 256, (i * 7) % 256, 255], i * 4);
  return px;
}

async function readBack(tiff: Buffer): Promise<{ data: Buffer; icc: Buffer | undefined; width: number; height: number }> {
  const meta = await sharp(tiff, { failOn: 'warning' }).metadata();
  // keepIccProfile: the pixels as stored (no conversion to sRGB), to compare byte for byte.
  const { data, info } = await sharp(tiff, { failOn: 'warning' }).keepIccProfile().raw().toBuffer({ resolveWithObject: true });
  return { data, icc: meta.icc, width: info.width, height: info.height };
}

describe('raw pixels in a TIFF with their ICC profile', () => {
  it('around pixels decoded with room before and after them: written in place (no copy), read back pixel for pixel with the profile', async () => {
    const px = pixels(PIXELS_AT, TAIL_ROOM);
    const tiff = rawToTaggedTiff(px, 64, 48, 4, P3);
    expect(tiff.buffer).toBe(px.buffer); // the same memory: 48 MB for a 12 MP photo is not copied
    const back = await readBack(tiff);
    expect([back.width, back.height]).toEqual([64, 48]);
    expect(back.data.equals(px)).toBe(true);
    expect(back.icc?.equals(P3)).toBe(true);
  });

  it('pixels without that room (or a profile larger than it) are copied once into the same layout', async () => {
    const px = pixels(0, 0);
    const copied = rawToTaggedTiff(px, 64, 48, 4, P3);
    expect(copied.buffer).not.toBe(px.buffer);
    expect(copied.equals(rawToTaggedTiff(pixels(PIXELS_AT, TAIL_ROOM), 64, 48, 4, P3))).toBe(true);
    const bigProfile = Buffer.concat([P3, Buffer.alloc(TAIL_ROOM)]);
    const roomy = pixels(PIXELS_AT, TAIL_ROOM);
    expect(rawToTaggedTiff(roomy, 64, 48, 4, bigProfile).buffer).not.toBe(roomy.buffer);
  });

  it('never writes around pixels in a buffer it does not own whole: a small Buffer in Node\'s shared pool, its neighbours untouched', async () => {
    const before = Buffer.from('neighbour before'); // small Buffers share one 8 KiB pool
    const rgb = Buffer.from(new Uint8Array(4 * 2 * 3).fill(0x40));
    const after = Buffer.from('neighbour after!');
    expect(rgb.buffer).toBe(after.buffer); // the same pool: writing past `rgb` would overwrite `after`
    const tiff = rawToTaggedTiff(rgb, 4, 2, 3, P3);
    expect([before.toString(), after.toString(), rgb.every((b) => b === 0x40)]).toEqual(['neighbour before', 'neighbour after!', true]);
    expect((await readBack(tiff)).data.equals(rgb)).toBe(true);
  });

  it('RGB pixels of odd length are padded to a word before the directory', async () => {
    const rgb = Buffer.alloc(5 * 3 * 3, 0x80);
    const back = await readBack(rawToTaggedTiff(rgb, 5, 3, 3, P3));
    expect([back.width, back.height, back.data.equals(rgb)]).toEqual([5, 3, true]);
  });

  it('refuses pixels that do not match their dimensions', () => {
    expect(() => rawToTaggedTiff(Buffer.alloc(10), 2, 2, 4, P3)).toThrow(/does not match/);
  });
});
