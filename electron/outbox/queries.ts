/** The outbox's rows and every SQL statement it runs, prepared once per open database. */
import type { ImageMetadata, PatientSummary } from '../../shared/contracts/common';
import type { DB } from './db';
import type { OutboxAction, OutboxState } from './types';

export type PayloadKind = 'media' | 'document';

export interface StoredPayload {
  kind: PayloadKind;
  contentType: string;
  /** In payloads/; '' once wiped. */
  file: string;
  sha256: string;
  size: number;
  width?: number;
  height?: number;
}

/** Sealed with the item: all it needs to be posted ... */
export interface LiveFields {
  v: 'live';
  patient: PatientSummary;
  grantId: string;
  metadata: ImageMetadata;
  source?: string;
  /** Absent in rows saved before names travelled: those post without one. */
  label?: string;
}
/** ... or, once committed, only which record it went to. */
export type Fields = LiveFields | { v: 'history'; patientId: string; nhi: string };

export interface CommitResult {
  media?: { id: string };
  documentReference?: { id: string };
  confirmedBy?: 'person';
}

export interface Row {
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
  resend_after_check: number;
}

export function prepareQueries(db: DB) {
  return {
    get: db.prepare<[string], Row>('SELECT * FROM items WHERE image_id = ?'),
    /** `states`: a JSON array, or null for every state; `ref`: a patient ref, or null for every patient. */
    list: db.prepare<[{ states: string | null; ref: string | null }], Row>(
      `SELECT * FROM items WHERE (@states IS NULL OR state IN (SELECT value FROM json_each(@states))) AND (@ref IS NULL OR patient_ref = @ref)
       ORDER BY created_at, image_id`,
    ),
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
    toUnconfirmed: db.prepare(
      `UPDATE items SET state = 'unconfirmed', next_attempt_at = NULL, error_code = ?, error_message = ?, reason = ?, resend_after_check = 0, updated_at = ? WHERE image_id = ?`,
    ),
    toCommitted: db.prepare(
      `UPDATE items SET state = 'committed', sealed = ?, payloads = ?, result = ?, committed_at = ?, next_attempt_at = NULL,
         error_code = NULL, error_message = NULL, reason = NULL, resend_after_check = 0, updated_at = ? WHERE image_id = ?`,
    ),
    retry: db.prepare(
      `UPDATE items SET state = 'queued', attempts = 0, next_attempt_at = NULL, error_code = NULL, error_message = NULL, reason = NULL, updated_at = ?
       WHERE image_id = ? AND state IN ('failed','waiting')`,
    ),
    sendAgain: db.prepare(
      `UPDATE items SET state = 'queued', attempts = 0, next_attempt_at = NULL, error_code = NULL, error_message = NULL, reason = NULL, resend_after_check = 1,
         updated_at = ? WHERE image_id = ? AND state = 'unconfirmed'`,
    ),
    clearResend: db.prepare(`UPDATE items SET resend_after_check = 0 WHERE image_id = ?`),
    rebind: db.prepare(
      `UPDATE items SET sealed = ?, state = 'queued', next_attempt_at = NULL, error_code = NULL, error_message = NULL, reason = NULL, updated_at = ? WHERE image_id = ?`,
    ),
    byPatient: db.prepare<[string], Row>(`SELECT * FROM items WHERE patient_ref = ? AND state IN ('queued','waiting')`),
    purge: db.prepare(`DELETE FROM items WHERE state = 'committed' AND committed_at < ?`),
    purgeActions: db.prepare(`DELETE FROM actions WHERE image_id NOT IN (SELECT image_id FROM items)`),
    addAction: db.prepare(`INSERT INTO actions (image_id, action, at, correlation_id) VALUES (?, ?, ?, ?)`),
    actionsOf: db.prepare<[string], { action: OutboxAction; at: number; correlation_id: string | null }>(`SELECT action, at, correlation_id FROM actions WHERE image_id = ? ORDER BY seq`),
    counts: db.prepare<[], { state: OutboxState; n: number }>(`SELECT state, COUNT(*) AS n FROM items GROUP BY state`),
    /** A post cut off by a crash may have reached the gateway: a person's "Send again" it carried is used up. */
    recoverSending: db.prepare(`UPDATE items SET state = 'queued', next_attempt_at = NULL, resend_after_check = 0, updated_at = ? WHERE state = 'sending'`),
    liveFiles: db.prepare<[], { payloads: string }>(`SELECT payloads FROM items WHERE state != 'committed'`),
  };
}

export type Queries = ReturnType<typeof prepareQueries>;
