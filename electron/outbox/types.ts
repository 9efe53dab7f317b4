import type { Logger } from 'pino';
import type { ErrorCode } from '../../shared/errors';
import type { ImageMetadata, PatientSummary } from '../../shared/contracts/common';
import type { CommitTarget, DocumentPayload, MediaPayload } from '../../shared/contracts/gateway';
import type { CommitClient } from '../gateway-client';
import type { SecretStore } from '../secrets';
import type { BackoffPolicy } from './backoff';
import type { OutboxFs, RenameRetry } from './durable-fs';

/**
 * `unconfirmed`: the gateway could not learn whether Medtech stored the image (ERR_COMMIT_UNCONFIRMED). Never sent
 * again by itself and never wiped: a person looks in Medtech, then `confirmArrived` or `sendAgain`.
 */
export type OutboxState = 'queued' | 'sending' | 'waiting' | 'committed' | 'failed' | 'unconfirmed';

/** What a person must know happened to an item, kept in its history. */
export type OutboxAction = 'unconfirmed' | 'person-confirmed' | 'person-send-again';

export interface OutboxActionView {
  action: OutboxAction;
  at: string;
  correlationId?: string;
}

/** A rendered payload from the imaging pipeline: a file path (copied in; the original is left alone) or bytes. */
export type PayloadSource = { file: string; bytes?: undefined } | { bytes: Uint8Array; file?: undefined };

export type MediaInput = PayloadSource & { contentType: MediaPayload['contentType']; width?: number; height?: number };
export type DocumentInput = PayloadSource & { contentType: DocumentPayload['contentType'] };

/** What the caller hands to enqueue(): one image, bound to its own patient and launch grant. */
export interface OutboxItemInput {
  /** v4 UUID minted at ingest: the Idempotency-Key and the FHIR identifier. */
  imageId: string;
  patient: PatientSummary;
  grantId: string;
  facilityId: string;
  /** ISO-8601 with offset. */
  capturedAt: string;
  metadata: ImageMetadata;
  targets: CommitTarget[];
  /** Required when targets include 'media'. */
  media?: MediaInput;
  /** Required when targets include 'documentReference'. */
  document?: DocumentInput;
  /** Free text, e.g. "Phone upload, Room 3". */
  source?: string;
  /** The photo's name ("Photo 2", or the file's name), as the gateway contract's `label`: it leads the title in Medtech. */
  label?: string;
}

export interface OutboxErrorView {
  code: ErrorCode;
  message: string;
}

/** What the UI sees of one item. Never image bytes. */
export interface OutboxItemView {
  imageId: string;
  patientId: string;
  /** The full patient while the item is live; absent once committed (history keeps no names). */
  patient?: PatientSummary;
  /** Kept in committed history so the UI can say which record it went to. */
  nhi?: string;
  facilityId: string;
  capturedAt: string;
  targets: CommitTarget[];
  state: OutboxState;
  attempts: number;
  /** ISO time of the next automatic attempt (waiting items). */
  nextAttemptAt?: string;
  /** Plain-language reason it is waiting, unconfirmed or failed. */
  reason?: string;
  /** Set while the gateway waits for Medtech to confirm a create it may have stored (ERR_ALEX_OUTCOME_UNKNOWN). */
  waitingFor?: 'medtech-confirmation';
  /** True once a person chose "Send again": the next post carries `resendAfterCheck`. */
  resendAfterCheck?: boolean;
  /** What happened that a person must know (unconfirmed, and each person's answer), oldest first. */
  actions?: OutboxActionView[];
  lastError?: OutboxErrorView;
  committed?: { media?: { id: string }; documentReference?: { id: string }; confirmedBy?: 'person'; at: string };
  createdAt: string;
  updatedAt: string;
}

export interface OutboxProgress {
  queued: number;
  sending: number;
  waiting: number;
  failed: number;
  committed: number;
  unconfirmed: number;
}

export interface OutboxEvents {
  'item-queued': OutboxItemView;
  'item-sending': OutboxItemView;
  'item-committed': OutboxItemView;
  'item-waiting': OutboxItemView;
  'item-failed': OutboxItemView;
  'item-unconfirmed': OutboxItemView;
  progress: OutboxProgress;
}

export interface OutboxListFilter {
  states?: OutboxState[];
  /** Only this patient's items. */
  patientId?: string;
}

export interface Clock {
  /** Epoch milliseconds. */
  now(): number;
}

export interface OpenOutboxOptions {
  /** Folder for the database and payload files (created if missing). */
  dir: string;
  secrets: SecretStore;
  gateway: CommitClient;
  clock?: Clock;
  /** [0, 1), for backoff jitter. Default Math.random. (Keys and IVs always use crypto randomness.) */
  random?: () => number;
  logger: Logger;
  /** Parallel sends. Default 2 (ALEX: at most 2 concurrent writes per facility). */
  concurrency?: number;
  backoff?: BackoffPolicy;
  /** How long committed records stay in history. Default 30 days. */
  retentionMs?: number;
  /** Largest payload accepted. Default LIMITS.alexMaxAttachmentBytes. */
  maxPayloadBytes?: number;
  fs?: OutboxFs;
  renameRetry?: RenameRetry;
  newCorrelationId?: () => string;
}

export interface Outbox {
  /** Resolves only when the item and its payloads are durable on disk. Idempotent for the same imageId and bytes. */
  enqueue(item: OutboxItemInput): Promise<void>;
  start(): void;
  /** Stops sending: in-flight posts are aborted and go back to queued (resent later with the same key). */
  stop(): Promise<void>;
  list(filter?: OutboxListFilter): OutboxItemView[];
  get(imageId: string): OutboxItemView | undefined;
  /** Puts a failed or waiting item back in the queue now. False when there is nothing to retry. */
  retry(imageId: string): boolean;
  /**
   * A person saw an `unconfirmed` item in Medtech: the gateway records it (confirm route) and the item is committed
   * (confirmed by a person) and its local copies wiped. Not unconfirmed → ERR_NOT_FOUND; gateway errors are thrown
   * and the item stays unconfirmed.
   */
  confirmArrived(imageId: string): Promise<OutboxItemView>;
  /**
   * A person looked in Medtech and the image is not there: queue ONE post with `resendAfterCheck: true`, then the
   * normal flow. False when the item is not unconfirmed.
   */
  sendAgain(imageId: string): boolean;
  /** Gives this patient's waiting/queued items the new launch grant and re-queues them. Returns how many. */
  rebindGrant(patientId: string, grantId: string): number;
  /** Look for due items now (after advancing an injected clock, or when the network comes back). */
  kick(): void;
  /** Resolves when nothing is being sent and nothing is due. */
  idle(): Promise<void>;
  on<E extends keyof OutboxEvents>(event: E, fn: (payload: OutboxEvents[E]) => void): () => void;
  /** The live connection's durability settings (asserted at open). */
  dbSettings(): { journalMode: string; synchronous: number };
  progress(): OutboxProgress;
  close(): Promise<void>;
}
