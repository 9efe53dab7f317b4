/**
 * Embedded store: one better-sqlite3 file in GATEWAY_DATA_DIR (WAL, synchronous=FULL), or `:memory:`
 * for tests. Safe for several processes on one host through SQLite's own locking (IMMEDIATE
 * transactions); across hosts use the Redis store.
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

type Row = { json: string } | undefined;

export class SqliteStore implements GatewayStore {
  readonly kind: 'sqlite' | 'memory';
  private readonly db: Database.Database;
  private readonly buckets = new Map<string, BucketState>();

  /** `file` is a path, or ':memory:'. */
  constructor(file: string) {
    this.kind = file === ':memory:' ? 'memory' : 'sqlite';
    if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = FULL');
    this.db.pragma('busy_timeout = 5000');
    this.db.exec(SCHEMA);
  }

  /** For start-up assertions and tests. */
  pragmas(): { journalMode: string; synchronous: number } {
    return {
      journalMode: String(this.db.pragma('journal_mode', { simple: true })),
      synchronous: Number(this.db.pragma('synchronous', { simple: true })),
    };
  }

  private tx<T>(fn: () => T): T {
    return this.db.transaction(fn).immediate();
  }

  async putDevice(device: DeviceRecord): Promise<void> {
    this.db.prepare('INSERT OR REPLACE INTO devices (device_id, json) VALUES (?, ?)').run(device.deviceId, JSON.stringify(device));
  }

  async getDevice(deviceId: string): Promise<DeviceRecord | null> {
    const row = this.db.prepare('SELECT json FROM devices WHERE device_id = ?').get(deviceId) as Row;
    return row ? (JSON.parse(row.json) as DeviceRecord) : null;
  }

  async listDevices(): Promise<DeviceRecord[]> {
    const rows = this.db.prepare('SELECT json FROM devices ORDER BY device_id').all() as { json: string }[];
    return rows.map((r) => JSON.parse(r.json) as DeviceRecord).sort((a, b) => a.createdAt - b.createdAt);
  }

  async revokeDevice(deviceId: string, now: number): Promise<boolean> {
    return this.tx(() => {
      const row = this.db.prepare('SELECT json FROM devices WHERE device_id = ?').get(deviceId) as Row;
      if (!row) return false;
      const device = JSON.parse(row.json) as DeviceRecord;
      if (device.revokedAt === null) {
        device.revokedAt = now;
        this.db.prepare('UPDATE devices SET json = ? WHERE device_id = ?').run(JSON.stringify(device), deviceId);
      }
      return true;
    });
  }

  async putEnrolmentCode(code: EnrolmentCodeRecord): Promise<void> {
    this.db.prepare('INSERT INTO enrolment_codes (code_hash, json) VALUES (?, ?)').run(code.codeHash, JSON.stringify(code));
  }

  async consumeEnrolmentCode(codeHash: string, deviceId: string, now: number): Promise<ConsumeCodeResult> {
    return this.tx(() => {
      const row = this.db.prepare('SELECT json FROM enrolment_codes WHERE code_hash = ?').get(codeHash) as Row;
      if (!row) return { ok: false, reason: 'invalid' } as const;
      const code = JSON.parse(row.json) as EnrolmentCodeRecord;
      if (code.usedAt !== null) return { ok: false, reason: 'used' } as const;
      if (code.expiresAt <= now) return { ok: false, reason: 'expired' } as const;
      code.usedAt = now;
      code.usedByDeviceId = deviceId;
      this.db.prepare('UPDATE enrolment_codes SET json = ? WHERE code_hash = ?').run(JSON.stringify(code), codeHash);
      return { ok: true, code } as const;
    });
  }

  async putGrant(grant: GrantRecord): Promise<void> {
    this.db.prepare('INSERT OR REPLACE INTO grants (grant_hash, expires_at, json) VALUES (?, ?, ?)').run(grant.grantHash, grant.expiresAt, JSON.stringify(grant));
  }

  async getGrant(grantHash: string): Promise<GrantRecord | null> {
    const row = this.db.prepare('SELECT json FROM grants WHERE grant_hash = ?').get(grantHash) as Row;
    return row ? (JSON.parse(row.json) as GrantRecord) : null;
  }

  async markLaunchUsed(launchHash: string, expiresAt: number, now: number): Promise<boolean> {
    return this.tx(() => {
      this.db.prepare('DELETE FROM launch_replay WHERE launch_hash = ? AND expires_at <= ?').run(launchHash, now);
      const r = this.db.prepare('INSERT OR IGNORE INTO launch_replay (launch_hash, expires_at) VALUES (?, ?)').run(launchHash, expiresAt);
      return r.changes === 1;
    });
  }

  private readIdem(key: string): IdempotencyRecord | null {
    const row = this.db.prepare('SELECT json FROM idempotency WHERE key = ?').get(key) as Row;
    return row ? (JSON.parse(row.json) as IdempotencyRecord) : null;
  }

  private writeIdem(rec: IdempotencyRecord): void {
    this.db.prepare('INSERT OR REPLACE INTO idempotency (key, updated_at, json) VALUES (?, ?, ?)').run(rec.key, rec.updatedAt, JSON.stringify(rec));
  }

  async getIdempotency(key: string): Promise<IdempotencyRecord | null> {
    return this.readIdem(key);
  }

  async acquireIdempotency(c: IdempotencyClaim): Promise<AcquireResult> {
    return this.tx((): AcquireResult => {
      const rec = this.readIdem(c.key);
      if (!rec) {
        const created: IdempotencyRecord = {
          key: c.key,
          fingerprint: c.fingerprint,
          deviceId: c.deviceId,
          facilityId: c.facilityId,
          patientId: c.patientId,
          patientNhi: c.patientNhi,
          state: 'in-progress',
          leaseOwner: c.leaseOwner,
          leaseExpiresAt: c.now + c.leaseMs,
          attempts: 1,
          progress: {},
          response: null,
          createdAt: c.now,
          updatedAt: c.now,
        };
        this.writeIdem(created);
        return { kind: 'acquired', record: created };
      }
      if (rec.fingerprint !== c.fingerprint || rec.deviceId !== c.deviceId) return { kind: 'mismatch' };
      if (rec.state === 'completed') return { kind: 'completed', record: rec };
      if (rec.leaseOwner !== null && rec.leaseExpiresAt > c.now) return { kind: 'in-progress' };
      rec.leaseOwner = c.leaseOwner;
      rec.leaseExpiresAt = c.now + c.leaseMs;
      rec.attempts += 1;
      rec.updatedAt = c.now;
      this.writeIdem(rec);
      return { kind: 'acquired', record: rec };
    });
  }

  async saveProgress(key: string, leaseOwner: string, progress: CommitProgress, leaseExpiresAt: number, now: number): Promise<boolean> {
    return this.tx(() => {
      const rec = this.readIdem(key);
      if (!rec || rec.leaseOwner !== leaseOwner || rec.state !== 'in-progress') return false;
      rec.progress = progress;
      rec.leaseExpiresAt = leaseExpiresAt;
      rec.updatedAt = now;
      this.writeIdem(rec);
      return true;
    });
  }

  async completeIdempotency(key: string, leaseOwner: string, response: StoredResponse, now: number, progress?: CommitProgress, audit?: AuditRecord): Promise<boolean> {
    return this.tx(() => {
      const rec = this.readIdem(key);
      if (!rec || rec.leaseOwner !== leaseOwner || rec.state !== 'in-progress') return false;
      if (audit) this.insertAudit(audit);
      if (progress) rec.progress = progress;
      rec.state = 'completed';
      rec.response = response;
      rec.leaseOwner = null;
      rec.leaseExpiresAt = 0;
      rec.updatedAt = now;
      this.writeIdem(rec);
      return true;
    });
  }

  async releaseIdempotency(key: string, leaseOwner: string, now: number, progress?: CommitProgress, audit?: AuditRecord): Promise<void> {
    this.tx(() => {
      if (audit) this.insertAudit(audit);
      const rec = this.readIdem(key);
      if (!rec || rec.leaseOwner !== leaseOwner || rec.state !== 'in-progress') return;
      if (progress) rec.progress = progress;
      rec.leaseOwner = null;
      rec.leaseExpiresAt = 0;
      rec.updatedAt = now;
      this.writeIdem(rec);
    });
  }

  private insertAudit(record: AuditRecord): void {
    this.db.prepare('INSERT INTO audit (at, device_id, json) VALUES (?, ?, ?)').run(record.at, record.deviceId, JSON.stringify(record));
  }

  async appendAudit(record: AuditRecord): Promise<void> {
    this.insertAudit(record);
  }

  async listAudit(query: AuditQuery): Promise<AuditRecord[]> {
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
    const rows = this.db.prepare(sql).all(...args, query.limit ?? 100) as { json: string }[];
    return rows.map((r) => JSON.parse(r.json) as AuditRecord).reverse();
  }

  /** Rate-limit buckets live in memory: they are short-lived, and a durable write per request would cost an fsync. */
  async takeToken(key: string, spec: BucketSpec, cost: number, now: number): Promise<TakeResult> {
    const { state, result } = bucketStep(this.buckets.get(key) ?? null, spec, cost, now);
    this.buckets.set(key, state);
    return result;
  }

  async purgeExpired(now: number, idempotencyRetentionMs: number): Promise<void> {
    this.tx(() => {
      this.db.prepare('DELETE FROM grants WHERE expires_at <= ?').run(now);
      this.db.prepare('DELETE FROM launch_replay WHERE expires_at <= ?').run(now);
      this.db.prepare('DELETE FROM idempotency WHERE updated_at <= ?').run(now - idempotencyRetentionMs);
    });
    for (const [key, b] of this.buckets) if (b.updatedAt <= now - 3_600_000) this.buckets.delete(key);
  }

  async ping(): Promise<boolean> {
    return this.db.open && (this.db.prepare('SELECT 1 AS ok').get() as { ok: number }).ok === 1;
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }
}
