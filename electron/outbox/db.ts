/**
 * The outbox's SQLite database (better-sqlite3). Opened with journal_mode=WAL and synchronous=FULL and
 * asserted: with anything weaker a committed transaction could be lost on power failure.
 */
import Database from 'better-sqlite3';
import { AppError } from '../../shared/errors';

export type DB = Database.Database;

export const SCHEMA_VERSION = 1;

export function openDatabase(file: string): DB {
  let db: DB;
  try {
    db = new Database(file);
  } catch (err) {
    throw new AppError('ERR_STORAGE_IO', { detail: 'outbox database cannot be opened', cause: err });
  }
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.pragma('foreign_keys = ON');
    assertDurableSettings(db);
    migrate(db);
    return db;
  } catch (err) {
    db.close();
    throw err;
  }
}

export interface DurableSettings {
  journalMode: string;
  /** SQLite's number: 2 = FULL. */
  synchronous: number;
}

export function readSettings(db: DB): DurableSettings {
  return {
    journalMode: String(db.pragma('journal_mode', { simple: true })).toLowerCase(),
    synchronous: Number(db.pragma('synchronous', { simple: true })),
  };
}

/** Throws ERR_STORAGE_IO unless journal_mode=wal and synchronous=FULL(2) or EXTRA(3). */
export function assertDurableSettings(db: DB): void {
  const s = readSettings(db);
  if (s.journalMode !== 'wal' || s.synchronous < 2) {
    throw new AppError('ERR_STORAGE_IO', { detail: `outbox database is not durable (journal_mode=${s.journalMode}, synchronous=${s.synchronous})` });
  }
}

function migrate(db: DB): void {
  db.exec(`
    CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT;
    CREATE TABLE IF NOT EXISTS items (
      image_id        TEXT PRIMARY KEY,
      patient_ref     TEXT NOT NULL,
      facility_id     TEXT NOT NULL,
      captured_at     TEXT NOT NULL,
      targets         TEXT NOT NULL,
      sealed          BLOB NOT NULL,
      payloads        TEXT NOT NULL,
      state           TEXT NOT NULL CHECK (state IN ('queued','sending','waiting','committed','failed')),
      attempts        INTEGER NOT NULL DEFAULT 0,
      next_attempt_at INTEGER,
      error_code      TEXT,
      error_message   TEXT,
      reason          TEXT,
      result          TEXT,
      created_at      INTEGER NOT NULL,
      updated_at      INTEGER NOT NULL,
      committed_at    INTEGER
    ) STRICT;
    CREATE INDEX IF NOT EXISTS items_due ON items (state, next_attempt_at);
    CREATE INDEX IF NOT EXISTS items_patient ON items (patient_ref, state);
  `);
  const row = db.prepare(`SELECT value FROM meta WHERE key = 'schema'`).get() as { value: string } | undefined;
  if (row === undefined) db.prepare(`INSERT INTO meta (key, value) VALUES ('schema', ?)`).run(String(SCHEMA_VERSION));
  else if (Number(row.value) > SCHEMA_VERSION) {
    throw new AppError('ERR_STORAGE_IO', { detail: `outbox database is from a newer version (${row.value})` });
  }
}
