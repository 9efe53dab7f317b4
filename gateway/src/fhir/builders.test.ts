import fc from 'fast-check';
import { PDFDocument } from 'pdf-lib';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import type { ImageMetadata, PatientSummary } from '../../../shared/contracts/common';
import { BODY_SITES, IMAGE_TYPES, LATERALITIES, SNOMED_SYSTEM, VIEWS } from '../../../shared/coded/values';
import { AppError } from '../../../shared/errors';
import { IMAGE_IDENTIFIER_SYSTEM } from '../alex/types';
import {
  absolutePatientReference,
  buildDocumentReference,
  buildMedia,
  describeImage,
  type BuildContext,
} from './builders';
import { loadFhirValidator, type FhirValidator } from './validate.testkit';

const patient: PatientSummary = { id: 'pat-123', nhi: 'ZZZ0016', familyName: 'Testpatient', givenName: 'Canary', birthDate: '1961-05-21', sex: 'female' };
const IMAGE_ID = '0b6f7f7e-8d4a-4c1e-9a51-2f1c3f9d7a10';

function ctx(over: Partial<BuildContext> = {}): BuildContext {
  return {
    imageId: IMAGE_ID,
    patient,
    facilityId: 'F2N060-E',
    providerId: 'a1b2c3d4e5f60718293a4b5c6d7e8f90',
    capturedAt: '2026-11-22T21:42:10.123Z',
    metadata: { bodySiteCode: '14975008', laterality: 'left', view: 'close-up', imageType: 'wound', caption: 'Healing well, no discharge' },
    device: { id: 'dev_abcdefghijklmnopqrstuv', name: 'Consult room 3' },
    alexFhirBaseUrl: 'https://alexapiuat.medtechglobal.com/fhir',
    ...over,
  };
}

let jpeg: string;
let png: string;
let tiff: string;
let pdf: string;
let validator: FhirValidator;

beforeAll(async () => {
  // Small real images made with sharp and pdf-lib (the processing pipeline makes the real ones).
  const img = sharp({ create: { width: 32, height: 24, channels: 3, background: { r: 200, g: 80, b: 60 } } });
  jpeg = (await img.clone().jpeg().toBuffer()).toString('base64');
  png = (await img.clone().png().toBuffer()).toString('base64');
  tiff = (await img.clone().tiff().toBuffer()).toString('base64');
  const doc = await PDFDocument.create();
  doc.addPage([200, 200]);
  pdf = Buffer.from(await doc.save()).toString('base64');
  validator = await loadFhirValidator();
});

function expectValid(resource: Record<string, unknown> & { resourceType: string }): void {
  const errors = validator.validate(resource).filter((i) => i.severity === 'error' || i.severity === 'fatal');
  expect(errors).toEqual([]);
}

function expectCode(fn: () => unknown, code: string): void {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(AppError);
  expect((caught as AppError).code).toBe(code);
}

describe('describeImage', () => {
  it('says where, what and when in plain words, in New Zealand time', () => {
    const d = describeImage({ bodySiteCode: '14975008', laterality: 'left', view: 'close-up', imageType: 'wound', caption: 'Healing well' }, '2026-11-22T21:42:10Z');
    expect(d.title).toBe('Left forearm — wound, close-up — 23 Nov 2026 10:42');
    expect(d.description).toBe('Left forearm — wound, close-up — 23 Nov 2026 10:42. Healing well');
  });

  it('uses NZST in winter and NZDT in summer, across both DST changes', () => {
    expect(describeImage({}, '2026-06-30T23:59:00Z').title).toBe('Clinical photo — 1 Jul 2026 11:59');
    // NZDT ends 2026-04-05 03:00 NZDT (14:00Z on the 4th); starts 2026-09-27 02:00 NZST (14:00Z on the 26th).
    expect(describeImage({}, '2026-04-04T13:59:00Z').title).toBe('Clinical photo — 5 Apr 2026 02:59');
    expect(describeImage({}, '2026-04-04T14:01:00Z').title).toBe('Clinical photo — 5 Apr 2026 02:01');
    expect(describeImage({}, '2026-09-26T13:59:00Z').title).toBe('Clinical photo — 27 Sep 2026 01:59');
    expect(describeImage({}, '2026-09-26T14:00:00Z').title).toBe('Clinical photo — 27 Sep 2026 03:00');
  });

  it('handles both sides, a side without a site, an unlisted SNOMED code, and other type/view', () => {
    expect(describeImage({ bodySiteCode: '72696002', laterality: 'bilateral' }, '2026-01-01T00:00:00Z').title).toBe('Knee, both sides — 1 Jan 2026 13:00');
    expect(describeImage({ laterality: 'right', imageType: 'rash' }, '2026-01-01T00:00:00Z').title).toBe('Right side — rash — 1 Jan 2026 13:00');
    expect(describeImage({ bodySiteCode: '123456789' }, '2026-01-01T00:00:00Z').title).toBe('Body site (SNOMED CT 123456789) — 1 Jan 2026 13:00');
    expect(describeImage({ imageType: 'other', view: 'other' }, '2026-01-01T00:00:00Z').title).toBe('Clinical photo — other view — 1 Jan 2026 13:00');
  });

  it('flattens control characters in captions and refuses bad metadata with a coded error', () => {
    expect(describeImage({ caption: 'line one\nline\u0000two\t ' }, '2026-01-01T00:00:00Z').description).toBe('Clinical photo — 1 Jan 2026 13:00. line one line two');
    expectCode(() => describeImage({ laterality: 'middle' as never }, '2026-01-01T00:00:00Z'), 'ERR_REQUEST_INVALID');
    expectCode(() => describeImage({ caption: 'x'.repeat(501) }, '2026-01-01T00:00:00Z'), 'ERR_REQUEST_INVALID');
    expectCode(() => describeImage({}, 'yesterday'), 'ERR_REQUEST_INVALID');
  });
});

describe('buildMedia', () => {
  it('builds only the Media elements ALEX documents, every piece of metadata in the title words, valid FHIR R4', () => {
    const m = buildMedia(ctx(), { contentType: 'image/jpeg', data: jpeg, width: 32, height: 24 });
    expectValid(m);
    expect(m).toEqual({
      resourceType: 'Media',
      identifier: [{ system: IMAGE_IDENTIFIER_SYSTEM, value: IMAGE_ID }],
      status: 'completed',
      type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/media-type', code: 'image', display: 'Image' }], text: 'Image' },
      subject: { reference: 'Patient/pat-123' },
      createdDateTime: '2026-11-23T10:42:10+13:00',
      bodySite: { coding: [{ system: SNOMED_SYSTEM, code: '14975008', display: 'Forearm' }], text: 'Left forearm' },
      content: { contentType: 'image/jpeg', data: jpeg, title: 'Left forearm — wound, close-up — 23 Nov 2026 10:42. Healing well, no discharge' },
    });
    // No patient data beyond the reference.
    expect(JSON.stringify(m)).not.toMatch(/Testpatient|ZZZ0016|1961/);
  });

  it('sends no bodySite whose code is not a valid SNOMED CT concept id (the words stay in the title)', () => {
    const m = buildMedia(ctx({ metadata: { bodySiteCode: '123456789', laterality: 'left' } }), { contentType: 'image/jpeg', data: jpeg });
    expect(m.bodySite).toBeUndefined();
    expect((m.content as { title: string }).title).toContain('Left body site (SNOMED CT 123456789)');
  });

  it('is valid FHIR R4 for every combination of laterality, view and image type, with and without a site', () => {
    const lats = [undefined, ...LATERALITIES.map((l) => l.key)];
    const views = [undefined, ...VIEWS.map((v) => v.key)];
    const types = [undefined, ...IMAGE_TYPES.map((t) => t.key)];
    const sites = [undefined, '14975008', '72696002', '987654321'];
    let n = 0;
    for (const laterality of lats)
      for (const view of views)
        for (const imageType of types)
          for (const bodySiteCode of sites) {
            const metadata: ImageMetadata = { laterality, view, imageType, bodySiteCode };
            for (const k of Object.keys(metadata) as (keyof ImageMetadata)[]) if (metadata[k] === undefined) delete metadata[k];
            const m = buildMedia(ctx({ metadata, providerId: n % 2 ? null : 'prac-1' }), { contentType: n % 2 ? 'image/png' : 'image/jpeg', data: n % 2 ? png : jpeg });
            expectValid(m);
            expect((m.content as { title: string }).title.length).toBeGreaterThan(10);
            n++;
          }
    expect(n).toBe(4 * 5 * 6 * 4);
  });

  it('is valid FHIR R4 for every listed body site and random captions (property test)', () => {
    for (const site of BODY_SITES) expectValid(buildMedia(ctx({ metadata: { bodySiteCode: site.code, laterality: site.lateral ? 'right' : undefined } }), { contentType: 'image/png', data: png }));
    fc.assert(
      fc.property(
        fc.record({
          bodySiteCode: fc.option(fc.constantFrom(...BODY_SITES.map((s) => s.code)), { nil: undefined }),
          laterality: fc.option(fc.constantFrom(...LATERALITIES.map((l) => l.key)), { nil: undefined }),
          caption: fc.option(fc.string({ maxLength: 500 }), { nil: undefined }),
          capturedAt: fc.date({ min: new Date('2000-01-01T00:00:00Z'), max: new Date('2099-12-31T00:00:00Z'), noInvalidDate: true }).map((d) => d.toISOString()),
        }),
        ({ capturedAt, ...meta }) => {
          const metadata: ImageMetadata = {};
          if (meta.bodySiteCode !== undefined) metadata.bodySiteCode = meta.bodySiteCode;
          if (meta.laterality !== undefined) metadata.laterality = meta.laterality;
          if (meta.caption !== undefined) metadata.caption = meta.caption;
          const m = buildMedia(ctx({ metadata, capturedAt }), { contentType: 'image/jpeg', data: jpeg });
          expectValid(m);
          expect(Date.parse(m.createdDateTime as string)).toBe(Math.floor(Date.parse(capturedAt) / 1000) * 1000);
          expect((m.content as { title: string }).title.length).toBeLessThanOrEqual(200);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('refuses bad input with a clear code and builds nothing', () => {
    const good = { contentType: 'image/jpeg' as const, data: jpeg };
    expectCode(() => buildMedia(ctx(), { contentType: 'image/png', data: jpeg }), 'ERR_COMMIT_IMAGE_TYPE');
    expectCode(() => buildMedia(ctx(), { contentType: 'image/tiff' as never, data: tiff }), 'ERR_COMMIT_IMAGE_TYPE');
    expectCode(() => buildMedia(ctx(), { contentType: 'image/jpeg', data: 'not base64!' }), 'ERR_REQUEST_INVALID');
    expectCode(() => buildMedia(ctx(), { contentType: 'image/jpeg', data: Buffer.concat([Buffer.from(jpeg, 'base64'), Buffer.alloc(1_000_000)]).toString('base64') }), 'ERR_COMMIT_IMAGE_TOO_LARGE');
    expectCode(() => buildMedia(ctx({ imageId: 'not-a-uuid' }), good), 'ERR_IDEMPOTENCY_KEY_MISSING');
    expectCode(() => buildMedia(ctx({ patient: { ...patient, id: '../Patient/x' } }), good), 'ERR_REQUEST_INVALID');
    expectCode(() => buildMedia(ctx({ providerId: 'a b' }), good), 'ERR_REQUEST_INVALID');
    expectCode(() => buildMedia(ctx({ capturedAt: '2026-13-45' }), good), 'ERR_REQUEST_INVALID');
    expectCode(() => buildMedia(ctx({ device: { id: 'dev_x', name: '   ' } }), good), 'ERR_REQUEST_INVALID');
    expectCode(() => buildMedia(ctx(), { ...good, width: 0 }), 'ERR_REQUEST_INVALID');
  });
});

describe('the photo name and the consent in the title', () => {
  it('leads with the photo name and ends with the consent, in plain words, on Media and Inbox Scan alike', () => {
    const c = ctx({ label: 'Photo 2', metadata: { bodySiteCode: '14975008', laterality: 'left', imageType: 'wound', consent: 'verbal', caption: 'Healing well' } });
    const title = 'Photo 2 — Left forearm — wound — 23 Nov 2026 10:42 — consent: verbal. Healing well';
    const m = buildMedia(c, { contentType: 'image/jpeg', data: jpeg });
    expectValid(m);
    expect((m.content as { title: string }).title).toBe(title);
    const d = buildDocumentReference(c, { contentType: 'application/pdf', data: pdf });
    expectValid(d);
    expect((d.content as { attachment: { title: string } }[])[0]!.attachment.title).toBe(title);
    // Still only the documented elements: the name and the consent are words in the title, nothing more.
    expect(Object.keys(m).sort()).toEqual(['bodySite', 'content', 'createdDateTime', 'identifier', 'resourceType', 'status', 'subject', 'type']);
    expect(Object.keys(m.content as object).sort()).toEqual(['contentType', 'data', 'title']);
  });

  it('says each kind of consent readably, and a desktop file name as it is', () => {
    expect(describeImage({ consent: 'written' }, '2026-01-01T00:00:00Z', 'IMG_0412.jpg').title).toBe('IMG_0412.jpg — Clinical photo — 1 Jan 2026 13:00 — consent: written');
    expect(describeImage({ consent: 'not-needed' }, '2026-01-01T00:00:00Z').title).toBe('Clinical photo — 1 Jan 2026 13:00 — consent: not needed');
  });

  it('keeps the name and the consent when a long caption is cut to the title limit', () => {
    const m = buildMedia(ctx({ label: 'Photo 12', metadata: { consent: 'verbal', caption: 'x'.repeat(500) } }), { contentType: 'image/jpeg', data: jpeg });
    const title = (m.content as { title: string }).title;
    expect(title.length).toBe(200);
    expect(title.startsWith('Photo 12 — Clinical photo — 23 Nov 2026 10:42 — consent: verbal. xxx')).toBe(true);
  });

  it('refuses a name that is a path, holds control characters, is blank or too long, and an unknown consent', () => {
    const good = { contentType: 'image/jpeg' as const, data: jpeg };
    for (const label of ['C:\\Users\\gp\\Desktop\\Photo 2.jpg', '../../etc/passwd', 'Photo\n2', '   ', '', 'x'.repeat(81)]) {
      expectCode(() => buildMedia(ctx({ label }), good), 'ERR_REQUEST_INVALID');
    }
    expectCode(() => buildMedia(ctx({ metadata: { consent: 'implied' as never } }), good), 'ERR_REQUEST_INVALID');
  });
});

describe('buildDocumentReference', () => {
  it('builds the Inbox Scan DocumentReference with absolute subject, NZ date and author, valid FHIR R4', () => {
    const d = buildDocumentReference(ctx(), { contentType: 'application/pdf', data: pdf });
    expectValid(d);
    expect(d).toMatchObject({
      resourceType: 'DocumentReference',
      identifier: [{ system: IMAGE_IDENTIFIER_SYSTEM, value: IMAGE_ID }],
      status: 'current',
      type: { coding: [{ system: 'http://loinc.org', code: '72170-4', display: 'Photographic image' }] },
      subject: { reference: 'https://alexapiuat.medtechglobal.com/fhir/Patient/pat-123' },
      date: '2026-11-23T10:42:10+13:00',
      author: [{ reference: 'Practitioner/a1b2c3d4e5f60718293a4b5c6d7e8f90' }],
      content: [{ attachment: { contentType: 'application/pdf', data: pdf, title: 'Left forearm — wound, close-up — 23 Nov 2026 10:42. Healing well, no discharge' } }],
    });
    expect(Object.keys(d).sort()).toEqual(['author', 'content', 'date', 'identifier', 'resourceType', 'status', 'subject', 'type']);
    expect(Object.keys((d.content as { attachment: object }[])[0]!.attachment).sort()).toEqual(['contentType', 'data', 'title']);
  });

  it("writes the absolute subject in Medtech's own path case, whatever case the base is configured in", () => {
    expect(absolutePatientReference('https://alexapiuat.medtechglobal.com/FHIR', 'p1')).toBe('https://alexapiuat.medtechglobal.com/fhir/Patient/p1');
    expect(absolutePatientReference('https://alexapi.medtechglobal.com/FHIR/', 'p1')).toBe('https://alexapi.medtechglobal.com/fhir/Patient/p1');
    expect(absolutePatientReference('http://127.0.0.1:4010/FHIR', 'p1')).toBe('http://127.0.0.1:4010/fhir/Patient/p1');
  });

  it('writes the date with +12:00 in winter and keeps the instant', () => {
    const d = buildDocumentReference(ctx({ capturedAt: '2026-07-01T03:04:05Z', alexFhirBaseUrl: 'https://alexapi.medtechglobal.com/fhir/' }), { contentType: 'image/tiff', data: tiff });
    expectValid(d);
    expect(d.date).toBe('2026-07-01T15:04:05+12:00');
    expect(d.subject).toEqual({ reference: 'https://alexapi.medtechglobal.com/fhir/Patient/pat-123' });
  });

  it('sends no author when the GP is not known (ALEX refuses it then: author[0] is required), still valid FHIR', () => {
    const d = buildDocumentReference(ctx({ providerId: null, metadata: {} }), { contentType: 'image/tiff', data: tiff });
    expectValid(d);
    expect(d.author).toBeUndefined();
  });

  it('refuses JPEG/PNG, mismatched bytes and a bad base URL', () => {
    expectCode(() => buildDocumentReference(ctx(), { contentType: 'image/jpeg' as never, data: jpeg }), 'ERR_COMMIT_IMAGE_TYPE');
    expectCode(() => buildDocumentReference(ctx(), { contentType: 'application/pdf', data: tiff }), 'ERR_COMMIT_IMAGE_TYPE');
    expectCode(() => buildDocumentReference(ctx({ alexFhirBaseUrl: 'not a url' }), { contentType: 'application/pdf', data: pdf }), 'ERR_REQUEST_INVALID');
    expectCode(() => buildDocumentReference(ctx({ alexFhirBaseUrl: 'file:///etc' }), { contentType: 'application/pdf', data: pdf }), 'ERR_REQUEST_INVALID');
  });
});

describe('validator', () => {
  it('catches a broken resource (so the checks above can fail)', () => {
    const m = buildMedia(ctx(), { contentType: 'image/jpeg', data: jpeg });
    expect(validator.validate({ ...m, status: 'finished', bogus: 1 }).some((i) => i.severity === 'error')).toBe(true);
    expect(() => validator.assertValid({ ...m, content: undefined })).toThrow(/Media/);
  });
});
