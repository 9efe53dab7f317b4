/**
 * enqueue: validate → copy the payload(s) sealed into payloads/ (temp → fsync → rename → folder fsync) → insert
 * the row in one SQLite transaction → resolve. On any failure the files written so far are removed.
 */
import { AppError } from '../../shared/errors';
import { sealFields, type OutboxContext } from './context';
import { errnoOf, storageError } from './durable-fs';
import { readSource, removeFiles, sha256, writePayloads } from './payloads';
import type { LiveFields, PayloadKind, StoredPayload } from './queries';
import type { OutboxItemInput } from './types';
import { checkPayloadBytes, validateInput } from './validate-input';

interface Part {
  kind: PayloadKind;
  bytes: Buffer;
  contentType: string;
  width?: number;
  height?: number;
}

async function readParts(ctx: OutboxContext, item: OutboxItemInput): Promise<Part[]> {
  const parts: Part[] = [];
  if (item.media) parts.push({ kind: 'media', bytes: await readSource(ctx, item.media), contentType: item.media.contentType, width: item.media.width, height: item.media.height });
  if (item.document) parts.push({ kind: 'document', bytes: await readSource(ctx, item.document), contentType: item.document.contentType });
  for (const p of parts) checkPayloadBytes(p.kind, p.contentType, p.bytes, ctx.maxPayloadBytes);
  return parts;
}

function describeParts(parts: Part[]): StoredPayload[] {
  return parts.map((p) => {
    const s: StoredPayload = { kind: p.kind, contentType: p.contentType, file: '', sha256: sha256(p.bytes), size: p.bytes.length };
    if (p.width !== undefined) s.width = p.width;
    if (p.height !== undefined) s.height = p.height;
    return s;
  });
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
  const fields: LiveFields = { v: 'live', patient: item.patient, grantId: item.grantId, metadata: item.metadata };
  if (item.source !== undefined) fields.source = item.source;
  if (item.label !== undefined) fields.label = item.label;
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
  validateInput(item);
  const imageId = item.imageId;
  if (enqueuing.has(imageId)) throw new AppError('ERR_IDEMPOTENCY_IN_PROGRESS', { detail: 'image is already being saved' });
  enqueuing.add(imageId);
  const written: string[] = [];
  try {
    const parts = await readParts(ctx, item);
    const stored = describeParts(parts);
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
