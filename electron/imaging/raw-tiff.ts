/**
 * Raw 8-bit RGB(A) pixels wrapped, uncompressed, in a TIFF that carries an ICC profile (tag 34675).
 * sharp's raw input cannot be told which colour space its pixels are in; a TIFF with the profile can, so
 * sharp (lcms) converts decoded HEIC pixels from the file's own colour space to sRGB like any tagged image.
 * No pixel is changed or compressed here.
 *
 * Layout: the 8-byte header, the pixels at offset 8, then the directory, the bits per sample and the profile. When the
 * pixels are the whole of a buffer laid out for it — exactly `PIXELS_AT` bytes before them and `TAIL_ROOM` after, as
 * the HEIC worker decodes — the TIFF is written around them in place (no copy of a 12 MP photo's 48 MB on the main
 * thread); any other buffer (a slice of Node's shared pool, someone else's bytes around it) is never written: the
 * pixels are copied once into a new one.
 */

/** Where the pixels start in the TIFF: right after its header. */
export const PIXELS_AT = 8;
/** The room a decoder leaves after the pixels for the directory and a profile of up to ~64 KB (larger: copied). */
export const TAIL_ROOM = 64 * 1024;

const SHORT = 3;
const LONG = 4;
const UNDEFINED = 7;

export function rawToTaggedTiff(data: Uint8Array, width: number, height: number, channels: 3 | 4, icc: Buffer): Buffer {
  const n = data.length;
  if (n !== width * height * channels) throw new Error('raw buffer size does not match its dimensions');
  const entries: Array<[tag: number, type: number, count: number, value: number]> = [];
  const count = channels === 4 ? 12 : 11;
  const ifdAt = PIXELS_AT + n + (n % 2); // word-aligned
  const ifdSize = 2 + count * 12 + 4;
  const bpsAt = ifdAt + ifdSize;
  const iccAt = bpsAt + 8;
  const total = iccAt + icc.length;
  entries.push([256, LONG, 1, width], [257, LONG, 1, height], [258, SHORT, channels, bpsAt], [259, SHORT, 1, 1], [262, SHORT, 1, 2]);
  entries.push([273, LONG, 1, PIXELS_AT], [277, SHORT, 1, channels], [278, LONG, 1, height], [279, LONG, 1, n], [284, SHORT, 1, 1]);
  if (channels === 4) entries.push([338, SHORT, 1, 2]); // unassociated alpha
  entries.push([34675, UNDEFINED, icc.length, iccAt]);

  const inPlace = data.byteOffset === PIXELS_AT && data.buffer.byteLength === PIXELS_AT + n + TAIL_ROOM && total <= data.buffer.byteLength;
  const tiff = inPlace ? Buffer.from(data.buffer, data.byteOffset - PIXELS_AT, total) : Buffer.allocUnsafe(total);
  if (!inPlace) tiff.set(data, PIXELS_AT);
  tiff.write('II', 0, 'latin1');
  tiff.writeUInt16LE(42, 2);
  tiff.writeUInt32LE(ifdAt, 4);
  if (n % 2 === 1) tiff[PIXELS_AT + n] = 0;
  tiff.writeUInt16LE(entries.length, ifdAt);
  entries.forEach(([tag, type, c, value], i) => {
    const e = ifdAt + 2 + i * 12;
    tiff.writeUInt16LE(tag, e);
    tiff.writeUInt16LE(type, e + 2);
    tiff.writeUInt32LE(c, e + 4);
    // A single SHORT sits in the low half of the value field (little-endian); everything else is a LONG or an offset.
    if (type === SHORT && c === 1) tiff.writeUInt32LE(value & 0xffff, e + 8);
    else tiff.writeUInt32LE(value, e + 8);
  });
  tiff.writeUInt32LE(0, ifdAt + 2 + entries.length * 12); // no next IFD
  tiff.fill(0, bpsAt, iccAt);
  for (let c = 0; c < channels; c++) tiff.writeUInt16LE(8, bpsAt + c * 2);
  icc.copy(tiff, iccAt);
  return tiff;
}
