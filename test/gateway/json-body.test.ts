/**
 * Commit bodies that are not clean JSON, sent as raw text to the real gateway (its JSON body parser, with
 * the body size cap and the prototype-poisoning guard Fastify's default has): each gets a clear coded 4xx,
 * and nothing reaches ALEX and no idempotency record is left behind.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EnrolResponse, LaunchGrant } from '../../shared/contracts/gateway';
import { startHarness, type Harness } from './helpers/harness';

let h: Harness;
let device: EnrolResponse;
let grant: LaunchGrant;

beforeAll(async () => {
  h = await startHarness();
  device = await h.enrol();
  grant = await h.launch(device);
});
afterAll(async () => {
  await h.close();
});

const createCalls = () => h.sandbox.store.counters.mediaCreateCalls + h.sandbox.store.counters.documentReferenceCreateCalls;

function postRaw(imageId: string, text: string) {
  return h.app.inject({
    method: 'POST',
    url: '/v1/commits',
    headers: { authorization: `Device ${device.deviceId}.${device.deviceSecret}`, 'idempotency-key': imageId, 'content-type': 'application/json' },
    payload: text,
  });
}

describe('commit bodies that are not clean JSON', () => {
  it('refuses empty, broken and prototype-poisoning bodies with ERR_REQUEST_INVALID, and posts nothing', async () => {
    const before = createCalls();
    const body = h.commitBody(grant, { media: true });
    const good = JSON.stringify(body);
    const cases: [string, string][] = [
      ['empty', ''],
      ['cut short', good.slice(0, -10)],
      ['not JSON', 'imageId=1'],
      ['__proto__ at the top', good.replace('{', '{"__proto__":{"isAdmin":true},')],
      ['__proto__ in metadata', good.replace('"metadata":{', `"metadata":{"__proto__":{"x":1}${Object.keys(body.metadata).length > 0 ? ',' : ''}`)],
      ['constructor.prototype', good.replace('{', '{"constructor":{"prototype":{"isAdmin":true}},')],
    ];
    for (const [name, text] of cases) {
      expect(text, name).not.toBe(good);
      const res = await postRaw(body.imageId, text);
      expect(res.statusCode, name).toBe(400);
      const err = res.json<{ error: { code: string; message: string; correlationId: string } }>().error;
      expect(err.code, name).toBe('ERR_REQUEST_INVALID');
      expect(err.message.length, name).toBeGreaterThan(10);
      expect(res.body, name).not.toMatch(/isAdmin|at .+\.ts:\d+|node_modules/);
      expect(await h.store.getIdempotency(body.imageId), name).toBeNull();
    }
    expect(createCalls()).toBe(before);
    // The same body, clean, commits.
    expect((await postRaw(body.imageId, good)).statusCode).toBe(201);
    expect(createCalls()).toBe(before + 1);
  });

  it('refuses a body over the size cap before parsing it, as too large, and posts nothing', async () => {
    const before = createCalls();
    const body = h.commitBody(grant, { media: true });
    const res = await postRaw(body.imageId, JSON.stringify({ ...body, media: { contentType: 'image/jpeg', data: 'A'.repeat(4 * 1024 * 1024) } }));
    expect(res.statusCode).toBe(413);
    expect(res.json<{ error: { code: string } }>().error.code).toBe('ERR_COMMIT_IMAGE_TOO_LARGE');
    expect(await h.store.getIdempotency(body.imageId)).toBeNull();
    expect(createCalls()).toBe(before);
  });
});
