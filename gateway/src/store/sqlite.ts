/**
 * Embedded store: one better-sqlite3 file in GATEWAY_DATA_DIR (WAL, synchronous=FULL), or `:memory:`
 * for tests. Safe for several processes on one host through SQLite's own locking (IMMEDIATE
 * transactions); across hosts use the Redis store.
 *
 * Group commit: writes issued while the event loop is busy are run together at the next turn
 * (setImmediate) in one IMMEDIATE transaction, each write in its own savepoint (one that throws is rolled
 * back alone and rejects alone). A write's promise settles only after that transaction has committed —
 * durably, with its fsync — so nothing is acknowledged before it is on disk, and under load many commits
 * share one fsync instead of each blocking the loop for its own. Reads run at once.
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

  private pending: { fn: () => unknown; resolve: (v: unknown) => void; reject: (e: unknown) => void }[] = [];
  private readonly counts = { transactions: 0, writes: 0 };

  private readonly statements = new Map<string, Database.Statement>();

  /** Prepared once per SQL text. */
  private stmt(sql: string): Database.Statement {
    let st = this.statements.get(sql);
    if (!st) {
      st = this.db.prepare(sql);
      this.statements.set(sql, st);
    }
    return st;
  }

  /** Queue a write for the next group commit; settles once it is durable (or has failed alone). */
  private tx<T>(fn: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.pending.push({ fn, resolve: resolve as (v: unknown) => void, reject });
      if (this.pending.length === 1) setImmediate(() => this.flush());
    });
  }

  private flush(): void {
    const ops = this.pending;
    this.pending = [];
    if (ops.length === 0) return;
    const results: ({ ok: true; value: unknown } | { ok: false; error: unknown })[] = [];
    try {
      if (!this.db.open) throw new Error('The store is closed');
      this.db
        .transaction(() => {
          for (const op of ops) {
            try {
              // Nested: a savepoint, rolled back alone when the write throws.
              results.push({ ok: true, value: this.db.transaction(op.fn)() });
            } catch (error) {
              results.push({ ok: false, error });
            }
          }
        })
        .immediate();
      this.counts.transactions++;
      this.counts.writes += ops.length;
    } catch (error) {
      // The transaction did not commit: nothing of it is stored, every write in it fails.
      for (const op of ops) op.reject(error);
      return;
    }
    ops.forEach((op, i) => {
      const r = results[i];
      if (r?.ok) op.resolve(r.value);
      else op.reject(r?.error);
    });
  }

  /** Committed write transactions and the writes they carried (group commit at work), for tests and benchmarks. */
  writeStats(): { transactions: number; writes: number } {
    return { ...this.counts };
  }

  async putDevice(device: DeviceRecord): Promise<void> {
    await this.tx(() => this.stmt('INSERT OR REPLACE INTO devices (device_id, json) VALUES (?, ?)').run(device.deviceId, JSON.stringify(device)));
  }

  async getDevice(deviceId: string): Promise<DeviceRecord | null> {
    const row = this.stmt('SELECT json FROM devices WHERE device_id = ?').get(deviceId) as Row;
    return row ? (JSON.parse(row.json) as DeviceRecord) : null;
  }

  async listDevices(): Promise<DeviceRecord[]> {
    const rows = this.stmt('SELECT json FROM devices ORDER BY device_id').all() as { json: string }[];
    return rows.map((r) => JSON.parse(r.json) as DeviceRecord).sort((a, b) => a.createdAt - b.createdAt);
  }

  async revokeDevice(deviceId: string, now: number): Promise<boolean> {
    return this.tx(() => {
      const row = this.stmt('SELECT json FROM devices WHERE device_id = ?').get(deviceId) as Row;
      if (!row) return false;
      const device = JSON.parse(row.json) as DeviceRecord;
      if (device.revokedAt === null) {
        device.revokedAt = now;
        this.stmt('UPDATE devices SET json = ? WHERE device_id = ?').run(JSON.stringify(device), deviceId);
      }
      return true;
    });
  }

  async putEnrolmentCode(code: EnrolmentCodeRecord): Promise<void> {
    await this.tx(() => this.stmt('INSERT INTO enrolment_codes (code_hash, json) VALUES (?, ?)').run(code.codeHash, JSON.stringify(code)));
  }

  async consumeEnrolmentCode(codeHash: string, deviceId: string, now: number): Promise<ConsumeCodeResult> {
    return this.tx(() => {
      const row = this.stmt('SELECT json FROM enrolment_codes WHERE code_hash = ?').get(codeHash) as Row;
      if (!row) return { ok: false, reason: 'invalid' } as const;
      const code = JSON.parse(row.json) as EnrolmentCodeRecord;
      if (code.usedAt !== null) return { ok: false, reason: 'used' } as const;
      if (code.expiresAt <= now) return { ok: false, reason: 'expired' } as const;
      code.usedAt = now;
      code.usedByDeviceId = deviceId;
      this.stmt('UPDATE enrolment_codes SET json = ? WHERE code_hash = ?').run(JSON.stringify(code), codeHash);
      return { ok: true, code } as const;
    });
  }

  async putGrant(grant: GrantRecord): Promise<void> {
    await this.tx(() => this.stmt('INSERT OR REPLACE INTO grants (grant_hash, expires_at, json) VALUES (?, ?, ?)').run(grant.grantHash, grant.expiresAt, JSON.stringify(grant)));
  }

  async getGrant(grantHash: string): Promise<GrantRecord | null> {
    const row = this.stmt('SELECT json FROM grants WHERE grant_hash = ?').get(grantHash) as Row;
    return row ? (JSON.parse(row.json) as GrantRecord) : null;
  }

  async markLaunchUsed(launchHash: string, expiresAt: number, now: number): Promise<boolean> {
    return this.tx(() => {
      this.stmt('DELETE FROM launch_replay WHERE launch_hash = ? AND expires_at <= ?').run(launchHash, now);
      const r = this.stmt('INSERT OR IGNORE INTO launch_replay (launch_hash, expires_at) VALUES (?, ?)').run(launchHash, expiresAt);
      return r.changes === 1;
    });
  }

  private readIdem(key: string): IdempotencyRecord | null {
    const row = this.stmt('SELECT json FROM idempotency WHERE key = ?').get(key) as Row;
    return row ? (JSON.parse(row.json) as IdempotencyRecord) : null;
  }

  private writeIdem(rec: IdempotencyRecord): void {
    this.stmt('INSERT OR REPLACE INTO idempotency (key, updated_at, json) VALUES (?, ?, ?)').run(rec.key, rec.updatedAt, JSON.stringify(rec));
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
    await this.tx(() => {
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
    this.stmt('INSERT INTO audit (at, device_id, json) VALUES (?, ?, ?)').run(record.at, record.deviceId, JSON.stringify(record));
  }

  async appendAudit(record: AuditRecord): Promise<void> {
    await this.tx(() => this.insertAudit(record));
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
    const rows = this.stmt(sql).all(...args, query.limit ?? 100) as { json: string }[];
    return rows.map((r) => JSON.parse(r.json) as AuditRecord).reverse();
  }

  /** Rate-limit buckets live in memory: they are short-lived, and a durable write per request would cost an fsync. */
  async takeToken(key: string, spec: BucketSpec, cost: number, now: number): Promise<TakeResult> {
    const { state, result } = bucketStep(this.buckets.get(key) ?? null, spec, cost, now);
    this.buckets.set(key, state);
    return result;
  }

  async purgeExpired(now: number, idempotencyRetentionMs: number): Promise<void> {
    await this.tx(() => {
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
    // Writes already queued are committed (or fail) before the file closes.
    this.flush();
    if (this.db.open) this.db.close();
  }
}
