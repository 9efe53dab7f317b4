/** FHIR resources the sandbox serves, and the checks ALEX applies to the two it accepts (Media, DocumentReference). */
import { NHI_SYSTEM } from '../../../shared/nhi';
import { base64DecodedLength, decodeStrictBase64, sniffAttachmentType, type AttachmentType } from './magic';
import { OutcomeError, operationOutcome, type IssueType } from './outcome';
import type { SandboxPatient, SandboxPractitioner } from './types';

const HPI_PERSON_SYSTEM = 'https://standards.digital.health.nz/ns/hpi-person-id';
const HPI_FACILITY_SYSTEM = 'https://standards.digital.health.nz/ns/hpi-facility-id';
// What ALEX checks, kept apart from the FHIR builders' own constants so that a wrong builder is refused here.
const MEDIA_TYPE_SYSTEM = 'http://terminology.hl7.org/CodeSystem/media-type';
const LOINC_SYSTEM = 'http://loinc.org';
const LOINC_PHOTOGRAPHIC_IMAGE = '72170-4';

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

const FULL_DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;
const PARTIAL_DATE = /^\d{4}(-\d{2}(-\d{2})?)?$/;
const RESOURCE_ID = /^[A-Za-z0-9\-.]{1,64}$/;

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const nonEmptyString = (v: unknown): v is string => typeof v === 'string' && v.trim().length > 0;
/** A FHIR instant: a full date-time with a timezone. */
const isInstant = (v: unknown): boolean => typeof v === 'string' && FULL_DATE_TIME.test(v) && !Number.isNaN(Date.parse(v));
/** A FHIR dateTime: a partial date, or an instant. */
const isDateTime = (v: unknown): boolean => (typeof v === 'string' && PARTIAL_DATE.test(v)) || isInstant(v);

function fail(status: number, code: IssueType, diagnostics: string, expression?: string): never {
  throw new OutcomeError(status, code, diagnostics, expression);
}

/** A required element: absent → 400 `required`; present but not `ok` → 400 `value` saying `rule`. */
function requireValue(body: Json, kind: string, name: string, ok: (v: unknown) => boolean, rule: string): void {
  if (body[name] === undefined) fail(400, 'required', `${name} is required`, `${kind}.${name}`);
  if (!ok(body[name])) fail(400, 'value', rule, `${kind}.${name}`);
}

export interface ValidationContext {
  findPatient(id: string): SandboxPatient | undefined;
  findPractitioner(id: string): SandboxPractitioner | undefined;
  maxAttachmentBytes: number;
  /** Absolute FHIR bases accepted in references (ALEX UAT/production and the sandbox's own). */
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
  if (base64DecodedLength(data) >= ctx.maxAttachmentBytes) fail(413, 'too-long', `The attachment must be smaller than ${ctx.maxAttachmentBytes} bytes`, `${path}.data`);
  const bytes = decodeStrictBase64(data);
  if (bytes === null) fail(400, 'value', `${path}.data is not valid base64`, `${path}.data`);
  const sniffed = sniffAttachmentType(bytes);
  if (sniffed !== contentType) fail(400, 'value', `${path}.data is not ${contentType} content`, `${path}.data`);
  return { contentType: sniffed, bytes };
}

/** The id in `<Type>/<id>` (when `relative`) or in `<base>/<Type>/<id>` for one of `bases` (any case in the base). */
function referenceId(reference: string, type: string, bases: readonly string[], relative: boolean): string | null {
  const absolute = bases.map((b) => `${b}/${type}/`).find((p) => reference.slice(0, p.length).toLowerCase() === p.toLowerCase());
  const prefix = relative && reference.startsWith(`${type}/`) ? `${type}/` : absolute;
  const id = prefix === undefined ? '' : reference.slice(prefix.length);
  return RESOURCE_ID.test(id) ? id : null;
}

function hasCoding(concept: unknown, system: string, code: string): boolean {
  if (!isObject(concept) || !Array.isArray(concept.coding)) return false;
  return concept.coding.some((c) => isObject(c) && c.code === code && (c.system === undefined || c.system === system));
}

export function validateMedia(body: unknown, ctx: ValidationContext): ValidatedCreate {
  const media = checkResourceType(body, 'Media');
  const identifier = checkIdentifier(media, 'Media.identifier');
  requireValue(media, 'Media', 'status', (v) => v === 'completed', 'status must be completed');
  requireValue(media, 'Media', 'type', (v) => hasCoding(v, MEDIA_TYPE_SYSTEM, 'image'), 'type must be the media-type image');
  const subject = media.subject;
  if (!isObject(subject) || !nonEmptyString(subject.reference)) fail(400, 'required', 'subject is required', 'Media.subject');
  // ALEX's own Media example uses an absolute subject; the validated calls used Patient/{id}. Both are taken.
  const patientId = referenceId(subject.reference, 'Patient', ctx.absoluteBases, true);
  if (patientId === null) fail(400, 'value', 'subject.reference must be Patient/{id}', 'Media.subject.reference');
  if (ctx.findPatient(patientId) === undefined) fail(400, 'not-found', 'Patient not found', 'Media.subject.reference');
  requireValue(media, 'Media', 'createdDateTime', isDateTime, 'createdDateTime is not a valid dateTime');
  const { contentType, bytes } = checkAttachment(media.content, 'Media.content', ['image/jpeg', 'image/png'], ctx);
  return { patientId, identifier, contentType, bytes };
}

function checkAuthor(doc: Json, ctx: ValidationContext): void {
  const author = doc.author;
  if (!Array.isArray(author) || author.length === 0) fail(400, 'required', 'author is required', 'DocumentReference.author');
  const first: unknown = author[0];
  if (!isObject(first) || !nonEmptyString(first.reference)) fail(400, 'required', 'author[0].reference is required', 'DocumentReference.author[0]');
  const practitionerId = referenceId(first.reference, 'Practitioner', ctx.absoluteBases, true);
  if (practitionerId === null) fail(400, 'value', 'author[0] must reference a Practitioner', 'DocumentReference.author[0]');
  if (ctx.findPractitioner(practitionerId) === undefined) fail(400, 'not-found', 'Practitioner not found', 'DocumentReference.author[0]');
}

export function validateDocumentReference(body: unknown, ctx: ValidationContext): ValidatedCreate {
  const doc = checkResourceType(body, 'DocumentReference');
  const identifier = checkIdentifier(doc, 'DocumentReference.identifier');
  requireValue(doc, 'DocumentReference', 'status', (v) => v === 'current', 'status must be current');
  requireValue(doc, 'DocumentReference', 'date', isInstant, 'date must be a date-time with a timezone offset');
  requireValue(doc, 'DocumentReference', 'type', (v) => hasCoding(v, LOINC_SYSTEM, LOINC_PHOTOGRAPHIC_IMAGE), 'type must be LOINC 72170-4');
  const subject = doc.subject;
  if (!isObject(subject) || !nonEmptyString(subject.reference)) fail(400, 'required', 'subject is required', 'DocumentReference.subject');
  const patientId = referenceId(subject.reference, 'Patient', ctx.absoluteBases, false);
  if (patientId === null) fail(400, 'value', 'subject.reference must be an absolute Patient URL', 'DocumentReference.subject.reference');
  if (ctx.findPatient(patientId) === undefined) fail(400, 'not-found', 'Patient not found', 'DocumentReference.subject.reference');
  checkAuthor(doc, ctx);
  const content = doc.content;
  if (!Array.isArray(content) || content.length === 0 || !isObject(content[0])) fail(400, 'required', 'content is required', 'DocumentReference.content');
  const { contentType, bytes } = checkAttachment((content[0] as Json).attachment, 'DocumentReference.content[0].attachment', ['image/tiff', 'application/pdf'], ctx);
  return { patientId, identifier, contentType, bytes };
}
