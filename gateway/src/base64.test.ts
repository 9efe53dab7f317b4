import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { base64Head, base64Size } from './base64';
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
