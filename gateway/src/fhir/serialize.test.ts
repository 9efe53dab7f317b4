import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Base64Bytes } from '../base64';
import { jsonBytes } from './serialize';

describe('jsonBytes', () => {
  it('gives exactly the bytes of JSON.stringify for any JSON value, large base64 and large escaped strings included', () => {
    const big = fc.oneof(
      fc.uint8Array({ minLength: 12_000, maxLength: 20_000 }).map((b) => Buffer.from(b).toString('base64')),
      fc.uint8Array({ minLength: 12_000, maxLength: 20_000 }).map((b) => `${Buffer.from(b).toString('base64')}"\\\n\u2028é—`),
      fc.uint8Array({ minLength: 12_000, maxLength: 20_000 }).map((b) => Buffer.from(b).toString('base64url')),
    );
    const value = fc.letrec((tie) => ({
      node: fc.oneof(
        { depthSize: 'small' },
        fc.jsonValue(),
        big,
        fc.constant(undefined),
        fc.array(tie('node'), { maxLength: 4 }),
        fc.dictionary(fc.string(), tie('node'), { maxKeys: 4 }),
      ),
    })).node;
    fc.assert(
      fc.property(value, (v) => {
        if (v === undefined) return;
        expect(jsonBytes(v).equals(Buffer.from(JSON.stringify(v)))).toBe(true);
      }),
      { numRuns: 500 },
    );
  });

  it('keeps key order, drops undefined fields, writes numbers and dates as JSON does', () => {
    const data = Buffer.alloc(30_000, 3).toString('base64');
    const v = { resourceType: 'Media', z: 1, a: undefined, n: [1.5, -0, NaN, undefined], when: new Date(0), content: { title: 'Left forearm — 23 Nov', data } };
    expect(jsonBytes(v).toString()).toBe(JSON.stringify(v));
  });
});

describe('jsonBytes with base64 held as bytes', () => {
  it('writes a Base64Bytes exactly as JSON.stringify writes the same text', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 30_000 }), fc.jsonValue(), (img, other) => {
        const text = Buffer.from(img).toString('base64');
        const v = { a: other, content: { data: new Base64Bytes(Buffer.from(text, 'latin1')), title: 'é "x"' }, list: [new Base64Bytes(Buffer.from(text, 'latin1'))] };
        expect(jsonBytes(v).toString('utf8')).toBe(JSON.stringify({ a: other, content: { data: text, title: 'é "x"' }, list: [text] }));
      }),
      { numRuns: 300 },
    );
  });
});

