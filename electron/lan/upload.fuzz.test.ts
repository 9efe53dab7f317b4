/**
 * U1: random multipart bodies and headers against the real upload route (fastify.inject on the real app).
 * Every answer is a documented status, nothing crashes or rejects unhandled, no error body leaks a stack or a
 * path, and the session folders are empty after every request (accepted files are taken by the sink).
 */
import { randomUUID } from 'node:crypto';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BOUNDARY, joinPhone, startHarness, type Harness } from './testing';

const ALLOWED = new Set([200, 400, 401, 403, 404, 409, 410, 413, 415, 421, 429]);
const RUNS = 10_000;

const MAGIC = [
  Buffer.from([0xff, 0xd8, 0xff, 0xe0]),
  Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
  Buffer.from('RIFF\x00\x00\x00\x00WEBP', 'latin1'),
  Buffer.from('II*\x00', 'latin1'),
  Buffer.from('%PDF-1.4', 'latin1'),
  Buffer.from('\x00\x00\x00\x18ftypheic', 'latin1'),
  Buffer.from('<svg onload=alert(1)>', 'latin1'),
  Buffer.alloc(0),
];

let h: Harness;
let credential: string;
let otherCredential: string;
const unhandled: unknown[] = [];
const onUnhandled = (err: unknown): void => {
  unhandled.push(err);
};

beforeAll(async () => {
  process.on('unhandledRejection', onUnhandled);
  process.on('uncaughtException', onUnhandled);
  h = await startHarness({ limits: { maxUploadFileBytes: 64 * 1024, authFailuresPerMinute: 1_000_000, uploadsPerPhonePerMinute: 1_000_000 } });
  credential = (await joinPhone(h)).credential;
  const ended = await joinPhone(h);
  otherCredential = ended.credential;
  await h.server.endSession(ended.sessionId, 'patient-changed');
});
afterAll(async () => {
  process.off('unhandledRejection', onUnhandled);
  process.off('uncaughtException', onUnhandled);
  await h.cleanup();
});

const text = fc.oneof(fc.string({ maxLength: 40 }), fc.constantFrom('', '../../etc/passwd', '..\\..\\win.ini', 'a\r\nX-Evil: 1', '\u0000', 'é'.repeat(300), '__proto__', 'constructor'));
const fieldName = fc.oneof(fc.constantFrom('clientUploadId', 'bodySiteCode', 'laterality', 'file', 'view', '__proto__'), fc.string({ maxLength: 20 }));
const fieldValue = fc.oneof(
  fc.constant(randomUUID()),
  fc.uuid().map((u) => u.toLowerCase()),
  fc.constantFrom('14975008', 'left', 'right', 'bilateral', 'x'.repeat(300)),
  text,
);
const fileData = fc.tuple(fc.constantFrom(...MAGIC), fc.uint8Array({ maxLength: 2048 }), fc.constantFrom(0, 0, 0, 70 * 1024)).map(([magic, rest, pad]) =>
  Buffer.concat([magic, Buffer.from(rest), Buffer.alloc(pad, 1)]),
);
const part = fc.oneof(
  fc.record({ kind: fc.constant('field' as const), name: fieldName, value: fieldValue }),
  fc.record({ kind: fc.constant('file' as const), name: fc.oneof(fc.constant('file'), fieldName), filename: text, contentType: fc.constantFrom('image/jpeg', 'text/html', '', 'application/octet-stream'), data: fileData }),
);

function encode(parts: { kind: 'field' | 'file'; name: string; value?: string; filename?: string; contentType?: string; data?: Buffer }[], boundary: string): Buffer {
  const out: Buffer[] = [];
  for (const p of parts) {
    if (p.kind === 'field') out.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${p.name}"\r\n\r\n${p.value ?? ''}\r\n`));
    else {
      out.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${p.name}"; filename="${p.filename ?? ''}"\r\nContent-Type: ${p.contentType ?? ''}\r\n\r\n`), p.data ?? Buffer.alloc(0), Buffer.from('\r\n'));
    }
  }
  out.push(Buffer.from(`--${boundary}--\r\n`));
  return Buffer.concat(out);
}

const randomRequest = fc.record({
  method: fc.constantFrom('POST', 'POST', 'POST', 'GET', 'PUT'),
  url: fc.constantFrom('/api/images/v1/upload', '/api/images/v1/upload', '/api/images/v1/upload', '/api/images/v1/session', '/api/images/v1/session/exchange', '/m/', '/m/assets/../x', '/x'),
  host: fc.constantFrom('good', 'good', 'good', 'evil.example', '', '127.0.0.1'),
  origin: fc.constantFrom(undefined, undefined, 'good', 'http://evil.example', 'null'),
  secFetchSite: fc.constantFrom(undefined, undefined, 'same-origin', 'cross-site', 'none'),
  auth: fc.constantFrom('good', 'good', 'good', 'ended', 'none', 'garbage', 'Basic abc'),
  contentType: fc.constantFrom('multipart', 'multipart', 'multipart', 'multipart-no-boundary', 'application/json', 'text/plain', 'none'),
  parts: fc.array(part, { maxLength: 8 }),
  mutation: fc.oneof(fc.constant({ kind: 'none' as const }), fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }), fc.record({ kind: fc.constant('splice' as const), at: fc.nat(), junk: fc.uint8Array({ maxLength: 64 }) })),
});

/** Mostly well-formed uploads with one thing possibly wrong, so the fuzz reaches the file handling and the sink. */
const nearValidRequest = fc.record({
  method: fc.constant('POST'),
  url: fc.constant('/api/images/v1/upload'),
  host: fc.constant('good'),
  origin: fc.constantFrom(undefined, 'good'),
  secFetchSite: fc.constantFrom(undefined, 'same-origin'),
  auth: fc.constantFrom('good', 'good', 'good', 'good', 'ended'),
  contentType: fc.constant('multipart'),
  parts: fc
    .tuple(
      fc.uuid({ version: 4 }).map((u) => u.toLowerCase()),
      fc.option(fc.constantFrom('14975008', '85562004', 'abc'), { nil: undefined }),
      fc.option(fc.constantFrom('left', 'right', 'bilateral', 'middle'), { nil: undefined }),
      fileData,
      fc.array(part, { maxLength: 2 }),
    )
    .map(([id, site, lat, data, extra]) => [
      { kind: 'field' as const, name: 'clientUploadId', value: id },
      ...(site === undefined ? [] : [{ kind: 'field' as const, name: 'bodySiteCode', value: site }]),
      ...(lat === undefined ? [] : [{ kind: 'field' as const, name: 'laterality', value: lat }]),
      { kind: 'file' as const, name: 'file', filename: 'IMG.jpg', contentType: 'image/jpeg', data },
      ...extra,
    ]),
  mutation: fc.oneof(
    { weight: 4, arbitrary: fc.constant({ kind: 'none' as const }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('splice' as const), at: fc.nat(), junk: fc.uint8Array({ maxLength: 64 }) }) },
  ),
});

const request = fc.oneof(randomRequest, nearValidRequest);

/** Heap in use after a full collection (the flag is set at runtime; the test runner is not started with it). */
function heapAfterGc(): number {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
  return process.memoryUsage().heapUsed;
}

describe('upload route fuzz (U1)', () => {
  it(`${RUNS} random requests → documented statuses only, no crash, no leak`, async () => {
    const statuses = new Map<number, number>();
    const rssBefore = process.memoryUsage().rss;
    const heapBefore = heapAfterGc();
    const goodHost = `127.0.0.1:${h.port}`;
    await fc.assert(
      fc.asyncProperty(request, async (r) => {
        let body = encode(r.parts, BOUNDARY);
        if (r.mutation.kind === 'truncate') body = body.subarray(0, r.mutation.at % (body.length + 1));
        if (r.mutation.kind === 'splice') {
          const at = r.mutation.at % (body.length + 1);
          body = Buffer.concat([body.subarray(0, at), Buffer.from(r.mutation.junk), body.subarray(at)]);
        }
        const headers: Record<string, string> = {};
        headers.host = r.host === 'good' ? goodHost : r.host;
        if (r.origin !== undefined) headers.origin = r.origin === 'good' ? `http://${goodHost}` : r.origin;
        if (r.secFetchSite !== undefined) headers['sec-fetch-site'] = r.secFetchSite;
        if (r.auth === 'good') headers.authorization = `Bearer ${credential}`;
        if (r.auth === 'ended') headers.authorization = `Bearer ${otherCredential}`;
        if (r.auth === 'garbage') headers.authorization = 'Bearer ' + 'Z'.repeat(43);
        if (r.auth === 'Basic abc') headers.authorization = 'Basic abc';
        if (r.contentType === 'multipart') headers['content-type'] = `multipart/form-data; boundary=${BOUNDARY}`;
        if (r.contentType === 'multipart-no-boundary') headers['content-type'] = 'multipart/form-data';
        if (r.contentType === 'application/json' || r.contentType === 'text/plain') headers['content-type'] = r.contentType;
        const res = await h.server.app.inject({ method: r.method as 'POST', url: r.url, headers, payload: r.method === 'GET' ? undefined : body });
        statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1);
        expect(ALLOWED.has(res.statusCode), `status ${res.statusCode}: ${res.body}`).toBe(true);
        expect(res.body).not.toMatch(/\n\s+at |node_modules|\/tmp\//);
      }),
      { numRuns: RUNS, seed: 20260105 },
    );
    const rssGrowthMb = (process.memoryUsage().rss - rssBefore) / 1e6;
    const heapGrowthMb = (heapAfterGc() - heapBefore) / 1e6;
    console.log(
      'fuzz statuses',
      Object.fromEntries([...statuses].sort((a, b) => a[0] - b[0])),
      `accepted by sink ${h.sink.files.length}`,
      `RSS growth ${rssGrowthMb.toFixed(1)} MB, heap growth after GC ${heapGrowthMb.toFixed(1)} MB`,
    );
    expect(unhandled).toEqual([]);
    expect(h.sink.files.length).toBeGreaterThan(100); // the fuzz reaches the sink, not only the guards
    // Retained memory (a leak) is the bar; RSS also holds the fuzzer's own garbage and is only reported.
    expect(heapGrowthMb).toBeLessThan(50);
  }, 300_000);
});
