/**
 * The companion's durable outbox. Every committed image passes through here:
 *   enqueue()  validate → copy the payload(s) encrypted into payloads/ (temp → fsync → rename → dir fsync)
 *              → insert the row in one SQLite transaction (WAL, synchronous=FULL) → resolve.
 *   send loop  queued → sending → committed | waiting (retryable; backoff + jitter) | failed (final).
 *              Posts with the item's OWN patient id and grant; Idempotency-Key = imageId, so a resend after
 *              a crash or timeout can never create a second resource.
 *   committed  payload files wiped; a small record without image bytes or names stays for the history,
 *              purged after the retention window.
 * Crash recovery at open: 'sending' → 'queued'; temp files and payload files without a live row are removed.
 */
import { createHash, randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { AppError, toAppError, type ErrorCode } from '../../shared/errors';
import { LIMITS } from '../../shared/limits';
import { DateTime, ImageMetadata, PatientSummary, Uuid } from '../../shared/contracts/common';
import type { CommitRequest, CommitTarget } from '../../shared/contracts/gateway';
import { compile } from '../gateway-client/validate';
import { backoffDelayMs, defaultBackoff } from './backoff';
import { loadOrCreateKeys, type OutboxKeys } from './crypto';
import { openDatabase, readSettings, type DB } from './db';
import { TEMP_PREFIX, errnoOf, fsyncDir, nodeFs, storageError, writeFileAtomic } from './durable-fs';
import type {
  OpenOutboxOptions,
  Outbox,
  OutboxEvents,
  OutboxItemInput,
  OutboxItemView,
  OutboxListFilter,
  OutboxProgress,
  OutboxState,
  PayloadSource,
} from './types';

/** Reason shown on items whose launch grant ended. */
export const GRANT_REASON = 'Launch again from Evolution for this patient.';
const GRANT_CODES: ReadonlySet<ErrorCode> = new Set(['ERR_LAUNCH_GRANT_EXPIRED', 'ERR_LAUNCH_GRANT_INVALID']);
/** Nothing is wrong with the image: the PC needs (re-)enrolling. Keep it waiting and keep trying (cheap: no credential, no request). */
const DEVICE_CODES: ReadonlySet<ErrorCode> = new Set(['ERR_NOT_ENROLLED', 'ERR_AUTH_DEVICE_MISSING', 'ERR_AUTH_DEVICE_UNKNOWN', 'ERR_AUTH_DEVICE_REVOKED', 'ERR_AUTH_DEVICE_KEY_REQUIRED']);

type PayloadKind = 'media' | 'document';
interface StoredPayload {
  kind: PayloadKind;
  contentType: string;
  /** File name inside payloads/; '' once wiped. */
  file: string;
  sha256: string;
  size: number;
  width?: number;
  height?: number;
}
interface LiveFields {
  v: 'live';
  patient: PatientSummary;
  grantId: string;
  metadata: ImageMetadata;
  source?: string;
}
interface HistoryFields {
  v: 'history';
  patientId: string;
  nhi: string;
}
type Fields = LiveFields | HistoryFields;

interface Row {
  image_id: string;
  patient_ref: string;
  facility_id: string;
  captured_at: string;
  targets: string;
  sealed: Buffer;
  payloads: string;
  state: OutboxState;
  attempts: number;
  next_attempt_at: number | null;
  error_code: string | null;
  error_message: string | null;
  reason: string | null;
  result: string | null;
  created_at: number;
  updated_at: number;
  committed_at: number | null;
}

const checkUuid = compile(Uuid);
const checkPatient = compile(PatientSummary);
const checkMetadata = compile(ImageMetadata);
const checkDateTime = compile(DateTime);

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

function validateInput(item: OutboxItemInput): void {
  if (typeof item !== 'object' || item === null) throw invalid('item');
  if (!checkUuid.check(item.imageId)) throw new AppError('ERR_IDEMPOTENCY_KEY_MISSING', { detail: 'imageId is not a v4 UUID' });
  if (!checkPatient.check(item.patient)) throw invalid(`patient ${checkPatient.firstError(item.patient) ?? ''}`);
  if (typeof item.grantId !== 'string' || item.grantId.length < 16 || item.grantId.length > 128) throw new AppError('ERR_LAUNCH_GRANT_INVALID', { detail: 'grantId missing or malformed' });
  if (typeof item.facilityId !== 'string' || item.facilityId.length < 1 || item.facilityId.length > 64) throw invalid('facilityId');
  if (!checkDateTime.check(item.capturedAt)) throw invalid('capturedAt is not an ISO date-time');
  if (!checkMetadata.check(item.metadata)) throw new AppError('ERR_IMAGE_METADATA_REQUIRED', { message: 'Some details for this image are not valid.', detail: `metadata ${checkMetadata.firstError(item.metadata) ?? ''}` });
  if (item.source !== undefined && (typeof item.source !== 'string' || item.source.length > 100)) throw invalid('source');
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

const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
const iso = (ms: number): string => new Date(ms).toISOString();

export async function openOutbox(options: OpenOutboxOptions): Promise<Outbox> {
  const fs = options.fs ?? nodeFs;
  const clock = options.clock ?? { now: () => Date.now() };
  const random = options.random ?? Math.random;
  const logger = options.logger.child({ component: 'outbox' });
  const concurrency = Math.max(1, options.concurrency ?? 2);
  const backoff = options.backoff ?? defaultBackoff;
  const retentionMs = options.retentionMs ?? 30 * 24 * 3600_000;
  const maxPayloadBytes = options.maxPayloadBytes ?? LIMITS.alexMaxAttachmentBytes;
  const newCorrelationId = options.newCorrelationId ?? randomUUID;
  const gateway = options.gateway;
  const payloadDir = join(options.dir, 'payloads');

  try {
    await fs.mkdir(payloadDir, { recursive: true });
  } catch (err) {
    throw storageError(err);
  }
  const keys: OutboxKeys = await loadOrCreateKeys(options.secrets);
  const db: DB = openDatabase(join(options.dir, 'outbox.db'));

  const sealFields = (imageId: string, f: Fields): Buffer => keys.seal(Buffer.from(JSON.stringify(f), 'utf8'), `${imageId}:fields`);
  const openFields = (row: Row): Fields => JSON.parse(keys.open(row.sealed, `${row.image_id}:fields`).toString('utf8')) as Fields;
  const payloadAad = (imageId: string, kind: PayloadKind): string => `${imageId}:${kind}`;

  const q = {
    get: db.prepare<[string], Row>('SELECT * FROM items WHERE image_id = ?'),
    insert: db.prepare(
      `INSERT INTO items (image_id, patient_ref, facility_id, captured_at, targets, sealed, payloads, state, attempts, created_at, updated_at)
       VALUES (@image_id, @patient_ref, @facility_id, @captured_at, @targets, @sealed, @payloads, 'queued', 0, @now, @now)`,
    ),
    due: db.prepare<[number, number], Row>(
      `SELECT * FROM items WHERE state = 'queued' OR (state = 'waiting' AND next_attempt_at IS NOT NULL AND next_attempt_at <= ?)
       ORDER BY CASE state WHEN 'queued' THEN 0 ELSE 1 END, created_at, image_id LIMIT ?`,
    ),
    nextWake: db.prepare<[], { t: number | null }>(`SELECT MIN(next_attempt_at) AS t FROM items WHERE state = 'waiting' AND next_attempt_at IS NOT NULL`),
    toSending: db.prepare(`UPDATE items SET state = 'sending', attempts = attempts + 1, updated_at = ? WHERE image_id = ? AND state IN ('queued','waiting')`),
    toQueued: db.prepare(`UPDATE items SET state = 'queued', next_attempt_at = NULL, updated_at = ? WHERE image_id = ?`),
    toWaiting: db.prepare(
      `UPDATE items SET state = 'waiting', next_attempt_at = ?, error_code = ?, error_message = ?, reason = ?, updated_at = ? WHERE image_id = ?`,
    ),
    toFailed: db.prepare(`UPDATE items SET state = 'failed', next_attempt_at = NULL, error_code = ?, error_message = ?, reason = ?, updated_at = ? WHERE image_id = ?`),
    toCommitted: db.prepare(
      `UPDATE items SET state = 'committed', sealed = ?, payloads = ?, result = ?, committed_at = ?, next_attempt_at = NULL,
         error_code = NULL, error_message = NULL, reason = NULL, updated_at = ? WHERE image_id = ?`,
    ),
    retry: db.prepare(
      `UPDATE items SET state = 'queued', attempts = 0, next_attempt_at = NULL, error_code = NULL, error_message = NULL, reason = NULL, updated_at = ?
       WHERE image_id = ? AND state IN ('failed','waiting')`,
    ),
    rebind: db.prepare(
      `UPDATE items SET sealed = ?, state = 'queued', next_attempt_at = NULL, error_code = NULL, error_message = NULL, reason = NULL, updated_at = ? WHERE image_id = ?`,
    ),
    byPatient: db.prepare<[string], Row>(`SELECT * FROM items WHERE patient_ref = ? AND state IN ('queued','waiting')`),
    purge: db.prepare(`DELETE FROM items WHERE state = 'committed' AND committed_at < ?`),
    counts: db.prepare<[], { state: OutboxState; n: number }>(`SELECT state, COUNT(*) AS n FROM items GROUP BY state`),
    recoverSending: db.prepare(`UPDATE items SET state = 'queued', next_attempt_at = NULL, updated_at = ? WHERE state = 'sending'`),
    liveFiles: db.prepare<[], { payloads: string }>(`SELECT payloads FROM items WHERE state != 'committed'`),
  };

  // ---- events ----
  const listeners = new Map<keyof OutboxEvents, Set<(p: never) => void>>();
  function emit<E extends keyof OutboxEvents>(event: E, payload: OutboxEvents[E]): void {
    for (const fn of listeners.get(event) ?? []) {
      try {
        (fn as (p: OutboxEvents[E]) => void)(payload);
      } catch (err) {
        logger.error({ err: (err as Error).name, event }, 'outbox listener threw');
      }
    }
  }
  function progress(): OutboxProgress {
    const p: OutboxProgress = { queued: 0, sending: 0, waiting: 0, failed: 0, committed: 0 };
    for (const { state, n } of q.counts.all()) p[state] = n;
    return p;
  }
  function emitItem(event: Exclude<keyof OutboxEvents, 'progress'>, imageId: string): void {
    const row = q.get.get(imageId);
    if (row) emit(event, view(row));
    emit('progress', progress());
  }

  function view(row: Row): OutboxItemView {
    let fields: Fields | undefined;
    try {
      fields = openFields(row);
    } catch {
      fields = undefined;
    }
    const v: OutboxItemView = {
      imageId: row.image_id,
      patientId: fields === undefined ? '' : fields.v === 'live' ? fields.patient.id : fields.patientId,
      facilityId: row.facility_id,
      capturedAt: row.captured_at,
      targets: JSON.parse(row.targets) as CommitTarget[],
      state: row.state,
      attempts: row.attempts,
      createdAt: iso(row.created_at),
      updatedAt: iso(row.updated_at),
    };
    if (fields?.v === 'live') v.patient = fields.patient;
    if (fields?.v === 'history') v.nhi = fields.nhi;
    if (row.next_attempt_at !== null) v.nextAttemptAt = iso(row.next_attempt_at);
    if (row.reason !== null) v.reason = row.reason;
    if (row.error_code !== null) v.lastError = { code: row.error_code as ErrorCode, message: row.error_message ?? '' };
    if (row.state === 'committed' && row.result !== null && row.committed_at !== null) {
      v.committed = { ...(JSON.parse(row.result) as { media?: { id: string }; documentReference?: { id: string } }), at: iso(row.committed_at) };
    }
    return v;
  }

  // ---- recovery at open ----
  const recovered = q.recoverSending.run(clock.now()).changes;
  if (recovered > 0) logger.warn({ recovered }, 'items interrupted while sending were re-queued');
  q.purge.run(clock.now() - retentionMs);
  async function sweepPayloadDir(): Promise<void> {
    const live = new Set<string>();
    for (const { payloads } of q.liveFiles.all()) for (const p of JSON.parse(payloads) as StoredPayload[]) if (p.file) live.add(p.file);
    let removed = 0;
    for (const name of await fs.readdir(payloadDir)) {
      if (name.startsWith(TEMP_PREFIX) || !live.has(name)) {
        await fs.unlink(join(payloadDir, name)).catch(() => undefined);
        removed++;
      }
    }
    if (removed > 0) {
      await fsyncDir(fs, payloadDir);
      logger.info({ removed }, 'stale outbox files removed');
    }
  }
  try {
    await sweepPayloadDir();
  } catch (err) {
    db.close();
    throw storageError(err);
  }

  // ---- send loop ----
  let running = false;
  let closed = false;
  let timer: NodeJS.Timeout | undefined;
  const inFlight = new Map<string, { abort: AbortController; done: Promise<void> }>();
  const enqueuing = new Set<string>();
  /** Latest grant given to a patient (by patient ref), for items that were in flight during rebindGrant. */
  const rebound = new Map<string, string>();
  let idleWaiters: (() => void)[] = [];

  function hasDue(): boolean {
    return q.due.all(clock.now(), inFlight.size + 1).some((r) => !inFlight.has(r.image_id));
  }
  function checkIdle(): void {
    if (inFlight.size > 0) return;
    if (running && hasDue()) return;
    const w = idleWaiters;
    idleWaiters = [];
    for (const fn of w) fn();
  }

  function schedule(): void {
    if (timer) clearTimeout(timer);
    timer = undefined;
    if (!running || closed) return;
    const { t } = q.nextWake.get() ?? { t: null };
    if (t === null) return;
    const delay = Math.min(Math.max(0, t - clock.now()), 60_000);
    timer = setTimeout(pump, delay);
    timer.unref();
  }

  function pump(): void {
    if (!running || closed) return;
    try {
      q.purge.run(clock.now() - retentionMs);
      while (inFlight.size < concurrency) {
        const row = q.due.all(clock.now(), inFlight.size + concurrency).find((r) => !inFlight.has(r.image_id));
        if (!row) break;
        if (q.toSending.run(clock.now(), row.image_id).changes !== 1) break;
        const abort = new AbortController();
        const entry = { abort, done: Promise.resolve() };
        inFlight.set(row.image_id, entry);
        emitItem('item-sending', row.image_id);
        entry.done = sendOne(row.image_id, abort.signal)
          .catch((err: unknown) => {
            logger.error({ imageId: row.image_id, err: toAppError(err).code }, 'outbox send step failed unexpectedly');
            try {
              q.toQueued.run(clock.now(), row.image_id);
            } catch {
              /* stays 'sending' in the database; recovered as queued at the next open */
            }
          })
          .finally(() => {
            inFlight.delete(row.image_id);
            pump();
            checkIdle();
          });
      }
    } catch (err) {
      logger.error({ err: toAppError(err).code }, 'outbox pump failed');
    }
    schedule();
    checkIdle();
  }

  async function readPayloads(row: Row): Promise<Map<PayloadKind, { bytes: Buffer; meta: StoredPayload }>> {
    const out = new Map<PayloadKind, { bytes: Buffer; meta: StoredPayload }>();
    for (const p of JSON.parse(row.payloads) as StoredPayload[]) {
      let sealed: Buffer;
      try {
        sealed = await fs.readFile(join(payloadDir, p.file));
      } catch (err) {
        if (errnoOf(err) === 'ENOENT') throw new AppError('ERR_STORAGE_CORRUPT', { detail: 'payload file missing' });
        throw storageError(err);
      }
      const bytes = keys.open(sealed, payloadAad(row.image_id, p.kind));
      if (sha256(bytes) !== p.sha256 || bytes.length !== p.size) throw new AppError('ERR_STORAGE_CORRUPT', { detail: 'payload checksum mismatch' });
      out.set(p.kind, { bytes, meta: p });
    }
    return out;
  }

  async function sendOne(imageId: string, signal: AbortSignal): Promise<void> {
    const row = q.get.get(imageId);
    if (!row) return;
    const targets = JSON.parse(row.targets) as CommitTarget[];
    let fields: Fields;
    let payloads: Map<PayloadKind, { bytes: Buffer; meta: StoredPayload }>;
    try {
      fields = openFields(row);
      if (fields.v !== 'live') throw new AppError('ERR_STORAGE_CORRUPT', { detail: 'item has no live fields' });
      payloads = await readPayloads(row);
    } catch (err) {
      const e = storageError(err);
      logger.error({ imageId, code: e.code, detail: e.detail }, 'outbox item unreadable; not sent');
      finish(row, e, undefined);
      return;
    }
    const req: CommitRequest = {
      imageId,
      grantId: fields.grantId,
      patientId: fields.patient.id,
      capturedAt: row.captured_at,
      metadata: fields.metadata,
    };
    if (fields.source !== undefined) req.source = fields.source;
    const media = payloads.get('media');
    if (media) {
      req.media = { contentType: media.meta.contentType as 'image/jpeg' | 'image/png', data: media.bytes.toString('base64') };
      if (media.meta.width !== undefined) req.media.width = media.meta.width;
      if (media.meta.height !== undefined) req.media.height = media.meta.height;
    }
    const doc = payloads.get('document');
    if (doc) req.document = { contentType: doc.meta.contentType as 'image/tiff' | 'application/pdf', data: doc.bytes.toString('base64') };

    const correlationId = newCorrelationId();
    try {
      const res = await gateway.commit(req, { correlationId, signal });
      if ((targets.includes('media') && !res.media) || (targets.includes('documentReference') && !res.documentReference)) {
        throw new AppError('ERR_INTERNAL', { detail: 'gateway did not confirm every target', correlationId });
      }
      const result: { media?: { id: string }; documentReference?: { id: string } } = {};
      if (res.media) result.media = { id: res.media.id };
      if (res.documentReference) result.documentReference = { id: res.documentReference.id };
      const stored = JSON.parse(row.payloads) as StoredPayload[];
      const now = clock.now();
      q.toCommitted.run(
        sealFields(imageId, { v: 'history', patientId: fields.patient.id, nhi: fields.patient.nhi }),
        JSON.stringify(stored.map((p) => ({ ...p, file: '' }))),
        JSON.stringify(result),
        now,
        now,
        imageId,
      );
      logger.info({ imageId, correlationId, replayed: res.replayed }, 'image committed');
      for (const p of stored) await fs.unlink(join(payloadDir, p.file)).catch(() => undefined);
      await fsyncDir(fs, payloadDir).catch(() => undefined);
      emitItem('item-committed', imageId);
    } catch (err) {
      if (signal.aborted) {
        q.toQueued.run(clock.now(), imageId);
        logger.info({ imageId, correlationId }, 'send interrupted by stop; re-queued');
        return;
      }
      finish(row, toAppError(err), fields);
    }
  }

  /** After a failed attempt: waiting (retryable, or grant ended) or failed (final). */
  function finish(row: Row, err: AppError, fields: LiveFields | undefined): void {
    const imageId = row.image_id;
    const now = clock.now();
    if (GRANT_CODES.has(err.code) && fields) {
      const newer = rebound.get(row.patient_ref);
      if (newer !== undefined && newer !== fields.grantId) {
        q.rebind.run(sealFields(imageId, { ...fields, grantId: newer }), now, imageId);
        emitItem('item-queued', imageId);
        return;
      }
      q.toWaiting.run(null, err.code, err.message, GRANT_REASON, now, imageId);
      logger.info({ imageId, code: err.code }, 'waiting for a new launch grant');
      emitItem('item-waiting', imageId);
      return;
    }
    if (err.retryable || DEVICE_CODES.has(err.code)) {
      const attempts = q.get.get(imageId)?.attempts ?? 1;
      const next = now + backoffDelayMs(attempts, random, backoff, err.retryAfterSeconds);
      q.toWaiting.run(next, err.code, err.message, err.message, now, imageId);
      logger.info({ imageId, code: err.code, detail: err.detail, correlationId: err.correlationId, attempts, inMs: next - now }, 'send will be retried');
      emitItem('item-waiting', imageId);
      return;
    }
    q.toFailed.run(err.code, err.message, err.message, now, imageId);
    logger.warn({ imageId, code: err.code, detail: err.detail, correlationId: err.correlationId }, 'send failed');
    emitItem('item-failed', imageId);
  }

  // ---- enqueue ----
  async function readSource(src: PayloadSource): Promise<Buffer> {
    if (src.bytes !== undefined) return Buffer.from(src.bytes.buffer, src.bytes.byteOffset, src.bytes.byteLength);
    try {
      return await fs.readFile(src.file);
    } catch (err) {
      throw storageError(err);
    }
  }

  async function enqueue(item: OutboxItemInput): Promise<void> {
    if (closed) throw new AppError('ERR_INTERNAL', { detail: 'outbox closed' });
    validateInput(item);
    const imageId = item.imageId;
    if (enqueuing.has(imageId)) throw new AppError('ERR_IDEMPOTENCY_IN_PROGRESS', { detail: 'image is already being saved' });
    enqueuing.add(imageId);
    const written: string[] = [];
    try {
      const parts: { kind: PayloadKind; bytes: Buffer; contentType: string; width?: number; height?: number }[] = [];
      if (item.media) parts.push({ kind: 'media', bytes: await readSource(item.media), contentType: item.media.contentType, width: item.media.width, height: item.media.height });
      if (item.document) parts.push({ kind: 'document', bytes: await readSource(item.document), contentType: item.document.contentType });
      for (const p of parts) {
        if (p.bytes.length > maxPayloadBytes) throw new AppError('ERR_COMMIT_IMAGE_TOO_LARGE', { detail: `${p.kind} payload is ${p.bytes.length} bytes` });
        if (!MAGIC[p.contentType]?.(p.bytes)) throw new AppError('ERR_COMMIT_IMAGE_TYPE', { detail: `${p.kind} bytes are not ${p.contentType}` });
      }
      const stored: StoredPayload[] = parts.map((p) => {
        const s: StoredPayload = { kind: p.kind, contentType: p.contentType, file: '', sha256: sha256(p.bytes), size: p.bytes.length };
        if (p.width !== undefined) s.width = p.width;
        if (p.height !== undefined) s.height = p.height;
        return s;
      });

      const existing = q.get.get(imageId);
      if (existing) {
        const before = (JSON.parse(existing.payloads) as StoredPayload[]).map((p) => `${p.kind}:${p.sha256}`).sort().join();
        const now = stored.map((p) => `${p.kind}:${p.sha256}`).sort().join();
        if (before !== now) throw new AppError('ERR_IDEMPOTENCY_MISMATCH', { detail: 'another image is already saved under this identifier' });
        return;
      }

      for (const [i, p] of parts.entries()) {
        const name = `${imageId}.${p.kind}.${randomUUID().slice(0, 8)}`;
        const s = stored[i];
        if (!s) continue;
        await writeFileAtomic(fs, payloadDir, name, keys.seal(p.bytes, payloadAad(imageId, p.kind)), options.renameRetry);
        written.push(name);
        s.file = name;
      }
      await fsyncDir(fs, payloadDir);
      const fields: LiveFields = { v: 'live', patient: item.patient, grantId: item.grantId, metadata: item.metadata };
      if (item.source !== undefined) fields.source = item.source;
      q.insert.run({
        image_id: imageId,
        patient_ref: keys.patientRef(item.patient.id),
        facility_id: item.facilityId,
        captured_at: item.capturedAt,
        targets: JSON.stringify(item.targets),
        sealed: sealFields(imageId, fields),
        payloads: JSON.stringify(stored),
        now: clock.now(),
      });
    } catch (err) {
      for (const name of written) await fs.unlink(join(payloadDir, name)).catch(() => undefined);
      if (written.length > 0) await fsyncDir(fs, payloadDir).catch(() => undefined);
      const e = sqliteOrStorageError(err);
      logger.warn({ imageId, code: e.code, detail: e.detail }, 'image not saved to the outbox');
      throw e;
    } finally {
      enqueuing.delete(imageId);
    }
    logger.info({ imageId }, 'image saved to the outbox');
    emitItem('item-queued', imageId);
    pump();
  }

  async function stop(): Promise<void> {
    running = false;
    if (timer) clearTimeout(timer);
    timer = undefined;
    const all = [...inFlight.values()];
    for (const f of all) f.abort.abort();
    await Promise.all(all.map((f) => f.done));
    checkIdle();
  }

  return {
    enqueue,
    start() {
      if (closed || running) return;
      running = true;
      pump();
    },
    stop,
    list(filter: OutboxListFilter = {}) {
      const where: string[] = [];
      const args: (string | number)[] = [];
      if (filter.states && filter.states.length > 0) {
        where.push(`state IN (${filter.states.map(() => '?').join(',')})`);
        args.push(...filter.states);
      }
      if (filter.patientId !== undefined) {
        where.push('patient_ref = ?');
        args.push(keys.patientRef(filter.patientId));
      }
      const sql = `SELECT * FROM items ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY created_at, image_id`;
      return db.prepare<(string | number)[], Row>(sql).all(...args).map(view);
    },
    get(imageId) {
      const row = q.get.get(imageId);
      return row ? view(row) : undefined;
    },
    retry(imageId) {
      if (q.retry.run(clock.now(), imageId).changes !== 1) return false;
      emitItem('item-queued', imageId);
      pump();
      return true;
    },
    rebindGrant(patientId, grantId) {
      if (typeof grantId !== 'string' || grantId.length < 16 || grantId.length > 128) throw new AppError('ERR_LAUNCH_GRANT_INVALID', { detail: 'grantId malformed' });
      const ref = keys.patientRef(patientId);
      rebound.set(ref, grantId);
      const changed: string[] = [];
      db.transaction(() => {
        for (const row of q.byPatient.all(ref)) {
          let fields: Fields;
          try {
            fields = openFields(row);
          } catch {
            continue;
          }
          if (fields.v !== 'live' || fields.patient.id !== patientId) continue; // same patient only
          q.rebind.run(sealFields(row.image_id, { ...fields, grantId }), clock.now(), row.image_id);
          changed.push(row.image_id);
        }
      })();
      for (const id of changed) emitItem('item-queued', id);
      logger.info({ items: changed.length }, 'launch grant rebound');
      pump();
      return changed.length;
    },
    kick() {
      pump();
    },
    idle() {
      return new Promise<void>((resolve) => {
        idleWaiters.push(resolve);
        checkIdle();
      });
    },
    on(event, fn) {
      let set = listeners.get(event);
      if (!set) listeners.set(event, (set = new Set()));
      set.add(fn as (p: never) => void);
      return () => {
        set.delete(fn as (p: never) => void);
      };
    },
    dbSettings: () => readSettings(db),
    progress,
    async close() {
      if (closed) return;
      await stop();
      closed = true;
      db.close();
    },
  };
}

function sqliteOrStorageError(err: unknown): AppError {
  const code = errnoOf(err);
  if (code?.startsWith('SQLITE_FULL')) return new AppError('ERR_STORAGE_FULL', { detail: code, cause: err });
  if (code?.startsWith('SQLITE_')) return new AppError('ERR_STORAGE_IO', { detail: code, cause: err });
  return storageError(err);
}
