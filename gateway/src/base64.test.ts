import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { allInAlphabet, Base64Bytes, base64Head, base64Size } from './base64';
import { nearlyBase64 as nearlyBase64Text } from './base64.testkit';

/** The reference the fast check must agree with: the strict regex and, for canonical, a re-encode. */
function reference(data: string, canonical: boolean): number | null {
  if (data.length === 0 || data.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(data)) return null;
  const bytes = Buffer.from(data, 'base64');
  if (canonical && bytes.toString('base64') !== data) return null;
  return bytes.length;
}

const nearlyBase64 = nearlyBase64Text();

describe('base64Size', () => {
  it('agrees with the strict regex + re-encode reference on 20,000 near-base64 strings', () => {
    fc.assert(
      fc.property(nearlyBase64, fc.boolean(), (s, canonical) => {
        expect(base64Size(s, canonical)).toBe(reference(s, canonical));
      }),
      { numRuns: 20_000 },
    );
  });

  it('refuses url-safe, whitespace, inner padding, wrong length and non-canonical tails; accepts real images', () => {
    for (const bad of ['', 'QQ', 'QQ=', 'QQ-_', 'QU JD', 'QQ==QQ==', 'Q===', 'QUJD\n', 'QUJ\u00e9']) expect(base64Size(bad)).toBeNull();
    expect(base64Size('QR==')).toBe(1);
    expect(base64Size('QR==', true)).toBeNull();
    expect(base64Size('QQ==', true)).toBe(1);
    expect(base64Size('QUI=', true)).toBe(2);
    expect(base64Size('QUJ=', true)).toBeNull();
    const big = Buffer.alloc(999_000, 7);
    big[0] = 0xff;
    expect(base64Size(big.toString('base64'), true)).toBe(999_000);
    expect(base64Head(big.toString('base64'), 3)).toEqual(Buffer.from([0xff, 7, 7]));
    expect(base64Size(`${big.toString('base64').slice(0, -4)}A-==`)).toBeNull();
  });
});

describe('base64Size on bytes (Base64Bytes)', () => {
  it('agrees with the reference on 20,000 near-base64 texts given as bytes', () => {
    fc.assert(
      fc.property(nearlyBase64, fc.boolean(), (s, canonical) => {
        const bytes = Buffer.from(s, 'utf8');
        expect(base64Size(new Base64Bytes(bytes), canonical)).toBe(reference(bytes.toString('latin1'), canonical));
      }),
      { numRuns: 20_000 },
    );
  });

  it('agrees at any offset in a larger body, asked plain and then canonical of the same bytes', () => {
    fc.assert(
      fc.property(nearlyBase64, fc.nat({ max: 7 }), (s, offset) => {
        const body = Buffer.concat([Buffer.alloc(offset, 0x22), Buffer.from(s, 'utf8'), Buffer.from('"}')]);
        const view = new Base64Bytes(body.subarray(offset, body.length - 2));
        const text = view.toString();
        expect(base64Size(view)).toBe(reference(text, false));
        expect(base64Size(view, true)).toBe(reference(text, true));
      }),
      { numRuns: 20_000 },
    );
  });

  it('gives the same answers when the text is held in pieces cut anywhere (a body read in chunks)', () => {
    fc.assert(
      fc.property(nearlyBase64, fc.array(fc.nat(), { maxLength: 6 }), fc.boolean(), (s, cuts, canonical) => {
        const bytes = Buffer.from(s, 'utf8');
        const at = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
        const parts = [0, ...at].map((from, i) => bytes.subarray(from, at[i] ?? bytes.length));
        const pieces = new Base64Bytes(parts);
        expect(pieces.length).toBe(bytes.length);
        expect(pieces.toString()).toBe(bytes.toString('latin1'));
        expect(base64Size(pieces, canonical)).toBe(reference(bytes.toString('latin1'), canonical));
        const out = Buffer.alloc(bytes.length + 2);
        expect(pieces.copyTo(out, 1)).toBe(bytes.length);
        expect(out.subarray(1, -1)).toEqual(bytes);
        if (bytes.length >= 8 && base64Size(pieces) !== null) expect(base64Head(pieces, 4)).toEqual(base64Head(bytes.toString('latin1'), 4));
      }),
      { numRuns: 10_000 },
    );
  });

  it('checks every step of a megabyte: a bad character anywhere, padding at the end only, heads as for strings', () => {
    const big = Buffer.alloc(999_000, 7);
    big[0] = 0xff;
    const text = big.toString('base64');
    const asBytes = (t: string) => new Base64Bytes(Buffer.from(t, 'latin1'));
    expect(base64Size(asBytes(text), true)).toBe(999_000);
    expect(base64Head(asBytes(text), 3)).toEqual(Buffer.from([0xff, 7, 7]));
    for (const at of [0, 49_151, 49_152, 700_001, text.length - 5]) {
      for (const ch of ['!', ' ', '\u00e9', '-', '=']) {
        const bad = text.slice(0, at) + ch + text.slice(at + 1);
        expect(base64Size(asBytes(bad)), `${JSON.stringify(ch)} at ${at}`).toBe(reference(bad, false));
      }
    }
    // Lengths that end exactly on and just after a step, with one and two padding characters.
    for (const n of [36_864, 36_865, 36_866, 73_728, 73_729]) {
      const t = Buffer.alloc(n, 9).toString('base64');
      expect(base64Size(asBytes(t), true)).toBe(n);
      expect(base64Size(asBytes(t), true)).toBe(base64Size(t, true));
    }
  });
});


describe('the alphabet check on bytes', () => {
  const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
  const inAlphabet = (c: number): boolean => ALPHABET.includes(String.fromCharCode(c));

  it('judges every byte value at every position of a short run, at odd and even offsets, and in a long one', () => {
    for (const [length, positions] of [
      [37, Array.from({ length: 37 }, (_, i) => i)],
      [256 * 1024 + 21, [0, 256 * 1024 - 1, 256 * 1024, 256 * 1024 + 15, 256 * 1024 + 20]],
    ] as const) {
      for (const offset of [0, 1]) {
        const b = Buffer.alloc(length + offset, 0x41).subarray(offset);
        expect(allInAlphabet(b)).toBe(true);
        for (const at of positions) {
          for (let c = 0; c < 256; c++) {
            b[at] = c;
            expect(allInAlphabet(b), `byte ${c} at ${at} of ${length}, offset ${offset}`).toBe(inAlphabet(c));
          }
          b[at] = 0x41;
        }
      }
    }
    expect(allInAlphabet(Buffer.alloc(0))).toBe(true);
  });
});
