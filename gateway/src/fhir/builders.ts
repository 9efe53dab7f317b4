/**
 * The FHIR R4 Media (JPEG/PNG) and Inbox Scan DocumentReference (TIFF/PDF) for one image: only the elements
 * ALEX's documents show (./README.md). Pure; bad input throws an AppError before anything is sent.
 */
import type { DocumentPayload, MediaPayload } from '../../../shared/contracts/gateway';
import type { ImageMetadata, PatientSummary } from '../../../shared/contracts/common';
import { CONSENTS, IMAGE_TYPES, LATERALITIES, SNOMED_SYSTEM, VIEWS, consentWords, findBodySite, imageTypeDisplay, viewDisplay } from '../../../shared/coded/values';
import { PhotoLabel } from '../../../shared/contracts/gateway';
import { isSnomedConceptId } from './snomed';
import { AppError } from '../../../shared/errors';
import { LIMITS } from '../../../shared/limits';
import { IMAGE_IDENTIFIER_SYSTEM, type FhirResource } from '../alex/types';
import { base64Head, base64Size } from '../base64';
import { formatNzForPeople, parseInstant, toNzDateTime } from './time';

export interface BuildContext {
  imageId: string;
  patient: PatientSummary;
  facilityId: string;
  providerId?: string | null;
  capturedAt: string;
  metadata: ImageMetadata;
  /** The photo's name ("Photo 2", or the desktop file's name), plain text: it leads the title. */
  label?: string;
  device: { id: string; name: string };
  /** For DocumentReference's absolute subject, e.g. https://alexapiuat.medtechglobal.com/fhir */
  alexFhirBaseUrl: string;
}

export const MEDIA_TYPE_SYSTEM = 'http://terminology.hl7.org/CodeSystem/media-type';
export const LOINC_SYSTEM = 'http://loinc.org';
export const LOINC_PHOTOGRAPHIC_IMAGE = '72170-4';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const RESOURCE_ID = /^[A-Za-z0-9\-.]{1,64}$/;

function invalid(detail: string): AppError {
  return new AppError('ERR_REQUEST_INVALID', { detail });
}

function cleanText(s: string): string {
  return s.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]+/g, ' ').replace(/\s+/g, ' ').trim();
}

function lowerFirst(s: string): string {
  return s.charAt(0).toLowerCase() + s.slice(1);
}

function checkMetadata(m: ImageMetadata): void {
  if (typeof m !== 'object' || m === null) throw invalid('metadata');
  if (m.bodySiteCode !== undefined && !/^[0-9]{6,18}$/.test(m.bodySiteCode)) throw invalid('metadata.bodySiteCode');
  if (m.laterality !== undefined && !LATERALITIES.some((l) => l.key === m.laterality)) throw invalid('metadata.laterality');
  if (m.view !== undefined && !VIEWS.some((v) => v.key === m.view)) throw invalid('metadata.view');
  if (m.imageType !== undefined && !IMAGE_TYPES.some((t) => t.key === m.imageType)) throw invalid('metadata.imageType');
  if (m.caption !== undefined && (typeof m.caption !== 'string' || m.caption.length > LIMITS.maxCaptionChars)) throw invalid('metadata.caption');
  if (m.consent !== undefined && !CONSENTS.some((c) => c.key === m.consent)) throw invalid('metadata.consent');
}

const LABEL_PATTERN = new RegExp(PhotoLabel.pattern as string, 'u');

/** The contract's rules for a photo's name (the route checks them too): plain text, capped, never a path. */
function checkPhotoLabel(label: string | undefined): void {
  if (label === undefined) return;
  if (typeof label !== 'string' || label.length > LIMITS.maxPhotoLabelChars || !LABEL_PATTERN.test(label)) throw invalid('label');
}

function checkCapturedAt(capturedAt: string): void {
  try {
    parseInstant(capturedAt);
  } catch {
    throw invalid('capturedAt');
  }
}

/** Words for where on the body: "Left forearm", "Knee, both sides", "Left side", or undefined. */
function siteWords(m: ImageMetadata): string | undefined {
  const site = m.bodySiteCode ? findBodySite(m.bodySiteCode) : undefined;
  const name = site?.display ?? (m.bodySiteCode ? `Body site (SNOMED CT ${m.bodySiteCode})` : undefined);
  switch (m.laterality) {
    case 'left':
    case 'right': {
      const side = m.laterality === 'left' ? 'Left' : 'Right';
      return name ? `${side} ${lowerFirst(name)}` : `${side} side`;
    }
    case 'bilateral':
      return name ? `${name}, both sides` : 'Both sides';
    case undefined:
      return name;
  }
}

/**
 * Plain words for an image, for the resource title and description (what a clinician sees in Medtech).
 * e.g. title "Photo 2 — Left forearm — wound, close-up — 23 Nov 2026 10:42 — consent: verbal" (New Zealand
 * time; the photo's name first, the consent last, each only when known), description the title followed by
 * the caption.
 */
export function describeImage(metadata: ImageMetadata, capturedAt: string, label?: string): { title: string; description: string } {
  checkMetadata(metadata);
  checkCapturedAt(capturedAt);
  checkPhotoLabel(label);
  const what = [
    metadata.imageType && metadata.imageType !== 'other' ? imageTypeDisplay(metadata.imageType).toLowerCase() : undefined,
    metadata.view ? viewDisplay(metadata.view).toLowerCase() : undefined,
  ].filter((s): s is string => s !== undefined);
  const when = formatNzForPeople(capturedAt);
  const head = siteWords(metadata) ?? 'Clinical photo';
  const parts = [
    ...(label === undefined ? [] : [cleanText(label)]),
    head,
    ...(what.length ? [what.join(', ')] : []),
    when,
    ...(metadata.consent === undefined ? [] : [consentWords(metadata.consent)]),
  ];
  let title = parts.join(' — ');
  if (title.length > LIMITS.maxTitleChars) title = `${title.slice(0, LIMITS.maxTitleChars - 1)}…`;
  const caption = metadata.caption ? cleanText(metadata.caption) : '';
  const description = caption ? `${title}. ${caption}` : title;
  return { title, description };
}

export type AttachmentKind = 'image/jpeg' | 'image/png' | 'image/tiff' | 'application/pdf';

/** The type an attachment's first bytes (magic numbers) say it is. */
export function attachmentKind(bytes: Buffer): AttachmentKind | null {
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'image/jpeg';
  if (bytes.length >= 8 && bytes.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))) return 'image/png';
  if (bytes.length >= 4 && (bytes.subarray(0, 4).equals(Buffer.from([0x49, 0x49, 0x2a, 0x00])) || bytes.subarray(0, 4).equals(Buffer.from([0x4d, 0x4d, 0x00, 0x2a])))) {
    return 'image/tiff';
  }
  if (bytes.length >= 5 && bytes.subarray(0, 5).toString('latin1') === '%PDF-') return 'application/pdf';
  return null;
}

/** Checks the attachment: allowed type, strict base64, under Medtech's size limit, bytes of the type claimed. */
function checkPayload(contentType: string, data: string, allowed: readonly AttachmentKind[]): void {
  if (!(allowed as readonly string[]).includes(contentType)) throw new AppError('ERR_COMMIT_IMAGE_TYPE', { detail: 'content type' });
  const size = base64Size(data);
  if (size === null) throw invalid('attachment is not base64');
  if (size >= LIMITS.alexMaxAttachmentBytes) throw new AppError('ERR_COMMIT_IMAGE_TOO_LARGE');
  const head = base64Head(data, 12);
  if (attachmentKind(head) !== contentType) throw new AppError('ERR_COMMIT_IMAGE_TYPE', { detail: 'content does not match its type' });
}

function checkContext(ctx: BuildContext): void {
  if (typeof ctx.imageId !== 'string' || !UUID.test(ctx.imageId)) throw new AppError('ERR_IDEMPOTENCY_KEY_MISSING');
  if (!ctx.patient || typeof ctx.patient.id !== 'string' || !RESOURCE_ID.test(ctx.patient.id)) throw invalid('patient id');
  if (ctx.providerId !== undefined && ctx.providerId !== null && (typeof ctx.providerId !== 'string' || !RESOURCE_ID.test(ctx.providerId))) {
    throw invalid('provider id');
  }
  if (!ctx.device || typeof ctx.device.id !== 'string' || ctx.device.id.length === 0 || ctx.device.id.length > 64) throw invalid('device id');
  if (typeof ctx.device.name !== 'string' || cleanText(ctx.device.name).length === 0 || ctx.device.name.length > 100) throw invalid('device name');
  checkCapturedAt(ctx.capturedAt);
  checkMetadata(ctx.metadata);
  checkPhotoLabel(ctx.label);
}

/**
 * Media.bodySite, only with a valid SNOMED CT concept id (ALEX may check codes; an invalid one would
 * refuse the whole image). Laterality has no documented place in it: it is in `text` and the title.
 */
function bodySiteConcept(m: ImageMetadata): Record<string, unknown> | undefined {
  const words = siteWords(m);
  if (!words || !m.bodySiteCode || !isSnomedConceptId(m.bodySiteCode)) return undefined;
  const site = findBodySite(m.bodySiteCode);
  return { coding: [site ? { system: SNOMED_SYSTEM, code: site.code, display: site.display } : { system: SNOMED_SYSTEM, code: m.bodySiteCode }], text: words };
}

/**
 * The absolute Patient reference as Medtech's examples write it: `https://alexapi[uat].medtechglobal.com/fhir/Patient/{id}`
 * — the configured base (`…/FHIR`) with Medtech's lower-case `fhir` path.
 */
export function absolutePatientReference(alexFhirBaseUrl: string, patientId: string): string {
  let base: URL;
  try {
    base = new URL(alexFhirBaseUrl);
  } catch {
    throw invalid('ALEX base URL');
  }
  if (base.protocol !== 'https:' && base.protocol !== 'http:') throw invalid('ALEX base URL');
  const path = base.pathname.replace(/\/+$/, '').replace(/\/fhir$/i, '/fhir');
  return `${base.origin}${path}/Patient/${patientId}`;
}

/** The title: the plain words (what a clinician sees in Medtech), with the caption, within the title limit. */
function titleWithCaption(ctx: BuildContext): string {
  const { description } = describeImage(ctx.metadata, ctx.capturedAt, ctx.label);
  return description.length > LIMITS.maxTitleChars ? `${description.slice(0, LIMITS.maxTitleChars - 1)}…` : description;
}

/** A FHIR R4 Media for ALEX (`POST /Media`): only the elements ALEX.md lists. */
export function buildMedia(ctx: BuildContext, payload: MediaPayload): FhirResource {
  checkContext(ctx);
  checkPayload(payload.contentType, payload.data, ['image/jpeg', 'image/png']);
  for (const dim of ['width', 'height'] as const) {
    const v = payload[dim];
    if (v !== undefined && (!Number.isInteger(v) || v < 1)) throw invalid(`media.${dim}`);
  }
  const media: FhirResource = {
    resourceType: 'Media',
    identifier: [{ system: IMAGE_IDENTIFIER_SYSTEM, value: ctx.imageId }],
    status: 'completed',
    type: { coding: [{ system: MEDIA_TYPE_SYSTEM, code: 'image', display: 'Image' }], text: 'Image' },
    subject: { reference: `Patient/${ctx.patient.id}` },
    createdDateTime: toNzDateTime(ctx.capturedAt),
  };
  const bodySite = bodySiteConcept(ctx.metadata);
  if (bodySite) media.bodySite = bodySite;
  media.content = { contentType: payload.contentType, data: payload.data, title: titleWithCaption(ctx) };
  return media;
}

/** A FHIR R4 DocumentReference for ALEX's Inbox Scan (`POST /DocumentReference`): only the elements ALEX.md lists. */
export function buildDocumentReference(ctx: BuildContext, payload: DocumentPayload): FhirResource {
  checkContext(ctx);
  checkPayload(payload.contentType, payload.data, ['image/tiff', 'application/pdf']);
  const subject = absolutePatientReference(ctx.alexFhirBaseUrl, ctx.patient.id);
  const doc: FhirResource = {
    resourceType: 'DocumentReference',
    identifier: [{ system: IMAGE_IDENTIFIER_SYSTEM, value: ctx.imageId }],
    status: 'current',
    type: { coding: [{ system: LOINC_SYSTEM, code: LOINC_PHOTOGRAPHIC_IMAGE, display: 'Photographic image' }], text: 'Photographic image' },
    subject: { reference: subject },
    date: toNzDateTime(ctx.capturedAt),
  };
  // author[0] routes the scan to that GP's Inbox Scan in Evolution. Without a GP, ALEX refuses it (author is required).
  if (ctx.providerId) doc.author = [{ reference: `Practitioner/${ctx.providerId}` }];
  doc.content = [{ attachment: { contentType: payload.contentType, data: payload.data, title: titleWithCaption(ctx) } }];
  return doc;
}
