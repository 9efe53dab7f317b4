/**
 * A FHIR resource as the UTF-8 JSON bytes ALEX receives — exactly `Buffer.from(JSON.stringify(v))` —
 * without running the megabyte-long base64 attachment through JSON escaping and UTF-8 encoding: a large
 * string that is plain base64 (nothing to escape, ASCII) is copied into the output as it is. Saves
 * ~3 ms and one 1.3 MB string per create.
 */
import { base64Size } from '../base64';

/** Strings at least this long are checked for the base64 fast path. */
const LARGE_STRING = 16 * 1024;

export function jsonBytes(value: unknown): Buffer {
  /** Text to encode as UTF-8, and (every other part) base64 strings to copy byte for byte. */
  const parts: string[] = [];
  let text = '';
  const skip = (v: unknown): boolean => v === undefined || typeof v === 'function' || typeof v === 'symbol';
  const write = (v: unknown): void => {
    if (typeof v === 'string') {
      if (v.length >= LARGE_STRING && base64Size(v) !== null) {
        parts.push(`${text}"`, v);
        text = '"';
      } else {
        text += JSON.stringify(v);
      }
      return;
    }
    if (v === null || typeof v !== 'object' || typeof (v as { toJSON?: unknown }).toJSON === 'function') {
      text += JSON.stringify(v) ?? 'null';
      return;
    }
    if (Array.isArray(v)) {
      text += '[';
      v.forEach((item, i) => {
        if (i > 0) text += ',';
        if (skip(item)) text += 'null';
        else write(item);
      });
      text += ']';
      return;
    }
    const obj = v as Record<string, unknown>;
    text += '{';
    let first = true;
    for (const k of Object.keys(obj)) {
      const item = obj[k];
      if (skip(item)) continue;
      text += `${first ? '' : ','}${JSON.stringify(k)}:`;
      first = false;
      write(item);
    }
    text += '}';
  };
  if (skip(value)) throw new TypeError('Expected a JSON value');
  write(value);
  parts.push(text);
  // One buffer of the exact size, written in place: no intermediate copies of the image.
  let size = 0;
  parts.forEach((p, i) => (size += i % 2 === 0 ? Buffer.byteLength(p, 'utf8') : p.length));
  const out = Buffer.allocUnsafe(size);
  let at = 0;
  parts.forEach((p, i) => (at += out.write(p, at, i % 2 === 0 ? 'utf8' : 'latin1')));
  return out;
}
