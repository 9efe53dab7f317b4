/** Saving one item durably (README.md "How durability works"); on any failure the files written so far are removed. */
import { AppError } from '../../shared/errors';
import { DateTime, ImageMetadata, PatientSummary, Uuid } from '../../shared/contracts/common';
import { PhotoLabel } from '../../shared/contracts/gateway';
import { LIMITS } from '../../shared/limits';
import { compile } from '../gateway-client/validate';
import { sealFields, type OutboxContext } from './context';
import { errnoOf, storageError } from './durable-fs';
import { readSource, removeFiles, sha256, writePayloads } from './payloads';
import type { LiveFields, PayloadKind, StoredPayload } from './queries';
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

interface Part {
  kind: PayloadKind;
  bytes: Buffer;
  contentType: string;
  width?: number;
  height?: number;
}

/** The payloads' bytes, each within the size limit and of the type it claims (by its magic bytes). */
async function readParts(ctx: OutboxContext, item: OutboxItemInput): Promise<Part[]> {
  const parts: Part[] = [];
  if (item.media) parts.push({ kind: 'media', bytes: await readSource(ctx, item.media), contentType: item.media.contentType, width: item.media.width, height: item.media.height });
  if (item.document) parts.push({ kind: 'document', bytes: await readSource(ctx, item.document), contentType: item.document.contentType });
  for (const { kind, contentType, bytes } of parts) {
    if (bytes.length > LIMITS.alexMaxAttachmentBytes) throw new AppError('ERR_COMMIT_IMAGE_TOO_LARGE', { detail: `${kind} payload is ${bytes.length} bytes` });
    if (!MAGIC[contentType]?.(bytes)) throw new AppError('ERR_COMMIT_IMAGE_TYPE', { detail: `${kind} bytes are not ${contentType}` });
  }
  return parts;
}

/** True when the same image (same bytes) is already saved; throws when another image holds that identifier. */
function alreadySaved(ctx: OutboxContext, imageId: string, stored: StoredPayload[]): boolean {
  const existing = ctx.q.get.get(imageId);
  if (!existing) return false;
  const before = (JSON.parse(existing.payloads) as StoredPayload[]).map((p) => `${p.kind}:${p.sha256}`).sort().join();
  const now = stored.map((p) => `${p.kind}:${p.sha256}`).sort().join();
  if (before !== now) throw new AppError('ERR_IDEMPOTENCY_MISMATCH', { detail: 'another image is already saved under this identifier' });
  return true;
}

function insertRow(ctx: OutboxContext, item: OutboxItemInput, stored: StoredPayload[]): void {
  // Sealed as JSON: an absent source or label leaves no key.
  const fields: LiveFields = { v: 'live', patient: item.patient, grantId: item.grantId, metadata: item.metadata, source: item.source, label: item.label };
  ctx.q.insert.run({
    image_id: item.imageId,
    patient_ref: ctx.keys.patientRef(item.patient.id),
    facility_id: item.facilityId,
    captured_at: item.capturedAt,
    targets: JSON.stringify(item.targets),
    sealed: sealFields(ctx, item.imageId, fields),
    payloads: JSON.stringify(stored),
    now: ctx.clock.now(),
  });
}

function sqliteOrStorageError(err: unknown): AppError {
  const code = errnoOf(err);
  if (code?.startsWith('SQLITE_FULL')) return new AppError('ERR_STORAGE_FULL', { detail: code, cause: err });
  if (code?.startsWith('SQLITE_')) return new AppError('ERR_STORAGE_IO', { detail: code, cause: err });
  return storageError(err);
}

/**
 * Saves one item durably. Resolves true when it was written now, false when the same image was already saved.
 * `enqueuing` guards against the same image being saved twice at once.
 */
export async function enqueueItem(ctx: OutboxContext, enqueuing: Set<string>, item: OutboxItemInput): Promise<boolean> {
  validateIdentity(item); // the coded error of the first problem, before anything is read or written
  validateTargets(item);
  const imageId = item.imageId;
  if (enqueuing.has(imageId)) throw new AppError('ERR_IDEMPOTENCY_IN_PROGRESS', { detail: 'image is already being saved' });
  enqueuing.add(imageId);
  const written: string[] = [];
  try {
    const parts = await readParts(ctx, item);
    // Stored as JSON: an absent width or height leaves no key.
    const stored = parts.map((p): StoredPayload => ({ kind: p.kind, contentType: p.contentType, file: '', sha256: sha256(p.bytes), size: p.bytes.length, width: p.width, height: p.height }));
    if (alreadySaved(ctx, imageId, stored)) return false;
    await writePayloads(ctx, imageId, parts, stored, written);
    insertRow(ctx, item, stored);
  } catch (err) {
    await removeFiles(ctx, written);
    const e = sqliteOrStorageError(err);
    ctx.logger.warn({ imageId, code: e.code, detail: e.detail }, 'image not saved to the outbox');
    throw e;
  } finally {
    enqueuing.delete(imageId);
  }
  ctx.logger.info({ imageId }, 'image saved to the outbox');
  return true;
}
