/** The companion's durable outbox (README.md): opening and crash recovery; the rest is composed from its units. */
import { join } from 'node:path';
import { AppError } from '../../shared/errors';
import { Listeners, type OutboxContext } from './context';
import { loadOrCreateKeys } from './crypto';
import { openDatabase, readSettings } from './db';
import { fsyncDir, nodeFs, storageError, TEMP_PREFIX } from './durable-fs';
import { enqueueItem } from './enqueue';
import { SendLoop } from './loop';
import { getItem, listItems, PersonActions, rebindGrant, retryItem } from './manage';
import { defaultBackoff, type Rebound } from './outcome';
import { prepareQueries, type StoredPayload } from './queries';
import type { OpenOutboxOptions, Outbox, OutboxEvents } from './types';
import { emitItem, progressOf } from './view';

async function sweepPayloadDir(ctx: OutboxContext): Promise<void> {
  const live = new Set<string>();
  for (const { payloads } of ctx.q.liveFiles.all()) for (const p of JSON.parse(payloads) as StoredPayload[]) if (p.file) live.add(p.file);
  let removed = 0;
  for (const name of await ctx.fs.readdir(ctx.payloadDir)) {
    if (name.startsWith(TEMP_PREFIX) || !live.has(name)) {
      await ctx.fs.unlink(join(ctx.payloadDir, name)).catch(() => undefined);
      removed++;
    }
  }
  if (removed > 0) {
    await fsyncDir(ctx.fs, ctx.payloadDir);
    ctx.logger.info({ removed }, 'stale outbox files removed');
  }
}

/**
 * Crash recovery at open: 'sending' → queued (same Idempotency-Key: the gateway replays), history past its retention
 * purged, temp and orphaned payload files deleted. `unconfirmed` items are left: only a person moves them on.
 */
async function recoverAtOpen(ctx: OutboxContext): Promise<void> {
  const recovered = ctx.q.recoverSending.run(ctx.clock.now()).changes;
  if (recovered > 0) ctx.logger.warn({ recovered }, 'items interrupted while sending were re-queued');
  ctx.q.purge.run(ctx.clock.now() - ctx.retentionMs);
  ctx.q.purgeActions.run();
  await sweepPayloadDir(ctx);
}

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
    renameRetry: options.renameRetry,
    gateway: options.gateway,
    payloadDir,
    db,
    q: prepareQueries(db),
    keys,
    events: new Listeners<OutboxEvents>((err, event) => logger.error({ err: (err as Error).name, event }, 'outbox listener threw')),
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
