/**
 * What ALEX refuses in a create: first strict FHIR R4 (unknown or misspelt elements, modifier extensions, empty
 * extensions, codings, SNOMED CT ids, values), then, unless `undocumentedElements` is assumed, any element ALEX.md
 * does not list, then ALEX's required fields, references and attachment (type by magic bytes, size).
 */
import { isSnomedConceptId } from '../fhir/snomed';
import { base64DecodedLength, decodeStrictBase64, sniffAttachmentType, type AttachmentType } from './magic';
import { OutcomeError, type IssueType } from './outcome';
import type { ResourceKind } from './store';
import type { SandboxPatient, SandboxPractitioner } from './types';

// What ALEX checks, kept apart from the FHIR builders' own constants so that a wrong builder is refused here.
const MEDIA_TYPE_SYSTEM = 'http://terminology.hl7.org/CodeSystem/media-type';
const LOINC_SYSTEM = 'http://loinc.org';
const LOINC_PHOTOGRAPHIC_IMAGE = '72170-4';
const SNOMED_SYSTEM = 'http://snomed.info/sct';

type Json = Record<string, unknown>;

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

const COMMON = ['resourceType', 'id', 'meta', 'implicitRules', 'language', 'text', 'contained', 'extension', 'modifierExtension'];
/** Every element FHIR R4 defines on the resource (anything else is unknown or misspelt). */
const R4_ELEMENTS: Record<ResourceKind, ReadonlySet<string>> = {
  Media: new Set([...COMMON, 'identifier', 'basedOn', 'partOf', 'status', 'type', 'modality', 'view', 'subject', 'encounter', 'createdDateTime', 'createdPeriod', 'issued', 'operator', 'reasonCode', 'bodySite', 'deviceName', 'device', 'height', 'width', 'frames', 'duration', 'content', 'note']),
  DocumentReference: new Set([...COMMON, 'masterIdentifier', 'identifier', 'status', 'docStatus', 'type', 'category', 'subject', 'date', 'author', 'authenticator', 'custodian', 'relatesTo', 'description', 'securityLabel', 'content', 'context']),
};
const R4_ATTACHMENT = new Set(['id', 'extension', 'contentType', 'language', 'data', 'url', 'size', 'hash', 'title', 'creation']);
const R4_DOCUMENT_CONTENT = new Set(['id', 'extension', 'attachment', 'format']);
/** What ALEX.md lists for each create (Media: "optional bodySite, laterality, view … accepted but never shown"). */
const DOCUMENTED: Record<ResourceKind, ReadonlySet<string>> = {
  Media: new Set(['resourceType', 'identifier', 'status', 'type', 'subject', 'createdDateTime', 'content', 'bodySite', 'view']),
  DocumentReference: new Set(['resourceType', 'identifier', 'status', 'date', 'type', 'subject', 'author', 'content']),
};
const DOCUMENTED_ATTACHMENT = new Set(['contentType', 'data', 'title']);
const URI = /^[A-Za-z][A-Za-z0-9+.-]*:\S+$/;

/** Walks every value, checking codings and extensions wherever they appear. */
function walk(value: unknown, path: string): void {
  if (Array.isArray(value)) return value.forEach((v, i) => walk(v, `${path}[${i}]`));
  if (!isObject(value)) return;
  if ('modifierExtension' in value) fail(400, 'not-supported', 'Unknown modifierExtension: this server cannot process the resource', `${path}.modifierExtension`);
  if (Array.isArray(value.extension)) value.extension.forEach((e, i) => checkExtension(e, `${path}.extension[${i}]`));
  if (Array.isArray(value.coding)) value.coding.forEach((c, i) => checkCoding(c, `${path}.coding[${i}]`));
  for (const [key, v] of Object.entries(value)) if (key !== 'data') walk(v, `${path}.${key}`);
}

function checkExtension(ext: unknown, path: string): void {
  if (!isObject(ext) || typeof ext.url !== 'string' || !URI.test(ext.url)) fail(400, 'structure', 'An extension needs an absolute url', path);
  const values = Object.keys(ext).filter((k) => k.startsWith('value'));
  const nested = Array.isArray(ext.extension) && ext.extension.length > 0;
  if (values.length === 0 && !nested) fail(400, 'structure', 'An extension must have a value or extensions', path);
  if (values.length > 1 || (values.length === 1 && nested)) fail(400, 'structure', 'An extension has one value or extensions, not both', path);
}

function checkCoding(coding: unknown, path: string): void {
  if (!isObject(coding)) fail(400, 'structure', 'A coding must be an object', path);
  if (coding.system !== undefined && (typeof coding.system !== 'string' || !URI.test(coding.system))) fail(400, 'value', 'coding.system must be an absolute URI', `${path}.system`);
  if (coding.system === SNOMED_SYSTEM && (typeof coding.code !== 'string' || !isSnomedConceptId(coding.code))) {
    fail(400, 'code-invalid', 'The code is not a valid SNOMED CT concept id', `${path}.code`);
  }
}

/** Refuses the first key of `value` not in `allowed`: 'structure' for R4, 'not-supported' for what ALEX.md lists. */
function checkKeys(value: unknown, allowed: ReadonlySet<string>, path: string, code: 'structure' | 'not-supported'): void {
  if (!isObject(value)) return;
  const key = Object.keys(value).find((k) => !allowed.has(k));
  if (key === undefined) return;
  fail(400, code, code === 'structure' ? `Unrecognized element '${key}'` : `Element '${path}.${key}' is not supported`, `${path}.${key}`);
}

function checkMediaValues(media: Json): void {
  for (const key of ['width', 'height', 'frames'] as const) {
    const v = media[key];
    if (v !== undefined && (typeof v !== 'number' || !Number.isInteger(v) || v < 1)) fail(400, 'value', `${key} must be a positive integer`, `Media.${key}`);
  }
  const site = media.bodySite;
  if (site === undefined) return;
  const codings = isObject(site) && Array.isArray(site.coding) ? site.coding : [];
  if (codings.length === 0 || codings.some((c) => !isObject(c) || c.system !== SNOMED_SYSTEM)) {
    fail(400, 'value', 'bodySite must be coded in SNOMED CT', 'Media.bodySite');
  }
}

/** A DocumentReference's content entries with their paths (none for Media). */
function contents(body: Json, kind: ResourceKind): [unknown, string][] {
  if (kind === 'Media' || !Array.isArray(body.content)) return [];
  return body.content.map((c, i): [unknown, string] => [c, `DocumentReference.content[${i}]`]);
}

function attachments(body: Json, kind: ResourceKind): [unknown, string][] {
  if (kind === 'Media') return [[body.content, 'Media.content']];
  return contents(body, kind).map(([c, path]) => [isObject(c) ? c.attachment : undefined, `${path}.attachment`]);
}

/** Strict FHIR R4: unknown elements, extensions, codings, values. */
function checkR4(body: Json, kind: ResourceKind): void {
  checkKeys(body, R4_ELEMENTS[kind], kind, 'structure');
  walk(body, kind);
  if (kind === 'Media') checkMediaValues(body);
  for (const [content, path] of contents(body, kind)) checkKeys(content, R4_DOCUMENT_CONTENT, path, 'structure');
  for (const [att, path] of attachments(body, kind)) {
    checkKeys(att, R4_ATTACHMENT, path, 'structure');
    if (isObject(att) && att.size !== undefined && typeof att.data === 'string' && att.size !== Buffer.byteLength(att.data, 'base64')) {
      fail(400, 'value', 'size does not match the attachment data', `${path}.size`);
    }
  }
}

/** Only what ALEX.md lists (unless `undocumentedElements` is assumed). */
function checkDocumented(body: Json, kind: ResourceKind): void {
  checkKeys(body, DOCUMENTED[kind], kind, 'not-supported');
  if (kind === 'DocumentReference' && Array.isArray(body.author) && body.author.length > 1) {
    fail(400, 'not-supported', "Element 'DocumentReference.author[1]' is not supported", 'DocumentReference.author[1]');
  }
  for (const [content, path] of contents(body, kind)) checkKeys(content, new Set(['attachment']), path, 'not-supported');
  for (const [att, path] of attachments(body, kind)) checkKeys(att, DOCUMENTED_ATTACHMENT, path, 'not-supported');
}

/** A required element: absent → 400 `required`; present but not `ok` → 400 `value` saying `rule`. */
function requireValue(body: Json, kind: string, name: string, ok: (v: unknown) => boolean, rule: string): void {
  if (body[name] === undefined) fail(400, 'required', `${name} is required`, `${kind}.${name}`);
  if (!ok(body[name])) fail(400, 'value', rule, `${kind}.${name}`);
}

export interface ValidationContext {
  undocumentedElements: boolean;
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

function validateMedia(body: unknown, ctx: ValidationContext): ValidatedCreate {
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

function validateDocumentReference(body: unknown, ctx: ValidationContext): ValidatedCreate {
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

/** Throws an OutcomeError for the first rule the create breaks; else what the store keeps of it. */
export function validateCreate(body: unknown, kind: ResourceKind, ctx: ValidationContext): ValidatedCreate {
  if (isObject(body) && body.resourceType === kind) {
    checkR4(body, kind);
    if (!ctx.undocumentedElements) checkDocumented(body, kind);
  }
  return kind === 'Media' ? validateMedia(body, ctx) : validateDocumentReference(body, ctx);
}
