import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { NHI_SYSTEM } from '../../../shared/nhi';
import { startSandbox } from './index';
import { accessToken, documentReferenceBody, fetchToken, fhir, makeAttachments, makeJpegOfAtLeast, mediaBody, nhiQuery } from './test-support';
import type { RunningSandbox } from './types';

type Json = Record<string, unknown> & { resourceType?: string };
interface Outcome {
  resourceType: 'OperationOutcome';
  issue: { severity: string; code: string; diagnostics: string; expression?: string[] }[];
}

let files: Awaited<ReturnType<typeof makeAttachments>>;
beforeAll(async () => {
  files = await makeAttachments();
});

let now = Date.parse('2026-11-23T00:00:00Z');
let sandbox: RunningSandbox;
let token: string;
const aroha = () => sandbox.patients.find((p) => p.nhi === 'ZZZ0016')!;
const gp = () => sandbox.practitioners[0]!;

beforeEach(async () => {
  now = Date.parse('2026-11-23T00:00:00Z');
  sandbox = await startSandbox({ clock: () => now });
  token = await accessToken(sandbox);
});
afterEach(async () => {
  await sandbox.close();
});

async function outcome(res: Response): Promise<Outcome> {
  expect(res.headers.get('content-type')).toMatch(/^application\/fhir\+json/);
  const body = (await res.json()) as Outcome;
  expect(body.resourceType).toBe('OperationOutcome');
  return body;
}

describe('token endpoint (Azure AD client credentials)', () => {
  it('issues a Bearer token with the configured lifetime and counts the request', async () => {
    const res = await fetchToken(sandbox);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { token_type: string; expires_in: number; access_token: string };
    expect(body.token_type).toBe('Bearer');
    expect(body.expires_in).toBe(3599);
    expect(body.access_token.split('.')).toHaveLength(3);
    expect(sandbox.store.counters.tokenRequests).toBe(2);
    expect(sandbox.store.counters.tokensIssued).toBe(2);
  });

  it('refuses a wrong secret with 401 invalid_client in the Azure AD error shape, and issues nothing', async () => {
    const res = await fetchToken(sandbox, { client_secret: 'wrong' });
    expect(res.status).toBe(401);
    const body = (await res.json()) as { error: string; error_description: string; error_codes: number[] };
    expect(body.error).toBe('invalid_client');
    expect(body.error_description).toMatch(/^AADSTS7000215: /);
    expect(body.error_codes).toEqual([7000215]);
    expect(JSON.stringify(body)).not.toContain(sandbox.credentials.clientSecret);
    expect(sandbox.store.counters.tokensIssued).toBe(1);
  });

  it.each([
    [{ client_id: 'someone-else' }, 400, 'unauthorized_client'],
    [{ grant_type: 'password' }, 400, 'unsupported_grant_type'],
    [{ scope: 'api://6f1c2b3a-4d5e-4f60-8a7b-9c0d1e2f3a4b/patient.read' }, 400, 'invalid_scope'],
    [{ scope: 'api://another-app/.default' }, 400, 'invalid_resource'],
    [{ scope: '' }, 400, 'invalid_request'],
  ])('refuses %j with %i %s', async (overrides, status, error) => {
    const res = await fetchToken(sandbox, overrides);
    expect(res.status).toBe(status);
    expect(((await res.json()) as { error: string }).error).toBe(error);
    expect(sandbox.store.counters.tokensIssued).toBe(1);
  });

  it('refuses an unknown tenant and a JSON body', async () => {
    const wrongTenant = await fetch(sandbox.tokenUrl.replace(sandbox.tenantId, 'not-our-tenant'), {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'grant_type=client_credentials',
    });
    expect(wrongTenant.status).toBe(400);
    expect(((await wrongTenant.json()) as { error_codes: number[] }).error_codes).toEqual([90002]);
    const json = await fetch(sandbox.tokenUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"grant_type":"client_credentials"}' });
    expect(json.status).toBe(400);
    expect(((await json.json()) as { error: string }).error).toBe('invalid_request');
  });

  it('expires tokens by the injected clock', async () => {
    now += 3598_000;
    expect((await fhir(sandbox, '/Location', { token })).status).toBe(200);
    now += 1_000;
    const res = await fhir(sandbox, '/Location', { token });
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/);
    expect((await outcome(res)).issue[0]?.diagnostics).toMatch(/expired/);
  });

  it('throttles token requests per window with 429 and Retry-After, then lets them through', async () => {
    await sandbox.close();
    sandbox = await startSandbox({ clock: () => now, tokenThrottle: { maxRequests: 3, windowSeconds: 60 } });
    for (let i = 0; i < 3; i++) expect((await fetchToken(sandbox)).status).toBe(200);
    now += 10_000;
    const throttled = await fetchToken(sandbox);
    expect(throttled.status).toBe(429);
    expect(throttled.headers.get('retry-after')).toBe('50');
    expect(((await throttled.json()) as { error: string }).error).toBe('temporarily_unavailable');
    expect(sandbox.store.counters).toMatchObject({ tokenRequests: 4, tokensIssued: 3 });
    now += 50_000;
    // The first three left the window: three more pass, the fourth is throttled, reset() clears the window.
    for (let i = 0; i < 3; i++) expect((await fetchToken(sandbox)).status).toBe(200);
    expect((await fetchToken(sandbox)).status).toBe(429);
    sandbox.store.reset();
    expect((await fetchToken(sandbox)).status).toBe(200);
  });

  it('makes every issued token unknown on revokeTokens()', async () => {
    sandbox.revokeTokens();
    expect((await fhir(sandbox, '/Location', { token })).status).toBe(401);
  });
});

describe('FHIR guards: Bearer, then mt-facilityid', () => {
  it('answers 401 OperationOutcome without a token or with an unknown one', async () => {
    for (const t of [null, 'not-a-token']) {
      const res = await fhir(sandbox, `/Patient?identifier=${nhiQuery('ZZZ0016')}`, { token: t });
      expect(res.status).toBe(401);
      expect((await outcome(res)).issue[0]?.code).toBe('login');
    }
  });

  it('answers 403 "Practice Facility not found" for an unmapped facility and for a missing header (as ALEX does, not 400)', async () => {
    const unknown = await fhir(sandbox, '/Location', { token, facility: 'F00000-X' });
    expect(unknown.status).toBe(403);
    expect((await outcome(unknown)).issue[0]?.diagnostics).toBe('Practice Facility not found');
    const missing = await fhir(sandbox, '/Location', { token, facility: null });
    expect(missing.status).toBe(403);
    expect((await outcome(missing)).issue[0]?.code).toBe('forbidden');
  });

  it('checks the token before the facility', async () => {
    expect((await fhir(sandbox, '/Location', { token: null, facility: 'F00000-X' })).status).toBe(401);
  });
});

describe('reads', () => {
  it('finds a patient by NHI identifier, with name, NHI, birth date and sex', async () => {
    const res = await fhir(sandbox, `/Patient?identifier=${encodeURIComponent(nhiQuery('ZZZ0016'))}`, { token });
    expect(res.status).toBe(200);
    const bundle = (await res.json()) as { type: string; total: number; entry: { resource: Json; fullUrl: string }[] };
    expect(bundle).toMatchObject({ resourceType: 'Bundle', type: 'searchset', total: 1 });
    expect(bundle.entry[0]?.fullUrl).toBe(`${sandbox.fhirBaseUrl}/Patient/${aroha().id}`);
    expect(bundle.entry[0]?.resource).toMatchObject({
      resourceType: 'Patient',
      id: aroha().id,
      identifier: [{ system: NHI_SYSTEM, value: 'ZZZ0016' }],
      name: [{ family: 'Testpatient', given: ['Aroha'] }],
      birthDate: '1985-03-14',
      gender: 'female',
    });
  });

  it('answers an empty search with a Bundle holding an OperationOutcome entry', async () => {
    const res = await fhir(sandbox, `/Patient?identifier=${nhiQuery('ZZZ0105')}`, { token });
    expect(res.status).toBe(200);
    const bundle = (await res.json()) as { total: number; entry: { resource: Json }[] };
    expect(bundle.total).toBe(0);
    expect(bundle.entry.map((e) => e.resource.resourceType)).toEqual(['OperationOutcome']);
  });

  it('keeps a patient to the facilities that hold it', async () => {
    const canary = sandbox.patients.find((p) => p.nhi === 'ZZZ0040')!;
    expect((await fhir(sandbox, `/Patient/${canary.id}`, { token })).status).toBe(200);
    expect((await fhir(sandbox, `/Patient/${canary.id}`, { token, facility: 'F99669-C' })).status).toBe(404);
    const search = await fhir(sandbox, `/Patient?identifier=${nhiQuery('ZZZ0040')}`, { token, facility: 'F99669-C' });
    expect(((await search.json()) as { total: number }).total).toBe(0);
  });

  it.each([
    '/Patient',
    '/Patient?identifier=ZZZ0016',
    '/Patient?name=Testpatient',
    `/Patient?identifier=${nhiQuery('ZZZ0016')}&_count=5`,
    '/Patient?identifier=urn:oid:2.16.840.1.113883.2.18.2|ZZZ0016',
  ])('answers 403 Authorization failed to the query shape %s', async (path) => {
    const res = await fhir(sandbox, path, { token });
    expect(res.status).toBe(403);
    expect((await outcome(res)).issue[0]?.diagnostics).toBe('Authorization failed');
  });

  it('reads a patient by id, and 404s an unknown one as OperationOutcome', async () => {
    const ok = await fhir(sandbox, `/Patient/${aroha().id}`, { token });
    expect(((await ok.json()) as Json).id).toBe(aroha().id);
    const missing = await fhir(sandbox, '/Patient/00000000000000000000000000000000', { token });
    expect(missing.status).toBe(404);
    expect((await outcome(missing)).issue[0]?.code).toBe('not-found');
  });

  it('lists Locations of the facility and Practitioners', async () => {
    const loc = (await (await fhir(sandbox, '/Location', { token })).json()) as { entry: { resource: Json }[] };
    expect(loc.entry).toHaveLength(1);
    expect(loc.entry[0]?.resource).toMatchObject({ resourceType: 'Location', identifier: [{ value: 'F2N060-E' }] });
    const prac = await fhir(sandbox, '/Practitioner', { token });
    expect(prac.status).toBe(200);
    const bundle = (await prac.json()) as { entry: { resource: Json }[] };
    expect(bundle.entry.map((e) => e.resource.id)).toEqual(sandbox.practitioners.map((p) => p.id));
    expect((await fhir(sandbox, `/Practitioner/${gp().id}`, { token })).status).toBe(200);
  });

  it('answers GET /Encounter with 404 {statusCode, message}, not FHIR', async () => {
    for (const path of ['/Encounter', `/Encounter?patient=${aroha().id}`, '/Encounter/123']) {
      const res = await fhir(sandbox, path, { token });
      expect(res.status).toBe(404);
      expect(res.headers.get('content-type')).toMatch(/^application\/json/);
      expect(await res.json()).toEqual({ statusCode: 404, message: 'Resource not found' });
    }
  });
});

describe('POST /Media', () => {
  it('creates a Media: 201, Location, id; write-only by id (403, strict), searchable by patient NHI once the search lag has passed', async () => {
    const res = await fhir(sandbox, '/Media', { token, method: 'POST', body: mediaBody(aroha().id, files.jpeg, 'img-a') });
    expect(res.status).toBe(201);
    const created = (await res.json()) as Json & { id: string };
    expect(created.id).toMatch(/^[0-9a-f]{32}$/);
    expect(res.headers.get('location')).toBe(`${sandbox.fhirBaseUrl}/Media/${created.id}/_history/1`);
    const stored = sandbox.store.listMedia({ identifierValue: 'img-a' });
    expect(stored).toHaveLength(1);
    expect(stored[0]?.bytes.equals(files.jpeg)).toBe(true);
    expect(stored[0]).toMatchObject({ facilityId: 'F2N060-E', patientId: aroha().id, contentType: 'image/jpeg' });

    expect((await fhir(sandbox, `/Media/${created.id}`, { token })).status).toBe(403);
    sandbox.assumptions.set({ mediaReadById: true });
    const read = await fhir(sandbox, `/Media/${created.id}`, { token });
    expect(((await read.json()) as Json).identifier).toEqual([{ system: 'https://clinicpro.co.nz/fhir/image-id', value: 'img-a' }]);
    expect((await fhir(sandbox, `/Media/${created.id}`, { token, facility: 'F99669-C' })).status).toBe(404);

    const searchNow = await fhir(sandbox, `/Media?patient.identifier=${encodeURIComponent(nhiQuery('ZZZ0016'))}`, { token });
    expect(((await searchNow.json()) as { total: number }).total).toBe(0);
    now += 60_000;
    const search = await fhir(sandbox, `/Media?patient.identifier=${encodeURIComponent(nhiQuery('ZZZ0016'))}`, { token });
    const bundle = (await search.json()) as { total: number; entry: { resource: Json }[] };
    expect(bundle.total).toBe(1);
    expect(bundle.entry[0]?.resource.id).toBe(created.id);
  });

  it("accepts an absolute subject on ALEX's base, as Medtech's own example sends", async () => {
    const body = mediaBody(aroha().id, files.jpeg);
    body.subject = { reference: `https://alexapitest.medtechglobal.com/fhir/Patient/${aroha().id}` };
    expect((await fhir(sandbox, '/Media', { token, method: 'POST', body })).status).toBe(201);
    expect(sandbox.store.listMedia({ patientId: aroha().id })).toHaveLength(1);
  });

  it('accepts PNG', async () => {
    const body = mediaBody(aroha().id, files.png);
    (body.content as Json).contentType = 'image/png';
    expect((await fhir(sandbox, '/Media', { token, method: 'POST', body })).status).toBe(201);
  });

  it('does not deduplicate: the same identifier twice makes two resources', async () => {
    for (let i = 0; i < 2; i++) expect((await fhir(sandbox, '/Media', { token, method: 'POST', body: mediaBody(aroha().id, files.jpeg, 'same') })).status).toBe(201);
    expect(sandbox.store.listMedia({ identifierValue: 'same' })).toHaveLength(2);
    expect(sandbox.store.counters).toMatchObject({ mediaCreateCalls: 2, mediaCreated: 2 });
  });

  const broken: [string, number, string, (b: Json) => void][] = [
    ['no identifier', 400, 'required', (b) => delete b.identifier],
    ['an empty identifier list', 400, 'required', (b) => (b.identifier = [])],
    ['an identifier without system', 400, 'required', (b) => (b.identifier = [{ value: 'x' }])],
    ['status preliminary', 400, 'value', (b) => (b.status = 'preliminary')],
    ['no type', 400, 'required', (b) => delete b.type],
    ['type video', 400, 'value', (b) => (b.type = { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/media-type', code: 'video' }] })],
    ['no subject', 400, 'required', (b) => delete b.subject],
    ['a subject on a foreign server', 400, 'value', (b) => (b.subject = { reference: `https://evil.example/fhir/Patient/${aroha().id}` })],
    ['an unknown patient', 400, 'not-found', (b) => (b.subject = { reference: 'Patient/ffffffffffffffffffffffffffffffff' })],
    ['no createdDateTime', 400, 'required', (b) => delete b.createdDateTime],
    ['a createdDateTime without offset', 400, 'value', (b) => (b.createdDateTime = '2026-11-23T10:15:00')],
    ['no content', 400, 'required', (b) => delete b.content],
    ['no title', 400, 'required', (b) => delete (b.content as Json).title],
    ['no data', 400, 'required', (b) => delete (b.content as Json).data],
    ['data that is not base64', 400, 'value', (b) => ((b.content as Json).data = 'not base64!')],
    ['URL-safe base64', 400, 'value', (b) => ((b.content as Json).data = '-_-_')],
    ['contentType image/gif', 400, 'value', (b) => ((b.content as Json).contentType = 'image/gif')],
    ['PNG bytes labelled JPEG', 400, 'value', (b) => ((b.content as Json).data = files.png.toString('base64'))],
    ['PDF bytes labelled JPEG', 400, 'value', (b) => ((b.content as Json).data = files.pdf.toString('base64'))],
    ['resourceType Observation', 400, 'structure', (b) => (b.resourceType = 'Observation')],
  ];
  it.each(broken)('rejects %s with %i %s and stores nothing', async (_name, status, code, mutate) => {
    const body = mediaBody(aroha().id, files.jpeg);
    mutate(body);
    const res = await fhir(sandbox, '/Media', { token, method: 'POST', body });
    expect(res.status).toBe(status);
    expect((await outcome(res)).issue[0]?.code).toBe(code);
    expect(sandbox.store.listMedia()).toHaveLength(0);
    expect(sandbox.store.counters).toMatchObject({ mediaCreateCalls: 1, mediaCreated: 0 });
  });

  it('rejects a body that is not JSON with 400 and stores nothing', async () => {
    const res = await fhir(sandbox, '/Media', { token, method: 'POST', body: '{"resourceType":' });
    expect(res.status).toBe(400);
    expect((await outcome(res)).issue[0]?.code).toBe('structure');
    expect(sandbox.store.listMedia()).toHaveLength(0);
  });

  it('takes an attachment of maxAttachmentBytes - 1 and refuses maxAttachmentBytes with 413', async () => {
    await sandbox.close();
    const big = await makeJpegOfAtLeast(3000);
    sandbox = await startSandbox({ clock: () => now, maxAttachmentBytes: big.length + 1 });
    token = await accessToken(sandbox);
    expect((await fhir(sandbox, '/Media', { token, method: 'POST', body: mediaBody(aroha().id, big) })).status).toBe(201);
    await sandbox.close();
    sandbox = await startSandbox({ clock: () => now, maxAttachmentBytes: big.length });
    token = await accessToken(sandbox);
    const res = await fhir(sandbox, '/Media', { token, method: 'POST', body: mediaBody(aroha().id, big) });
    expect(res.status).toBe(413);
    expect((await outcome(res)).issue[0]?.code).toBe('too-long');
    expect(sandbox.store.listMedia()).toHaveLength(0);
  });

  it('refuses a real 1 MB photo at the default limit', async () => {
    const big = await makeJpegOfAtLeast(1_000_000);
    const res = await fhir(sandbox, '/Media', { token, method: 'POST', body: mediaBody(aroha().id, big) });
    expect(res.status).toBe(413);
    expect(sandbox.store.listMedia()).toHaveLength(0);
  });

  it.each(['patient', 'subject', 'identifier'])('answers a Media search by %s= with 403', async (key) => {
    const res = await fhir(sandbox, `/Media?${key}=${aroha().id}`, { token });
    expect(res.status).toBe(403);
    await outcome(res);
  });
});

describe('POST /DocumentReference (Inbox Scan)', () => {
  it.each(['tiff', 'pdf'] as const)('creates a %s scan with an absolute subject, readable by id', async (kind) => {
    const contentType = kind === 'tiff' ? 'image/tiff' : 'application/pdf';
    const body = documentReferenceBody('https://alexapiuat.medtechglobal.com/fhir', aroha().id, gp().id, { contentType, bytes: files[kind] });
    const res = await fhir(sandbox, '/DocumentReference', { token, method: 'POST', body });
    expect(res.status).toBe(201);
    const { id } = (await res.json()) as { id: string };
    expect(res.headers.get('location')).toBe(`${sandbox.fhirBaseUrl}/DocumentReference/${id}/_history/1`);
    const read = await fhir(sandbox, `/DocumentReference/${id}`, { token });
    expect(read.status).toBe(200);
    expect(((await read.json()) as Json).status).toBe('current');
    expect(sandbox.store.listDocumentReferences({ patientId: aroha().id })[0]?.bytes.equals(files[kind])).toBe(true);
  });

  it("accepts the sandbox's own absolute base and production's; the undocumented search answers 403 unless assumed", async () => {
    for (const base of [sandbox.fhirBaseUrl, 'https://alexapi.medtechglobal.com/FHIR']) {
      const body = documentReferenceBody(base, aroha().id, gp().id, { contentType: 'application/pdf', bytes: files.pdf });
      expect((await fhir(sandbox, '/DocumentReference', { token, method: 'POST', body })).status).toBe(201);
    }
    const path = `/DocumentReference?patient.identifier=${nhiQuery('ZZZ0016')}`;
    expect((await fhir(sandbox, path, { token })).status).toBe(403);
    sandbox.assumptions.set({ documentReferenceSearch: true, searchFresh: true });
    const search = await fhir(sandbox, path, { token });
    expect(((await search.json()) as { total: number }).total).toBe(2);
  });

  const broken: [string, number, string, (b: Json) => void][] = [
    ['no identifier', 400, 'required', (b) => delete b.identifier],
    ['status final', 400, 'value', (b) => (b.status = 'final')],
    ['no date', 400, 'required', (b) => delete b.date],
    ['a date without offset', 400, 'value', (b) => (b.date = '2026-11-23T10:15:00')],
    ['another LOINC code', 400, 'value', (b) => (b.type = { coding: [{ system: 'http://loinc.org', code: '11488-4' }] })],
    ['a relative subject', 400, 'value', (b) => (b.subject = { reference: `Patient/${aroha().id}` })],
    ['a subject on a foreign server', 400, 'value', (b) => (b.subject = { reference: `https://evil.example/fhir/Patient/${aroha().id}` })],
    ['an unknown patient', 400, 'not-found', (b) => (b.subject = { reference: 'https://alexapiuat.medtechglobal.com/fhir/Patient/ffff' })],
    ['no author', 400, 'required', (b) => delete b.author],
    ['an author that is not a Practitioner', 400, 'value', (b) => (b.author = [{ reference: `Patient/${aroha().id}` }])],
    ['an unknown practitioner', 400, 'not-found', (b) => (b.author = [{ reference: 'Practitioner/ffff' }])],
    ['no content', 400, 'required', (b) => delete b.content],
    ['a JPEG attachment', 400, 'value', (b) => (b.content = [{ attachment: { contentType: 'image/jpeg', data: files.jpeg.toString('base64'), title: 't' } }])],
    ['JPEG bytes labelled TIFF', 400, 'value', (b) => (b.content = [{ attachment: { contentType: 'image/tiff', data: files.jpeg.toString('base64'), title: 't' } }])],
    ['TIFF bytes labelled PDF', 400, 'value', (b) => (b.content = [{ attachment: { contentType: 'application/pdf', data: files.tiff.toString('base64'), title: 't' } }])],
    ['no title', 400, 'required', (b) => (b.content = [{ attachment: { contentType: 'application/pdf', data: files.pdf.toString('base64') } }])],
  ];
  it.each(broken)('rejects %s with %i %s and stores nothing', async (_name, status, code, mutate) => {
    const body = documentReferenceBody('https://alexapiuat.medtechglobal.com/fhir', aroha().id, gp().id, { contentType: 'application/pdf', bytes: files.pdf });
    mutate(body);
    const res = await fhir(sandbox, '/DocumentReference', { token, method: 'POST', body });
    expect(res.status).toBe(status);
    expect((await outcome(res)).issue[0]?.code).toBe(code);
    expect(sandbox.store.listDocumentReferences()).toHaveLength(0);
    expect(sandbox.store.counters).toMatchObject({ documentReferenceCreateCalls: 1, documentReferencesCreated: 0 });
  });

  it('refuses a PDF at the size limit with 413', async () => {
    await sandbox.close();
    sandbox = await startSandbox({ clock: () => now, maxAttachmentBytes: files.pdf.length });
    token = await accessToken(sandbox);
    const body = documentReferenceBody(sandbox.fhirBaseUrl, aroha().id, gp().id, { contentType: 'application/pdf', bytes: files.pdf });
    const res = await fhir(sandbox, '/DocumentReference', { token, method: 'POST', body });
    expect(res.status).toBe(413);
    expect(sandbox.store.listDocumentReferences()).toHaveLength(0);
  });
});

describe('launch decode', () => {
  const decodePath = (context: string, signature: string) =>
    `/vendorforms/api/getlaunchcontextstring/${encodeURIComponent(context)}/${encodeURIComponent(signature)}`;

  it('round-trips an issued pair to {patientId, facilityCode, providerId, createdTime}', async () => {
    const created = new Date('2026-11-23T09:59:00Z');
    const pair = sandbox.issueLaunch({ patientId: aroha().id, facilityCode: 'F99669-C', providerId: gp().id, createdTime: created });
    // Strict: the decode needs mt-facilityid (403 without), unless launchWithoutFacility is assumed.
    expect((await fhir(sandbox, decodePath(pair.context, pair.signature), { token, facility: null })).status).toBe(403);
    const res = await fhir(sandbox, decodePath(pair.context, pair.signature), { token, facility: 'F99669-C' });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ patientId: aroha().id, facilityCode: 'F99669-C', providerId: gp().id, createdTime: created.toISOString() });
    sandbox.assumptions.set({ launchWithoutFacility: true });
    expect((await fhir(sandbox, decodePath(pair.context, pair.signature), { token, facility: null })).status).toBe(200);
    expect(sandbox.store.counters.launchDecodes).toBe(2);
  });

  it('carries a null patient (no patient open) and defaults the provider and the time', async () => {
    const pair = sandbox.issueLaunch({ patientId: null, facilityCode: 'F2N060-E' });
    const res = await fhir(sandbox, decodePath(pair.context, pair.signature), { token });
    expect(await res.json()).toEqual({ patientId: null, facilityCode: 'F2N060-E', providerId: gp().id, createdTime: new Date(now).toISOString() });
  });

  it('does not enforce freshness or single use (the gateway does)', async () => {
    const pair = sandbox.issueLaunch({ patientId: aroha().id, facilityCode: 'F2N060-E', createdTime: new Date(now - 86_400_000) });
    for (let i = 0; i < 2; i++) expect((await fhir(sandbox, decodePath(pair.context, pair.signature), { token })).status).toBe(200);
  });

  it('requires a Bearer token', async () => {
    const pair = sandbox.issueLaunch({ patientId: aroha().id, facilityCode: 'F2N060-E' });
    expect((await fhir(sandbox, decodePath(pair.context, pair.signature), { token: null })).status).toBe(401);
  });

  it('refuses a pair whose facility differs from mt-facilityid', async () => {
    const pair = sandbox.issueLaunch({ patientId: aroha().id, facilityCode: 'F2N060-E' });
    expect((await fhir(sandbox, decodePath(pair.context, pair.signature), { token, facility: 'F99669-C' })).status).toBe(403);
  });

  it('rejects tampered and garbage pairs with a 400 OperationOutcome', async () => {
    const pair = sandbox.issueLaunch({ patientId: aroha().id, facilityCode: 'F2N060-E' });
    const flip = (s: string, i: number) => s.slice(0, i) + (s[i] === 'A' ? 'B' : 'A') + s.slice(i + 1);
    const other = sandbox.issueLaunch({ patientId: sandbox.patients[1]!.id, facilityCode: 'F2N060-E' });
    const cases: [string, string, string][] = [
      [flip(pair.context, 5), pair.signature, 'security'],
      [pair.context, flip(pair.signature, 3), 'security'],
      [pair.context, other.signature, 'security'],
      ['garbage!', 'garbage!', 'structure'],
      [pair.context, '', 'structure'],
    ];
    for (const [context, signature, code] of cases) {
      const res = await fhir(sandbox, decodePath(context, signature), { token });
      expect(res.status).toBe(400);
      expect((await outcome(res)).issue[0]?.code).toBe(code);
    }
    const unencoded = await fetch(`${sandbox.fhirBaseUrl}/vendorforms/api/getlaunchcontextstring/a/b/c`, { headers: { authorization: `Bearer ${token}`, 'mt-facilityid': 'F2N060-E' } });
    expect(unencoded.status).toBe(400);
  });

  it('does not decode a pair issued by another sandbox', async () => {
    const other = await startSandbox();
    const pair = other.issueLaunch({ patientId: aroha().id, facilityCode: 'F2N060-E' });
    await other.close();
    expect((await fhir(sandbox, decodePath(pair.context, pair.signature), { token })).status).toBe(400);
  });
});

describe('store', () => {
  it('records requests without their query, with facility and correlation id, and counts routes', async () => {
    await fhir(sandbox, `/Patient?identifier=${nhiQuery('ZZZ0016')}`, { token, headers: { 'mt-correlationid': 'c0ffee00-0000-4000-8000-000000000001' } });
    const last = sandbox.store.requests().at(-1)!;
    expect(last).toMatchObject({ method: 'GET', path: '/FHIR/Patient', route: 'GET /FHIR/Patient', facilityId: 'F2N060-E', correlationId: 'c0ffee00-0000-4000-8000-000000000001', status: 200 });
    expect(JSON.stringify(sandbox.store.requests())).not.toContain('ZZZ0016');
    expect(sandbox.store.counters.requestsByRoute['GET /FHIR/Patient']).toBe(1);
  });

  it('forgets resources, counters and tokens on reset()', async () => {
    await fhir(sandbox, '/Media', { token, method: 'POST', body: mediaBody(aroha().id, files.jpeg) });
    sandbox.store.reset();
    expect(sandbox.store.listMedia()).toHaveLength(0);
    expect(sandbox.store.counters.mediaCreated).toBe(0);
    expect((await fhir(sandbox, '/Location', { token })).status).toBe(401);
  });
});
