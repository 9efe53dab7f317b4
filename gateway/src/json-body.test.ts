import fc from 'fast-check';
import Fastify from 'fastify';
import sjson from 'secure-json-parse';
import { describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { Base64Bytes } from './base64';
import { isPoisoned, JsonBodyError, LIFT_MIN_LENGTH, parseJsonBody, parseJsonBytes, parseJsonChunks, useJsonBodyParser } from './json-body';

/** The body cut into chunks: every `size` bytes, or on both sides of every quote and backslash (where the parser looks across chunks). */
function cut(b: Buffer, how: number | 'at-quotes'): Buffer[] {
  const points = new Set<number>();
  if (how === 'at-quotes') {
    b.forEach((c, i) => {
      if (c === 0x22 || c === 0x5c) points.add(i).add(i + 1);
    });
  } else {
    for (let i = how; i < b.length; i += how) points.add(i);
  }
  const sorted = [0, ...[...points].filter((p) => p > 0 && p < b.length).sort((x, y) => x - y), b.length];
  return sorted.slice(1).map((end, i) => b.subarray(sorted[i], end));
}

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

describe('reading the body (useJsonBodyParser) as Fastify does', () => {
  /** Each case against Fastify's own parser and ours, same limit: the same status and error code. */
  it('answers as the default for over-limit (declared and streamed), wrong Content-Length and a broken stream', async () => {
    const make = async (ours: boolean) => {
      const app = Fastify({ bodyLimit: 64 * 1024 });
      if (ours) useJsonBodyParser(app);
      app.post('/x', async (req) => ({ got: req.body }));
      app.post('/small', { bodyLimit: 100 }, async (req) => ({ got: req.body }));
      await app.ready();
      return app;
    };
    const big = JSON.stringify({ a: randomBytes(60 * 1024).toString('base64') });
    const cases: { name: string; url?: string; payload: () => string | Readable; headers?: Record<string, string> }[] = [
      { name: 'fits', payload: () => '{"a":1}' },
      { name: 'over the server limit, declared', payload: () => big },
      { name: 'over the server limit, streamed without a length', payload: () => Readable.from([Buffer.from(big.slice(0, 50_000)), Buffer.from(big.slice(50_000))]) },
      { name: 'over the route limit', url: '/small', payload: () => JSON.stringify({ a: 'x'.repeat(200) }) },
      { name: 'streamed, fits', payload: () => Readable.from([Buffer.from('{"a":'), Buffer.from('[1,2]}')]) },
      { name: 'Content-Length longer than the body', payload: () => '{"a":1}', headers: { 'content-length': '20' } },
      {
        name: 'stream fails midway',
        payload: () =>
          new Readable({
            read() {
              this.push('{"a":');
              this.destroy(new Error('socket hang up'));
            },
          }),
      },
    ];
    const [theirs, ours] = await Promise.all([make(false), make(true)]);
    for (const c of cases) {
      const answer = async (app: typeof theirs) => {
        const res = await app.inject({ method: 'POST', url: c.url ?? '/x', headers: { 'content-type': 'application/json', ...c.headers }, payload: c.payload() });
        return { status: res.statusCode, code: res.statusCode === 200 ? null : (res.json() as { code?: string }).code, body: res.statusCode === 200 ? res.json() : null };
      };
      expect(await answer(ours), c.name).toEqual(await answer(theirs));
    }
    const limited = await answer413(ours, big);
    expect(limited).toEqual({ status: 413, code: 'FST_ERR_CTP_BODY_TOO_LARGE' });
    await Promise.all([theirs.close(), ours.close()]);
  });
});

async function answer413(app: ReturnType<typeof Fastify>, payload: string): Promise<{ status: number; code: string | undefined }> {
  const res = await app.inject({ method: 'POST', url: '/x', headers: { 'content-type': 'application/json' }, payload });
  return { status: res.statusCode, code: (res.json() as { code?: string }).code };
}

describe('parseJsonBytes (long base64 values lifted out of the bytes)', () => {
  const b64 = (bytes: number): string => randomBytes(bytes).toString('base64');
  const long = b64(LIFT_MIN_LENGTH);
  const attempt = (parse: () => unknown): { ok: true; value: unknown } | { ok: false } => {
    try {
      return { ok: true, value: parse() };
    } catch {
      return { ok: false };
    }
  };
  /** parseJsonBytes' outcome, held to be the same when the body comes in chunks cut anywhere. */
  const outcome = (bytes: Buffer): { ok: true; value: unknown } | { ok: false } => {
    const whole = attempt(() => parseJsonBytes(bytes));
    for (const how of [1000, 4096, 'at-quotes'] as const) expect(attempt(() => parseJsonChunks(cut(bytes, how)))).toEqual(whole);
    return whole;
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
    expect(view.parts.every((p) => p.buffer === raw.buffer)).toBe(true);
    // In chunks: the lifted value is views of those chunks, in order, and the same text.
    for (const how of [1000, 'at-quotes'] as const) {
      const chunks = cut(raw, how);
      const inChunks = parseJsonChunks(chunks, { keepBytes: true }) as { media: { data: Base64Bytes }; list: unknown[] };
      expect(inChunks.media.data).toBeInstanceOf(Base64Bytes);
      expect(inChunks.list[0]).toBeInstanceOf(Base64Bytes);
      if (how === 1000) expect(inChunks.media.data.parts.length).toBeGreaterThan(1);
      expect(inChunks.media.data.parts.every((p) => chunks.some((c) => c.buffer === p.buffer))).toBe(true);
      expect(inChunks.media.data.toString()).toBe(long);
    }
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

