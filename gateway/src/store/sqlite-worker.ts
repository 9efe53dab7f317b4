/**
 * The embedded store's writer thread (started by `SqliteStore` for a file; bundled for production as
 * dist/gateway/sqlite-worker.mjs beside server.mjs). It owns the one connection that writes: each batch
 * posted by the main thread runs here as one IMMEDIATE transaction (`SqliteCore.runBatch`), so the write
 * SQL and the commit's fsync never block the gateway's event loop. Answers carry this thread's id, so
 * tests can see where the commit ran.
 */
import { parentPort, threadId, workerData } from 'node:worker_threads';
import { openSqlite, SqliteCore, type BatchOutcome, type WriteOp, type WriterConfig } from './sqlite-core';

/** Main thread → writer. */
export type ToWriter = { type: 'batch'; id: number; ops: WriteOp[] } | { type: 'pragmas'; id: number } | { type: 'close'; id: number };

/** Writer → main thread. */
export type FromWriter =
  | { type: 'ready' }
  | ({ type: 'batch'; id: number; threadId: number } & BatchOutcome)
  | { type: 'pragmas'; id: number; value: { journalMode: string; synchronous: number } }
  | { type: 'closed'; id: number };

const port = parentPort;
if (!port) throw new Error('sqlite-worker runs only as a worker thread of SqliteStore');
const config = workerData as WriterConfig;
// Throws (and so ends the thread with that error) when the file cannot be opened.
const core = new SqliteCore(openSqlite(config.file, { busyTimeoutMs: config.busyTimeoutMs }));

const send = (message: FromWriter): void => port.postMessage(message);

port.on('message', (message: ToWriter) => {
  switch (message.type) {
    case 'batch':
      send({ type: 'batch', id: message.id, threadId, ...core.runBatch(message.ops) });
      break;
    case 'pragmas':
      send({ type: 'pragmas', id: message.id, value: core.pragmas() });
      break;
    case 'close':
      // Batches posted before this one have run (messages arrive in order).
      core.close();
      send({ type: 'closed', id: message.id });
      port.close();
      break;
  }
});
send({ type: 'ready' });
