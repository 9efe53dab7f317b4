/**
 * What a strict FHIR R4 server (and ALEX, as far as its documents say) refuses in a create, before the
 * resource-specific rules in ./resources.ts: unknown or misspelt elements, modifier extensions, an
 * extension without a value, a coding system that is not a URI, a SNOMED CT code that is no valid
 * concept id, a body site not coded in SNOMED CT, a positiveInt of 0, an attachment size that disagrees
 * with its data; and, unless `undocumentedElements` is assumed, any R4 element ALEX.md does not list.
 */
import { isSnomedConceptId } from '../fhir/snomed';
import { OutcomeError } from './outcome';

export const SNOMED_SYSTEM = 'http://snomed.info/sct';

type Json = Record<string, unknown>;
type Kind = 'Media' | 'DocumentReference';

const COMMON = ['resourceType', 'id', 'meta', 'implicitRules', 'language', 'text', 'contained', 'extension', 'modifierExtension'];
/** Every element FHIR R4 defines on the resource (anything else is unknown or misspelt). */
const R4_ELEMENTS: Record<Kind, ReadonlySet<string>> = {
  Media: new Set([...COMMON, 'identifier', 'basedOn', 'partOf', 'status', 'type', 'modality', 'view', 'subject', 'encounter', 'createdDateTime', 'createdPeriod', 'issued', 'operator', 'reasonCode', 'bodySite', 'deviceName', 'device', 'height', 'width', 'frames', 'duration', 'content', 'note']),
  DocumentReference: new Set([...COMMON, 'masterIdentifier', 'identifier', 'status', 'docStatus', 'type', 'category', 'subject', 'date', 'author', 'authenticator', 'custodian', 'relatesTo', 'description', 'securityLabel', 'content', 'context']),
};
const R4_ATTACHMENT = new Set(['id', 'extension', 'contentType', 'language', 'data', 'url', 'size', 'hash', 'title', 'creation']);
/** What ALEX.md lists for each create (Media: "optional bodySite, laterality, view … accepted but never shown"). */
const DOCUMENTED: Record<Kind, ReadonlySet<string>> = {
  Media: new Set(['resourceType', 'identifier', 'status', 'type', 'subject', 'createdDateTime', 'content', 'bodySite', 'view']),
  DocumentReference: new Set(['resourceType', 'identifier', 'status', 'date', 'type', 'subject', 'author', 'content']),
};
const DOCUMENTED_ATTACHMENT = new Set(['contentType', 'data', 'title']);

const URI = /^[A-Za-z][A-Za-z0-9+.-]*:\S+$/;

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function refuse(status: number, code: 'structure' | 'value' | 'invalid' | 'not-supported' | 'code-invalid', diagnostics: string, expression: string): never {
  throw new OutcomeError(status, code, diagnostics, expression);
}

/** Walks every value, checking codings and extensions wherever they appear. */
function walk(value: unknown, path: string): void {
  if (Array.isArray(value)) {
    value.forEach((v, i) => walk(v, `${path}[${i}]`));
    return;
  }
  if (!isObject(value)) return;
  if ('modifierExtension' in value) refuse(400, 'not-supported', 'Unknown modifierExtension: this server cannot process the resource', `${path}.modifierExtension`);
  if (Array.isArray(value.extension)) value.extension.forEach((e, i) => checkExtension(e, `${path}.extension[${i}]`));
  if (Array.isArray(value.coding)) value.coding.forEach((c, i) => checkCoding(c, `${path}.coding[${i}]`));
  for (const [key, v] of Object.entries(value)) if (key !== 'data') walk(v, `${path}.${key}`);
}

function checkExtension(ext: unknown, path: string): void {
  if (!isObject(ext) || typeof ext.url !== 'string' || !URI.test(ext.url)) refuse(400, 'structure', 'An extension needs an absolute url', path);
  const values = Object.keys(ext).filter((k) => k.startsWith('value'));
  const nested = Array.isArray(ext.extension) && ext.extension.length > 0;
  if (values.length === 0 && !nested) refuse(400, 'structure', 'An extension must have a value or extensions', path);
  if (values.length > 1 || (values.length === 1 && nested)) refuse(400, 'structure', 'An extension has one value or extensions, not both', path);
}

function checkCoding(coding: unknown, path: string): void {
  if (!isObject(coding)) refuse(400, 'structure', 'A coding must be an object', path);
  if (coding.system !== undefined && (typeof coding.system !== 'string' || !URI.test(coding.system))) refuse(400, 'value', 'coding.system must be an absolute URI', `${path}.system`);
  if (coding.system === SNOMED_SYSTEM && (typeof coding.code !== 'string' || !isSnomedConceptId(coding.code))) {
    refuse(400, 'code-invalid', 'The code is not a valid SNOMED CT concept id', `${path}.code`);
  }
}

function checkElements(body: Json, kind: Kind): void {
  for (const key of Object.keys(body)) if (!R4_ELEMENTS[kind].has(key)) refuse(400, 'structure', `Unrecognized element '${key}'`, `${kind}.${key}`);
}

function checkAttachment(att: unknown, path: string): void {
  if (!isObject(att)) return;
  for (const key of Object.keys(att)) if (!R4_ATTACHMENT.has(key)) refuse(400, 'structure', `Unrecognized element '${key}'`, `${path}.${key}`);
  if (att.size !== undefined && typeof att.data === 'string') {
    const actual = Buffer.byteLength(att.data, 'base64');
    if (att.size !== actual) refuse(400, 'value', 'size does not match the attachment data', `${path}.size`);
  }
}

function checkMediaValues(media: Json): void {
  for (const key of ['width', 'height', 'frames'] as const) {
    const v = media[key];
    if (v !== undefined && (typeof v !== 'number' || !Number.isInteger(v) || v < 1)) refuse(400, 'value', `${key} must be a positive integer`, `Media.${key}`);
  }
  const site = media.bodySite;
  if (site === undefined) return;
  const codings = isObject(site) && Array.isArray(site.coding) ? site.coding : [];
  if (codings.length === 0 || codings.some((c) => !isObject(c) || c.system !== SNOMED_SYSTEM)) {
    refuse(400, 'value', 'bodySite must be coded in SNOMED CT', 'Media.bodySite');
  }
}

/** The attachments of a create, with their paths. */
function attachments(body: Json, kind: Kind): [unknown, string][] {
  if (kind === 'Media') return [[body.content, 'Media.content']];
  if (!Array.isArray(body.content)) return [];
  return body.content.map((c, i): [unknown, string] => [isObject(c) ? c.attachment : undefined, `DocumentReference.content[${i}].attachment`]);
}

/** Strict FHIR R4: unknown elements, extensions, codings, values. */
function checkR4(body: Json, kind: Kind): void {
  checkElements(body, kind);
  walk(body, kind);
  if (kind === 'Media') checkMediaValues(body);
  if (kind === 'DocumentReference' && Array.isArray(body.content)) {
    body.content.forEach((c, i) => {
      if (!isObject(c)) return;
      for (const key of Object.keys(c)) if (!['id', 'extension', 'attachment', 'format'].includes(key)) refuse(400, 'structure', `Unrecognized element '${key}'`, `DocumentReference.content[${i}].${key}`);
    });
  }
  for (const [att, path] of attachments(body, kind)) checkAttachment(att, path);
}

/** Only what ALEX.md lists (unless `undocumentedElements` is assumed). */
function checkDocumented(body: Json, kind: Kind): void {
  const unsupported = (path: string): never => refuse(400, 'not-supported', `Element '${path}' is not supported`, path);
  for (const key of Object.keys(body)) if (!DOCUMENTED[kind].has(key)) unsupported(`${kind}.${key}`);
  if (kind === 'DocumentReference') {
    if (Array.isArray(body.author) && body.author.length > 1) unsupported('DocumentReference.author[1]');
    if (Array.isArray(body.content)) body.content.forEach((c, i) => isObject(c) && Object.keys(c).forEach((k) => k !== 'attachment' && unsupported(`DocumentReference.content[${i}].${k}`)));
  }
  for (const [att, path] of attachments(body, kind)) {
    if (isObject(att)) for (const key of Object.keys(att)) if (!DOCUMENTED_ATTACHMENT.has(key)) unsupported(`${path}.${key}`);
  }
}

/** Throws an OutcomeError (400) for the first strict-FHIR, then undocumented-element, rule `body` breaks. */
export function checkStrict(body: unknown, kind: Kind, undocumentedElementsAccepted: boolean): void {
  if (!isObject(body) || body.resourceType !== kind) return; // ./resources.ts answers the structure
  checkR4(body, kind);
  if (!undocumentedElementsAccepted) checkDocumented(body, kind);
}
