import fc from 'fast-check';
import Fastify from 'fastify';
import sjson from 'secure-json-parse';
import { describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { Base64Bytes } from './base64';
import { isPoisoned, JsonBodyError, LIFT_MIN_LENGTH, parseJsonBody, parseJsonBytes, useJsonBodyParser } from './json-body';

/** Fastify's default: secure-json-parse, `error` for both kinds of poisoning. */
const reference = (text: string): { ok: true; value: unknown } | { ok: false } => {
  try {
    return { ok: true, value: sjson.parse(text, { protoAction: 'error', constructorAction: 'error' }) };
  } catch {
    return { ok: false };
  }
};
const ours = (text: string): { ok: true; value: unknown } | { ok: false } => {
  try {
    return { ok: true, value: parseJsonBody(text) };
  } catch {
    return { ok: false };
  }
};

const POISON = [
  '{"__proto__":{"isAdmin":true}}',
  '{"a":{"b":[{"__proto__":{"x":1}}]}}',
  '{"\\u005f_proto__":{"x":1}}',
  '{"constructor":{"prototype":{"isAdmin":true}}}',
  '{"a":[1,{"constructor":{"prototype":{}}}]}',
  '\ufeff{"__proto__":{}}',
];

describe('parseJsonBody', () => {
  it('refuses prototype poisoning however it is spelt, as the default parser does', () => {
    for (const text of POISON) {
      expect(reference(text).ok).toBe(false);
      expect(() => parseJsonBody(text)).toThrow(expect.objectContaining({ statusCode: 400, code: 'FST_ERR_CTP_INVALID_JSON_BODY' }));
    }
    // A harmless "constructor" (no prototype inside) is data, for both.
    expect(ours('{"constructor":"x","a":{"constructor":{"name":1}}}')).toEqual(reference('{"constructor":"x","a":{"constructor":{"name":1}}}'));
  });

  it('agrees with the default parser on 5,000 generated bodies (objects with poisoning keys mixed in)', () => {
    const key = fc.oneof(fc.string(), fc.constantFrom('__proto__', 'constructor', 'prototype', '\\u005f_proto__'));
    const json = fc.letrec((tie) => ({
      v: fc.oneof({ depthSize: 'small' }, fc.jsonValue({ maxDepth: 1 }), fc.array(tie('v'), { maxLength: 3 }), fc.array(fc.tuple(key, tie('v')), { maxLength: 3 })),
    })).v;
    // Objects written by hand so __proto__ stays an ordinary key in the text.
    const text = (v: unknown): string =>
      Array.isArray(v) && v.every((e) => Array.isArray(e) && e.length === 2 && typeof e[0] === 'string')
        ? `{${(v as [string, unknown][]).map(([k, x]) => `${k.startsWith('\\u') ? `"${k}"` : JSON.stringify(k)}:${text(x)}`).join(',')}}`
        : Array.isArray(v)
          ? `[${v.map(text).join(',')}]`
          : JSON.stringify(v);
    fc.assert(
      fc.property(json, (v) => {
        const t = text(v);
        expect(ours(t)).toEqual(reference(t));
      }),
      { numRuns: 5000 },
    );
  });

  it('answers 400 through Fastify for empty, broken and poisoned bodies; parses good ones', async () => {
    const app = Fastify();
    useJsonBodyParser(app);
    app.post('/x', async (req) => ({ got: req.body }));
    const post = (payload: string) => app.inject({ method: 'POST', url: '/x', headers: { 'content-type': 'application/json; charset=utf-8' }, payload });
    expect((await post('{"a":1}')).json()).toEqual({ got: { a: 1 } });
    for (const bad of ['', '{"a":', ...POISON]) {
      const res = await post(bad);
      expect(res.statusCode).toBe(400);
      expect(res.json()).toMatchObject({ code: bad === '' ? 'FST_ERR_CTP_EMPTY_JSON_BODY' : 'FST_ERR_CTP_INVALID_JSON_BODY' });
    }
    await app.close();
  });

  it('treats a megabyte commit body through Fastify exactly as JSON.parse would', async () => {
    const app = Fastify({ bodyLimit: 4 * 1024 * 1024 });
    useJsonBodyParser(app);
    app.post('/x', async (req) => ({ got: req.body }));
    const data = randomBytes(999_000).toString('base64');
    const body = { imageId: 'a', metadata: { caption: 'Rash — left forearm ✓' }, media: { contentType: 'image/jpeg', data } };
    const res = await app.inject({ method: 'POST', url: '/x', headers: { 'content-type': 'application/json' }, payload: JSON.stringify(body) });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ got: body });
    await app.close();
  });
});

describe('parseJsonBytes (long base64 values lifted out of the bytes)', () => {
  const b64 = (bytes: number): string => randomBytes(bytes).toString('base64');
  const long = b64(LIFT_MIN_LENGTH);
  const outcome = (bytes: Buffer): { ok: true; value: unknown } | { ok: false } => {
    try {
      return { ok: true, value: parseJsonBytes(bytes) };
    } catch {
      return { ok: false };
    }
  };
  const sameAsReference = (text: string): void => {
    expect(outcome(Buffer.from(text, 'utf8'))).toEqual(reference(text));
  };

  it('gives the same value as JSON.parse where long base64 strings sit in values, arrays and at the top', () => {
    for (const text of [
      JSON.stringify({ media: { data: long }, document: { data: long.slice(0, -4) }, n: 1 }),
      JSON.stringify([long, 1, long, { a: [long] }]),
      JSON.stringify(long),
      ` \n { "a" : "${long}" \t , "b":"${long}"}\r\n`,
      `\ufeff{"a":"${long}"}`,
      // Not lifted, still parsed as JSON: a long key, a long string with escapes, long non-base64, url-safe base64.
      `{"${long}":1}`,
      JSON.stringify({ a: `${long}\n"quoted"\\` }),
      JSON.stringify({ a: 'é'.repeat(LIFT_MIN_LENGTH) }),
      JSON.stringify({ a: randomBytes(LIFT_MIN_LENGTH).toString('base64url') }),
      JSON.stringify({ a: `${long}==` }),
    ]) {
      sameAsReference(text);
    }
  });

  it('refuses what JSON.parse refuses around a long value', () => {
    for (const text of [
      `{"a":"${long}"`,
      `{"a":"${long}`,
      `{"a":"${long}",}`,
      `{"a":"${long}" "b":1}`,
      `{"a":${long}}`,
      `{a:"${long}"}`,
      `\\"${long}"`,
      `{"a":"${long}"}x`,
      `{"a":"x\u0001","b":"${long}"}`,
      `{"a":"${long.slice(0, 100)}\n${long.slice(100)}"}`,
      `{"__proto__":{"x":"${long}"}}`,
      `{"constructor":{"prototype":"${long}"}}`,
    ]) {
      expect(reference(text).ok, text.slice(0, 40)).toBe(false);
      expect(outcome(Buffer.from(text, 'utf8')).ok, text.slice(0, 40)).toBe(false);
    }
  });

  it('agrees with the default parser on 2,000 generated bodies mixing long base64 values, keys and damage', () => {
    const longValue = fc.integer({ min: LIFT_MIN_LENGTH, max: LIFT_MIN_LENGTH + 64 }).map((n) => long.slice(0, n - (n % 4)));
    const leaf = fc.oneof(fc.jsonValue({ maxDepth: 1 }), longValue, fc.constant('\u0000lifted-'));
    const value = fc.letrec((tie) => ({
      v: fc.oneof({ depthSize: 'small' }, leaf, fc.array(tie('v'), { maxLength: 3 }), fc.dictionary(fc.oneof(fc.string(), longValue), tie('v'), { maxKeys: 3 })),
    })).v;
    const damage = fc.oneof(
      fc.constant((t: string) => t),
      fc.nat().map((i) => (t: string) => t.slice(0, i % (t.length + 1))),
      fc.tuple(fc.nat(), fc.constantFrom('"', '\\', ',', '}', ']', ':', 'x', '\u0001', ' ')).map(([i, c]) => (t: string) => {
        const at = i % (t.length + 1);
        return t.slice(0, at) + c + t.slice(at);
      }),
      fc.nat().map((i) => (t: string) => {
        const at = i % Math.max(1, t.length);
        return t.slice(0, at) + t.slice(at + 1);
      }),
    );
    fc.assert(
      fc.property(value, damage, fc.boolean(), (v, hurt, spaced) => {
        sameAsReference(hurt(JSON.stringify(v, null, spaced ? 1 : undefined) ?? 'null'));
      }),
      { numRuns: 2000 },
    );
  });

  it('with keepBytes, lifts the same values as views of the body bytes: no megabyte string is made', () => {
    const text = JSON.stringify({ media: { data: long }, small: 'QUJD', list: [long.slice(4)], caption: 'é' });
    const raw = Buffer.from(text, 'utf8');
    const kept = parseJsonBytes(raw, { keepBytes: true }) as { media: { data: unknown }; small: unknown; list: unknown[] };
    expect(kept.media.data).toBeInstanceOf(Base64Bytes);
    expect(kept.list[0]).toBeInstanceOf(Base64Bytes);
    expect(kept.small).toBe('QUJD');
    const view = kept.media.data as Base64Bytes;
    expect(view.bytes.buffer).toBe(raw.buffer);
    expect(JSON.parse(JSON.stringify(kept))).toEqual(JSON.parse(text));
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.jsonValue({ maxDepth: 1 }), fc.constant(long)), { maxLength: 4 }), (v) => {
        const t = JSON.stringify({ v });
        // A generated `__proto__` key is refused as Fastify's default parser would; the rest lifts the same values.
        if (isPoisoned(JSON.parse(t))) expect(() => parseJsonBytes(Buffer.from(t), { keepBytes: true })).toThrow(JsonBodyError);
        else expect(JSON.parse(JSON.stringify(parseJsonBytes(Buffer.from(t), { keepBytes: true })))).toEqual(JSON.parse(t));
      }),
      { numRuns: 300 },
    );
  });
});

