import { createHash } from 'node:crypto';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { buildSandboxApp, type SandboxApp } from './app';
import { startSandbox } from './index';
import { accessToken, documentReferenceBody, fhir, makeAttachments, mediaBody, nhiQuery } from './test-support';
import type { RunningSandbox } from './types';

let app: SandboxApp | null = null;
let sandbox: RunningSandbox | null = null;
afterEach(async () => {
  await app?.close();
  await sandbox?.close();
  app = null;
  sandbox = null;
});

describe('buildSandboxApp (in-process)', () => {
  it('serves the same sandbox through inject(), with the handle on app.sandbox', async () => {
    app = buildSandboxApp({ facilities: ['F11111-A'] });
    const { credentials, tokenPath } = app.sandbox;
    const token = await app.inject({
      method: 'POST',
      url: tokenPath,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: new URLSearchParams({ grant_type: 'client_credentials', client_id: credentials.clientId, client_secret: credentials.clientSecret, scope: credentials.scope }).toString(),
    });
    expect(token.statusCode).toBe(200);
    const accessToken = (token.json() as { access_token: string }).access_token;
    const res = await app.inject({ method: 'GET', url: '/FHIR/Location', headers: { authorization: `Bearer ${accessToken}`, 'mt-facilityid': 'F11111-A' } });
    expect(res.statusCode).toBe(200);
    expect(app.sandbox.facilities).toEqual(['F11111-A']);
    expect((await app.inject({ method: 'GET', url: '/FHIR/Location', headers: { authorization: `Bearer ${accessToken}`, 'mt-facilityid': 'F2N060-E' } })).statusCode).toBe(403);
  });

  it('refuses credentials whose scope is not api://…/.default', () => {
    expect(() => buildSandboxApp({ credentials: { clientId: 'a', clientSecret: 'b', scope: 'https://x/.default' } })).toThrow(expect.objectContaining({ code: 'ERR_REQUEST_INVALID', detail: expect.stringMatching(/scope/) }));
  });

  it('refuses a bad launch request from code with ERR_REQUEST_INVALID', () => {
    app = buildSandboxApp();
    expect(() => app!.sandbox.issueLaunch({ patientId: null, facilityCode: '' })).toThrow(expect.objectContaining({ code: 'ERR_REQUEST_INVALID' }));
    expect(() => app!.sandbox.issueLaunch({ patientId: null, facilityCode: 'F2N060-E', createdTime: new Date('nope') })).toThrow(
      expect.objectContaining({ code: 'ERR_REQUEST_INVALID' }),
    );
  });
});

describe('HTTP edges', () => {
  it('answers unknown routes in the API Management shape, without needing a token', async () => {
    sandbox = await startSandbox();
    for (const p of ['/FHIR/Observation', '/nothing']) {
      const res = await fetch(`${sandbox.url}${p}`);
      expect(res.status).toBe(404);
      expect(await res.json()).toEqual({ statusCode: 404, message: 'Resource not found' });
    }
  });

  it('refuses a non-JSON content type with 415 and a body over 16 MB with 413, storing nothing', async () => {
    sandbox = await startSandbox();
    const token = await accessToken(sandbox);
    const { jpeg } = await makeAttachments();
    const text = await fhir(sandbox, '/Media', { token, method: 'POST', body: JSON.stringify(mediaBody(sandbox.patients[0]!.id, jpeg)), headers: { 'content-type': 'text/plain' } });
    expect(text.status).toBe(415);
    expect(((await text.json()) as { resourceType: string }).resourceType).toBe('OperationOutcome');
    const huge = await fhir(sandbox, '/Media', { token, method: 'POST', body: `{"pad":"${'A'.repeat(17 * 1024 * 1024)}"}` });
    expect(huge.status).toBe(413);
    expect(((await huge.json()) as { issue: { code: string }[] }).issue[0]?.code).toBe('too-long');
    expect(sandbox.store.listMedia()).toHaveLength(0);
  });

  it('strict: refuses a create sent as application/json with 415 (only application/fhir+json is documented); accepts it with jsonContentType assumed', async () => {
    sandbox = await startSandbox();
    const token = await accessToken(sandbox);
    const { jpeg } = await makeAttachments();
    const refused = await fhir(sandbox, '/Media', { token, method: 'POST', body: mediaBody(sandbox.patients[0]!.id, jpeg), headers: { 'content-type': 'application/json' } });
    expect(refused.status).toBe(415);
    expect(((await refused.json()) as { resourceType: string }).resourceType).toBe('OperationOutcome');
    expect(sandbox.store.listMedia()).toHaveLength(0);
    sandbox.assumptions.set({ jsonContentType: true });
    const res = await fhir(sandbox, '/Media', { token, method: 'POST', body: mediaBody(sandbox.patients[0]!.id, jpeg), headers: { 'content-type': 'application/json' } });
    expect(res.status).toBe(201);
  });

  it('reads a body with non-ASCII text as UTF-8, and the same text back (a plain ASCII body takes a faster path)', async () => {
    sandbox = await startSandbox({ assumptions: { mediaReadById: true } });
    const token = await accessToken(sandbox);
    const { jpeg } = await makeAttachments();
    const patientId = sandbox.patients[0]!.id;
    for (const [identifier, title] of [
      ['utf8-title', 'Wāhine — left forearm, é ü 😀'],
      ['ascii-title', 'Left forearm, close-up'],
    ] as const) {
      const body = mediaBody(patientId, jpeg, identifier);
      (body.content as Record<string, unknown>).title = title;
      const created = await fhir(sandbox, '/Media', { token, method: 'POST', body });
      expect(created.status).toBe(201);
      const { id } = (await created.json()) as { id: string };
      const read = (await (await fhir(sandbox, `/Media/${id}`, { token })).json()) as { content: { title: string } };
      expect(read.content.title).toBe(title);
    }
  });
});

describe('logs', () => {
  it('hold no NHI, name, token, launch pair or image bytes, even at trace level and on errors', async () => {
    let logged = '';
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        logged += chunk.toString();
        done();
      },
    });
    sandbox = await startSandbox({ logger: pino({ level: 'trace' }, sink) });
    const token = await accessToken(sandbox);
    const patient = sandbox.patients.find((p) => p.nhi === 'ZZZ0040')!;
    const { jpeg } = await makeAttachments();
    await fhir(sandbox, `/Patient?identifier=https://standards.digital.health.nz/ns/nhi-id|${patient.nhi}`, { token });
    await fhir(sandbox, '/Media', { token, method: 'POST', body: mediaBody(patient.id, jpeg) });
    await fhir(sandbox, '/Media', { token, method: 'POST', body: '{"broken":' });
    const pair = sandbox.issueLaunch({ patientId: patient.id, facilityCode: 'F2N060-E' });
    await fhir(sandbox, `/vendorforms/api/getlaunchcontextstring/${encodeURIComponent(pair.context)}/${encodeURIComponent(pair.signature)}`, { token });
    await fhir(sandbox, `/vendorforms/api/getlaunchcontextstring/${encodeURIComponent(pair.context)}/x${encodeURIComponent(pair.signature)}`, { token });
    expect(sandbox.store.listMedia()).toHaveLength(1);
    expect(logged).toContain('sandbox created resource');
    for (const secret of [patient.nhi, patient.familyName, patient.givenName, patient.birthDate, token, pair.context, pair.signature, jpeg.toString('base64').slice(0, 40), sandbox.credentials.clientSecret]) {
      expect(logged).not.toContain(secret);
    }
  });
});

describe("attachments: 'digest'", () => {
  it('keeps only size and sha256 of each attachment; GET and search answer without the data; default keeps the bytes', async () => {
    const { jpeg, pdf } = await makeAttachments();
    const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
    sandbox = await startSandbox({ attachments: 'digest', assumptions: { mediaReadById: true, searchFresh: true } });
    const token = await accessToken(sandbox);
    const patient = sandbox.patients.find((p) => p.nhi === 'ZZZ0016')!;
    const created = await fhir(sandbox, '/Media', { token, method: 'POST', body: mediaBody(patient.id, jpeg, 'digest-a') });
    expect(created.status).toBe(201);
    const doc = await fhir(sandbox, '/DocumentReference', {
      token,
      method: 'POST',
      body: documentReferenceBody(sandbox.fhirBaseUrl, patient.id, sandbox.practitioners[0]!.id, { contentType: 'application/pdf', bytes: pdf }),
    });
    expect(doc.status).toBe(201);

    const [media] = sandbox.store.listMedia({ identifierValue: 'digest-a' });
    expect(media).toMatchObject({ size: jpeg.length, sha256: sha(jpeg), contentType: 'image/jpeg' });
    expect(media?.bytes.length).toBe(0);
    const [stored] = sandbox.store.listDocumentReferences();
    expect(stored).toMatchObject({ size: pdf.length, sha256: sha(pdf) });
    const read = (await (await fhir(sandbox, `/Media/${media!.id}`, { token })).json()) as { content: Record<string, unknown> };
    expect(read.content).toMatchObject({ contentType: 'image/jpeg', size: jpeg.length });
    expect(read.content).not.toHaveProperty('data');
    const docRead = (await (await fhir(sandbox, `/DocumentReference/${stored!.id}`, { token })).json()) as { content: { attachment: Record<string, unknown> }[] };
    expect(docRead.content[0]?.attachment).toMatchObject({ contentType: 'application/pdf', size: pdf.length });
    expect(docRead.content[0]?.attachment).not.toHaveProperty('data');
    const search = (await (await fhir(sandbox, `/Media?patient.identifier=${encodeURIComponent(nhiQuery(patient.nhi))}`, { token })).json()) as { total: number; entry: { resource: { content: Record<string, unknown> } }[] };
    expect(search.total).toBe(1);
    expect(search.entry[0]?.resource.content).not.toHaveProperty('data');

    // A bad attachment is still refused and nothing is stored.
    const bad = mediaBody(patient.id, jpeg, 'digest-bad');
    (bad.content as Record<string, unknown>).data = 'not base64!';
    expect((await fhir(sandbox, '/Media', { token, method: 'POST', body: bad })).status).toBe(400);
    expect(sandbox.store.listMedia({ identifierValue: 'digest-bad' })).toHaveLength(0);
    await sandbox.close();

    sandbox = await startSandbox();
    const token2 = await accessToken(sandbox);
    await fhir(sandbox, '/Media', { token: token2, method: 'POST', body: mediaBody(patient.id, jpeg, 'bytes-a') });
    const [kept] = sandbox.store.listMedia({ identifierValue: 'bytes-a' });
    expect(kept?.bytes.equals(jpeg)).toBe(true);
    expect(kept).toMatchObject({ size: jpeg.length, sha256: sha(jpeg) });
  });
});
