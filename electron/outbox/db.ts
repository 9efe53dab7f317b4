/** The outbox's SQLite database: WAL and synchronous=FULL, asserted (anything weaker could lose a commit on power loss). */
import Database from 'better-sqlite3';
import { AppError } from '../../shared/errors';

export type DB = Database.Database;

/** 1: the first outbox. 2: the 'unconfirmed' state, resend_after_check and the actions history (issue 25). */
export const SCHEMA_VERSION = 2;

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

/** `synchronous`: SQLite's number, 2 = FULL. */
export function readSettings(db: DB): { journalMode: string; synchronous: number } {
  return {
    journalMode: String(db.pragma('journal_mode', { simple: true })).toLowerCase(),
    synchronous: Number(db.pragma('synchronous', { simple: true })),
  };
}

/** journal_mode=wal and synchronous=FULL(2) or EXTRA(3), else ERR_STORAGE_IO. */
export function assertDurableSettings(db: DB): void {
  const s = readSettings(db);
  if (s.journalMode !== 'wal' || s.synchronous < 2) {
    throw new AppError('ERR_STORAGE_IO', { detail: `outbox database is not durable (journal_mode=${s.journalMode}, synchronous=${s.synchronous})` });
  }
}

/** Columns of `items` in schema 2 (the order of a v1 → v2 copy). */
const ITEM_COLUMNS_V1 =
  'image_id, patient_ref, facility_id, captured_at, targets, sealed, payloads, state, attempts, next_attempt_at, error_code, error_message, reason, result, created_at, updated_at, committed_at';

const ITEMS_TABLE = (name: string): string => `
    CREATE TABLE ${name} (
      image_id        TEXT PRIMARY KEY,
      patient_ref     TEXT NOT NULL,
      facility_id     TEXT NOT NULL,
      captured_at     TEXT NOT NULL,
      targets         TEXT NOT NULL,
      sealed          BLOB NOT NULL,
      payloads        TEXT NOT NULL,
      state           TEXT NOT NULL CHECK (state IN ('queued','sending','waiting','committed','failed','unconfirmed')),
      attempts        INTEGER NOT NULL DEFAULT 0,
      next_attempt_at INTEGER,
      error_code      TEXT,
      error_message   TEXT,
      reason          TEXT,
      result          TEXT,
      created_at      INTEGER NOT NULL,
      updated_at      INTEGER NOT NULL,
      committed_at    INTEGER,
      -- 1 after a person checked Medtech and chose "Send again": the next post carries resendAfterCheck.
      resend_after_check INTEGER NOT NULL DEFAULT 0
    ) STRICT;`;

const INDEXES_AND_ACTIONS = `
    CREATE INDEX IF NOT EXISTS items_due ON items (state, next_attempt_at);
    CREATE INDEX IF NOT EXISTS items_patient ON items (patient_ref, state);
    -- What happened to an item that a person must know about (outcome unconfirmed, and each person's answer).
    CREATE TABLE IF NOT EXISTS actions (
      seq            INTEGER PRIMARY KEY AUTOINCREMENT,
      image_id       TEXT NOT NULL,
      action         TEXT NOT NULL CHECK (action IN ('unconfirmed','person-confirmed','person-send-again')),
      at             INTEGER NOT NULL,
      correlation_id TEXT
    ) STRICT;
    CREATE INDEX IF NOT EXISTS actions_image ON actions (image_id, seq);`;

/** v1 → v2: the 'unconfirmed' state (a CHECK cannot be altered in SQLite: the table is rebuilt), resend_after_check, actions. */
function upgradeV1(db: DB): void {
  db.transaction(() => {
    db.exec(ITEMS_TABLE('items_v2'));
    db.exec(`INSERT INTO items_v2 (${ITEM_COLUMNS_V1}) SELECT ${ITEM_COLUMNS_V1} FROM items`);
    db.exec('DROP TABLE items');
    db.exec('ALTER TABLE items_v2 RENAME TO items');
    db.exec(INDEXES_AND_ACTIONS);
    db.prepare(`UPDATE meta SET value = ? WHERE key = 'schema'`).run(String(SCHEMA_VERSION));
  })();
}

function migrate(db: DB): void {
  db.exec(`CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT;`);
  const row = db.prepare(`SELECT value FROM meta WHERE key = 'schema'`).get() as { value: string } | undefined;
  const version = row === undefined ? undefined : Number(row.value);
  if (version !== undefined && version > SCHEMA_VERSION) {
    throw new AppError('ERR_STORAGE_IO', { detail: `outbox database is from a newer version (${version})` });
  }
  if (version === 1) upgradeV1(db);
  if (version === undefined) {
    db.transaction(() => {
      db.exec(ITEMS_TABLE('IF NOT EXISTS items'));
      db.exec(INDEXES_AND_ACTIONS);
      db.prepare(`INSERT INTO meta (key, value) VALUES ('schema', ?)`).run(String(SCHEMA_VERSION));
    })();
  }
}
