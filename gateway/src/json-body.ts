/**
 * The gateway's JSON body parser: `JSON.parse` once, then refuse prototype poisoning by walking the
 * parsed value (an own `__proto__` key, or a `constructor` object with a `prototype`), as Fastify's
 * default (secure-json-parse with `error` for both) does — but without its two regex scans of the raw
 * text, which cost ~1 ms each on a 1.3 MB commit body. The walk visits the parsed nodes only (a commit
 * has a dozen; the image is one string).
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';

/** What Fastify's default parser answers: 400 with its codes, mapped by the error handler. */
export class JsonBodyError extends Error {
  readonly statusCode = 400;
  constructor(
    readonly code: 'FST_ERR_CTP_EMPTY_JSON_BODY' | 'FST_ERR_CTP_INVALID_JSON_BODY',
    message: string,
  ) {
    super(message);
    this.name = 'FastifyError';
  }
}

const has = (o: object, k: string): boolean => Object.prototype.hasOwnProperty.call(o, k);

/** True when the parsed value carries a prototype-poisoning key anywhere. */
export function isPoisoned(value: unknown): boolean {
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const node = stack.pop();
    if (node === null || typeof node !== 'object') continue;
    if (Array.isArray(node)) {
      for (const item of node) if (item !== null && typeof item === 'object') stack.push(item);
      continue;
    }
    const obj = node as Record<string, unknown>;
    if (has(obj, '__proto__')) return true;
    const ctor = has(obj, 'constructor') ? obj.constructor : undefined;
    if (ctor !== null && typeof ctor === 'object' && has(ctor, 'prototype')) return true;
    for (const k in obj) {
      const v = obj[k];
      if (v !== null && typeof v === 'object') stack.push(v);
    }
  }
  return false;
}

/** Parse a JSON body: empty → FST_ERR_CTP_EMPTY_JSON_BODY; bad or poisoned → FST_ERR_CTP_INVALID_JSON_BODY. */
export function parseJsonBody(text: string): unknown {
  if (text.length === 0) throw new JsonBodyError('FST_ERR_CTP_EMPTY_JSON_BODY', "Body cannot be empty when content-type is set to 'application/json'");
  let value: unknown;
  try {
    value = JSON.parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
  } catch {
    throw new JsonBodyError('FST_ERR_CTP_INVALID_JSON_BODY', "Body is not valid JSON but content-type is set to 'application/json'");
  }
  if (isPoisoned(value)) throw new JsonBodyError('FST_ERR_CTP_INVALID_JSON_BODY', "Body is not valid JSON but content-type is set to 'application/json'");
  return value;
}

/** Replace the instance's `application/json` parser (body limits stay the route's). */
export function useJsonBodyParser(app: FastifyInstance): void {
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_req: FastifyRequest, body: string | Buffer, done) => {
    try {
      done(null, parseJsonBody(typeof body === 'string' ? body : body.toString('utf8')));
    } catch (err) {
      done(err as Error, undefined);
    }
  });
}
