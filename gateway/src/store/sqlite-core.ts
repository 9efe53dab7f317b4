/**
 * The embedded store's synchronous core: schema, connection settings, the read queries, every write as a
 * named function, and the group-commit batch (one IMMEDIATE transaction, a savepoint per write). Both
 * modes of `SqliteStore` run this same code — in memory on the calling thread, on a file in the writer
 * thread (`sqlite-worker.ts`) — so their behaviour cannot drift. Writes are named (`WriteOp`: a name and
 * plain-data arguments) so a batch can be posted to another thread; results and errors come back as
 * plain data too.
 */
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type {
  AcquireResult,
  AuditQuery,
  AuditRecord,
  CommitProgress,
  ConsumeCodeResult,
  DeviceRecord,
  EnrolmentCodeRecord,
  GrantRecord,
  IdempotencyClaim,
  IdempotencyRecord,
  StoredResponse,
} from './types';
import type { SyncFile } from './wal-sync';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS devices (device_id TEXT PRIMARY KEY, json TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS enrolment_codes (code_hash TEXT PRIMARY KEY, json TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS grants (grant_hash TEXT PRIMARY KEY, expires_at INTEGER NOT NULL, json TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS launch_replay (launch_hash TEXT PRIMARY KEY, expires_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS idempotency (key TEXT PRIMARY KEY, updated_at INTEGER NOT NULL, json TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS audit (seq INTEGER PRIMARY KEY AUTOINCREMENT, at INTEGER NOT NULL, device_id TEXT, json TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS audit_at ON audit (at);
`;

export const DEFAULT_BUSY_TIMEOUT_MS = 5000;

export interface SqliteOptions {
  /** How long a connection waits for another one's write lock before failing (SQLITE_BUSY). */
  busyTimeoutMs?: number;
  /** How a file's WAL is synced for writes committed without their own fsync (tests inject failures). */
  syncFile?: SyncFile;
}

/** What the writer thread is started with (its `workerData`). */
export interface WriterConfig {
  file: string;
  busyTimeoutMs: number;
}

/** An error as it crosses a thread: enough to rebuild a useful one on the other side. */
export interface WireError {
  name: string;
  message: string;
  code?: string;
}

export type OpResult = { ok: true; value: unknown } | { ok: false; error: WireError };

/** A batch either committed (each write with its own result) or did not (nothing of it is stored). */
export type BatchOutcome = { committed: true; results: OpResult[] } | { committed: false; error: WireError };

type Row = { json: string } | undefined;

/** Opens `file` (or ':memory:') in WAL with synchronous=FULL and the schema in place. */
export function openSqlite(file: string, options: SqliteOptions = {}): Database.Database {
  const busyTimeoutMs = options.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS;
  if (!Number.isInteger(busyTimeoutMs) || busyTimeoutMs < 0) throw new RangeError(`busyTimeoutMs must be a whole number of ms, not ${busyTimeoutMs}`);
  if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
  const db = new Database(file);
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.pragma(`busy_timeout = ${busyTimeoutMs}`);
    db.exec(SCHEMA);
  } catch (error) {
    db.close();
    throw error;
  }
  return db;
}

export function toWireError(error: unknown): WireError {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return { name: error.name, message: error.message, ...(typeof code === 'string' ? { code } : {}) };
  }
  return { name: 'Error', message: String(error) };
}

/** The Error a caller sees: the original name, message and SQLite code (e.g. SQLITE_CONSTRAINT_UNIQUE). */
export function fromWireError(wire: WireError | undefined): Error {
  const error = new Error(wire?.message ?? 'The write failed without a reason');
  error.name = wire?.name ?? 'Error';
  if (wire?.code !== undefined) (error as Error & { code?: string }).code = wire.code;
  return error;
}

export class SqliteCore {
  private readonly statements = new Map<string, Database.Statement>();
  /** The group commit: every write of the batch in its own savepoint, inside one IMMEDIATE transaction. */
  private readonly batch: Database.Transaction<(ops: readonly WriteOp[]) => OpResult[]>;
  /** Nested inside `batch`, so a savepoint: rolled back alone when the write throws. */
  private readonly one: Database.Transaction<(op: WriteOp) => unknown>;

  constructor(readonly db: Database.Database) {
    this.one = db.transaction((op: WriteOp) => runWrite(this, op));
    this.batch = db.transaction((ops: readonly WriteOp[]) =>
      ops.map((op): OpResult => {
        try {
          return { ok: true, value: this.one(op) };
        } catch (error) {
          return { ok: false, error: toWireError(error) };
        }
      }),
    );
  }

  /** Prepared once per SQL text. */
  stmt(sql: string): Database.Statement {
    let st = this.statements.get(sql);
    if (!st) {
      st = this.db.prepare(sql);
      this.statements.set(sql, st);
    }
    return st;
  }

  /** The connection's `synchronous` setting as last set here (2 = FULL, as opened). */
  private synchronous = 2;

  /**
   * Runs the batch as one transaction, durable when it returns (`sync` 'full', SQLite's fsync of the WAL
   * at commit) or committed without a sync ('later': synchronous=NORMAL; the caller makes it durable with
   * an fdatasync of the WAL, see wal-sync.ts). Never throws: a write that throws fails alone; a
   * transaction that cannot begin or commit fails them all.
   */
  runBatch(ops: readonly WriteOp[], sync: 'full' | 'later' = 'full'): BatchOutcome {
    try {
      if (!this.db.open) throw new Error('The store is closed');
      const level = sync === 'full' ? 2 : 1;
      if (level !== this.synchronous) {
        this.db.pragma(`synchronous = ${level}`);
        this.synchronous = level;
      }
      return { committed: true, results: this.batch.immediate(ops) };
    } catch (error) {
      return { committed: false, error: toWireError(error) };
    }
  }

  pragmas(): { journalMode: string; synchronous: number } {
    return {
      journalMode: String(this.db.pragma('journal_mode', { simple: true })),
      synchronous: Number(this.db.pragma('synchronous', { simple: true })),
    };
  }

  ping(): boolean {
    return this.db.open && (this.stmt('SELECT 1 AS ok').get() as { ok: number }).ok === 1;
  }

  close(): void {
    if (this.db.open) this.db.close();
  }

  // Reads.

  getDevice(deviceId: string): DeviceRecord | null {
    const row = this.stmt('SELECT json FROM devices WHERE device_id = ?').get(deviceId) as Row;
    return row ? (JSON.parse(row.json) as DeviceRecord) : null;
  }

  listDevices(): DeviceRecord[] {
    const rows = this.stmt('SELECT json FROM devices ORDER BY device_id').all() as { json: string }[];
    return rows.map((r) => JSON.parse(r.json) as DeviceRecord).sort((a, b) => a.createdAt - b.createdAt);
  }

  getGrant(grantHash: string): GrantRecord | null {
    const row = this.stmt('SELECT json FROM grants WHERE grant_hash = ?').get(grantHash) as Row;
    return row ? (JSON.parse(row.json) as GrantRecord) : null;
  }

  getIdempotency(key: string): IdempotencyRecord | null {
    const row = this.stmt('SELECT json FROM idempotency WHERE key = ?').get(key) as Row;
    return row ? (JSON.parse(row.json) as IdempotencyRecord) : null;
  }

  listAudit(query: AuditQuery): AuditRecord[] {
    const where: string[] = [];
    const args: (string | number)[] = [];
    if (query.deviceId !== undefined) {
      where.push('device_id = ?');
      args.push(query.deviceId);
    }
    if (query.since !== undefined) {
      where.push('at >= ?');
      args.push(query.since);
    }
    const sql = `SELECT json FROM audit ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY at DESC, seq DESC LIMIT ?`;
    const rows = this.stmt(sql).all(...args, query.limit ?? 100) as { json: string }[];
    return rows.map((r) => JSON.parse(r.json) as AuditRecord).reverse();
  }

  // Helpers for the writes.

  writeIdempotency(rec: IdempotencyRecord): void {
    this.stmt('INSERT OR REPLACE INTO idempotency (key, updated_at, json) VALUES (?, ?, ?)').run(rec.key, rec.updatedAt, JSON.stringify(rec));
  }

  insertAudit(record: AuditRecord): void {
    this.stmt('INSERT INTO audit (at, device_id, json) VALUES (?, ?, ?)').run(record.at, record.deviceId, JSON.stringify(record));
  }
}

/**
 * Every write, by name. Each runs inside its savepoint; its arguments and result are plain data (they may
 * cross to the writer thread and back). The semantics are those of `GatewayStore` (types.ts).
 */
export const WRITES = {
  putDevice(c: SqliteCore, device: DeviceRecord): void {
    c.stmt('INSERT OR REPLACE INTO devices (device_id, json) VALUES (?, ?)').run(device.deviceId, JSON.stringify(device));
  },

  revokeDevice(c: SqliteCore, deviceId: string, now: number): boolean {
    const device = c.getDevice(deviceId);
    if (!device) return false;
    if (device.revokedAt === null) {
      device.revokedAt = now;
      c.stmt('UPDATE devices SET json = ? WHERE device_id = ?').run(JSON.stringify(device), deviceId);
    }
    return true;
  },

  putEnrolmentCode(c: SqliteCore, code: EnrolmentCodeRecord): void {
    c.stmt('INSERT INTO enrolment_codes (code_hash, json) VALUES (?, ?)').run(code.codeHash, JSON.stringify(code));
  },

  consumeEnrolmentCode(c: SqliteCore, codeHash: string, deviceId: string, now: number): ConsumeCodeResult {
    const row = c.stmt('SELECT json FROM enrolment_codes WHERE code_hash = ?').get(codeHash) as Row;
    if (!row) return { ok: false, reason: 'invalid' };
    const code = JSON.parse(row.json) as EnrolmentCodeRecord;
    if (code.usedAt !== null) return { ok: false, reason: 'used' };
    if (code.expiresAt <= now) return { ok: false, reason: 'expired' };
    code.usedAt = now;
    code.usedByDeviceId = deviceId;
    c.stmt('UPDATE enrolment_codes SET json = ? WHERE code_hash = ?').run(JSON.stringify(code), codeHash);
    return { ok: true, code };
  },

  putGrant(c: SqliteCore, grant: GrantRecord): void {
    c.stmt('INSERT OR REPLACE INTO grants (grant_hash, expires_at, json) VALUES (?, ?, ?)').run(grant.grantHash, grant.expiresAt, JSON.stringify(grant));
  },

  markLaunchUsed(c: SqliteCore, launchHash: string, expiresAt: number, now: number): boolean {
    c.stmt('DELETE FROM launch_replay WHERE launch_hash = ? AND expires_at <= ?').run(launchHash, now);
    return c.stmt('INSERT OR IGNORE INTO launch_replay (launch_hash, expires_at) VALUES (?, ?)').run(launchHash, expiresAt).changes === 1;
  },

  acquireIdempotency(c: SqliteCore, claim: IdempotencyClaim): AcquireResult {
    const rec = c.getIdempotency(claim.key);
    if (!rec) {
      const created: IdempotencyRecord = {
        key: claim.key,
        fingerprint: claim.fingerprint,
        deviceId: claim.deviceId,
        facilityId: claim.facilityId,
        patientId: claim.patientId,
        patientNhi: claim.patientNhi,
        state: 'in-progress',
        leaseOwner: claim.leaseOwner,
        leaseExpiresAt: claim.now + claim.leaseMs,
        attempts: 1,
        progress: {},
        response: null,
        createdAt: claim.now,
        updatedAt: claim.now,
      };
      c.writeIdempotency(created);
      return { kind: 'acquired', record: created };
    }
    if (rec.fingerprint !== claim.fingerprint || rec.facilityId !== claim.facilityId) return { kind: 'mismatch' };
    if (rec.state === 'completed') return { kind: 'completed', record: rec };
    if (rec.leaseOwner !== null && rec.leaseExpiresAt > claim.now) return { kind: 'in-progress' };
    rec.leaseOwner = claim.leaseOwner;
    rec.leaseExpiresAt = claim.now + claim.leaseMs;
    rec.attempts += 1;
    rec.updatedAt = claim.now;
    c.writeIdempotency(rec);
    return { kind: 'acquired', record: rec };
  },

  saveProgress(c: SqliteCore, key: string, leaseOwner: string, progress: CommitProgress, leaseExpiresAt: number, now: number): boolean {
    const rec = c.getIdempotency(key);
    if (!rec || rec.leaseOwner !== leaseOwner || rec.state !== 'in-progress') return false;
    rec.progress = progress;
    rec.leaseExpiresAt = leaseExpiresAt;
    rec.updatedAt = now;
    c.writeIdempotency(rec);
    return true;
  },

  completeIdempotency(c: SqliteCore, key: string, leaseOwner: string, response: StoredResponse, now: number, progress?: CommitProgress, audit?: AuditRecord): boolean {
    const rec = c.getIdempotency(key);
    if (!rec || rec.leaseOwner !== leaseOwner || rec.state !== 'in-progress') return false;
    if (audit) c.insertAudit(audit);
    if (progress) rec.progress = progress;
    rec.state = 'completed';
    rec.response = response;
    rec.leaseOwner = null;
    rec.leaseExpiresAt = 0;
    rec.updatedAt = now;
    c.writeIdempotency(rec);
    return true;
  },

  releaseIdempotency(c: SqliteCore, key: string, leaseOwner: string, now: number, progress?: CommitProgress, audit?: AuditRecord): void {
    if (audit) c.insertAudit(audit);
    const rec = c.getIdempotency(key);
    if (!rec || rec.leaseOwner !== leaseOwner || rec.state !== 'in-progress') return;
    if (progress) rec.progress = progress;
    rec.leaseOwner = null;
    rec.leaseExpiresAt = 0;
    rec.updatedAt = now;
    c.writeIdempotency(rec);
  },

  appendAudit(c: SqliteCore, record: AuditRecord): void {
    c.insertAudit(record);
  },

  purgeExpired(c: SqliteCore, now: number, idempotencyRetentionMs: number): void {
    c.stmt('DELETE FROM grants WHERE expires_at <= ?').run(now);
    c.stmt('DELETE FROM launch_replay WHERE expires_at <= ?').run(now);
    c.stmt('DELETE FROM idempotency WHERE updated_at <= ?').run(now - idempotencyRetentionMs);
  },
};

export type WriteName = keyof typeof WRITES;
export type WriteArgs<K extends WriteName> = Parameters<(typeof WRITES)[K]> extends [SqliteCore, ...infer A] ? A : never;
export type WriteValue<K extends WriteName> = ReturnType<(typeof WRITES)[K]>;
/** One write as data: which, and with what. */
export type WriteOp = { [K in WriteName]: { name: K; args: WriteArgs<K> } }[WriteName];

function runWrite(core: SqliteCore, op: WriteOp): unknown {
  if (!Object.hasOwn(WRITES, op.name)) throw new Error(`Unknown store write: ${String(op.name)}`);
  const write = WRITES[op.name] as (c: SqliteCore, ...args: readonly unknown[]) => unknown;
  return write(core, ...op.args);
}
