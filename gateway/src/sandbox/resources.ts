/** FHIR resources the sandbox serves, and the checks ALEX applies to the two it accepts (Media, DocumentReference). */
import { NHI_SYSTEM } from '../../../shared/nhi';
import { base64DecodedLength, decodeStrictBase64, sniffAttachmentType, type AttachmentType } from './magic';
import { OutcomeError, operationOutcome } from './outcome';
import type { SandboxPatient, SandboxPractitioner } from './types';

export const HPI_PERSON_SYSTEM = 'https://standards.digital.health.nz/ns/hpi-person-id';
export const HPI_FACILITY_SYSTEM = 'https://standards.digital.health.nz/ns/hpi-facility-id';
export const MEDIA_TYPE_SYSTEM = 'http://terminology.hl7.org/CodeSystem/media-type';
export const LOINC_SYSTEM = 'http://loinc.org';
export const LOINC_PHOTOGRAPHIC_IMAGE = '72170-4';

type Json = Record<string, unknown>;
type Resource = Json & { resourceType: string; id: string };

export function patientResource(p: SandboxPatient): Resource {
  return {
    resourceType: 'Patient',
    id: p.id,
    identifier: [{ use: 'official', system: NHI_SYSTEM, value: p.nhi }],
    name: [{ use: 'official', family: p.familyName, given: [p.givenName] }],
    gender: p.sex,
    birthDate: p.birthDate,
  };
}

export function practitionerResource(p: SandboxPractitioner): Resource {
  return {
    resourceType: 'Practitioner',
    id: p.id,
    identifier: [{ system: HPI_PERSON_SYSTEM, value: p.hpiPersonId }],
    active: true,
    name: [{ use: 'official', family: p.familyName, given: [p.givenName], prefix: ['Dr'] }],
  };
}

export interface SandboxLocation {
  id: string;
  facilityId: string;
  name: string;
}

export function locationResource(l: SandboxLocation): Resource {
  return {
    resourceType: 'Location',
    id: l.id,
    identifier: [{ system: HPI_FACILITY_SYSTEM, value: l.facilityId }],
    status: 'active',
    name: l.name,
  };
}

export function searchBundle(id: string, selfUrl: string, fhirBase: string, resources: readonly Resource[], lastUpdated: string): Json {
  const entry: Json[] =
    resources.length > 0
      ? resources.map((r) => ({ fullUrl: `${fhirBase}/${r.resourceType}/${r.id}`, resource: r, search: { mode: 'match' } }))
      : // ALEX answers an empty search with a Bundle holding an OperationOutcome entry.
        [{ resource: operationOutcome('not-found', 'No records found', undefined, 'information'), search: { mode: 'outcome' } }];
  return { resourceType: 'Bundle', id, meta: { lastUpdated }, type: 'searchset', total: resources.length, link: [{ relation: 'self', url: selfUrl }], entry };
}

// --- validation --------------------------------------------------------------------------------

const FULL_DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;
const PARTIAL_DATE = /^\d{4}(-\d{2}(-\d{2})?)?$/;
const RESOURCE_ID = /^[A-Za-z0-9\-.]{1,64}$/;

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function nonEmptyString(v: unknown): v is string {
  return typeof v === 'string' && v.trim().length > 0;
}

/** A FHIR dateTime: a partial date, or a full date-time with a timezone. */
function isDateTime(v: unknown): boolean {
  return typeof v === 'string' && (PARTIAL_DATE.test(v) || (FULL_DATE_TIME.test(v) && !Number.isNaN(Date.parse(v))));
}

/** A FHIR instant: a full date-time with a timezone. */
function isInstant(v: unknown): boolean {
  return typeof v === 'string' && FULL_DATE_TIME.test(v) && !Number.isNaN(Date.parse(v));
}

function fail(status: number, code: 'structure' | 'required' | 'value' | 'invalid' | 'not-found' | 'too-long', diagnostics: string, expression?: string): never {
  throw new OutcomeError(status, code, diagnostics, expression);
}

export interface ValidationContext {
  resourceType: 'Media' | 'DocumentReference';
  findPatient(id: string): SandboxPatient | undefined;
  findPractitioner(id: string): SandboxPractitioner | undefined;
  maxAttachmentBytes: number;
  /** Absolute FHIR bases accepted in DocumentReference references (ALEX UAT/production and the sandbox's own). */
  absoluteBases: readonly string[];
}

export interface ValidatedCreate {
  patientId: string;
  identifier: { system: string; value: string };
  contentType: AttachmentType;
  bytes: Buffer;
}

function checkResourceType(body: unknown, expected: string): Json {
  if (!isObject(body)) fail(400, 'structure', 'The request body must be a JSON object');
  if (body.resourceType !== expected) fail(400, 'structure', `resourceType must be ${expected}`, 'resourceType');
  return body;
}

function checkIdentifier(body: Json, path: string): { system: string; value: string } {
  const list = body.identifier;
  if (list === undefined || (Array.isArray(list) && list.length === 0)) fail(400, 'required', 'identifier is required', path);
  if (!Array.isArray(list) || !isObject(list[0])) fail(400, 'structure', 'identifier must be a list of Identifier', path);
  const first = list[0] as Json;
  if (!nonEmptyString(first.system) || !nonEmptyString(first.value)) fail(400, 'required', 'identifier[0] needs a system and a value', `${path}[0]`);
  return { system: first.system, value: first.value };
}

function checkAttachment(att: unknown, path: string, allowed: readonly AttachmentType[], ctx: ValidationContext): { contentType: AttachmentType; bytes: Buffer } {
  if (!isObject(att)) fail(400, 'required', `${path} is required`, path);
  const contentType = att.contentType;
  if (!nonEmptyString(contentType)) fail(400, 'required', `${path}.contentType is required`, `${path}.contentType`);
  if (!(allowed as readonly string[]).includes(contentType)) fail(400, 'value', `${path}.contentType must be one of ${allowed.join(', ')}`, `${path}.contentType`);
  if (!nonEmptyString(att.title)) fail(400, 'required', `${path}.title is required`, `${path}.title`);
  const data = att.data;
  if (!nonEmptyString(data)) fail(400, 'required', `${path}.data is required`, `${path}.data`);
  if (data.length % 4 !== 0) fail(400, 'value', `${path}.data is not valid base64`, `${path}.data`);
  if (base64DecodedLength(data) >= ctx.maxAttachmentBytes) {
    fail(413, 'too-long', `The attachment must be smaller than ${ctx.maxAttachmentBytes} bytes`, `${path}.data`);
  }
  const bytes = decodeStrictBase64(data);
  if (bytes === null) fail(400, 'value', `${path}.data is not valid base64`, `${path}.data`);
  const sniffed = sniffAttachmentType(bytes);
  if (sniffed !== contentType) fail(400, 'value', `${path}.data is not ${contentType} content`, `${path}.data`);
  return { contentType: sniffed, bytes };
}

/** Split `<base>/<Type>/<id>` where base is one of `bases` (case-insensitive on the base). */
function absoluteReferenceId(reference: string, type: string, bases: readonly string[]): string | null {
  for (const base of bases) {
    const prefix = `${base}/${type}/`;
    if (reference.length > prefix.length && reference.slice(0, prefix.length).toLowerCase() === prefix.toLowerCase()) {
      const id = reference.slice(prefix.length);
      return RESOURCE_ID.test(id) ? id : null;
    }
  }
  return null;
}

function relativeReferenceId(reference: string, type: string): string | null {
  const prefix = `${type}/`;
  if (!reference.startsWith(prefix)) return null;
  const id = reference.slice(prefix.length);
  return RESOURCE_ID.test(id) ? id : null;
}

function hasCoding(concept: unknown, system: string | null, code: string): boolean {
  if (!isObject(concept) || !Array.isArray(concept.coding)) return false;
  return concept.coding.some((c) => isObject(c) && c.code === code && (system === null || c.system === undefined || c.system === system));
}

export function validateMedia(body: unknown, ctx: ValidationContext): ValidatedCreate {
  const media = checkResourceType(body, 'Media');
  const identifier = checkIdentifier(media, 'Media.identifier');
  if (media.status === undefined) fail(400, 'required', 'status is required', 'Media.status');
  if (media.status !== 'completed') fail(400, 'value', 'status must be completed', 'Media.status');
  if (media.type === undefined) fail(400, 'required', 'type is required', 'Media.type');
  if (!hasCoding(media.type, MEDIA_TYPE_SYSTEM, 'image')) fail(400, 'value', 'type must be the media-type image', 'Media.type');
  const subject = media.subject;
  if (!isObject(subject) || !nonEmptyString(subject.reference)) fail(400, 'required', 'subject is required', 'Media.subject');
  // ALEX's own Media example uses an absolute subject; the validated calls used Patient/{id}. Both are taken.
  const patientId = relativeReferenceId(subject.reference, 'Patient') ?? absoluteReferenceId(subject.reference, 'Patient', ctx.absoluteBases);
  if (patientId === null) fail(400, 'value', 'subject.reference must be Patient/{id}', 'Media.subject.reference');
  if (ctx.findPatient(patientId) === undefined) fail(400, 'not-found', 'Patient not found', 'Media.subject.reference');
  if (media.createdDateTime === undefined) fail(400, 'required', 'createdDateTime is required', 'Media.createdDateTime');
  if (!isDateTime(media.createdDateTime)) fail(400, 'value', 'createdDateTime is not a valid dateTime', 'Media.createdDateTime');
  const { contentType, bytes } = checkAttachment(media.content, 'Media.content', ['image/jpeg', 'image/png'], ctx);
  return { patientId, identifier, contentType, bytes };
}

export function validateDocumentReference(body: unknown, ctx: ValidationContext): ValidatedCreate {
  const doc = checkResourceType(body, 'DocumentReference');
  const identifier = checkIdentifier(doc, 'DocumentReference.identifier');
  if (doc.status === undefined) fail(400, 'required', 'status is required', 'DocumentReference.status');
  if (doc.status !== 'current') fail(400, 'value', 'status must be current', 'DocumentReference.status');
  if (doc.date === undefined) fail(400, 'required', 'date is required', 'DocumentReference.date');
  if (!isInstant(doc.date)) fail(400, 'value', 'date must be a date-time with a timezone offset', 'DocumentReference.date');
  if (doc.type === undefined) fail(400, 'required', 'type is required', 'DocumentReference.type');
  if (!hasCoding(doc.type, LOINC_SYSTEM, LOINC_PHOTOGRAPHIC_IMAGE)) fail(400, 'value', 'type must be LOINC 72170-4', 'DocumentReference.type');
  const subject = doc.subject;
  if (!isObject(subject) || !nonEmptyString(subject.reference)) fail(400, 'required', 'subject is required', 'DocumentReference.subject');
  const patientId = absoluteReferenceId(subject.reference, 'Patient', ctx.absoluteBases);
  if (patientId === null) fail(400, 'value', 'subject.reference must be an absolute Patient URL', 'DocumentReference.subject.reference');
  if (ctx.findPatient(patientId) === undefined) fail(400, 'not-found', 'Patient not found', 'DocumentReference.subject.reference');
  const author = doc.author;
  if (!Array.isArray(author) || author.length === 0) fail(400, 'required', 'author is required', 'DocumentReference.author');
  const first: unknown = author[0];
  if (!isObject(first) || !nonEmptyString(first.reference)) fail(400, 'required', 'author[0].reference is required', 'DocumentReference.author[0]');
  const practitionerId = relativeReferenceId(first.reference, 'Practitioner') ?? absoluteReferenceId(first.reference, 'Practitioner', ctx.absoluteBases);
  if (practitionerId === null) fail(400, 'value', 'author[0] must reference a Practitioner', 'DocumentReference.author[0]');
  if (ctx.findPractitioner(practitionerId) === undefined) fail(400, 'not-found', 'Practitioner not found', 'DocumentReference.author[0]');
  const content = doc.content;
  if (!Array.isArray(content) || content.length === 0 || !isObject(content[0])) fail(400, 'required', 'content is required', 'DocumentReference.content');
  const { contentType, bytes } = checkAttachment((content[0] as Json).attachment, 'DocumentReference.content[0].attachment', ['image/tiff', 'application/pdf'], ctx);
  return { patientId, identifier, contentType, bytes };
}
