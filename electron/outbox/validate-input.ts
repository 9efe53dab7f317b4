/** The outbox's checks on what it is given: the item's shape, its payloads' types and bytes. Nothing is written. */
import { AppError } from '../../shared/errors';
import { DateTime, ImageMetadata, PatientSummary, Uuid } from '../../shared/contracts/common';
import { PhotoLabel } from '../../shared/contracts/gateway';
import { compile } from '../gateway-client/validate';
import type { OutboxItemInput } from './types';

const checkUuid = compile(Uuid);
const checkPatient = compile(PatientSummary);
const checkMetadata = compile(ImageMetadata);
const checkDateTime = compile(DateTime);
const checkLabel = compile(PhotoLabel);

const MAGIC: Record<string, (b: Uint8Array) => boolean> = {
  'image/jpeg': (b) => b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff,
  'image/png': (b) => [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a].every((x, i) => b[i] === x),
  'image/tiff': (b) => (b[0] === 0x49 && b[1] === 0x49 && b[2] === 0x2a && b[3] === 0x00) || (b[0] === 0x4d && b[1] === 0x4d && b[2] === 0x00 && b[3] === 0x2a),
  'application/pdf': (b) => Buffer.from(b.subarray(0, 5)).toString('latin1') === '%PDF-',
};
const MEDIA_TYPES = new Set(['image/jpeg', 'image/png']);
const DOC_TYPES = new Set(['image/tiff', 'application/pdf']);

function invalid(detail: string): AppError {
  return new AppError('ERR_REQUEST_INVALID', { detail });
}

function validateIdentity(item: OutboxItemInput): void {
  if (typeof item !== 'object' || item === null) throw invalid('item');
  if (!checkUuid.check(item.imageId)) throw new AppError('ERR_IDEMPOTENCY_KEY_MISSING', { detail: 'imageId is not a v4 UUID' });
  if (!checkPatient.check(item.patient)) throw invalid(`patient ${checkPatient.firstError(item.patient) ?? ''}`);
  if (typeof item.grantId !== 'string' || item.grantId.length < 16 || item.grantId.length > 128) throw new AppError('ERR_LAUNCH_GRANT_INVALID', { detail: 'grantId missing or malformed' });
  if (typeof item.facilityId !== 'string' || item.facilityId.length < 1 || item.facilityId.length > 64) throw invalid('facilityId');
  if (!checkDateTime.check(item.capturedAt)) throw invalid('capturedAt is not an ISO date-time');
  if (!checkMetadata.check(item.metadata)) throw new AppError('ERR_IMAGE_METADATA_REQUIRED', { message: 'Some details for this image are not valid.', detail: `metadata ${checkMetadata.firstError(item.metadata) ?? ''}` });
  if (item.source !== undefined && (typeof item.source !== 'string' || item.source.length > 100)) throw invalid('source');
  if (item.label !== undefined && !checkLabel.check(item.label)) throw invalid('label: plain text, at most 80 characters, not a path');
}

function validateTargets(item: OutboxItemInput): void {
  if (!Array.isArray(item.targets) || item.targets.length === 0 || item.targets.length > 2 || new Set(item.targets).size !== item.targets.length) throw invalid('targets');
  for (const t of item.targets) if (t !== 'media' && t !== 'documentReference') throw invalid('targets');
  const wantsMedia = item.targets.includes('media');
  const wantsDoc = item.targets.includes('documentReference');
  if (wantsMedia !== (item.media !== undefined)) throw invalid(wantsMedia ? 'media payload missing' : 'media payload given but not targeted');
  if (wantsDoc !== (item.document !== undefined)) throw invalid(wantsDoc ? 'document payload missing' : 'document payload given but not targeted');
  if (item.media && !MEDIA_TYPES.has(item.media.contentType)) throw new AppError('ERR_COMMIT_IMAGE_TYPE', { detail: 'media contentType' });
  if (item.document && !DOC_TYPES.has(item.document.contentType)) throw new AppError('ERR_COMMIT_IMAGE_TYPE', { detail: 'document contentType' });
  for (const p of [item.media, item.document]) {
    if (p === undefined) continue;
    if ((p.file === undefined) === (p.bytes === undefined)) throw invalid('a payload needs exactly one of file or bytes');
  }
}

/** Throws the coded error of the first problem with an item, before anything is read or written. */
export function validateInput(item: OutboxItemInput): void {
  validateIdentity(item);
  validateTargets(item);
}

/** Throws when a payload's bytes are too large or are not the type they claim (by their magic bytes). */
export function checkPayloadBytes(kind: string, contentType: string, bytes: Buffer, maxPayloadBytes: number): void {
  if (bytes.length > maxPayloadBytes) throw new AppError('ERR_COMMIT_IMAGE_TOO_LARGE', { detail: `${kind} payload is ${bytes.length} bytes` });
  if (!MAGIC[contentType]?.(bytes)) throw new AppError('ERR_COMMIT_IMAGE_TYPE', { detail: `${kind} bytes are not ${contentType}` });
}
