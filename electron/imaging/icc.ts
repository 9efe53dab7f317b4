/**
 * ICC profiles for colour described by numbers rather than by a profile: a HEIF `colr` box of type `nclx`
 * (ITU-T H.273 colour primaries and transfer characteristics). libheif turns YCbCr into RGB but leaves the
 * RGB in the file's own primaries; an ICC v2 matrix/TRC profile built here lets sharp (lcms) convert it to sRGB.
 */

export type Xy = readonly [number, number];
export interface Primaries {
  red: Xy;
  green: Xy;
  blue: Xy;
  white: Xy;
}
export type Transfer = { kind: 'srgb' } | { kind: 'gamma'; gamma: number } | { kind: 'linear' };

const D65: Xy = [0.3127, 0.329];
/** H.273 colour_primaries → chromaticities (the ones a still image can carry). */
const H273_PRIMARIES: Record<number, Primaries> = {
  1: { red: [0.64, 0.33], green: [0.3, 0.6], blue: [0.15, 0.06], white: D65 }, // BT.709 / sRGB
  9: { red: [0.708, 0.292], green: [0.17, 0.797], blue: [0.131, 0.046], white: D65 }, // BT.2020
  11: { red: [0.68, 0.32], green: [0.265, 0.69], blue: [0.15, 0.06], white: [0.314, 0.351] }, // DCI-P3
  12: { red: [0.68, 0.32], green: [0.265, 0.69], blue: [0.15, 0.06], white: D65 }, // Display P3 (SMPTE EG 432-1)
};
/** Adobe RGB (1998): used to make test images; not an nclx code. */
export const ADOBE_RGB: { primaries: Primaries; transfer: Transfer } = {
  primaries: { red: [0.64, 0.33], green: [0.21, 0.71], blue: [0.15, 0.06], white: D65 },
  transfer: { kind: 'gamma', gamma: 563 / 256 },
};

export interface Nclx {
  primaries: number;
  transfer: number;
}

/**
 * The colour an nclx box describes, or null when it is sRGB already (BT.709 primaries or unspecified).
 * Transfer: 13 (sRGB) and the BT.709-family codes 1/6/14/15 (which still-image encoders write for sRGB-like
 * content, and which viewers display with the sRGB curve) → sRGB curve; 4 → gamma 2.2; 5 → gamma 2.8; 8 → linear.
 * HDR transfers (PQ 16, HLG 18) are shown with the sRGB curve: no tone mapping.
 */
export function nclxColour(nclx: Nclx): { primaries: Primaries; transfer: Transfer } | null {
  const primaries = H273_PRIMARIES[nclx.primaries];
  const transfer: Transfer =
    nclx.transfer === 4 ? { kind: 'gamma', gamma: 2.2 } : nclx.transfer === 5 ? { kind: 'gamma', gamma: 2.8 } : nclx.transfer === 8 ? { kind: 'linear' } : { kind: 'srgb' };
  if ((!primaries || nclx.primaries === 1) && transfer.kind === 'srgb') return null;
  return { primaries: primaries ?? (H273_PRIMARIES[1] as Primaries), transfer };
}

type Vec3 = [number, number, number];
type Mat3 = [Vec3, Vec3, Vec3];

const xyToXyz = ([x, y]: Xy): Vec3 => [x / y, 1, (1 - x - y) / y];
const mul = (m: Mat3, v: Vec3): Vec3 => [m[0][0] * v[0] + m[0][1] * v[1] + m[0][2] * v[2], m[1][0] * v[0] + m[1][1] * v[1] + m[1][2] * v[2], m[2][0] * v[0] + m[2][1] * v[1] + m[2][2] * v[2]];
const matMul = (a: Mat3, b: Mat3): Mat3 => [0, 1, 2].map((i) => [0, 1, 2].map((j) => a[i]![0] * b[0][j] + a[i]![1] * b[1][j] + a[i]![2] * b[2][j])) as Mat3;

function invert(m: Mat3): Mat3 {
  const [[a, b, c], [d, e, f], [g, h, i]] = m;
  const A = e * i - f * h;
  const B = -(d * i - f * g);
  const C = d * h - e * g;
  const det = a * A + b * B + c * C;
  return [
    [A / det, -(b * i - c * h) / det, (b * f - c * e) / det],
    [B / det, (a * i - c * g) / det, -(a * f - c * d) / det],
    [C / det, -(a * h - b * g) / det, (a * e - b * d) / det],
  ];
}

const BRADFORD: Mat3 = [
  [0.8951, 0.2664, -0.1614],
  [-0.7502, 1.7135, 0.0367],
  [0.0389, -0.0685, 1.0296],
];
/** ICC's PCS white (D50), as ICC writes it. */
export const D50_XYZ: Vec3 = [0.9642, 1, 0.8249];

/** RGB → XYZ (D50-adapted with Bradford, as ICC profiles store colorants). Columns are the red, green, blue colorants. */
export function rgbToXyzD50(p: Primaries): Mat3 {
  const cols = [xyToXyz(p.red), xyToXyz(p.green), xyToXyz(p.blue)];
  const m: Mat3 = [0, 1, 2].map((r) => cols.map((c) => c[r] as number)) as Mat3;
  const white = xyToXyz(p.white);
  const s = mul(invert(m), white);
  const scaled: Mat3 = m.map((row) => row.map((v, j) => v * (s[j] as number))) as Mat3;
  const src = mul(BRADFORD, white);
  const dst = mul(BRADFORD, D50_XYZ);
  const adapt: Mat3 = matMul(invert(BRADFORD), matMul([[dst[0] / src[0], 0, 0], [0, dst[1] / src[1], 0], [0, 0, dst[2] / src[2]]], BRADFORD));
  return matMul(adapt, scaled);
}

function s15f16(buf: Buffer, at: number, v: number): void {
  buf.writeInt32BE(Math.round(v * 65536), at);
}

function xyzTag(v: Vec3): Buffer {
  const b = Buffer.alloc(20);
  b.write('XYZ ', 0, 'latin1');
  v.forEach((c, i) => s15f16(b, 8 + i * 4, c));
  return b;
}

const srgbDecode = (v: number): number => (v <= 0.04045 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4);

function curvTag(t: Transfer): Buffer {
  if (t.kind === 'linear') return Buffer.from('curv\0\0\0\0\0\0\0\0', 'latin1');
  if (t.kind === 'gamma') {
    const b = Buffer.alloc(14);
    b.write('curv', 0, 'latin1');
    b.writeUInt32BE(1, 8);
    b.writeUInt16BE(Math.round(t.gamma * 256), 12);
    return b;
  }
  const n = 1024;
  const b = Buffer.alloc(12 + n * 2);
  b.write('curv', 0, 'latin1');
  b.writeUInt32BE(n, 8);
  for (let i = 0; i < n; i++) b.writeUInt16BE(Math.round(srgbDecode(i / (n - 1)) * 65535), 12 + i * 2);
  return b;
}

function descTag(text: string): Buffer {
  const ascii = Buffer.from(`${text}\0`, 'latin1');
  const b = Buffer.alloc(12 + ascii.length + 4 + 4 + 2 + 1 + 67);
  b.write('desc', 0, 'latin1');
  b.writeUInt32BE(ascii.length, 8);
  ascii.copy(b, 12);
  return b;
}

const pad4 = (b: Buffer): Buffer => (b.length % 4 === 0 ? b : Buffer.concat([b, Buffer.alloc(4 - (b.length % 4))]));

/** An ICC v2.1 display profile (matrix + tone curves) for the given primaries and transfer. */
export function makeIccProfile(colour: { primaries: Primaries; transfer: Transfer }, description: string): Buffer {
  const m = rgbToXyzD50(colour.primaries);
  const col = (j: number): Vec3 => [m[0][j], m[1][j], m[2][j]];
  const trc = curvTag(colour.transfer);
  const tags: Array<[string, Buffer]> = [
    ['desc', descTag(description)],
    ['cprt', Buffer.concat([Buffer.from('text\0\0\0\0No copyright, use freely\0', 'latin1')])],
    ['wtpt', xyzTag(D50_XYZ)],
    ['rXYZ', xyzTag(col(0))],
    ['gXYZ', xyzTag(col(1))],
    ['bXYZ', xyzTag(col(2))],
    ['rTRC', trc],
    ['gTRC', trc],
    ['bTRC', trc],
  ];
  const tableSize = 4 + tags.length * 12;
  let offset = 128 + tableSize;
  const table = Buffer.alloc(tableSize);
  table.writeUInt32BE(tags.length, 0);
  const bodies: Buffer[] = [];
  const placed = new Map<Buffer, number>();
  tags.forEach(([sig, data], i) => {
    let at = placed.get(data);
    if (at === undefined) {
      at = offset;
      placed.set(data, at);
      const padded = pad4(data);
      bodies.push(padded);
      offset += padded.length;
    }
    table.write(sig, 4 + i * 12, 'latin1');
    table.writeUInt32BE(at, 8 + i * 12);
    table.writeUInt32BE(data.length, 12 + i * 12);
  });
  const header = Buffer.alloc(128);
  header.writeUInt32BE(offset, 0);
  header.writeUInt32BE(0x02100000, 8);
  header.write('mntrRGB XYZ ', 12, 'latin1');
  [2000, 1, 1, 0, 0, 0].forEach((v, i) => header.writeUInt16BE(v, 24 + i * 2));
  header.write('acsp', 36, 'latin1');
  D50_XYZ.forEach((c, i) => s15f16(header, 68 + i * 4, c));
  return Buffer.concat([header, table, ...bodies]);
}
