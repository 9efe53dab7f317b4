/** An item's payload files in payloads/: written sealed and durable, read back and checked, wiped after a commit. */
import { createHash, randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { AppError } from '../../shared/errors';
import { payloadAad, type OutboxContext } from './context';
import { errnoOf, fsyncDir, storageError, writeFileAtomic } from './durable-fs';
import type { PayloadKind, Row, StoredPayload } from './queries';
import type { PayloadSource } from './types';

export const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

export type ReadPayloads = Map<PayloadKind, { bytes: Buffer; meta: StoredPayload }>;

/** Each payload opened (AAD = image + kind) and checked. Missing or altered → ERR_STORAGE_CORRUPT. */
export async function readPayloads(ctx: OutboxContext, row: Row): Promise<ReadPayloads> {
  const out: ReadPayloads = new Map();
  for (const p of JSON.parse(row.payloads) as StoredPayload[]) {
    let sealed: Buffer;
    try {
      sealed = await ctx.fs.readFile(join(ctx.payloadDir, p.file));
    } catch (err) {
      if (errnoOf(err) === 'ENOENT') throw new AppError('ERR_STORAGE_CORRUPT', { detail: 'payload file missing' });
      throw storageError(err);
    }
    const bytes = ctx.keys.open(sealed, payloadAad(row.image_id, p.kind));
    if (sha256(bytes) !== p.sha256 || bytes.length !== p.size) throw new AppError('ERR_STORAGE_CORRUPT', { detail: 'payload checksum mismatch' });
    out.set(p.kind, { bytes, meta: p });
  }
  return out;
}

export async function readSource(ctx: OutboxContext, src: PayloadSource): Promise<Buffer> {
  if (src.bytes !== undefined) return Buffer.from(src.bytes.buffer, src.bytes.byteOffset, src.bytes.byteLength);
  try {
    return await ctx.fs.readFile(src.file);
  } catch (err) {
    throw storageError(err);
  }
}

/** Each part sealed and atomic, its name into `stored` and (as it lands, for an undo) `written`; then the folder fsync. */
export async function writePayloads(ctx: OutboxContext, imageId: string, parts: { kind: PayloadKind; bytes: Buffer }[], stored: StoredPayload[], written: string[]): Promise<void> {
  for (const [i, p] of parts.entries()) {
    const name = `${imageId}.${p.kind}.${randomUUID().slice(0, 8)}`;
    await writeFileAtomic(ctx.fs, ctx.payloadDir, name, ctx.keys.seal(p.bytes, payloadAad(imageId, p.kind)), ctx.renameRetry);
    written.push(name);
    stored[i].file = name; // `stored` describes `parts`, one for one
  }
  await fsyncDir(ctx.fs, ctx.payloadDir);
}

/** Best effort, then the folder fsync: after a commit, or to undo a failed enqueue. */
export async function removeFiles(ctx: OutboxContext, names: string[]): Promise<void> {
  for (const name of names) if (name) await ctx.fs.unlink(join(ctx.payloadDir, name)).catch(() => undefined);
  if (names.length > 0) await fsyncDir(ctx.fs, ctx.payloadDir).catch(() => undefined);
}
