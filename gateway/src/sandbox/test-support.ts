/** Helpers for tests that talk to the sandbox over HTTP (used by the sandbox's own tests). */
import sharp from 'sharp';
import { PDFDocument } from 'pdf-lib';
import { NHI_SYSTEM } from '../../../shared/nhi';
import type { RunningSandbox } from './types';

export async function fetchToken(sandbox: RunningSandbox, overrides: Record<string, string> = {}): Promise<Response> {
  const form = new URLSearchParams({
    grant_type: 'client_credentials',
    client_id: sandbox.credentials.clientId,
    client_secret: sandbox.credentials.clientSecret,
    scope: sandbox.credentials.scope,
    ...overrides,
  });
  return fetch(sandbox.tokenUrl, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: form });
}

export async function accessToken(sandbox: RunningSandbox): Promise<string> {
  const res = await fetchToken(sandbox);
  if (res.status !== 200) throw new Error(`token request failed: ${res.status}`);
  return ((await res.json()) as { access_token: string }).access_token;
}

export interface FhirCall {
  token?: string | null;
  facility?: string | null;
  method?: string;
  body?: unknown;
  headers?: Record<string, string>;
}

export async function fhir(sandbox: RunningSandbox, path: string, call: FhirCall = {}): Promise<Response> {
  const headers: Record<string, string> = { accept: 'application/fhir+json', ...call.headers };
  if (call.token) headers.authorization = `Bearer ${call.token}`;
  const facility = call.facility === undefined ? 'F2N060-E' : call.facility;
  if (facility !== null) headers['mt-facilityid'] = facility;
  const init: RequestInit = { method: call.method ?? 'GET', headers };
  if (call.body !== undefined) {
    headers['content-type'] ??= 'application/fhir+json';
    init.body = typeof call.body === 'string' ? call.body : JSON.stringify(call.body);
  }
  return fetch(`${sandbox.fhirBaseUrl}${path}`, init);
}

export const nhiQuery = (nhi: string): string => `${NHI_SYSTEM}|${nhi}`;

/** Tiny real files of each attachment type, made with sharp and pdf-lib. */
export async function makeAttachments(): Promise<{ jpeg: Buffer; png: Buffer; tiff: Buffer; pdf: Buffer }> {
  const base = sharp({ create: { width: 8, height: 8, channels: 3, background: { r: 200, g: 80, b: 60 } } });
  const [jpeg, png, tiff] = await Promise.all([base.clone().jpeg().toBuffer(), base.clone().png().toBuffer(), base.clone().tiff().toBuffer()]);
  const doc = await PDFDocument.create();
  doc.addPage([100, 100]);
  const pdf = Buffer.from(await doc.save());
  return { jpeg, png, tiff, pdf };
}

/** A JPEG of at least `bytes` bytes (noise does not compress). */
export async function makeJpegOfAtLeast(bytes: number): Promise<Buffer> {
  let side = Math.ceil(Math.sqrt(bytes / 2));
  for (;;) {
    const raw = Buffer.alloc(side * side * 3);
    for (let i = 0; i < raw.length; i++) raw[i] = (i * 2654435761) >>> 24;
    const jpeg = await sharp(raw, { raw: { width: side, height: side, channels: 3 } }).jpeg({ quality: 100 }).toBuffer();
    if (jpeg.length >= bytes) return jpeg;
    side = Math.ceil(side * 1.3);
  }
}

export function mediaBody(patientId: string, jpeg: Buffer, identifierValue = 'image-1'): Record<string, unknown> {
  return {
    resourceType: 'Media',
    identifier: [{ system: 'https://clinicpro.co.nz/fhir/image-id', value: identifierValue }],
    status: 'completed',
    type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/media-type', code: 'image', display: 'Image' }] },
    subject: { reference: `Patient/${patientId}` },
    createdDateTime: '2026-11-23T10:15:00+13:00',
    content: { contentType: 'image/jpeg', data: jpeg.toString('base64'), title: 'Left forearm wound' },
  };
}

export function documentReferenceBody(
  fhirBase: string,
  patientId: string,
  practitionerId: string,
  attachment: { contentType: string; bytes: Buffer },
  identifierValue = 'scan-1',
): Record<string, unknown> {
  return {
    resourceType: 'DocumentReference',
    identifier: [{ system: 'https://clinicpro.co.nz/fhir/image-id', value: identifierValue }],
    status: 'current',
    date: '2026-11-23T10:15:00+13:00',
    type: { coding: [{ system: 'http://loinc.org', code: '72170-4', display: 'Photographic image' }] },
    subject: { reference: `${fhirBase}/Patient/${patientId}` },
    author: [{ reference: `Practitioner/${practitionerId}` }],
    content: [{ attachment: { contentType: attachment.contentType, data: attachment.bytes.toString('base64'), title: 'Wound photo' } }],
  };
}
