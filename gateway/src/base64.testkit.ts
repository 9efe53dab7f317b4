/** Test data for base64 checks: mostly valid base64 with a few characters from anywhere. */
import fc from 'fast-check';

/** Valid base64 of up to `maxBytes` bytes, then up to 3 edits: whitespace, URL alphabet, padding, non-ASCII. */
export function nearlyBase64(maxBytes = 64): fc.Arbitrary<string> {
  return fc
    .tuple(
      fc.uint8Array({ minLength: 0, maxLength: maxBytes }),
      fc.array(fc.tuple(fc.nat(), fc.boolean(), fc.constantFrom('-', '_', '=', ' ', '\n', '.', '*', '\u0000', 'é', '\u0100', '\ud83d', 'A', '+', '/', '==')), { maxLength: 3 }),
    )
    .map(([bytes, edits]) => {
      let s = Buffer.from(bytes).toString('base64');
      for (const [at, replace, ch] of edits) {
        const i = s.length === 0 ? 0 : at % s.length;
        s = replace ? s.slice(0, i) + ch + s.slice(i + 1) : s.slice(0, i) + ch + s.slice(i);
      }
      return s;
    });
}
