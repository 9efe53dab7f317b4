/**
 * Embedded store: one better-sqlite3 connection (a file, or `:memory:` for tests), WAL with synchronous=FULL
 * checked at open (CHECKS D4). Every write is its own IMMEDIATE transaction, on disk when its promise
 * resolves (a commit's lease included). Several processes on one host share it through SQLite's locking.
 */
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { bucketStep, type BucketState } from './bucket';
import type {
  AcquireResult,
  AuditQuery,
  AuditRecord,
  BucketSpec,
  CommitProgress,
  ConsumeCodeResult,
  DeviceRecord,
  EnrolmentCodeRecord,
  GatewayStore,
  GrantRecord,
  IdempotencyClaim,
  IdempotencyRecord,
  StoredResponse,
  TakeResult,
} from './types';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS devices (device_id TEXT PRIMARY KEY, json TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS enrolment_codes (code_hash TEXT PRIMARY KEY, json TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS grants (grant_hash TEXT PRIMARY KEY, expires_at INTEGER NOT NULL, json TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS launch_replay (launch_hash TEXT PRIMARY KEY, expires_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS idempotency (key TEXT PRIMARY KEY, updated_at INTEGER NOT NULL, json TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS audit (seq INTEGER PRIMARY KEY AUTOINCREMENT, at INTEGER NOT NULL, device_id TEXT, json TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS audit_at ON audit (at);
`;

export interface SqliteOptions {
  /** How long a write waits for another connection's lock before failing (SQLITE_BUSY). Default 5 s. */
  busyTimeoutMs?: number;
}

type Pragmas = { journalMode: string; synchronous: number };

/** Opens `file` (or ':memory:') in WAL with synchronous=FULL and the schema in place; refuses a file where either did not take. */
function openSqlite(file: string, options: SqliteOptions = {}): Database.Database {
  const busyTimeoutMs = options.busyTimeoutMs ?? 5000;
  if (!Number.isInteger(busyTimeoutMs) || busyTimeoutMs < 0) throw new RangeError(`busyTimeoutMs must be a whole number of ms, not ${busyTimeoutMs}`);
  if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
  const db = new Database(file);
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.pragma(`busy_timeout = ${busyTimeoutMs}`);
    db.exec(SCHEMA);
    const { journalMode, synchronous } = readPragmas(db);
    if (file !== ':memory:' && (journalMode !== 'wal' || synchronous !== 2)) {
      throw new Error(`The store's file did not take journal_mode=WAL and synchronous=FULL (got ${journalMode}, ${synchronous})`);
    }
  } catch (error) {
    db.close();
    throw error;
  }
  return db;
}

function readPragmas(db: Database.Database): Pragmas {
  return { journalMode: String(db.pragma('journal_mode', { simple: true })), synchronous: Number(db.pragma('synchronous', { simple: true })) };
}

export class SqliteStore implements GatewayStore {
  readonly kind: 'sqlite' | 'memory';
  private readonly db: Database.Database;
  private readonly statements = new Map<string, Database.Statement>();
  private readonly transaction: Database.Transaction<(write: () => unknown) => unknown>;
  private readonly buckets = new Map<string, BucketState>();

  constructor(file: string, options: SqliteOptions = {}) {
    this.kind = file === ':memory:' ? 'memory' : 'sqlite';
    this.db = openSqlite(file, options);
    this.transaction = this.db.transaction((write: () => unknown) => write());
  }

  /** The connection's settings (journal mode, synchronous: 2 = FULL). */
  async pragmas(): Promise<Pragmas> {
    return readPragmas(this.db);
  }

  private stmt(sql: string): Database.Statement {
    let st = this.statements.get(sql);
    if (!st) {
      st = this.db.prepare(sql);
      this.statements.set(sql, st);
    }
    return st;
  }

  /** `write` in its own IMMEDIATE transaction: all of it on disk when it returns, or nothing stored (it throws). */
  private write<T>(write: () => T): T {
    if (!this.db.open) throw new Error('The store is closed');
    return this.transaction.immediate(write) as T;
  }

  /** The `json` column of the row `sql` selects by `key`, parsed; null when there is none. */
  private row<T>(sql: string, key: string): T | null {
    const row = this.stmt(sql).get(key) as { json: string } | undefined;
    return row ? (JSON.parse(row.json) as T) : null;
  }

  private readIdempotency(key: string): IdempotencyRecord | null {
    return this.row('SELECT json FROM idempotency WHERE key = ?', key);
  }

  private writeIdempotency(rec: IdempotencyRecord): void {
    this.stmt('INSERT OR REPLACE INTO idempotency (key, updated_at, json) VALUES (?, ?, ?)').run(rec.key, rec.updatedAt, JSON.stringify(rec));
  }

  private insertAudit(record: AuditRecord): void {
    this.stmt('INSERT INTO audit (at, device_id, json) VALUES (?, ?, ?)').run(record.at, record.deviceId, JSON.stringify(record));
  }

  async putDevice(device: DeviceRecord): Promise<void> {
    this.write(() => this.stmt('INSERT OR REPLACE INTO devices (device_id, json) VALUES (?, ?)').run(device.deviceId, JSON.stringify(device)));
  }

  async getDevice(deviceId: string): Promise<DeviceRecord | null> {
    return this.row('SELECT json FROM devices WHERE device_id = ?', deviceId);
  }

  async listDevices(): Promise<DeviceRecord[]> {
    const rows = this.stmt('SELECT json FROM devices ORDER BY device_id').all() as { json: string }[];
    return rows.map((r) => JSON.parse(r.json) as DeviceRecord).sort((a, b) => a.createdAt - b.createdAt);
  }

  async revokeDevice(deviceId: string, now: number): Promise<boolean> {
    return this.write(() => {
      const device = this.row<DeviceRecord>('SELECT json FROM devices WHERE device_id = ?', deviceId);
      if (!device) return false;
      if (device.revokedAt === null) {
        device.revokedAt = now;
        this.stmt('UPDATE devices SET json = ? WHERE device_id = ?').run(JSON.stringify(device), deviceId);
      }
      return true;
    });
  }

  async putEnrolmentCode(code: EnrolmentCodeRecord): Promise<void> {
    this.write(() => this.stmt('INSERT INTO enrolment_codes (code_hash, json) VALUES (?, ?)').run(code.codeHash, JSON.stringify(code)));
  }

  async consumeEnrolmentCode(codeHash: string, deviceId: string, now: number): Promise<ConsumeCodeResult> {
    return this.write((): ConsumeCodeResult => {
      const code = this.row<EnrolmentCodeRecord>('SELECT json FROM enrolment_codes WHERE code_hash = ?', codeHash);
      if (!code) return { ok: false, reason: 'invalid' };
      if (code.usedAt !== null) return { ok: false, reason: 'used' };
      if (code.expiresAt <= now) return { ok: false, reason: 'expired' };
      code.usedAt = now;
      code.usedByDeviceId = deviceId;
      this.stmt('UPDATE enrolment_codes SET json = ? WHERE code_hash = ?').run(JSON.stringify(code), codeHash);
      return { ok: true, code };
    });
  }

  async putGrant(grant: GrantRecord): Promise<void> {
    this.write(() => this.stmt('INSERT OR REPLACE INTO grants (grant_hash, expires_at, json) VALUES (?, ?, ?)').run(grant.grantHash, grant.expiresAt, JSON.stringify(grant)));
  }

  async getGrant(grantHash: string): Promise<GrantRecord | null> {
    return this.row('SELECT json FROM grants WHERE grant_hash = ?', grantHash);
  }

  async markLaunchUsed(launchHash: string, expiresAt: number, now: number): Promise<boolean> {
    return this.write(() => {
      this.stmt('DELETE FROM launch_replay WHERE launch_hash = ? AND expires_at <= ?').run(launchHash, now);
      return this.stmt('INSERT OR IGNORE INTO launch_replay (launch_hash, expires_at) VALUES (?, ?)').run(launchHash, expiresAt).changes === 1;
    });
  }

  async getIdempotency(key: string): Promise<IdempotencyRecord | null> {
    return this.readIdempotency(key);
  }

  async acquireIdempotency(claim: IdempotencyClaim): Promise<AcquireResult> {
    return this.write((): AcquireResult => {
      const rec = this.readIdempotency(claim.key);
      if (!rec) {
        const created = newIdempotencyRecord(claim);
        this.writeIdempotency(created);
        return { kind: 'acquired', record: created };
      }
      if (rec.fingerprint !== claim.fingerprint || rec.facilityId !== claim.facilityId) return { kind: 'mismatch' };
      if (rec.state === 'completed') return { kind: 'completed', record: rec };
      if (rec.leaseOwner !== null && rec.leaseExpiresAt > claim.now) return { kind: 'in-progress' };
      rec.leaseOwner = claim.leaseOwner;
      rec.leaseExpiresAt = claim.now + claim.leaseMs;
      rec.attempts += 1;
      rec.updatedAt = claim.now;
      this.writeIdempotency(rec);
      return { kind: 'acquired', record: rec };
    });
  }

  /** The record while `leaseOwner` holds its lease, else null. */
  private leased(key: string, leaseOwner: string): IdempotencyRecord | null {
    const rec = this.readIdempotency(key);
    return rec && rec.leaseOwner === leaseOwner && rec.state === 'in-progress' ? rec : null;
  }

  async saveProgress(key: string, leaseOwner: string, progress: CommitProgress, leaseExpiresAt: number, now: number): Promise<boolean> {
    return this.write(() => {
      const rec = this.leased(key, leaseOwner);
      if (!rec) return false;
      this.writeIdempotency({ ...rec, progress, leaseExpiresAt, updatedAt: now });
      return true;
    });
  }

  async completeIdempotency(key: string, leaseOwner: string, response: StoredResponse, now: number, progress?: CommitProgress, audit?: AuditRecord): Promise<boolean> {
    return this.write(() => {
      const rec = this.leased(key, leaseOwner);
      if (!rec) return false;
      if (audit) this.insertAudit(audit);
      this.writeIdempotency({ ...rec, progress: progress ?? rec.progress, state: 'completed', response, leaseOwner: null, leaseExpiresAt: 0, updatedAt: now });
      return true;
    });
  }

  async releaseIdempotency(key: string, leaseOwner: string, now: number, progress?: CommitProgress, audit?: AuditRecord): Promise<void> {
    this.write(() => {
      if (audit) this.insertAudit(audit);
      const rec = this.leased(key, leaseOwner);
      if (rec) this.writeIdempotency({ ...rec, progress: progress ?? rec.progress, leaseOwner: null, leaseExpiresAt: 0, updatedAt: now });
    });
  }

  async appendAudit(record: AuditRecord): Promise<void> {
    this.write(() => this.insertAudit(record));
  }

  async listAudit(query: AuditQuery): Promise<AuditRecord[]> {
    const filters = ([['device_id = ?', query.deviceId], ['at >= ?', query.since]] as const).filter(([, v]) => v !== undefined);
    const where = filters.length ? `WHERE ${filters.map(([sql]) => sql).join(' AND ')}` : '';
    const rows = this.stmt(`SELECT json FROM audit ${where} ORDER BY at DESC, seq DESC LIMIT ?`).all(...filters.map(([, v]) => v), query.limit ?? 100) as { json: string }[];
    return rows.map((r) => JSON.parse(r.json) as AuditRecord).reverse();
  }

  /** In memory: buckets are short-lived, and a durable write per request would cost an fsync. */
  async takeToken(key: string, spec: BucketSpec, cost: number, now: number): Promise<TakeResult> {
    const { state, result } = bucketStep(this.buckets.get(key) ?? null, spec, cost, now);
    this.buckets.set(key, state);
    return result;
  }

  async purgeExpired(now: number, idempotencyRetentionMs: number): Promise<void> {
    this.write(() => {
      this.stmt('DELETE FROM grants WHERE expires_at <= ?').run(now);
      this.stmt('DELETE FROM launch_replay WHERE expires_at <= ?').run(now);
      this.stmt('DELETE FROM idempotency WHERE updated_at <= ?').run(now - idempotencyRetentionMs);
    });
    for (const [key, b] of this.buckets) if (b.updatedAt <= now - 3_600_000) this.buckets.delete(key);
  }

  async ping(): Promise<boolean> {
    return this.db.open && (this.stmt('SELECT 1 AS ok').get() as { ok: number }).ok === 1;
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }
}

function newIdempotencyRecord(claim: IdempotencyClaim): IdempotencyRecord {
  const { leaseMs, now, ...fields } = claim;
  return { ...fields, state: 'in-progress', leaseExpiresAt: now + leaseMs, attempts: 1, progress: {}, response: null, createdAt: now, updatedAt: now };
}
