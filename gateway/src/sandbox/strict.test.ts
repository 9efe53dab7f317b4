/**
 * The strict sandbox (the default: every assumption off) refuses what a strict FHIR R4 server and ALEX
 * would, each with an OperationOutcome and ALEX's status, and stores nothing. Over real HTTP.
 */
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { isSnomedConceptId, verhoeffValid } from '../fhir/snomed';
import { BODY_SITES, LATERALITIES } from '../../../shared/coded/values';
import { startSandbox } from './index';
import { accessToken, documentReferenceBody, fhir, makeAttachments, mediaBody } from './test-support';
import type { RunningSandbox } from './types';

type Json = Record<string, unknown>;
let files: Awaited<ReturnType<typeof makeAttachments>>;
let sandbox: RunningSandbox;
let token: string;

beforeAll(async () => {
  files = await makeAttachments();
});
beforeEach(async () => {
  sandbox = await startSandbox();
  token = await accessToken(sandbox);
});
afterEach(async () => {
  await sandbox.close();
});

const media = (): Json => mediaBody(sandbox.patients[0]!.id, files.jpeg, 'strict-1');
const doc = (): Json => documentReferenceBody(sandbox.fhirBaseUrl, sandbox.patients[0]!.id, sandbox.practitioners[0]!.id, { contentType: 'application/pdf', bytes: files.pdf }, 'strict-2');
const site = (coding: Json[]): Json => ({ coding, text: 'Left forearm' });

async function expectRefused(res: Response, status: number, issue?: string): Promise<void> {
  expect(res.status).toBe(status);
  const body = (await res.json()) as { resourceType: string; issue: { code: string }[] };
  expect(body.resourceType).toBe('OperationOutcome');
  if (issue !== undefined) expect(body.issue[0]?.code).toBe(issue);
  expect(sandbox.store.listMedia()).toHaveLength(0);
  expect(sandbox.store.listDocumentReferences()).toHaveLength(0);
}

describe('strict sandbox refuses malformed creates (nothing stored)', () => {
  it('a well-formed Media and DocumentReference are accepted (so the refusals below can fail)', async () => {
    expect((await fhir(sandbox, '/Media', { token, method: 'POST', body: { ...media(), bodySite: site([{ system: 'http://snomed.info/sct', code: '14975008' }]) } })).status).toBe(201);
    expect((await fhir(sandbox, '/DocumentReference', { token, method: 'POST', body: doc() })).status).toBe(201);
  });

  it('Content-Type application/json → 415', async () => {
    await expectRefused(await fhir(sandbox, '/Media', { token, method: 'POST', body: media(), headers: { 'content-type': 'application/json' } }), 415, 'not-supported');
  });

  it('Accept: text/html → 406', async () => {
    await expectRefused(await fhir(sandbox, '/Media', { token, method: 'POST', body: media(), headers: { accept: 'text/html' } }), 406, 'not-supported');
  });

  it('missing mt-facilityid → 403 (not 400)', async () => {
    await expectRefused(await fhir(sandbox, '/Media', { token, method: 'POST', body: media(), facility: null }), 403, 'forbidden');
  });

  const bad: [string, number, string, (b: Json) => void][] = [
    ['a misspelt top-level element (createdDatetime)', 400, 'structure', (b) => (b.createdDatetime = '2026-11-23T10:15:00+13:00')],
    ['an unknown top-level element', 400, 'structure', (b) => (b.colour = 'blue')],
    ['a coding whose system is not a URI', 400, 'value', (b) => (b.type = { coding: [{ system: 'media type', code: 'image' }] })],
    ['a bodySite not coded in SNOMED CT', 400, 'value', (b) => (b.bodySite = site([{ system: 'https://clinicpro.co.nz/fhir/CodeSystem/site', code: 'forearm' }]))],
    ['a SNOMED code that is not a valid concept id (check digit)', 400, 'code-invalid', (b) => (b.bodySite = site([{ system: 'http://snomed.info/sct', code: '14975009' }]))],
    ['a SNOMED id of a description, not a concept (partition 01)', 400, 'code-invalid', (b) => (b.bodySite = site([{ system: 'http://snomed.info/sct', code: '1234011' }]))],
    ['an extension with no value', 400, 'structure', (b) => (b.extension = [{ url: 'https://clinicpro.co.nz/fhir/StructureDefinition/x' }])],
    ['a modifierExtension', 400, 'not-supported', (b) => (b.modifierExtension = [{ url: 'https://clinicpro.co.nz/fhir/StructureDefinition/x', valueBoolean: true }])],
    ['content.size that disagrees with the data', 400, 'value', (b) => ((b.content as Json).size = 12)],
    ['width 0', 400, 'value', (b) => (b.width = 0)],
    ['an element ALEX does not document (note)', 400, 'not-supported', (b) => (b.note = [{ text: 'x' }])],
    ['content.creation (undocumented)', 400, 'not-supported', (b) => ((b.content as Json).creation = '2026-11-23T10:15:00+13:00')],
  ];

  it.each(bad)('Media with %s → %i', async (_name, status, issue, mutate) => {
    const body = media();
    mutate(body);
    await expectRefused(await fhir(sandbox, '/Media', { token, method: 'POST', body }), status, issue);
  });

  it.each<[string, number, string, (b: Json) => void]>([
    ['a second author (Device by identifier)', 400, 'not-supported', (b) => (b.author = [...(b.author as Json[]), { type: 'Device', identifier: { system: 'https://clinicpro.co.nz/fhir/device-id', value: 'dev_1' } }])],
    ['a description (undocumented)', 400, 'not-supported', (b) => (b.description = 'Left forearm')],
    ['attachment.creation (undocumented)', 400, 'not-supported', (b) => (((b.content as Json[])[0]!.attachment as Json).creation = '2026-11-23T10:15:00+13:00')],
    ['a misspelt element', 400, 'structure', (b) => (b.dates = '2026-11-23T10:15:00+13:00')],
  ])('DocumentReference with %s → %i', async (_name, status, issue, mutate) => {
    const body = doc();
    mutate(body);
    await expectRefused(await fhir(sandbox, '/DocumentReference', { token, method: 'POST', body }), status, issue);
  });

  it('undocumentedElements assumed: FHIR-valid extra elements are accepted; invalid FHIR is still refused', async () => {
    sandbox.assumptions.set({ undocumentedElements: true });
    expect((await fhir(sandbox, '/Media', { token, method: 'POST', body: { ...media(), note: [{ text: 'x' }] } })).status).toBe(201);
    expect((await fhir(sandbox, '/Media', { token, method: 'POST', body: { ...media(), colour: 'blue' } })).status).toBe(400);
  });
});

describe('undocumented reads answer 403 like ALEX', () => {
  it('GET /Media/{id} and DocumentReference?patient.identifier → 403 Authorization failed', async () => {
    expect((await fhir(sandbox, '/Media/0123456789abcdef0123456789abcdef', { token })).status).toBe(403);
    expect((await fhir(sandbox, '/DocumentReference?patient.identifier=https%3A%2F%2Fstandards.digital.health.nz%2Fns%2Fnhi-id%7CZZZ0016', { token })).status).toBe(403);
  });
});

describe('SNOMED CT concept ids', () => {
  it('Verhoeff: known concept ids pass, one changed digit fails', () => {
    expect(verhoeffValid('236')).toBe(true);
    expect(verhoeffValid('237')).toBe(false);
    expect(isSnomedConceptId('7771000')).toBe(true);
    expect(isSnomedConceptId('7771001')).toBe(false);
  });

  it('Verhoeff: the published test vectors pass, and a changed or swapped digit fails', () => {
    for (const good of ['2363', '12340', '1428570', '84736430954837284567892']) expect(verhoeffValid(good)).toBe(true);
    for (const bad of ['2364', '12304', '1428507', '84736430954837284567893']) expect(verhoeffValid(bad)).toBe(false);
  });

  it('every code in the curated lists (lateralities, body sites) is a valid concept id, and no code is listed twice', () => {
    const codes = [...LATERALITIES.map((l) => l.code), ...BODY_SITES.map((s) => s.code)];
    expect(codes.filter((c) => !isSnomedConceptId(c))).toEqual([]);
    expect(new Set(codes).size).toBe(codes.length);
    // "Back of hand" is 63125000 |Structure of dorsum of hand|; the 731000 listed before has no valid check digit
    expect(BODY_SITES.find((s) => s.display === 'Back of hand')?.code).toBe('63125000');
    expect(isSnomedConceptId('731000')).toBe(false);
  });
});
