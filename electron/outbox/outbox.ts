/**
 * The companion's durable outbox. Every committed image passes through here:
 *   enqueue()  validate → copy the payload(s) encrypted into payloads/ (temp → fsync → rename → dir fsync)
 *              → insert the row in one SQLite transaction (WAL, synchronous=FULL) → resolve.   (enqueue.ts)
 *   send loop  queued → sending → committed | waiting (retryable; backoff + jitter) | unconfirmed | failed (final).
 *              Posts with the item's OWN patient id and grant; Idempotency-Key = imageId, so a resend after
 *              a crash or timeout can never create a second resource.                         (loop.ts, send.ts, outcome.ts)
 *   unconfirmed  a person looked in Medtech: confirmArrived / sendAgain.                        (person-actions.ts)
 *   committed  payload files wiped; a small record without image bytes or names stays for the history,
 *              purged after the retention window.
 * Crash recovery at open: 'sending' → 'queued'; temp files and payload files without a live row are removed. (recovery.ts)
 * This file only composes those units.
 */
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { AppError } from '../../shared/errors';
import { LIMITS } from '../../shared/limits';
import { defaultBackoff } from './backoff';
import type { OutboxContext } from './context';
import { loadOrCreateKeys } from './crypto';
import { openDatabase, readSettings } from './db';
import { nodeFs, storageError } from './durable-fs';
import { enqueueItem } from './enqueue';
import { OutboxEmitter } from './events';
import { SendLoop } from './loop';
import { getItem, listItems, rebindGrant, retryItem } from './manage';
import type { Rebound } from './outcome';
import { PersonActions } from './person-actions';
import { prepareQueries } from './queries';
import { recoverAtOpen } from './recovery';
import type { OpenOutboxOptions, Outbox } from './types';
import { emitItem, progressOf } from './view';

export { GRANT_REASON } from './reasons';

/** Opens the folder, keys and database, and recovers what a crash left. */
async function openContext(options: OpenOutboxOptions): Promise<OutboxContext> {
  const fs = options.fs ?? nodeFs;
  const payloadDir = join(options.dir, 'payloads');
  try {
    await fs.mkdir(payloadDir, { recursive: true });
  } catch (err) {
    throw storageError(err);
  }
  const keys = await loadOrCreateKeys(options.secrets);
  const db = openDatabase(join(options.dir, 'outbox.db'));
  const logger = options.logger.child({ component: 'outbox' });
  const ctx: OutboxContext = {
    fs,
    clock: options.clock ?? { now: () => Date.now() },
    random: options.random ?? Math.random,
    logger,
    backoff: options.backoff ?? defaultBackoff,
    retentionMs: options.retentionMs ?? 30 * 24 * 3600_000,
    maxPayloadBytes: options.maxPayloadBytes ?? LIMITS.alexMaxAttachmentBytes,
    newCorrelationId: options.newCorrelationId ?? randomUUID,
    renameRetry: options.renameRetry,
    gateway: options.gateway,
    payloadDir,
    db,
    q: prepareQueries(db),
    keys,
    events: new OutboxEmitter(logger),
  };
  try {
    await recoverAtOpen(ctx);
  } catch (err) {
    db.close();
    throw storageError(err);
  }
  return ctx;
}

export async function openOutbox(options: OpenOutboxOptions): Promise<Outbox> {
  const ctx = await openContext(options);
  const rebound: Rebound = new Map();
  const enqueuing = new Set<string>();
  const loop = new SendLoop(ctx, rebound, Math.max(1, options.concurrency ?? 2));
  const person = new PersonActions(ctx, () => loop.pump());
  const afterChange = <T>(value: T): T => {
    loop.pump();
    return value;
  };
  return {
    async enqueue(item) {
      if (loop.closed) throw new AppError('ERR_INTERNAL', { detail: 'outbox closed' });
      if (!(await enqueueItem(ctx, enqueuing, item))) return;
      emitItem(ctx, 'item-queued', item.imageId);
      loop.pump();
    },
    start: () => loop.start(),
    stop: () => loop.stop(),
    list: (filter) => listItems(ctx, filter),
    get: (imageId) => getItem(ctx, imageId),
    retry: (imageId) => retryItem(ctx, imageId) && afterChange(true),
    rebindGrant: (patientId, grantId) => afterChange(rebindGrant(ctx, rebound, patientId, grantId)),
    confirmArrived: (imageId) => person.confirmArrived(imageId),
    sendAgain: (imageId) => person.sendAgain(imageId),
    kick: () => loop.pump(),
    idle: () => loop.idle(),
    on: (event, fn) => ctx.events.on(event, fn),
    dbSettings: () => readSettings(ctx.db),
    progress: () => progressOf(ctx),
    async close() {
      if (loop.closed) return;
      await loop.stop();
      loop.closed = true;
      ctx.db.close();
    },
  };
}
