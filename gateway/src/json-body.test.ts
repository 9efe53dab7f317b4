import fc from 'fast-check';
import Fastify from 'fastify';
import sjson from 'secure-json-parse';
import { describe, expect, it } from 'vitest';
import { parseJsonBody, useJsonBodyParser } from './json-body';

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
});
