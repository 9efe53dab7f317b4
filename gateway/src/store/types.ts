/** The gateway's one store (SqliteStore, RedisStore). Every method is atomic; times (epoch ms) are passed in. */
import type { PatientSummary } from '../../../shared/contracts/common';
import type { CommittedResource } from '../../../shared/contracts/gateway';

export interface DeviceRecord {
  deviceId: string;
  /** hex sha256 of the device secret; the secret itself is never stored. */
  secretHash: string;
  deviceName: string;
  facilityId: string;
  practiceName: string;
  platform: string | null;
  appVersion: string | null;
  createdAt: number;
  revokedAt: number | null;
  /** RFC 7638 thumbprint of the DPoP key the device enrolled with; absent: enrolled without a key. */
  dpopJkt?: string;
}

export interface EnrolmentCodeRecord {
  /** hex sha256 of the normalised code. */
  codeHash: string;
  facilityId: string;
  practiceName: string;
  createdAt: number;
  expiresAt: number;
  usedAt: number | null;
  usedByDeviceId: string | null;
}

export type ConsumeCodeResult = { ok: true; code: EnrolmentCodeRecord } | { ok: false; reason: 'invalid' | 'used' | 'expired' };

export interface GrantRecord {
  /** hex sha256 of the opaque grant id. */
  grantHash: string;
  deviceId: string;
  facilityId: string;
  patient: PatientSummary;
  providerId: string | null;
  issuedAt: number;
  expiresAt: number;
  /** Issued by the NHI-lookup fallback and not confirmed yet: the GP must confirm the patient before any use. */
  requiresConfirmation: boolean;
  /** Epoch ms when the GP confirmed an NHI-lookup grant (absent: not confirmed, or a launch grant). */
  confirmedAt?: number;
}

/** A commit's final answer, replayed for the same key. */
export interface StoredResponse {
  status: number;
  body: unknown;
}

/** Progress per target, so a retry never re-creates a target that is done. */
export interface CommitProgress {
  media?: CommittedResource;
  documentReference?: CommittedResource;
  /** Per target whose create may have reached ALEX, outcome not proven yet: when it was sent (../commit/outcome.ts). */
  sent?: { media?: number; documentReference?: number };
}

export interface IdempotencyRecord {
  key: string;
  fingerprint: string;
  deviceId: string;
  facilityId: string;
  patientId: string;
  patientNhi: string;
  state: 'in-progress' | 'completed';
  leaseOwner: string | null;
  leaseExpiresAt: number;
  /** How many times a lease was taken for this key (1 on the first request). */
  attempts: number;
  progress: CommitProgress;
  response: StoredResponse | null;
  createdAt: number;
  updatedAt: number;
}

/** A request for the lease of `key`: the new record's fields, and the lease wanted. */
export type IdempotencyClaim = Pick<IdempotencyRecord, 'key' | 'fingerprint' | 'deviceId' | 'facilityId' | 'patientId' | 'patientNhi'> & {
  leaseOwner: string;
  leaseMs: number;
  now: number;
};

export type AcquireResult =
  | { kind: 'acquired'; record: IdempotencyRecord }
  | { kind: 'in-progress' }
  | { kind: 'mismatch' }
  | { kind: 'completed'; record: IdempotencyRecord };

export interface AuditRecord {
  id: string;
  at: number;
  deviceId: string | null;
  facilityId: string | null;
  /** hex sha256 (salted by purpose) of the ALEX patient id; never the id, name or NHI. */
  patientHash: string | null;
  action: string;
  outcome: string;
  imageId: string | null;
  resourceIds: string[];
  errorCode: string | null;
  correlationId: string;
  /** A committed image's recorded consent kind ('verbal' | 'written' | 'not-needed'), when one was recorded. */
  consent?: string;
}

export interface AuditQuery {
  deviceId?: string;
  since?: number;
  limit?: number;
}

export interface BucketSpec {
  capacity: number;
  refillPerSecond: number;
}

export interface TakeResult {
  allowed: boolean;
  /** Whole seconds until one token is available (0 when allowed). */
  retryAfterSeconds: number;
}

export interface GatewayStore {
  readonly kind: 'sqlite' | 'memory' | 'redis';

  putDevice(device: DeviceRecord): Promise<void>;
  getDevice(deviceId: string): Promise<DeviceRecord | null>;
  listDevices(): Promise<DeviceRecord[]>;
  /** false when no such device. Revoking twice keeps the first time. */
  revokeDevice(deviceId: string, now: number): Promise<boolean>;

  putEnrolmentCode(code: EnrolmentCodeRecord): Promise<void>;
  /** Atomically marks the code used by deviceId, once. */
  consumeEnrolmentCode(codeHash: string, deviceId: string, now: number): Promise<ConsumeCodeResult>;

  putGrant(grant: GrantRecord): Promise<void>;
  getGrant(grantHash: string): Promise<GrantRecord | null>;
  /** true the first time this launch hash is seen within its TTL; false on a replay. */
  markLaunchUsed(launchHash: string, expiresAt: number, now: number): Promise<boolean>;

  getIdempotency(key: string): Promise<IdempotencyRecord | null>;
  /**
   * Take the lease for key: new key → acquired (attempts 1); other fingerprint or practice → mismatch;
   * completed → completed; live lease held → in-progress; released or expired → acquired, attempts+1,
   * progress kept. Durable when it resolves: nothing may reach ALEX before the lease is.
   */
  acquireIdempotency(claim: IdempotencyClaim): Promise<AcquireResult>;
  /** Record progress (and extend the lease). false when the lease is no longer ours. */
  saveProgress(key: string, leaseOwner: string, progress: CommitProgress, leaseExpiresAt: number, now: number): Promise<boolean>;
  /**
   * The final answer, progress and audit record in one atomic step; false when the lease is no longer ours.
   * If it rejects, the answer may be stored all the same (not known to be on disk): a retry replays it.
   */
  completeIdempotency(key: string, leaseOwner: string, response: StoredResponse, now: number, progress?: CommitProgress, audit?: AuditRecord): Promise<boolean>;
  /** Give the lease up (retryable failure), keeping progress, so the next request may continue; audit in the same step. */
  releaseIdempotency(key: string, leaseOwner: string, now: number, progress?: CommitProgress, audit?: AuditRecord): Promise<void>;

  appendAudit(record: AuditRecord): Promise<void>;
  listAudit(query: AuditQuery): Promise<AuditRecord[]>;

  /** Token bucket: take `cost` tokens (0 = only look). The embedded store keeps buckets in memory (per process). */
  takeToken(key: string, spec: BucketSpec, cost: number, now: number): Promise<TakeResult>;

  /** Deletes expired grants, replay entries, old idempotency records. */
  purgeExpired(now: number, idempotencyRetentionMs: number): Promise<void>;
  ping(): Promise<boolean>;
  close(): Promise<void>;
}
