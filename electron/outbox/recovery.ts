/**
 * Crash recovery at open: items interrupted while sending go back to queued (the resend carries the same
 * Idempotency-Key, so the gateway replays instead of creating twice); committed history past its retention is
 * purged; temp files and payload files with no live row are deleted. `unconfirmed` items are left as they are:
 * only a person moves them on.
 */
import { join } from 'node:path';
import type { OutboxContext } from './context';
import { TEMP_PREFIX, fsyncDir } from './durable-fs';
import type { StoredPayload } from './queries';

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

export function purgeHistory(ctx: OutboxContext): void {
  ctx.q.purge.run(ctx.clock.now() - ctx.retentionMs);
  ctx.q.purgeActions.run();
}

export async function recoverAtOpen(ctx: OutboxContext): Promise<void> {
  const recovered = ctx.q.recoverSending.run(ctx.clock.now()).changes;
  if (recovered > 0) ctx.logger.warn({ recovered }, 'items interrupted while sending were re-queued');
  purgeHistory(ctx);
  await sweepPayloadDir(ctx);
}
