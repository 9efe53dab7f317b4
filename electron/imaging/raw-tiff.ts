/**
 * Raw 8-bit RGB(A) pixels wrapped, uncompressed, in a TIFF that carries an ICC profile (tag 34675).
 * sharp's raw input cannot be told which colour space its pixels are in; a TIFF with the profile can, so
 * sharp (lcms) converts decoded HEIC pixels from the file's own colour space to sRGB like any tagged image.
 * No pixel is changed or compressed here: the cost is one copy of the buffer.
 */
export function rawToTaggedTiff(data: Uint8Array, width: number, height: number, channels: 3 | 4, icc: Buffer): Buffer {
  if (data.length !== width * height * channels) throw new Error('raw buffer size does not match its dimensions');
  const entries: Array<[tag: number, type: number, count: number, value: number]> = [];
  const count = channels === 4 ? 12 : 11;
  const ifdAt = 8;
  const ifdSize = 2 + count * 12 + 4;
  const bpsAt = ifdAt + ifdSize;
  const iccAt = bpsAt + 8;
  const pixelsAt = iccAt + icc.length + (icc.length % 2);
  const SHORT = 3;
  const LONG = 4;
  entries.push([256, LONG, 1, width], [257, LONG, 1, height], [258, SHORT, channels, bpsAt], [259, SHORT, 1, 1], [262, SHORT, 1, 2]);
  entries.push([273, LONG, 1, pixelsAt], [277, SHORT, 1, channels], [278, LONG, 1, height], [279, LONG, 1, data.length], [284, SHORT, 1, 1]);
  if (channels === 4) entries.push([338, SHORT, 1, 2]); // unassociated alpha
  entries.push([34675, 7, icc.length, iccAt]);
  const head = Buffer.alloc(pixelsAt);
  head.write('II', 0, 'latin1');
  head.writeUInt16LE(42, 2);
  head.writeUInt32LE(ifdAt, 4);
  head.writeUInt16LE(entries.length, ifdAt);
  entries.forEach(([tag, type, n, value], i) => {
    const e = ifdAt + 2 + i * 12;
    head.writeUInt16LE(tag, e);
    head.writeUInt16LE(type, e + 2);
    head.writeUInt32LE(n, e + 4);
    // A single SHORT sits in the low half of the value field (little-endian); everything else is a LONG or an offset.
    if (type === SHORT && n === 1) head.writeUInt16LE(value, e + 8);
    else head.writeUInt32LE(value, e + 8);
  });
  head.writeUInt32LE(0, ifdAt + 2 + entries.length * 12); // no next IFD
  for (let c = 0; c < channels; c++) head.writeUInt16LE(8, bpsAt + c * 2);
  icc.copy(head, iccAt);
  return Buffer.concat([head, data], pixelsAt + data.length);
}
