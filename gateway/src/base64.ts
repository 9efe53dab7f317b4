/**
 * Standard base64 checks for megabyte-sized attachment strings, in one native decode pass and no
 * regular expression (a regex over 1.3 MB costs ~10 ms; this ~1 ms). Node's decoder skips characters
 * outside the alphabet and accepts the url-safe one: so the url-safe characters and misplaced padding
 * are refused first, and then every other character was in the alphabet exactly when the decoded
 * length is the one the text length promises.
 */

/**
 * Base64 text kept as the bytes it arrived in (ASCII). A commit's image is lifted out of the request body
 * this way (see ../json-body) and reaches ALEX's request bytes without ever becoming a JavaScript string:
 * a megabyte external string per commit is what drives V8 into a full garbage collection every few commits.
 * Hashing or copying these bytes gives exactly what the same text as a string would.
 */
export class Base64Bytes {
  /** base64Size answers for these bytes (plain, canonical): checked once, asked at each step of a commit. */
  readonly sizes = new Map<boolean, number | null>();

  constructor(readonly bytes: Buffer) {}

  get length(): number {
    return this.bytes.length;
  }

  /** The text as a string (slow paths only: logging, tests). */
  toString(): string {
    return this.bytes.toString('latin1');
  }

  toJSON(): string {
    return this.toString();
  }
}

/** An attachment's base64 text: a string, or bytes lifted from a request body. */
export type Base64Data = string | Base64Bytes;

/** An attachment type whose `data` may be either form. */
export type WithBase64Data<T extends { data: string }> = Omit<T, 'data'> & { data: Base64Data };

/** Decoding scratch up to SCRATCH_MAX, reused (the checks are synchronous); larger texts get their own. */
const SCRATCH_MAX = 4 * 1024 * 1024;
let scratch = Buffer.alloc(0);

function decodeTarget(bytes: number): Buffer {
  if (bytes > SCRATCH_MAX) return Buffer.allocUnsafe(bytes);
  if (scratch.length < bytes) scratch = Buffer.allocUnsafe(bytes);
  return scratch;
}

/**
 * The decoded size of `data` when it is standard, padded base64 (`A–Z a–z 0–9 + /`, length a multiple
 * of 4, `=` only as the last one or two characters), else null. With `canonical`, the unused bits
 * before the padding must also be zero (the text is exactly what encoding the bytes gives).
 */
export function base64Size(data: Base64Data, canonical = false): number | null {
  if (data instanceof Base64Bytes) {
    // The bytes are a view of a received body, never written: the answer cannot change.
    let size = data.sizes.get(canonical);
    if (size === undefined) data.sizes.set(canonical, (size = base64BytesSize(data.bytes, canonical)));
    return size;
  }
  if (typeof data !== 'string') return null;
  const n = data.length;
  if (n === 0 || n % 4 !== 0) return null;
  if (data.indexOf('-') >= 0 || data.indexOf('_') >= 0) return null;
  const eq = data.indexOf('=');
  let pad = 0;
  if (eq >= 0) {
    if (eq < n - 2 || (eq === n - 2 && data.charCodeAt(n - 1) !== 61)) return null;
    pad = n - eq;
  }
  const size = (n / 4) * 3 - pad;
  if (decodeTarget(size + 3).write(data, 0, 'base64') !== size) return null;
  if (canonical && pad > 0) {
    const last = ALPHABET.indexOf(data.charAt(n - pad - 1));
    if ((last & (pad === 1 ? 0b11 : 0b1111)) !== 0) return null;
  }
  return size;
}

/** Text decoded per step when checking bytes: short strings, which live and die young (cheap to collect). */
const BYTES_STEP = 48 * 1024;

/** base64Size for base64 text held as bytes: the same rules, decoded a step at a time. */
function base64BytesSize(b: Buffer, canonical: boolean): number | null {
  const n = b.length;
  if (n === 0 || n % 4 !== 0) return null;
  if (b.indexOf(0x2d) >= 0 || b.indexOf(0x5f) >= 0) return null;
  const eq = b.indexOf(0x3d);
  let pad = 0;
  if (eq >= 0) {
    if (eq < n - 2 || (eq === n - 2 && b[n - 1] !== 0x3d)) return null;
    pad = n - eq;
  }
  const size = (n / 4) * 3 - pad;
  const target = decodeTarget((BYTES_STEP / 4) * 3);
  for (let at = 0; at < n; at += BYTES_STEP) {
    const end = Math.min(n, at + BYTES_STEP);
    const want = ((end - at) / 4) * 3 - (end === n ? pad : 0);
    if (target.write(b.toString('latin1', at, end), 0, 'base64') !== want) return null;
  }
  if (canonical && pad > 0) {
    const last = ALPHABET.indexOf(String.fromCharCode(b[n - pad - 1] ?? 0));
    if ((last & (pad === 1 ? 0b11 : 0b1111)) !== 0) return null;
  }
  return size;
}

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

/** The first `count` decoded bytes of base64 text already checked by base64Size. */
export function base64Head(data: Base64Data, count: number): Buffer {
  const chars = Math.ceil(count / 3) * 4;
  const head = data instanceof Base64Bytes ? data.bytes.toString('latin1', 0, Math.min(chars, data.length)) : data.slice(0, chars);
  return Buffer.from(head, 'base64').subarray(0, count);
}
