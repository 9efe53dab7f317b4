/**
 * Standard base64 checks for megabyte-sized attachments, with no regular expression (a regex over
 * 1.3 MB costs ~10 ms).
 * - A string: one native decode pass (~1 ms). Node's decoder skips characters outside the alphabet and
 *   accepts the url-safe ones, so those and misplaced padding are refused first; then every other
 *   character was in the alphabet exactly when the decoded length is the one the text's length promises.
 * - Bytes (a commit's image, see Base64Bytes): one pass over the bytes, two bytes per table look-up
 *   (~1 ms for 1.3 MB), allocating nothing. Decoding the bytes as text would make a megabyte of
 *   short-lived strings per check, and at ~30 commits/s that kept V8 scavenging every few milliseconds.
 * A Base64Bytes is checked once; whether it is canonical is then a look at its last characters.
 */
import { Chunks } from './chunks';

/**
 * Base64 text kept as the bytes it arrived in (ASCII). A commit's image is lifted out of the request body
 * this way (see ../json-body) and reaches ALEX's request bytes without ever becoming a JavaScript string:
 * a megabyte external string per commit is what drives V8 into a full garbage collection every few commits.
 * Hashing or copying these bytes gives exactly what the same text as a string would.
 */
export class Base64Bytes {
  /** The plain base64Size of these bytes once checked (a commit asks at several steps; the bytes never change). */
  checkedSize: number | null | undefined = undefined;
  /** The text's bytes in order: the pieces of the body it arrived in, never joined (or one buffer). */
  readonly bytes: Chunks;

  constructor(bytes: Buffer | readonly Buffer[]) {
    this.bytes = new Chunks(Buffer.isBuffer(bytes) ? [bytes] : bytes.filter((p) => p.length > 0));
  }

  get parts(): readonly Buffer[] {
    return this.bytes.chunks;
  }

  get length(): number {
    return this.bytes.length;
  }

  /** Writes the bytes into `out` at `at`; returns how many (all of them). */
  copyTo(out: Buffer, at: number): number {
    let n = 0;
    for (const p of this.parts) n += p.copy(out, at + n);
    return n;
  }

  /** The text as a string (slow paths only: logging, tests). */
  toString(): string {
    const [only] = this.parts;
    return this.parts.length === 1 && only ? only.toString('latin1') : Buffer.concat(this.parts, this.length).toString('latin1');
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
    if (data.checkedSize === undefined) data.checkedSize = base64BytesSize(data);
    const size = data.checkedSize;
    if (size === null || !canonical) return size;
    const pad = (data.length / 4) * 3 - size;
    return unusedBitsZero(data.bytes.at(data.length - pad - 1) ?? 0, pad) ? size : null;
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
  return canonical && !unusedBitsZero(data.charCodeAt(n - pad - 1), pad) ? null : size;
}

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
/** 1 for each byte that is a character of the standard alphabet. */
const IN_ALPHABET = new Uint8Array(256);
for (let i = 0; i < ALPHABET.length; i++) IN_ALPHABET[ALPHABET.charCodeAt(i)] = 1;
/** 1 for each pair of bytes (read as one 16-bit number, either byte order) that are both in the alphabet. */
const PAIR_IN_ALPHABET = new Uint8Array(65536);
for (let i = 0; i < 65536; i++) PAIR_IN_ALPHABET[i] = (IN_ALPHABET[i & 0xff] ?? 0) & (IN_ALPHABET[i >> 8] ?? 0);

/** Whether every byte of `b` is in the alphabet: two bytes per look-up, nothing allocated (~1 ms for 1.3 MB). */
export function allInAlphabet(b: Uint8Array): boolean {
  if (b.length === 0) return true;
  let ok = 1;
  let i = 0;
  if (b.byteOffset % 2 === 1) ok &= IN_ALPHABET[b[i++] ?? 0] ?? 0;
  const pairs = (b.length - i) >> 1;
  const u = new Uint16Array(b.buffer, b.byteOffset + i, pairs);
  let j = 0;
  for (; j + 4 <= pairs; j += 4) ok &= (PAIR_IN_ALPHABET[u[j] ?? 0] ?? 0) & (PAIR_IN_ALPHABET[u[j + 1] ?? 0] ?? 0) & (PAIR_IN_ALPHABET[u[j + 2] ?? 0] ?? 0) & (PAIR_IN_ALPHABET[u[j + 3] ?? 0] ?? 0);
  for (; j < pairs; j++) ok &= PAIR_IN_ALPHABET[u[j] ?? 0] ?? 0;
  for (let k = i + pairs * 2; k < b.length; k++) ok &= IN_ALPHABET[b[k] ?? 0] ?? 0;
  return ok === 1;
}

/**
 * The plain base64Size of text held as bytes: the same rules, checked on the bytes themselves. Decoding
 * them as text instead makes a megabyte of short-lived strings per check, which kept V8 collecting
 * garbage every few commits.
 */
function base64BytesSize(b: Base64Bytes): number | null {
  const n = b.length;
  if (n === 0 || n % 4 !== 0) return null;
  const pad = b.bytes.at(n - 1) === 0x3d ? (b.bytes.at(n - 2) === 0x3d ? 2 : 1) : 0;
  // Every part in the alphabet, the padding at the end left out.
  let left = n - pad;
  for (const p of b.parts) {
    if (left <= 0) break;
    if (!allInAlphabet(left < p.length ? p.subarray(0, left) : p)) return null;
    left -= p.length;
  }
  return (n / 4) * 3 - pad;
}

/** Canonical: the bits of the last character before the padding that the padding leaves unused are zero. */
function unusedBitsZero(lastBeforePad: number, pad: number): boolean {
  return pad === 0 || (ALPHABET.indexOf(String.fromCharCode(lastBeforePad)) & (pad === 1 ? 0b11 : 0b1111)) === 0;
}

/** The first `count` decoded bytes of base64 text already checked by base64Size. */
export function base64Head(data: Base64Data, count: number): Buffer {
  const chars = Math.ceil(count / 3) * 4;
  const head = data instanceof Base64Bytes ? data.bytes.join(0, Math.min(chars, data.length)).toString('latin1') : data.slice(0, chars);
  return Buffer.from(head, 'base64').subarray(0, count);
}

