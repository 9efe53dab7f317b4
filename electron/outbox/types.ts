import type { Logger } from 'pino';
import type { ErrorCode } from '../../shared/errors';
import type { ImageMetadata, PatientSummary } from '../../shared/contracts/common';
import type { CommitTarget, DocumentPayload, MediaPayload } from '../../shared/contracts/gateway';
import type { CommitClient } from '../gateway-client/client';
import type { SecretStore } from '../secrets';
import type { BackoffPolicy } from './outcome';
import type { OutboxFs, RenameRetry } from './durable-fs';

/** The states and their moves: README.md "States". */
export type OutboxState = 'queued' | 'sending' | 'waiting' | 'committed' | 'failed' | 'unconfirmed';

export type OutboxAction = 'unconfirmed' | 'person-confirmed' | 'person-send-again';

export interface OutboxActionView {
  action: OutboxAction;
  at: string;
  correlationId?: string;
}

/** A file is copied in; the original is left alone. */
export type PayloadSource = { file: string; bytes?: undefined } | { bytes: Uint8Array; file?: undefined };

/** One image, bound to its own patient and launch grant (README.md "Item input"). */
export interface OutboxItemInput {
  /** v4 UUID: the Idempotency-Key and the FHIR identifier. */
  imageId: string;
  patient: PatientSummary;
  grantId: string;
  facilityId: string;
  capturedAt: string;
  metadata: ImageMetadata;
  targets: CommitTarget[];
  media?: PayloadSource & { contentType: MediaPayload['contentType']; width?: number; height?: number };
  document?: PayloadSource & { contentType: DocumentPayload['contentType'] };
  source?: string;
  /** The photo's name ("Photo 2", or the file's name): it leads the title in Medtech. */
  label?: string;
}

/** Never image bytes. */
export interface OutboxItemView {
  imageId: string;
  patientId: string;
  /** The full patient while the item is live; absent once committed (history keeps no names). */
  patient?: PatientSummary;
  /** Kept in committed history: which record it went to. */
  nhi?: string;
  facilityId: string;
  capturedAt: string;
  targets: CommitTarget[];
  state: OutboxState;
  attempts: number;
  nextAttemptAt?: string;
  /** Why it is waiting, unconfirmed or failed, in plain words. */
  reason?: string;
  /** ERR_ALEX_OUTCOME_UNKNOWN: the gateway asks Medtech again. */
  waitingFor?: 'medtech-confirmation';
  resendAfterCheck?: boolean;
  /** Oldest first. */
  actions?: OutboxActionView[];
  lastError?: { code: ErrorCode; message: string };
  committed?: { media?: { id: string }; documentReference?: { id: string }; confirmedBy?: 'person'; at: string };
  updatedAt: string;
}

export type OutboxProgress = Record<OutboxState, number>;

export type OutboxEvents = Record<`item-${OutboxState}`, OutboxItemView> & { progress: OutboxProgress };

export interface OutboxListFilter {
  states?: OutboxState[];
  patientId?: string;
}

export interface Clock {
  /** Epoch ms. */
  now(): number;
}

export interface OpenOutboxOptions {
  /** Created if missing. */
  dir: string;
  secrets: SecretStore;
  gateway: CommitClient;
  clock?: Clock;
  /** [0, 1), for backoff jitter only. Default Math.random. */
  random?: () => number;
  logger: Logger;
  /** Parallel sends. Default 2 (ALEX: at most 2 concurrent writes per facility). */
  concurrency?: number;
  backoff?: BackoffPolicy;
  /** How long committed history stays. Default 30 days. */
  retentionMs?: number;
  fs?: OutboxFs;
  renameRetry?: RenameRetry;
}

export interface Outbox {
  /** Resolves only once the item is durable on disk. Idempotent for the same imageId and bytes. */
  enqueue(item: OutboxItemInput): Promise<void>;
  start(): void;
  /** Stops sending: in-flight posts are aborted and go back to queued (resent later with the same key). */
  stop(): Promise<void>;
  list(filter?: OutboxListFilter): OutboxItemView[];
  get(imageId: string): OutboxItemView | undefined;
  /** A failed or waiting item queued now; false when there is nothing to retry. */
  retry(imageId: string): boolean;
  /** A person saw an `unconfirmed` item in Medtech (README.md "States"). Not unconfirmed → ERR_NOT_FOUND. */
  confirmArrived(imageId: string): Promise<OutboxItemView>;
  /** The image is not in Medtech: ONE post with `resendAfterCheck`. False when the item is not unconfirmed. */
  sendAgain(imageId: string): boolean;
  /** This patient's waiting/queued items get the new launch grant and are queued; answers how many. */
  rebindGrant(patientId: string, grantId: string): number;
  kick(): void;
  /** Resolves when nothing is being sent and nothing is due. */
  idle(): Promise<void>;
  on<E extends keyof OutboxEvents>(event: E, fn: (payload: OutboxEvents[E]) => void): () => void;
  dbSettings(): { journalMode: string; synchronous: number };
  progress(): OutboxProgress;
  close(): Promise<void>;
}
